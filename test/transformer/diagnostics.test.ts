/**
 * Diagnostic fixtures: each `fixtures/diagnostics/<case>/` is compiled with the plugin and its
 * diagnostics (file, line, code, severity, message) compared with `expected.txt`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { compileFiles } from "../helpers/compile";
import { Problems } from "../../transformer/diagnostics";

const root = path.resolve(__dirname, "../../fixtures/diagnostics");
const cases = fs.readdirSync(root).sort();

function diagnosticsOf(name: string) {
  const dir = path.join(root, name);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).sort().map((f) => path.join(dir, f));
  return compileFiles(files, { config: { warnings: "diagnostic" } }).diagnostics;
}

describe.each(cases)("fixtures/diagnostics/%s", (name) => {
  test("reports the expected diagnostics", async () => {
    const text = diagnosticsOf(name)
      .map((d) => `${d.file}:${d.line} ${d.category} TS${d.code}: ${d.message}`)
      .join("\n") + "\n";
    await expect(text).toMatchFileSnapshot(path.join(root, name, "expected.txt"));
  });
});

test("diagnostics land in the same places whether JSDoc is parsed as tsc does or fully (editor, CLI)", () => {
  for (const name of cases) {
    const dir = path.join(root, name);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).sort().map((f) => path.join(dir, f));
    const compile = (jsDoc: "tsc" | "all") => compileFiles(files, { config: { warnings: "diagnostic" }, jsDoc, offsets: true });
    const tsc = compile("tsc");
    const all = compile("all");
    expect(tsc.diagnostics, name).toEqual(all.diagnostics);
    expect(tsc.outputs, name).toEqual(all.outputs);
  }
});

test("every diagnostic code has a fixture", () => {
  const seen = new Set(cases.flatMap((name) => diagnosticsOf(name).map((d) => d.code)));
  const missing = Object.entries(Problems)
    // missingKeys needs a tsconfig (the keys file's place): test/cli/missing-keys.test.ts builds one with tspc.
    .filter(([kind, p]) => kind !== "internal" && kind !== "missingKeys" && !seen.has(p.code))
    .map(([kind]) => kind);
  expect(missing).toEqual([]);
});

test("a keys.ts that matches the code draws no warning", async () => {
  const ts = await import("typescript");
  const { scanProgram } = await import("../../transformer/project");
  const { generateKeysFile } = await import("../../transformer/keys-file");
  const os = await import("node:os");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-fresh-keys-"));
  fs.copyFileSync(path.join(root, "stale-keys/input.ts"), path.join(dir, "input.ts"));
  const input = path.join(dir, "input.ts");
  const program = ts.createProgram({ rootNames: [input], options: {} });
  const keysFile = path.join(dir, "keys.ts");
  fs.writeFileSync(keysFile, generateKeysFile(ts, program, scanProgram(ts, program, { rootDir: dir }), keysFile));
  expect(fs.readFileSync(keysFile, "utf8")).toContain('getName: keyHelper<[id: Parameters<typeof m0.getName>[0]]');
  expect(compileFiles([input, keysFile], { config: { warnings: "diagnostic" } }).diagnostics).toEqual([]);
});
