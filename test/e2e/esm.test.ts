/**
 * ESM output (module nodenext, "type": "module") runs under plain Node, in a child process, and
 * caches through the CommonJS runtime package.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "vitest";
import { buildProject } from "../helpers/project";

test("an ES module project built with tspc caches its tagged functions", () => {
  const built = buildProject("esm");
  expect(built.output).toBe("");
  expect(built.status).toBe(0);
  const emitted = fs.readFileSync(path.join(built.dir, "dist/index.js"), "utf8");
  expect(emitted).toContain('import * as tscaching_1 from "tscaching";');
  const script = `
    import { double, Greeter, runs, stats } from "./dist/index.js";
    const results = [await double(21), await double(21)];
    const hi = new Greeter("hi");
    results.push(await hi.greet("bob"), await hi.greet("bob"), await new Greeter("yo").greet("bob"));
    const { runs: total } = await import("./dist/index.js");
    console.log(JSON.stringify({ results, runs: total, double: stats().functions["src/index#double"] }));
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: built.dir, encoding: "utf8", timeout: 20_000 });
  expect(child.stderr).toBe("");
  expect(JSON.parse(child.stdout)).toEqual({
    results: [42, 42, "hi, bob", "hi, bob", "yo, bob"],
    runs: 3,
    double: { hits: 1, misses: 1, errors: 0 },
  });
}, 60_000);
