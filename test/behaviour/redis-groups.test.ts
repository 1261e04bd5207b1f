/**
 * Group invalidation on Redis across two real processes: this process caches a function's calls,
 * another process invalidates the function's group (its generation counter lives in Redis), and
 * this process then misses every call of the group, within `invalidationCheck`; other groups keep
 * their entries.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { cache, cachedCall, configure, defineCached } from "../../runtime/index";
import { close } from "../../runtime/state";
import { transpileRuntime, type TranspiledRuntime } from "../resilience/runtime-build";

let runtime: TranspiledRuntime;
const namespace = `rgroups${Date.now()}`;
const servers = () => `redis://${inject("redis")}`;

beforeAll(() => {
  runtime = transpileRuntime();
  configure({ servers: servers(), namespace, invalidationCheck: 100 });
}, 60_000);

afterAll(async () => {
  await close();
  runtime?.dispose();
});

function otherProcess(code: string): unknown {
  const result = spawnSync(process.execPath, ["-e", `
    const { cache } = require(${JSON.stringify(runtime.entry)});
    (async () => { ${code} })().then((out) => { process.stdout.write(JSON.stringify(out ?? null)); return cache.close(); });
  `], { env: { ...runtime.env, TSCACHING_SERVERS: servers(), TSCACHING_NAMESPACE: namespace }, encoding: "utf8", timeout: 20_000 });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

test("an invalidate() in another process empties the group here; other groups keep their entries", async () => {
  const users = defineCached({ v: 1, id: "rgroups#users", ttl: 300 });
  const orders = defineCached({ v: 1, id: "rgroups#orders", ttl: 300 });
  let runs = 0;
  const call = (spec: typeof users, arg: number, value: string) => cachedCall(spec, [arg], async () => (runs++, value));
  for (let i = 0; i < 5; i++) {
    await call(users, i, "old");
    await call(orders, i, "order");
  }
  expect(runs).toBe(10);
  for (let i = 0; i < 5; i++) expect(await call(users, i, "new")).toBe("old");
  expect(runs).toBe(10);

  expect(otherProcess(`return cache.invalidate({ id: "rgroups#users" });`)).toBe(true);
  // Seen here once this process re-reads the generation (invalidationCheck 100 ms): wait for the event.
  const deadline = Date.now() + 10_000;
  while ((await call(users, 0, "new")) !== "new" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (let i = 0; i < 5; i++) expect(await call(users, i, "new")).toBe("new");
  for (let i = 0; i < 5; i++) expect(await call(orders, i, "changed")).toBe("order");
  // The other process reads the new generation too.
  expect(otherProcess(`return cache.get(cache.keyOf("rgroups#users", [3]));`)).toBe("new");
}, 60_000);
