/**
 * jest + ts-jest with `astTransformers: { before: ["tscaching/jest"] }`, the way the README's runner
 * table says, with jest 30 and jest 29, in ts-jest's full-program mode and its isolatedModules mode:
 * the fixture's own test asserts the second call is served from the cache (and uses
 * tscaching/testing); a tag error fails the test run with its file and line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { linkModules, project, runNode } from "../bundler/child";

const JESTS = { "jest 30": "node_modules/jest/bin/jest.js", "jest 29": "node_modules/jest-29/bin/jest.js" } as const;
const MODES = ["full program", "isolatedModules"] as const;
const CASES = Object.entries(JESTS).flatMap(([jest, bin]) => MODES.map((mode) => [jest, mode, bin] as const));

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function jestProject(mode: (typeof MODES)[number]): string {
  const dir = project("jest-basic", ["ts-jest"]);
  made.push(dir);
  linkModules(dir, ["@types/jest"]);
  if (mode === "isolatedModules") {
    const file = path.join(dir, "tsconfig.json");
    const config = JSON.parse(fs.readFileSync(file, "utf8")) as { compilerOptions: Record<string, unknown> };
    config.compilerOptions.isolatedModules = true;
    fs.writeFileSync(file, JSON.stringify(config, null, 2));
  }
  return dir;
}

function runJest(dir: string, bin: string) {
  // The project links ts-jest from this repository, where ts-jest (resolving from its real path) cannot
  // see the project's node_modules; NODE_PATH gives it them, as an installed project's layout does.
  return runNode([path.join(repoRoot, bin), "--ci", "--runInBand", "--cacheDirectory", path.join(dir, ".jest-cache")],
    { cwd: dir, timeoutMs: 180_000, env: { NODE_PATH: path.join(dir, "node_modules") } });
}

test.each(CASES)("%s, %s: the fixture's tests pass with the second call from the cache", async (_jest, mode, bin) => {
  const dir = jestProject(mode);
  const run = await runJest(dir, bin);
  expect(run.stderr).toMatch(/Tests:\s+3 passed, 3 total/);
  expect(run.status).toBe(0);
  // The id nothing registered: one warning, naming ts-jest's fix.
  const warnings = run.stderr.split("\n").filter((line) => line.includes("TSCACHING_UNTRANSFORMED"));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain("'src/nowhere#fn'");
  expect(warnings[0]).toContain('astTransformers: { before: ["tscaching/jest"] }');
}, 180_000);

test.each(CASES)("%s, %s: a tag error fails the test run with file:line", async (_jest, mode, bin) => {
  const dir = jestProject(mode);
  const file = path.join(dir, "src/users.ts");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("@cache ttl=60", "@cache ttl=5x"));
  const run = await runJest(dir, bin);
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/src\/users\.ts\(4,\d+\): error TS93\d{3}: .*ttl/);
  expect(run.stderr).toMatch(/Test Suites:\s+1 failed/);
}, 180_000);
