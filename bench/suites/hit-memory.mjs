// Item 3: tscaching's in-memory backend (no servers configured) vs a bare lru-cache get wrapped in
// an async function; for context also lru-cache holding JSON text (a copy per hit, as tscaching
// gives) and typescript-memoize (keeps the promise itself: no copy, no codec).
import { assertSameValues, loadProject, preload } from "../lib/project.mjs";
import { compare, serial } from "../lib/measure.mjs";

export async function run({ namespace, scale }) {
  const KEYS = scale.keys;
  const p = loadProject();
  p.configureTscaching("", `${namespace}.mem`);
  const memo = new p.MemoizePeer();
  const fns = {
    "tscaching (memory backend)": (i) => p.getUser(i % KEYS),
    "lru-cache get in an async function (floor)": (i) => p.lruGetUser(i % KEYS),
    "lru-cache + JSON.parse (copy per hit)": (i) => p.lruJsonGetUser(i % KEYS),
    "typescript-memoize @Memoize": (i) => memo.getUser(i % KEYS),
  };
  const names = Object.keys(fns);
  for (const fn of Object.values(fns)) await preload(fn, KEYS);
  await assertSameValues(fns, [0, 1, KEYS - 1]);
  const executionsBefore = { ...p.executions };
  const contenders = names.map((name) => ({ name, run: (n) => serial(fns[name], n) }));
  const pairs = names.slice(1).map((b) => [names[0], b]);
  const result = await compare({ contenders, rounds: scale.rounds, ops: scale.memoryOps, warmup: scale.memoryOps, pairs });
  const missesDuringTimedRuns = Object.fromEntries(
    Object.keys(p.executions).map((k) => [k, p.executions[k] - (executionsBefore[k] ?? 0)]));
  await p.closeTscaching();
  return { results: [{ id: "hit-memory-serial", mode: "serial", ...result }], checks: { missesDuringTimedRuns, tscachingErrors: p.cacheErrors.length } };
}
