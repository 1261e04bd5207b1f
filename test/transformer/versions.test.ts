/**
 * Versions (issue 15): the version emitted in each spec changes with the function's code, its
 * result type's structure (through an interface in another file) and its key parts; not with
 * comments or formatting; `version=` pins it. The bundler path (no checker) reads the declared
 * result type's text instead.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { transformSource } from "../../transformer/transpile";
import { compileFiles } from "../helpers/compile";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-versions-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const TYPES = "export interface Profile { name: string; tags: string[]; }\n";
const INPUT = `import type { Profile } from "./types";
/** @cache ttl=5m */
export async function getProfile(id: number, lang: string): Promise<Profile> {
  return { name: String(id) + lang, tags: [] };
}
`;

let n = 0;
/** The version tspc's build gives `getProfile` for these two files. */
function built(input: string, types = TYPES): string {
  const folder = path.join(dir, `p${n++}`);
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, "types.ts"), types);
  fs.writeFileSync(path.join(folder, "input.ts"), input);
  const result = compileFiles([path.join(folder, "input.ts"), path.join(folder, "types.ts")]);
  expect(result.diagnostics).toEqual([]);
  return versionIn(result.outputs.get("input.js")!);
}

function versionIn(js: string): string {
  const m = /defineCached\(\{.*?version: "([^"]+)"/.exec(js);
  expect(m, js).not.toBeNull();
  return m![1];
}

describe("versions built with the checker", () => {
  const base = built(INPUT);

  test("a comment-only or formatting change keeps the version", () => {
    const reformatted = INPUT.replace("ttl=5m */", "ttl=5m - profiles change rarely */")
      .replace("return {", "// build it\n  return   {\n   ").replace("String(id)", "String( id /* the id */ )");
    expect(built(reformatted)).toBe(base);
  });

  test("a changed body changes it", () => {
    expect(built(INPUT.replace("tags: []", "tags: [lang]"))).not.toBe(base);
  });

  test("a field added to the result's interface in another file changes it", () => {
    const types = TYPES.replace("tags: string[];", "tags: string[]; email?: string;");
    expect(built(INPUT, types)).not.toBe(base);
  });

  test("a changed field type deep in another file changes it; a reordered interface does not", () => {
    expect(built(INPUT, TYPES.replace("tags: string[]", "tags: number[]"))).not.toBe(base);
    expect(built(INPUT, "export interface Profile { tags: string[];\n  name: string }\n")).toBe(base);
  });

  test("the result type followed through an alias and an import", () => {
    const types = `import type { Inner } from "./inner";\nexport type Profile = { name: string; tags: string[]; inner?: Inner };\n`;
    const folder = path.join(dir, "alias");
    fs.mkdirSync(folder);
    const build = (inner: string) => {
      fs.writeFileSync(path.join(folder, "inner.ts"), inner);
      fs.writeFileSync(path.join(folder, "types.ts"), types);
      fs.writeFileSync(path.join(folder, "input.ts"), INPUT);
      const result = compileFiles(["input.ts", "types.ts", "inner.ts"].map((f) => path.join(folder, f)));
      return versionIn(result.outputs.get("input.js")!);
    };
    expect(build("export interface Inner { a: number }\n")).not.toBe(build("export interface Inner { a: string }\n"));
  });

  test("a recursive result type has a version", () => {
    const types = "export interface Profile { name: string; tags: string[]; friends: Profile[]; best?: Profile }\n";
    expect(built(INPUT, types)).toMatch(/^[A-Za-z0-9_]{10}$/);
  });

  test("a result type wide at every level gets a version all the same (the work is bounded)", () => {
    // Ten properties at each of ten levels: 10^10 paths, were each described in full.
    const levels = Array.from({ length: 10 }, (_, l) =>
      `export interface L${l} { ${Array.from({ length: 10 }, (_, i) => `p${i}: ${l === 9 ? "string" : `L${l + 1}`};`).join(" ")} }`);
    const types = `${levels.join("\n")}\nexport type Profile = { name: string; tags: string[]; wide: L0 };\n`;
    expect(built(INPUT, types)).toMatch(/^[A-Za-z0-9_]{10}$/);
  });

  test("a changed key part changes it", () => {
    expect(built(INPUT.replace("ttl=5m", "ttl=5m key=id"))).not.toBe(base);
  });

  test("its tags count: a renamed tag, a changed tag argument, an added tag each change it", () => {
    // An entry's stamp holds its tags' generations by position, not by name: a deploy that
    // renamed a tag and kept the version would compare old entries' stamps with other counters.
    const tagged = built(INPUT.replace("ttl=5m", "ttl=5m tags=user(id)"));
    expect(tagged).not.toBe(base);
    expect(built(INPUT.replace("ttl=5m", "ttl=5m tags=account(id)"))).not.toBe(tagged);
    expect(built(INPUT.replace("ttl=5m", "ttl=5m tags=user(lang)"))).not.toBe(tagged);
    expect(built(INPUT.replace("ttl=5m", "ttl=5m tags=user(id),catalog"))).not.toBe(tagged);
    expect(built(INPUT.replace("ttl=5m", "ttl=5m tags=catalog,user(id)"))).not.toBe(built(INPUT.replace("ttl=5m", "ttl=5m tags=user(id),catalog")));
  });

  test("version= pins it, whatever the code", () => {
    const pinned = INPUT.replace("ttl=5m", "ttl=5m version=v2");
    expect(built(pinned)).toBe("v2");
    expect(built(pinned.replace("tags: []", "tags: [lang]"))).toBe("v2");
  });

  test("a malformed version= is a compile error", () => {
    const folder = path.join(dir, "bad");
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, "types.ts"), TYPES);
    fs.writeFileSync(path.join(folder, "input.ts"), INPUT.replace("ttl=5m", "version=a:b"));
    const result = compileFiles([path.join(folder, "input.ts")]);
    expect(result.diagnostics.map((d) => d.message).join("\n")).toMatch(/version/);
  });
});

describe("versions built by the bundler transform (no checker)", () => {
  const file = path.join(dir, "bundled.ts");
  const version = (code: string) => versionIn(transformSource(file, code, { rootDir: dir }).code);
  const base = version(INPUT);

  test("comments and formatting keep it; a body change changes it", () => {
    expect(version(INPUT.replace("return {", "/* x */ return  {"))).toBe(base);
    expect(version(INPUT.replace("tags: []", "tags: [lang]"))).not.toBe(base);
  });

  test("its tags count", () => {
    const tagged = version(INPUT.replace("ttl=5m", "ttl=5m tags=user(id)"));
    expect(tagged).not.toBe(base);
    expect(version(INPUT.replace("ttl=5m", "ttl=5m tags=account(id)"))).not.toBe(tagged);
  });

  test("the declared result type's text counts, not its structure elsewhere", () => {
    expect(version(INPUT.replace("Promise<Profile>", "Promise<Profile | null>"))).not.toBe(base);
  });
});
