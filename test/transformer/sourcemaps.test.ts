/** Source maps stay correct: lines inside a rewritten body still map to their original lines. */
import * as fs from "node:fs";
import * as path from "node:path";
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";
import { expect, test } from "vitest";
import { compileFiles } from "../helpers/compile";

test.each(["functions", "classes"])("fixtures/transform/%s: every original line maps back", (name) => {
  const input = path.resolve(__dirname, "../../fixtures/transform", name, "input.ts");
  const source = fs.readFileSync(input, "utf8").split("\n");
  const { outputs } = compileFiles([input], { compilerOptions: { sourceMap: true } });
  const js = outputs.get("input.js")!.split("\n");
  const map = new TraceMap(outputs.get("input.js.map")!);
  let checked = 0;
  js.forEach((line, index) => {
    // Statements copied from the original body: find them in the source and check the mapping.
    const text = line.trim();
    if (!/^(return|await) /.test(text) || !source.some((l) => l.includes(text.slice(0, 16)))) return;
    const column = line.length - line.trimStart().length;
    const position = originalPositionFor(map, { line: index + 1, column });
    expect(position.line, text).not.toBeNull();
    expect(source[position.line! - 1], text).toContain(text.slice(0, 12));
    checked++;
  });
  expect(checked).toBeGreaterThan(3);
});

test.each(["functions", "classes"])("fixtures/transform/%s: the runtime call and the body's arrow map to the function's own lines", (name) => {
  const input = path.resolve(__dirname, "../../fixtures/transform", name, "input.ts");
  const source = fs.readFileSync(input, "utf8").split("\n");
  const { outputs } = compileFiles([input], { compilerOptions: { sourceMap: true } });
  const js = outputs.get("input.js")!.split("\n");
  const map = new TraceMap(outputs.get("input.js.map")!);
  let checked = 0;
  js.forEach((line, index) => {
    for (const m of line.matchAll(/\.cached(?:Call|Handler|Fetch)\(|\{ (\w+): (?:async )?\(\) =>/g)) {
      const position = originalPositionFor(map, { line: index + 1, column: m.index! + 1 });
      expect(position.line, `${line.trim()} (output line ${index + 1})`).not.toBeNull();
      // The line it maps to is inside a tagged function: a @cache tag sits at most a few lines above.
      const above = source.slice(Math.max(0, position.line! - 6), position.line!).join("\n");
      expect(above, line.trim()).toMatch(/@cache/);
      checked++;
    }
  });
  expect(checked).toBeGreaterThan(5);
});
