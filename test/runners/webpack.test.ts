/**
 * A real webpack 5 build with ts-loader (`transpileOnly`) and `tscaching/webpack`, the way the
 * README's runner table says: the bundle runs, its second call is served from the cache, and a tag
 * error fails the build with file:line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, expect, test } from "vitest";
import { project, runNode } from "../bundler/child";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function webpackProject(): string {
  const dir = project("webpack-basic", ["webpack", "ts-loader"]);
  made.push(dir);
  return dir;
}

test("the bundle runs and its second call is served from the cache", async () => {
  const dir = webpackProject();
  const build = await runNode(["build.js"], { cwd: dir, timeoutMs: 180_000 });
  expect(build.stderr).toBe("");
  expect(build.status).toBe(0);
  // The bundle holds the rewritten function: the registration and the cached call.
  const bundle = fs.readFileSync(path.join(dir, "dist/main.js"), "utf8");
  expect(bundle).toMatch(/tscaching_spec_\d+ = .*\(\{ v: 1, id: "src\/users#getUser", ttl: 60(, version: "[A-Za-z0-9_.-]+")? \}\)/);
  const run = await runNode(["dist/main.js"], { cwd: dir });
  expect(run.stderr).toBe("");
  expect(JSON.parse(run.stdout)).toEqual({
    first: "user:bob", second: "user:bob", runs: { getUser: 1, plain: 1 }, stats: { hits: 1, misses: 1, errors: 0 },
  });
}, 180_000);

test("a tag error fails the build with file:line", async () => {
  const dir = webpackProject();
  const file = path.join(dir, "src/users.ts");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("@cache ttl=60", "@cache ttl=5x"));
  const build = await runNode(["build.js"], { cwd: dir, timeoutMs: 180_000 });
  expect(build.status).toBe(1);
  expect(build.stderr).toMatch(/src\/users\.ts\(4,\d+\): error TS93\d{3}: .*ttl/);
  expect(fs.existsSync(path.join(dir, "dist/main.js"))).toBe(false);
}, 180_000);
