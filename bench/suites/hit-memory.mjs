// Item 3: tscaching's in-memory backend (no servers configured) vs a bare lru-cache get wrapped in
// an async function. tscaching runs twice, side by side in the same rounds (two independent runtime
// instances in this process): by default, where every hit decodes a copy of its own (as a memcached
// hit does), and with `memory.shareValues`, where hits share one frozen object (as the floor's do).
// For context also lru-cache holding JSON text (a copy per hit, the default's semantics) and
// typescript-memoize (keeps the promise itself: no copy, no codec).
import { assertSameValues, loadProject, preload } from "../lib/project.mjs";
import { compare, serial } from "../lib/measure.mjs";

const COPY = "tscaching (memory backend)";
const SHARED = "tscaching (memory backend, shareValues)";
const FLOOR = "lru-cache get in an async function (floor)";

export async function run({ namespace, scale }) {
  const KEYS = scale.keys;
  const p = loadProject();
  p.configureTscaching("", `${namespace}.mem`);
  const shared = loadProject({ fresh: true });
  if (shared.getUser === p.getUser) throw new Error("the second project instance is not independent");
  shared.configureTscaching("", `${namespace}.shared`, { shareValues: true });
  const memo = new p.MemoizePeer();
  const fns = {
    [COPY]: (i) => p.getUser(i % KEYS),
    [SHARED]: (i) => shared.getUser(i % KEYS),
    [FLOOR]: (i) => p.lruGetUser(i % KEYS),
    "lru-cache + JSON.parse (copy per hit)": (i) => p.lruJsonGetUser(i % KEYS),
    "typescript-memoize @Memoize": (i) => memo.getUser(i % KEYS),
  };
  const names = Object.keys(fns);
  for (const fn of Object.values(fns)) await preload(fn, KEYS);
  await assertSameValues(fns, [0, 1, KEYS - 1]);
  const executionsBefore = { ...p.executions };
  const sharedBefore = { ...shared.executions };
  const contenders = names.map((name) => ({ name, run: (n) => serial(fns[name], n) }));
  const others = names.filter((n) => n !== COPY && n !== SHARED);
  const pairs = [...others.map((b) => [COPY, b]), ...others.map((b) => [SHARED, b])];
  const result = await compare({ contenders, rounds: scale.rounds, ops: scale.memoryOps, warmup: scale.memoryOps, pairs });
  const missesDuringTimedRuns = Object.fromEntries(
    Object.keys(p.executions).map((k) => [k, p.executions[k] - (executionsBefore[k] ?? 0)]));
  missesDuringTimedRuns["tscaching (shareValues)"] = (shared.executions.tscaching ?? 0) - (sharedBefore.tscaching ?? 0);
  const errors = p.cacheErrors.length + shared.cacheErrors.length;
  await p.closeTscaching();
  await shared.closeTscaching();
  // One comparison per tscaching mode, from the same rounds.
  const view = (base, id, mode) => ({
    id, mode, rounds: result.rounds, ops: result.ops,
    contenders: [result.contenders.find((c) => c.name === base), ...result.contenders.filter((c) => others.includes(c.name))],
    ratios: result.ratios.filter((r) => r.a === base),
  });
  return {
    results: [view(COPY, "hit-memory-serial", "serial"), view(SHARED, "hit-memory-shared", "serial, shareValues")],
    checks: { missesDuringTimedRuns, tscachingErrors: errors },
  };
}
