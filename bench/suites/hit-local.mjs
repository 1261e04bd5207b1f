// Issue 16: a local-tier hit (`@cache local=`, memcached configured) against a bare lru-cache get
// in an async function (the floor) and BentoCache's L1 `get`. tscaching runs twice, side by side in
// the same rounds (two independent runtime instances): by default, where every local hit decodes a
// copy of its own, and with `local.shareValues`, where hits share one frozen object (as the floor's
// do). BentoCache runs with its memory driver's defaults (it serializes values, so its hits are
// copies). For context also lru-cache holding JSON text (a copy per hit).
// Then the price of the tier when it misses: a function with `local=` whose tier holds 1 copy
// (every call misses it, reads memcached and offers the copy) against today's memcached hit.
import { assertSameValues, loadProject, preload } from "../lib/project.mjs";
import { compare, serial } from "../lib/measure.mjs";

const COPY = "tscaching local hit";
const SHARED = "tscaching local hit (shareValues)";
export const LRU = "lru-cache get in an async function (floor)";
export const BENTO = "BentoCache L1 get (memory driver)";
export const MISS = "tscaching local miss, shared hit";
export const SHARED_HIT = "tscaching memcached hit (no local=)";

export async function run({ servers, namespace, scale }) {
  const KEYS = scale.keys;
  const p = loadProject();
  p.configureTscaching(servers, `${namespace}.local`);
  const shared = loadProject({ fresh: true });
  if (shared.getUserLocal === p.getUserLocal) throw new Error("the second project instance is not independent");
  shared.configureTscaching(servers, `${namespace}.localshared`, { shareValues: true });
  const bento = await p.BentoL1Peer.create();
  const fns = {
    [COPY]: (i) => p.getUserLocal(i % KEYS),
    [SHARED]: (i) => shared.getUserLocal(i % KEYS),
    [LRU]: (i) => p.lruGetUser(i % KEYS),
    [BENTO]: (i) => bento.getUser(i % KEYS),
    "lru-cache + JSON.parse (copy per hit)": (i) => p.lruJsonGetUser(i % KEYS),
  };
  const names = Object.keys(fns);
  for (const fn of Object.values(fns)) await preload(fn, KEYS);
  await assertSameValues(fns, [0, 1, KEYS - 1]);
  const before = { ...p.executions };
  const sharedBefore = { ...shared.executions };
  const statsBefore = [p.tscachingStats(), shared.tscachingStats()];
  const contenders = names.map((name) => ({ name, run: (n) => serial(fns[name], n) }));
  const others = names.filter((n) => n !== COPY && n !== SHARED);
  const pairs = [...others.map((b) => [COPY, b]), ...others.map((b) => [SHARED, b])];
  const result = await compare({ contenders, rounds: scale.rounds, ops: scale.memoryOps, warmup: scale.memoryOps, pairs });
  const missesDuringTimedRuns = Object.fromEntries(Object.keys(p.executions).map((k) => [k, p.executions[k] - (before[k] ?? 0)]));
  missesDuringTimedRuns["tscaching local (shareValues)"] = (shared.executions["tscaching local"] ?? 0) - (sharedBefore["tscaching local"] ?? 0);
  const statsAfter = [p.tscachingStats(), shared.tscachingStats()];
  // Every timed tscaching call must have been a local hit (no request): counted by the runtime.
  const timedLocalHits = statsAfter.map((s, i) => s.localHits - statsBefore[i].localHits);

  // The miss: a third runtime instance whose tier holds a single copy.
  const missing = loadProject({ fresh: true });
  missing.configureTscaching(servers, `${namespace}.localmiss`, { localMaxEntries: 1 });
  const floor = new p.HandWrittenMemjs(servers, `${namespace}.floor`);
  const missFns = {
    [MISS]: (i) => missing.getUserLocal(i % KEYS),
    [SHARED_HIT]: (i) => p.getUser(i % KEYS),
    "memjs get + JSON.parse (floor)": (i) => floor.getUser(i % KEYS),
  };
  for (const fn of Object.values(missFns)) await preload(fn, KEYS);
  await assertSameValues(missFns, [0, 1, KEYS - 1]);
  const missBefore = { ...missing.executions };
  const missStatsBefore = missing.tscachingStats();
  const miss = await compare({
    contenders: Object.keys(missFns).map((name) => ({ name, run: (n) => serial(missFns[name], n) })),
    rounds: scale.rounds, ops: scale.serialOps, warmup: Math.min(scale.serialOps, 2000),
    pairs: Object.keys(missFns).slice(1).map((b) => [MISS, b]),
  });
  const missStats = missing.tscachingStats();
  missesDuringTimedRuns["tscaching local miss"] = (missing.executions["tscaching local"] ?? 0) - (missBefore["tscaching local"] ?? 0);
  const localHitsWhileMissing = missStats.localHits - missStatsBefore.localHits;
  await Promise.all([p.closeTscaching(), shared.closeTscaching(), missing.closeTscaching(), bento.close()]);
  floor.close();
  const view = (base, id, mode) => ({
    id, mode, rounds: result.rounds, ops: result.ops,
    contenders: [result.contenders.find((c) => c.name === base), ...result.contenders.filter((c) => others.includes(c.name))],
    ratios: result.ratios.filter((r) => r.a === base),
  });
  return {
    results: [view(COPY, "hit-local-serial", "serial, local tier"), view(SHARED, "hit-local-shared", "serial, local tier, shareValues"),
      { id: "hit-local-miss", mode: "serial, local tier missed (a memcached hit behind it)", ...miss }],
    checks: { missesDuringTimedRuns, timedLocalHits, localHitsWhileMissing, tscachingErrors: p.cacheErrors.length + shared.cacheErrors.length + missing.cacheErrors.length },
  };
}
