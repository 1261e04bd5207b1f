/**
 * The backend contract on a real Redis Cluster (three masters started here), through ioredis's
 * own cluster support: keys spread over the masters by hash slot; each Lua script touches one key,
 * so every operation, CAS included, runs unchanged. Plus the runtime over a cluster URL.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisBackend } from "../../runtime/backends/redis";
import { resolveOptions } from "../../runtime/config";
import { cachedCall, configure, defineCached, cache } from "../../runtime/index";
import { close } from "../../runtime/state";
import { backendContract } from "../helpers/backend-contract";
import { repoRoot } from "../helpers/project";
import { startRedisCluster, type RedisClusterHandle } from "../helpers/redis";

let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await close();
  await cluster?.stop();
});

const backend = (url = cluster.url) => new RedisBackend({ target: resolveOptions({ servers: url }).redis!, timeout: 1000 });

backendContract({
  name: "redis-cluster",
  create: () => backend(),
  // FLUSHDB on every master would empty the shared cluster under the later tests: a cluster of its own.
  createPrivate: async () => {
    const other = await startRedisCluster(3);
    const own = backend(other.url);
    return { backend: own, dispose: async () => (await own.close(), await other.stop()) };
  },
  advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  statsKeys: () => cluster.nodes.map((n) => n.address).sort(),
});

describe("the runtime over a Redis Cluster", () => {
  it("caches, spreads keys over the masters, and invalidates a group", async () => {
    configure({ servers: cluster.url, namespace: `rc${Date.now()}`, invalidationCheck: 0, timeout: 1000 });
    const spec = defineCached({ v: 1, id: "cluster#user", ttl: 60 });
    let runs = 0;
    const call = (i: number, value: string) => cachedCall(spec, [i], async () => (runs++, `${value}${i}`));
    for (let i = 0; i < 50; i++) expect(await call(i, "a")).toBe(`a${i}`);
    for (let i = 0; i < 50; i++) expect(await call(i, "b")).toBe(`a${i}`);
    expect(runs).toBe(50);
    // Every master holds some of the 50 entries (and the group's counter lives on one of them).
    const servers = await cache.serverStats();
    expect(Object.keys(servers).sort()).toEqual(cluster.nodes.map((n) => n.address).sort());
    for (const stats of Object.values(servers)) expect(Number(stats.curr_items)).toBeGreaterThan(0);
    expect(await cache.invalidate({ id: "cluster#user" })).toBe(true);
    for (let i = 0; i < 50; i++) expect(await call(i, "c")).toBe(`c${i}`);
  });

  it("a script that used the cluster (and never closed it) exits by itself", () => {
    const result = spawnSync(process.execPath, ["-e", `
      const { cachedCall, defineCached } = require(${JSON.stringify(path.join(repoRoot, "dist/runtime/index.js"))});
      const spec = defineCached({ v: 1, id: "cluster#idle", ttl: 60 });
      (async () => {
        let runs = 0;
        for (let i = 0; i < 2; i++) await cachedCall(spec, [process.pid], async () => (runs++, "computed"));
        console.log(JSON.stringify({ runs }));
      })();`], { env: { ...process.env, TSCACHING_SERVERS: cluster.url, TSCACHING_NAMESPACE: `rcidle${Date.now()}` }, encoding: "utf8",
      timeout: 10_000 });
    expect(result.signal, "still running after 10 s").toBeNull();
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ runs: 1 });
  }, 20_000);
});
