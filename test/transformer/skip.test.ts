/**
 * The scanner skips every subtree that cannot reach a comment holding a `@cache` tag
 * (`tagCommentReach`). It must never skip a node that takes such a comment, nor one of its
 * ancestors: checked here on the fixtures and on random edits of them (syntax errors, missing
 * nodes, comments moved around), against a walk of every node as the scanner did before.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import * as ts from "typescript";
import { describe, expect, test } from "vitest";
import { scanSourceFile } from "../../transformer/scan";
import { isJSDocComment, tagCommentReach, tagCommentStarts } from "../../transformer/tags";

const fixtures = path.resolve(__dirname, "../../fixtures");
const sources = ["transform", "diagnostics"].flatMap((kind) => fs.readdirSync(path.join(fixtures, kind))
  .map((name) => path.join(fixtures, kind, name, "input.ts"))
  .filter((file) => fs.existsSync(file))
  .map((file) => fs.readFileSync(file, "utf8")));

/** Nodes that take a tag comment (in the trivia at their pos), each with its ancestors: all must be reachable. */
function unreachable(text: string): string[] {
  const sf = ts.createSourceFile("a.ts", text, ts.ScriptTarget.Latest, true);
  const reach = tagCommentReach(text);
  const missed: string[] = [];
  const visit = (node: ts.Node, ancestors: ts.Node[]): void => {
    const comments = [...ts.getTrailingCommentRanges(text, node.pos) ?? [], ...ts.getLeadingCommentRanges(text, node.pos) ?? []];
    const takesTag = node.kind !== ts.SyntaxKind.SourceFile && comments.some((c) => {
      const comment = text.slice(c.pos, c.end);
      return isJSDocComment(comment) && comment.includes("@cache");
    });
    if (takesTag) {
      for (const n of [...ancestors, node]) {
        if (!reach(n.pos, n.end)) missed.push(`${ts.SyntaxKind[n.kind]} ${n.pos}-${n.end} (for ${ts.SyntaxKind[node.kind]} at ${node.pos})`);
      }
    }
    ts.forEachChild(node, (child) => visit(child, [...ancestors, node]));
  };
  visit(sf, []);
  return missed;
}

describe("tagCommentStarts", () => {
  test("finds /** comments that mention @cache, and no others", () => {
    const text = "/** @cache */ a; /**/ b; /** plain */ c; /* @cache */ d; /** x @cache y */ e; // @cache\n/** @cached */";
    expect(tagCommentStarts(text)).toEqual([0, text.indexOf("/** x"), text.indexOf("/** @cached")]);
  });

  test("an @cache after a comment's end does not count for it", () => {
    expect(tagCommentStarts("/** a */ x; /** b */ y; // @cache")).toEqual([]);
    expect(tagCommentStarts("/** unterminated @cache")).toEqual([0]);
  });
});

describe("tagCommentReach", () => {
  const text = "const a = 1;\nconst b = 2; /** @cache */\nexport async function f() {}\n";
  const reach = tagCommentReach(text);
  const tag = text.indexOf("/**");

  test("a range holding the comment reaches it, one before it does not", () => {
    expect(reach(0, text.length)).toBe(true);
    expect(reach(tag - 1, tag + 2)).toBe(true);
    expect(reach(0, text.indexOf(";") + 1)).toBe(false);
  });

  test("a node ending where only trivia separates it from the comment reaches it (a node there may be empty)", () => {
    const end = text.indexOf("2;") + 2;
    expect(reach(end - 2, end)).toBe(true);
    expect(reach(text.indexOf("2;"), end - 1)).toBe(false); // `;` is a token between
  });

  test("nothing after the last tag comment is reachable", () => {
    expect(reach(tag + 1, text.length)).toBe(false);
    expect(tagCommentReach("const a = 1; /** plain */")(0, 10)).toBe(false);
  });
});

describe("no node that takes a tag comment is ever skipped", () => {
  test.each(sources.map((text, i) => [i, text] as const))("fixture %i", (_, text) => {
    expect(unreachable(text)).toEqual([]);
  });

  test("random edits of the fixtures", () => {
    const pieces = ["/** @cache */", "/** @cache ttl=5m */ ", "\n", " ", "(", ")", "{", "}", "=>", "async ", "function ",
      "class ", ";", ",", "*/", "/*", "//", "'", "`", "<", ">", "@", "/**", ".", "=", ":", "#!", "\u2028", "\u00a0"];
    const edit = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.constantFrom("delete", "insert", "copy"),
      length: fc.integer({ min: 1, max: 60 }), piece: fc.constantFrom(...pieces), from: fc.double({ min: 0, max: 1, noNaN: true }) });
    fc.assert(fc.property(fc.integer({ min: 0, max: sources.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 }), (index, edits) => {
      let text = sources[index];
      for (const e of edits) {
        const at = Math.floor(e.at * text.length);
        if (e.kind === "delete") text = text.slice(0, at) + text.slice(at + e.length);
        else if (e.kind === "insert") text = text.slice(0, at) + e.piece + text.slice(at);
        else {
          const from = Math.floor(e.from * text.length);
          text = text.slice(0, at) + text.slice(from, from + e.length) + text.slice(at);
        }
      }
      expect(unreachable(text)).toEqual([]);
    }), { seed: 20261125, numRuns: 1500 });
  });

  test("a tag comment taken by an empty node that ends before it is still seen (as it was)", () => {
    // `1 + ` ends in a missing expression whose trivia holds the comment: it is an unsupported place.
    const text = "const x = 1 + /** @cache */\nexport async function f() {}\n";
    const result = scanSourceFile(ts, ts.createSourceFile("a.ts", text, ts.ScriptTarget.Latest, true), { rootDir: "/" });
    expect(result.functions).toEqual([]);
    expect(result.problems.map((p) => [p.code, p.start])).toEqual([[93019, text.indexOf("@cache")]]);
  });
});
