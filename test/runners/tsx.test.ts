/**
 * tsx with `tscaching/register`, the way the README's runner table says: `tsx --import
 * tscaching/register src/main.ts` and `node --import tsx --import tscaching/register src/main.ts`,
 * in an ES module package and a CommonJS one. The second call is served from the cache (the body
 * ran once), a tag error fails the run at its line, and without the register the runtime says so.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { project, runNode } from "../bundler/child";

const TSX = path.join(repoRoot, "node_modules/tsx/dist/cli.mjs");
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tsxProject(kind: "esm" | "cjs"): string {
  const dir = project(`tsx-${kind}`, ["tsx"]);
  made.push(dir);
  fs.mkdirSync(path.join(dir, ".tmp"));
  return dir;
}

/** Run in the project; tsx's compile cache (in the temp folder) lands inside it and goes with it. */
const inProject = (dir: string) => ({ cwd: dir, env: { TMPDIR: path.join(dir, ".tmp") } });

const WAYS = {
  "tsx --import tscaching/register": [TSX, "--import", "tscaching/register", "src/main.ts"],
  "node --import tsx --import tscaching/register": ["--import", "tsx", "--import", "tscaching/register", "src/main.ts"],
} as const;
const CASES = (["esm", "cjs"] as const).flatMap((kind) => Object.entries(WAYS).map(([way, args]) => [kind, way, args] as const));

test.each(CASES)("%s package, %s: the second call is served from the cache", async (kind, _way, args) => {
  const dir = tsxProject(kind);
  const run = await runNode(args, inProject(dir));
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toEqual({
    first: "user:bob", second: "user:bob", runs: { getUser: 1, plain: 1 }, stats: { hits: 1, misses: 1, errors: 0 },
  });
}, 60_000);

test.each(CASES)("%s package, %s: a tag error fails the run with file:line", async (kind, _way, args) => {
  const dir = tsxProject(kind);
  const file = path.join(dir, "src/users.ts");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("@cache ttl=60", "@cache ttl=5x"));
  const run = await runNode(args, inProject(dir));
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/src\/users\.ts\(4,\d+\): error TS93\d{3}: .*ttl/);
  expect(run.stdout).toBe("");
}, 60_000);

test.each(["esm", "cjs"] as const)("%s package, plain tsx: naming the function through keys warns once, naming tsx's fix", async (kind) => {
  const dir = tsxProject(kind);
  fs.writeFileSync(path.join(dir, "src/main.ts"), `
import { cache, keyHelper } from "tscaching";
import { getUser } from "./users.js";
const byName = keyHelper<[string], string>("src/users#getUser");
async function main(): Promise<void> {
  await getUser("bob");
  await cache.delete(byName("bob"));
  await cache.delete(byName("alice"));
  await cache.invalidate(byName);
  await cache.close();
}
void main();
`);
  const run = await runNode([TSX, "src/main.ts"], inProject(dir));
  expect(run.status).toBe(0);
  const warnings = run.stderr.split("\n").filter((line) => line.includes("TSCACHING_UNTRANSFORMED"));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain("'src/users#getUser'");
  expect(warnings[0]).toContain("tsx --import tscaching/register");
}, 60_000);

test.each(["esm", "cjs"] as const)("%s package: a cached function's stack trace points at its own line", async (kind) => {
  const dir = tsxProject(kind);
  fs.writeFileSync(path.join(dir, "src/boom.ts"), [
    "/** @cache ttl=60 */",
    "export async function boom(): Promise<string> {",
    "  await Promise.resolve();",
    "  throw new Error(\"boom\");",
    "}",
    "",
  ].join("\n"));
  fs.writeFileSync(path.join(dir, "src/main.ts"), `
import { cachedFunctions } from "tscaching";
import { boom } from "./boom.js";
boom().catch((error: Error) => console.log(JSON.stringify({
  frame: error.stack!.split("\\n").find((l) => l.includes("boom.ts")),
  rewritten: cachedFunctions().some((f) => f.id === "src/boom#boom"),
})));
`);
  const run = await runNode([TSX, "--import", "tscaching/register", "src/main.ts"], inProject(dir));
  expect(run.stderr).toBe("");
  const { frame, rewritten } = JSON.parse(run.stdout) as { frame: string; rewritten: boolean };
  expect(rewritten).toBe(true);
  expect(frame).toMatch(/src[\\/]boom\.ts:4:\d+/);
}, 60_000);
