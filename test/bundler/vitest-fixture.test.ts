/**
 * The proof that tagged code is cached under vitest: fixtures/projects/vite-basic has its own
 * vitest.config.ts loading `tscaching/vite`, and a test asserting that a tagged function's body runs
 * once for two calls. It runs here in a child vitest, as a user would run it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { project, runNode } from "./child";

const VITEST = path.join(repoRoot, "node_modules/vitest/vitest.mjs");

test("the fixture's own vitest suite, with tscaching/vite, observes caching", async () => {
  const dir = project("vite-basic", ["vite", "vitest"]);
  const run = await runNode([VITEST, "run", "--root", dir], { cwd: dir, timeoutMs: 150_000 });
  const output = run.stdout + run.stderr;
  expect(output).toMatch(/Tests\s+4 passed \(4\)/);
  expect(run.status, output).toBe(0);
}, 180_000);

test("the same suite without the plugin fails: tagged code would silently run uncached", async () => {
  const dir = project("vite-basic", ["vite", "vitest"]);
  const config = fs.readFileSync(path.join(dir, "vitest.config.ts"), "utf8")
    .replace('import tscaching from "tscaching/vite";\n', "")
    .replace("plugins: [tscaching()],", "plugins: [],");
  fs.writeFileSync(path.join(dir, "vitest.plain.config.ts"), config);
  const run = await runNode([VITEST, "run", "--root", dir, "--config", "vitest.plain.config.ts"], { cwd: dir, timeoutMs: 150_000 });
  const output = run.stdout + run.stderr;
  expect(run.status).toBe(1);
  expect(output).toMatch(/Tests\s+3 failed \| 1 passed \(4\)/);
  // getUser's body ran for each call; nothing registered with the runtime.
  expect(output).toContain("expected 2 to be 1");
}, 180_000);
