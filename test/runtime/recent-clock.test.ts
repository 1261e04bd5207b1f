/**
 * `recentNow`, the clock reading a local-tier hit checks its copy's expiry against: on the real
 * clock one reading serves for the rest of an event-loop turn and at most a handful of answers, so
 * it is never ahead of the clock, a turn ends it, and a loop that never yields still sees time move.
 * A set clock (tests) is read every time. And on the real clock a local copy still ends on time.
 */
import { randomUUID } from "node:crypto";
import { setImmediate as nextTurn } from "node:timers/promises";
import { afterAll, afterEach, expect, inject, test } from "vitest";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { clock, recentNow, setClock } from "../../runtime/clock";
import { close } from "../../runtime/state";
import { ManualClock } from "../helpers/clock";

const errors: CacheError[] = [];
afterEach(() => {
  setClock();
  expect(errors).toEqual([]);
});
afterAll(() => close());

/** Spin, without yielding to the event loop, until the real clock has moved past `ms`. */
function spinPast(ms: number): void {
  while (Date.now() <= ms) {
    // busy: this is what a loop of cache hits that never yields looks like to timers
  }
}

test("on the real clock it is never ahead of Date.now(), and a turn of the event loop ends a reading", async () => {
  for (let round = 0; round < 3; round++) {
    const first = recentNow();
    expect(first).toBeLessThanOrEqual(Date.now());
    spinPast(first + 1);
    await nextTurn();
    const after = Date.now();
    const next = recentNow();
    expect(next).toBeGreaterThan(first);
    expect(next).toBeGreaterThanOrEqual(after);
  }
});

test("a loop that never yields still sees time move within a handful of answers", () => {
  const first = recentNow();
  spinPast(first + 1);
  const seen: number[] = [];
  for (let i = 0; i < 64; i++) seen.push(recentNow());
  // Bounded by uses, not by time: 16 answers per reading at most.
  const fresh = seen.findIndex((t) => t > first);
  expect(fresh).toBeGreaterThanOrEqual(0);
  expect(fresh).toBeLessThan(16);
  expect(seen.every((t) => t <= Date.now())).toBe(true);
});

test("a set clock is read on every call, also right after the real clock served a reading", async () => {
  recentNow();
  const manual = new ManualClock(5_000);
  setClock(manual);
  expect(recentNow()).toBe(5_000);
  await manual.advance(1);
  expect(recentNow()).toBe(5_001);
  expect(recentNow()).toBe(clock.now());
  setClock();
  // Back on the real clock: a fresh reading, not one from before the set clock.
  expect(Math.abs(recentNow() - Date.now())).toBeLessThan(1_000);
});

test("on the real clock a local copy is not served once its `local` has passed", async () => {
  configure({ servers: inject("memcached"), namespace: `recent-${Date.now()}`, local: { shareValues: true },
    onError: (e) => errors.push(e) });
  const spec = defineCached({ v: 1, id: `recent#${randomUUID().slice(0, 8)}`, ttl: 60, local: 0.05 });
  let runs = 0;
  const get = () => cachedCall(spec, ["k"], async () => ({ runs: ++runs }));
  await get();
  const filled = Date.now();
  await get();
  expect(cache.stats().functions[spec.id].localHits).toBe(1);
  spinPast(filled + 60);
  await nextTurn();
  // The copy is past its 50 ms: this call reads memcached (a shared hit, no run) and refills the tier.
  expect(await get()).toEqual({ runs: 1 });
  expect(cache.stats().functions[spec.id]).toMatchObject({ hits: 2, localHits: 1, misses: 1 });
});
