/**
 * A function whose tag has an error is not rewritten: it comes out exactly as plain tsc emits it
 * (the build fails on the error, but an emit that happens anyway must not cache at defaults the
 * user did not ask for), in the tspc path and in the bundlers' per-file path. Other functions of
 * the file are still rewritten.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import { afterAll, expect, test } from "vitest";
import { transformSource } from "../../transformer/transpile";
import { compileFiles } from "../helpers/compile";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-tag-errors-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const broken = [
  "/** @cache 30 seconds */",
  "export async function prose(n: number): Promise<number> {",
  "  return n;",
  "}",
  "",
  "export class Repo {",
  "  /** @cache ttl=5x */",
  "  async find(id: number): Promise<number> {",
  "    return id;",
  "  }",
  "}",
  "",
].join("\n");

test("the tspc path leaves functions with tag errors as plain tsc emits them, and rewrites the rest", () => {
  const input = path.join(dir, "broken.ts");
  fs.writeFileSync(input, broken);
  const ours = compileFiles([input]);
  expect(ours.diagnostics.map((d) => [d.line, d.code])).toEqual([[1, 93002], [1, 93002], [7, 93003]]);
  const plain = compileFiles([input], { plugin: false });
  expect(ours.outputs.get("broken.js")).toBe(plain.outputs.get("broken.js"));

  const mixed = path.join(dir, "mixed.ts");
  fs.writeFileSync(mixed, `${broken}\n/** @cache */\nexport async function fine(n: number): Promise<number> {\n  return n;\n}\n`);
  const js = compileFiles([mixed]).outputs.get("mixed.js")!;
  expect(js.match(/cachedCall\(/g)).toHaveLength(1);
  expect(js).toContain('id: "mixed#fine"');
  expect(js).toContain("async function prose(n) {\n    return n;\n}");
});

test("an error inside a cached function's body (a nested tag) leaves that function cached", () => {
  const input = path.join(dir, "nested.ts");
  fs.writeFileSync(input, [
    "/** @cache */",
    "export async function outer(n: number): Promise<number> {",
    "  /** @cache */",
    "  const inner = async (m: number): Promise<number> => m;",
    "  return inner(n);",
    "}",
    "",
  ].join("\n"));
  const result = compileFiles([input]);
  expect(result.diagnostics.map((d) => [d.line, d.code])).toEqual([[4, 93020]]);
  const js = result.outputs.get("nested.js")!;
  expect(js.match(/cachedCall\(/g)).toHaveLength(1);
  expect(js).toContain('id: "nested#outer"');
});

test("the bundlers' per-file path gives the file back untouched, with the errors", () => {
  const file = path.join(dir, "bundled.ts");
  const result = transformSource(file, broken, { rootDir: dir, ts });
  expect(result.transformed).toBe(false);
  expect(result.code).toBe(broken);
  expect(result.diagnostics.map((d) => d.code)).toEqual([93002, 93002, 93003]);
});
