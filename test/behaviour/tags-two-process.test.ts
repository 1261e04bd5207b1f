/**
 * Tag invalidation across real processes and two real memcached servers: a project built as a user
 * builds it (`tscaching keys`, then tspc) tags three functions with user(...) and one with catalog;
 * one process caches, others invalidate `tags.user(42)` through the generated keys.ts; then each
 * server in turn is killed and restarted empty, and no process ever gets an entry written before
 * the invalidation again.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as readline from "node:readline";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startMemcached, type MemcachedHandle } from "../helpers/memcached";
import { compileProject, prepareProject } from "../helpers/project";
import { cli } from "../cli/run-cli";

const CALLS = `Promise.all([u.getProfile(42), u.getMembership(42, "t"), u.getOrders(42), u.getProfile(7), u.listProducts()])`;
type Values = string[];

let dir: string;
let env: NodeJS.ProcessEnv;
let servers: MemcachedHandle[] = [];
let worker: ChildProcessWithoutNullStreams | undefined;
let ask: () => Promise<Values>;

beforeAll(async () => {
  servers = await Promise.all([startMemcached(), startMemcached()]);
  dir = prepareProject("tags");
  const keys = await cli(["keys"], { cwd: dir });
  expect(keys.stderr).toBe("");
  const built = compileProject(dir);
  expect(built.output).toBe("");
  env = { ...process.env, TSCACHING_SERVERS: servers.map((s) => s.address).join(","),
    TSCACHING_NAMESPACE: `tags2p${Date.now()}`, TSCACHING_INVALIDATION_CHECK: "200",
    // Generous deadlines: on a loaded machine a timed-out read would run a body and change a value.
    TSCACHING_TIMEOUT: "10000", TSCACHING_CONNECT_TIMEOUT: "10000" };
  // The caching process: each line in asks for the five values.
  worker = spawn(process.execPath, ["-e", `
    const u = require("./dist/users.js");
    require("node:readline").createInterface({ input: process.stdin }).on("line", async () => {
      process.stdout.write(JSON.stringify(await ${CALLS}) + "\\n");
    });
  `], { cwd: dir, env });
  const answers = readline.createInterface({ input: worker.stdout });
  const waiting: Array<(values: Values) => void> = [];
  answers.on("line", (line) => waiting.shift()!(JSON.parse(line)));
  ask = () => new Promise((resolve) => {
    waiting.push(resolve);
    worker!.stdin.write("get\n");
  });
}, 120_000);

afterAll(async () => {
  worker?.kill();
  await Promise.all(servers.map((s) => s.stop()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Run a one-off script in another process; returns what it printed as JSON. */
function other(code: string): unknown {
  const result = spawnSync(process.execPath, ["-e", `
    const { cache } = require("tscaching");
    const u = require("./dist/users.js");
    const { tags } = require("./dist/keys.js");
    (async () => { ${code} })().then((out) => { process.stdout.write(JSON.stringify(out ?? null)); return cache.close(); });
  `], { cwd: dir, env, encoding: "utf8", timeout: 20_000 });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

/** Ask the caching process until `done` holds (another process's invalidation takes up to 200 ms to be seen). */
async function askUntil(done: (values: Values) => boolean): Promise<Values> {
  const until = Date.now() + 15_000;
  for (;;) {
    const values = await ask();
    if (done(values) || Date.now() > until) return values;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let before: Values;
let after: Values;

test("invalidateTag(user(42)) in another process misses all three user functions, and only user 42's entries", async () => {
  before = await ask();
  expect(await ask()).toEqual(before);
  // In the invalidating process itself the invalidation holds at once.
  const seen = other(`
    const first = await u.getProfile(42);
    if (!(await cache.invalidateTag(tags.user(42)))) throw new Error("not invalidated");
    return [first, await u.getProfile(42)];
  `) as string[];
  expect(seen[0]).toBe(before[0]);
  expect(seen[1]).not.toBe(before[0]);
  // Each function sees it once this process re-reads user(42)'s counter (invalidationCheck), or
  // sooner when it reads an entry stamped with the new generation (getProfile's, just written by
  // the other process): the functions of one batch may see it one batch apart, so wait for all three.
  after = await askUntil((values) => [0, 1, 2].every((i) => values[i] !== before[i]));
  expect(after[0]).not.toBe(before[0]);
  expect(after[1]).not.toBe(before[1]);
  expect(after[2]).not.toBe(before[2]);
  expect([after[3], after[4]]).toEqual([before[3], before[4]]);
  expect(await ask()).toEqual(after);
}, 60_000);

test.each([0, 1])("server %i of two killed and restarted empty: no process sees a pre-invalidation entry again", async (victim) => {
  await servers[victim].restart();
  const fresh = other(`return ${CALLS};`) as Values;
  const old = await ask();
  for (const values of [fresh, old]) {
    for (const i of [0, 1, 2]) expect(values[i]).not.toBe(before[i]);
  }
  // Invalidation still works with the restarted server back.
  expect(other(`return cache.invalidateTag(tags.user(42), tags.catalog());`)).toBe(true);
  const next = await askUntil((values) => [0, 1, 2, 4].every((i) => values[i] !== old[i]));
  for (const i of [0, 1, 2, 4]) expect(next[i]).not.toBe(old[i]);
  for (const i of [0, 1, 2]) expect(next[i]).not.toBe(before[i]);
}, 60_000);
