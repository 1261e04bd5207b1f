// The hit path on a real Redis: tscaching (its Redis backend) vs the hand-written ioredis GET +
// JSON.parse (the floor) vs cache-manager over @keyv/redis, serial and with 64 concurrent callers.
// The same ~100-byte record under the same number of keys as hit-memcached; every timed call is a
// hit (checked).
import { assertSameValues, loadProject, preload } from "../lib/project.mjs";
import { compare, concurrent, serial } from "../lib/measure.mjs";

export async function run({ redis, namespace, scale }) {
  const KEYS = scale.keys;
  const p = loadProject();
  p.configureTscaching(redis, `${namespace}.ts`);
  const floor = new (p.redisPeers().HandWrittenIoredis)(redis, `${namespace}.floor`);
  const cm = new (p.redisPeers().CacheManagerRedisPeer)(redis, `${namespace}.cm`);
  const fns = {
    tscaching: (i) => p.getUser(i % KEYS),
    "ioredis get + JSON.parse (floor)": (i) => floor.getUser(i % KEYS),
    "cache-manager wrap (@keyv/redis)": (i) => cm.getUser(i % KEYS),
  };
  const names = Object.keys(fns);
  for (const fn of Object.values(fns)) await preload(fn, KEYS);
  await assertSameValues(fns, [0, 1, KEYS - 1]);
  const executionsBefore = { ...p.executions };

  const pairs = names.slice(1).map((b) => ["tscaching", b]);
  const results = [];
  for (const mode of ["serial", "concurrent"]) {
    const ops = mode === "serial" ? scale.serialOps : scale.concurrentOps;
    const contenders = names.map((name) => ({
      name,
      run: (n) => (mode === "serial" ? serial(fns[name], n) : concurrent(fns[name], n, 64)),
    }));
    const result = await compare({ contenders, rounds: scale.rounds, ops, warmup: Math.min(ops, 2000), pairs });
    results.push({ id: `hit-redis-${mode}`, mode: mode === "serial" ? "serial" : "64 concurrent callers", ...result });
  }

  const missesDuringTimedRuns = Object.fromEntries(
    Object.keys(p.executions).map((k) => [k, p.executions[k] - (executionsBefore[k] ?? 0)]));
  const checks = { missesDuringTimedRuns, tscachingErrors: p.cacheErrors.length, tscachingStats: p.tscachingStats() };
  await Promise.all([p.closeTscaching(), cm.close()]);
  floor.close();
  return { results, checks };
}
