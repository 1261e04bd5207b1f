/**
 * Real ts-node through ts-patch's compiler, the way the README's runner table says:
 * `ts-node --compiler ts-patch/compiler src/main.ts` (type-checking) and with `--transpile-only`.
 * In both, a tagged function and a tagged HTTP handler are served from the cache on their second
 * call, the generated keys.ts is not reported stale when it is not, and a tag error fails the run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { project, runNode } from "../bundler/child";

const TS_NODE = path.join(repoRoot, "node_modules/ts-node/dist/bin.js");
const MODES = { "type-check": [], "transpile-only": ["--transpile-only"] } as const;

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function run(mode: keyof typeof MODES) {
  const dir = project("ts-node-basic", ["ts-node"]);
  made.push(dir);
  return { dir, go: () => runNode([TS_NODE, ...MODES[mode], "--compiler", "ts-patch/compiler", "src/main.ts"], { cwd: dir }) };
}

test.each(Object.keys(MODES) as Array<keyof typeof MODES>)("ts-node %s: functions and HTTP handlers cached, no false stale keys.ts", async (mode) => {
  const result = await run(mode).go();
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({ runs: 1, pageRuns: 1, pages: ["home /a", "home /a"], cached: "user:bob" });
}, 120_000);

test.each(Object.keys(MODES) as Array<keyof typeof MODES>)("ts-node %s: a stale keys.ts is still reported where the program has types", async (mode) => {
  const { dir, go } = run(mode);
  const keys = path.join(dir, "src/keys.ts");
  fs.writeFileSync(keys, fs.readFileSync(keys, "utf8").replace(/\n  home: [^\n]*/, ""));
  const result = await go();
  expect(result.status).toBe(0);
  if (mode === "type-check") expect(result.stderr).toMatch(/src\/keys\.ts\(1,1\): warning TS93024/);
  else expect(result.stderr).toBe("");
}, 120_000);

test.each(Object.keys(MODES) as Array<keyof typeof MODES>)("ts-node %s: a tag error fails the run with file:line", async (mode) => {
  const { dir, go } = run(mode);
  const file = path.join(dir, "src/users.ts");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("@cache ttl=60", "@cache ttl=5x"));
  const result = await go();
  expect(result.status).not.toBe(0);
  expect(result.stderr).toMatch(/src\/users\.ts\(4,\d+\): error TS93\d{3}: .*ttl/);
  expect(result.stdout).toBe("");
}, 120_000);
