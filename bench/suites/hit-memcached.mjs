// Items 1 and 2: the hit path on a real memcached, tscaching vs the hand-written memjs floor and
// vs the peers, serial and with 64 concurrent callers. Every contender caches the same ~100-byte
// record under 1024 keys; all keys are filled first, so every timed call is a hit (checked).
import { assertSameValues, loadProject, preload } from "../lib/project.mjs";
import { compare, concurrent, serial } from "../lib/measure.mjs";

export async function run({ servers, namespace, scale }) {
  const KEYS = scale.keys; // a multiple of the concurrency (64): no two concurrent callers share a key
  const p = loadProject();
  p.configureTscaching(servers, `${namespace}.ts`);
  const floor = new p.HandWrittenMemjs(servers, `${namespace}.floor`);
  const cm = new p.CacheManagerPeer(servers, `${namespace}.cm`);
  const tcClient = p.TypeCacheablePeer.connect(servers, `${namespace}.tc`);
  const tc = new p.TypeCacheablePeer();
  const fns = {
    tscaching: (i) => p.getUser(i % KEYS),
    "memjs get + JSON.parse (floor)": (i) => floor.getUser(i % KEYS),
    "cache-manager wrap (Keyv memcache)": (i) => cm.getUser(i % KEYS),
    "type-cacheable @Cacheable (memjs client)": (i) => tc.getUser(i % KEYS),
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
    results.push({ id: `hit-memcached-${mode}`, mode: mode === "serial" ? "serial" : "64 concurrent callers", ...result });
  }

  const missesDuringTimedRuns = Object.fromEntries(
    Object.keys(p.executions).map((k) => [k, p.executions[k] - (executionsBefore[k] ?? 0)]));
  const stats = p.tscachingStats();
  const checks = { missesDuringTimedRuns, tscachingErrors: p.cacheErrors.length, tscachingStats: stats };
  await Promise.all([p.closeTscaching(), cm.close()]);
  floor.close();
  tcClient.client.close();
  return { results, checks };
}
