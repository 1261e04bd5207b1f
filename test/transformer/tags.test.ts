/**
 * The tag reader: it must find exactly the `@cache` tags TypeScript's own JSDoc parser finds, with
 * the same text, and parse the grammar's options.
 */
import * as ts from "typescript";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { nearMissIn } from "../../transformer/near-miss";
import { findCacheTags, parseTtl } from "../../transformer/tags";

const comments = [
  "/** @cache */",
  "/** @cache ttl=5m */",
  "/**\n * Looks up.\n * @cache ttl=5m key=a\n */",
  "/** Not async. @cache ttl=5 */",
  "/** {@link cache} and mail@cache.org */",
  "/** `@cache` in backticks */",
  "/** @cached ttl=5 */",
  "/** @cache-like */",
  "/**\n * @cache ttl=2h\n *   key=id, locale\n * @returns the page\n */",
  "/**\n * @cache ttl=1\n * @cache ttl=2\n */",
  "/** @param x the @cache thing */",
  "/**\n@cache ttl=3\n*/",
  "/**\t@cache\tttl=4 */",
];

describe("agrees with TypeScript's JSDoc parser", () => {
  test.each(comments)("%j", (comment) => {
    const sf = ts.createSourceFile("a.ts", `${comment}\nfunction f() {}\n`, ts.ScriptTarget.Latest, true);
    const theirs = ts.getJSDocTags(sf.statements[0]).filter((t) => t.tagName.text === "cache");
    const ours = findCacheTags(comment, 0).tags;
    expect(ours.length).toBe(theirs.length);
    ours.forEach((tag, i) => {
      expect(tag.start).toBe(theirs[i].getStart(sf));
      const text = ts.getTextOfJSDocComment(theirs[i].comment) ?? "";
      if (text.includes("ttl=")) expect(tag.ttl).toBe(parseTtl(/ttl=(\S+)/.exec(text)![1]));
    });
  });
});

describe("options", () => {
  test("ttl forms", () => {
    expect(["90", "90s", "5m", "2h", "1d", "1h30m", "1d2h3m4s", "0"].map(parseTtl))
      .toEqual([90, 90, 300, 7200, 86400, 5400, 93784, 0]);
    for (const bad of ["", "5x", "30m1h", "1.5h", "-1", "m", "1hh", "h1", " 5m", "99999999999d"]) {
      expect(parseTtl(bad), bad).toBeUndefined();
    }
  });

  test("key, name and free text", () => {
    const [tag] = findCacheTags("/** @cache key=this.user, id name=users.byName - anything @ here */", 0).tags;
    expect(tag.key).toEqual([{ kind: "this", name: "user" }, { kind: "param", name: "id" }]);
    expect(tag.name).toBe("users.byName");
  });

  test("problems point at the option", () => {
    const comment = "/** @cache ttl=5q */";
    const { problems } = findCacheTags(comment, 100);
    expect(problems).toHaveLength(1);
    expect(problems[0].code).toBe(93003);
    expect(comment.slice(problems[0].start - 100, problems[0].start - 100 + problems[0].length)).toBe("5q");
  });
});

describe("nearMissIn", () => {
  test("finds comments meant as a @cache tag, with the tag's offset", () => {
    expect(nearMissIn("/** @cached ttl=5m */", 10)).toEqual({ text: "'@cached'", start: 14, length: 7 });
    expect(nearMissIn("/**\n * Gets a user.\n * @Cache\n */", 0)?.text).toBe("'@Cache'");
    expect(nearMissIn("// @cache", 0)).toEqual({ text: "'@cache' in a line comment (not JSDoc)", start: 3, length: 6 });
    expect(nearMissIn("//@cache ttl=5m", 0)?.start).toBe(2);
    expect(nearMissIn("/* @CACHE */", 0)?.text).toBe("'@CACHE' in a block comment (not JSDoc)");
  });

  test("leaves real tags, prose and other tags alone", () => {
    for (const comment of ["/** @cache */", "/** @cache ttl=5m\n * @cached is prose here */", "// results are @cached upstream",
      "/* see @cache in the README */", "/** {@link cache} and mail@cache.org */", "/** @cacheKey x */", "// @CacheTTL(5)",
      "/** `@cache` */", "/**/"]) {
      expect(nearMissIn(comment, 0), comment).toBeUndefined();
    }
  });
});

describe("tags=", () => {
  const parse = (text: string) => findCacheTags(`/** @cache ${text} */`, 0);

  test("names with arguments drawn from parameters and this fields, bare names, spaces after commas", () => {
    expect(parse("tags=user(id),team(teamId)").tags[0].tags).toEqual([
      { name: "user", args: [{ kind: "param", name: "id" }] },
      { name: "team", args: [{ kind: "param", name: "teamId" }] },
    ]);
    expect(parse("tags=catalog").tags[0].tags).toEqual([{ name: "catalog", args: [] }]);
    expect(parse("ttl=5m tags=tenant(this.tenant, id), catalog key=id").tags[0]).toMatchObject({
      ttl: 300,
      tags: [{ name: "tenant", args: [{ kind: "this", name: "tenant" }, { kind: "param", name: "id" }] }, { name: "catalog", args: [] }],
      key: [{ kind: "param", name: "id" }],
    });
  });

  test.each(["tags=user(", "tags=user)", "tags=user((id))", "tags=1user", "tags=user(this)", "tags=user(a.b)", "tags=,",
    "tags=user(id),"])("%s is malformed (TS93041)", (text) => {
    const { tags, problems } = parse(text);
    expect(tags[0].tags).toBeUndefined();
    expect(problems.map((p) => p.code)).toContain(93041);
  });

  test("any text either parses into identifiers or is one problem, never a crash", () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (value) => {
      const { tags, problems } = parse(`tags=${value.replace(/\*\//g, "")}`);
      for (const tag of tags[0].tags ?? []) {
        expect(tag.name).toMatch(/^[A-Za-z_$][\w$]*$/);
        for (const arg of tag.args) expect(arg.name).toMatch(/^[A-Za-z_$][\w$]*$/);
      }
      expect(problems.length).toBeLessThanOrEqual(1 + value.split(/\s+/).length);
    }));
  });
});
