// Alternating, repeated measurements and their medians. Every comparison runs its contenders one
// after the other inside each round (the order rotates from round to round, so that drift and
// warm-up favour nobody), and ratios are taken within a round before the median is taken: on a
// noisy machine the ratio of two neighbouring measurements is far steadier than either time.

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const gc = globalThis.gc ?? (() => {});

/** Calls `fn(i)` for i in 0..n-1, one after the other. */
export async function serial(fn, n) {
  for (let i = 0; i < n; i++) await fn(i);
}

/**
 * `width` concurrent callers, each calling `fn(i)` one after the other for its share of 0..n-1
 * (caller w takes w, w + width, ...). With keys chosen as `i % K` and K a multiple of width, no two
 * callers ever ask for the same key at once, so in-flight sharing cannot help anyone.
 */
export async function concurrent(fn, n, width) {
  const callers = [];
  for (let w = 0; w < width; w++) {
    callers.push((async () => {
      for (let i = w; i < n; i += width) await fn(i);
    })());
  }
  await Promise.all(callers);
}

/**
 * Runs each contender `ops` times per round for `rounds` rounds (after `warmup` untimed ops each).
 * contenders: [{ name, run(ops) → Promise }]. pairs: [[a, b], ...] for which per-round ratios
 * time(a)/time(b) are taken. Returns per-contender µs/op and ops/s medians and the ratio medians.
 */
export async function compare({ contenders, rounds, ops, warmup = ops, pairs = [] }) {
  for (const c of contenders) await c.run(warmup);
  const times = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = contenders.slice(r % contenders.length).concat(contenders.slice(0, r % contenders.length));
    if (r % 2 === 1) order.reverse();
    for (const c of order) {
      gc();
      const start = process.hrtime.bigint();
      await c.run(ops);
      times[c.name].push(Number(process.hrtime.bigint() - start) / 1000 / ops); // µs per op
    }
  }
  return {
    rounds,
    ops,
    contenders: contenders.map((c) => {
      const us = median(times[c.name]);
      return { name: c.name, usPerOp: us, opsPerSec: 1e6 / us, perRoundUs: times[c.name] };
    }),
    ratios: pairs.map(([a, b]) => {
      const perRound = times[a].map((t, i) => t / times[b][i]);
      return { a, b, median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound), perRound };
    }),
  };
}
