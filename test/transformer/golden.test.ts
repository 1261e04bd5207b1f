/**
 * Golden fixtures: each `fixtures/transform/<case>/input.ts` is compiled in memory with the real
 * plugin to CommonJS and ESM and compared with the committed outputs (reviewed as git diffs).
 * Cases marked `untouched` must come out byte-identical to plain tsc.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { compileFiles } from "../helpers/compile";

const root = path.resolve(__dirname, "../../fixtures/transform");
const cases = fs.readdirSync(root).filter((name) => fs.existsSync(path.join(root, name, "input.ts")));

describe.each(cases)("fixtures/transform/%s", (name) => {
  const dir = path.join(root, name);
  const input = path.join(dir, "input.ts");
  const untouched = fs.existsSync(path.join(dir, "untouched"));

  test.each(["commonjs", "esnext"] as const)("%s output", async (module) => {
    const withPlugin = compileFiles([input], { module });
    expect(withPlugin.diagnostics).toEqual([]);
    const js = withPlugin.outputs.get("input.js");
    expect(js).toBeDefined();
    if (untouched) {
      const plain = compileFiles([input], { module, plugin: false });
      expect(js).toBe(plain.outputs.get("input.js"));
      expect(js).not.toContain("cachedCall");
    } else {
      expect(js).toMatch(/cached(Call|Handler|Fetch)\(/);
      await expect(js).toMatchFileSnapshot(path.join(dir, `output.${module}.js`));
    }
  });

  test("declaration output is the same as plain tsc's", () => {
    const options = { compilerOptions: { declaration: true } };
    const withPlugin = compileFiles([input], options);
    const plain = compileFiles([input], { ...options, plugin: false });
    expect(withPlugin.outputs.get("input.d.ts")).toBe(plain.outputs.get("input.d.ts"));
  });
});

test("every fixture has been compiled to both module kinds", () => {
  for (const name of cases) {
    if (fs.existsSync(path.join(root, name, "untouched"))) continue;
    for (const module of ["commonjs", "esnext"]) {
      expect(fs.existsSync(path.join(root, name, `output.${module}.js`)), `${name}/output.${module}.js`).toBe(true);
    }
  }
});

test.each(["es2015", "es5"] as const)("every fixture also compiles down to %s", (target) => {
  for (const name of cases) {
    const result = compileFiles([path.join(root, name, "input.ts")], { target, compilerOptions: { experimentalDecorators: true } });
    expect(result.diagnostics, name).toEqual([]);
    const js = result.outputs.get("input.js")!;
    if (!fs.existsSync(path.join(root, name, "untouched"))) expect(js, name).toMatch(/cached(Call|Handler|Fetch)\(/);
    expect(() => new Function("require", "exports", "module", js), name).not.toThrow();
  }
});
