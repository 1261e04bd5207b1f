/**
 * The `hit` event on every kind of hit (a local-tier hit, a memory hit, a memcached hit), following
 * its listeners as they come and go: the hit paths read a flag kept as listeners are added and
 * removed instead of counting them per hit, so `on`, `off`, a listener that removes itself, and a
 * second listener outliving the first must all still be seen at once.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, expect, inject, test } from "vitest";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close, events } from "../../runtime/state";

type Hit = { id: string; key: string };
const errors: CacheError[] = [];
const hits: Hit[] = [];
const onHit = (hit: Hit): void => void hits.push(hit);

afterEach(() => {
  cache.off("hit", onHit);
  hits.length = 0;
  expect(errors).toEqual([]);
});
afterAll(() => close());

/** A cached function of a fresh id (with `local=` when asked) and its spec. */
function cached(local?: number) {
  const spec = defineCached({ v: 1, id: `hit-events#${randomUUID().slice(0, 8)}`, ttl: 60, ...(local ? { local } : {}) });
  return { spec, get: (arg: string) => cachedCall(spec, [arg], async () => ({ arg })) };
}

const kinds = [
  ["a memory hit", () => configure({ namespace: `hitev-m-${Date.now()}`, onError: (e) => errors.push(e) }), undefined],
  ["a memory hit, shareValues", () => configure({ namespace: `hitev-ms-${Date.now()}`, memory: { shareValues: true },
    onError: (e) => errors.push(e) }), undefined],
  ["a local-tier hit", () => configure({ servers: inject("memcached"), namespace: `hitev-l-${Date.now()}`,
    onError: (e) => errors.push(e) }), 60],
  ["a local-tier hit, shareValues", () => configure({ servers: inject("memcached"), namespace: `hitev-ls-${Date.now()}`,
    local: { shareValues: true }, onError: (e) => errors.push(e) }), 60],
  ["a memcached hit", () => configure({ servers: inject("memcached"), namespace: `hitev-mc-${Date.now()}`,
    onError: (e) => errors.push(e) }), undefined],
] as const;

test.each(kinds)("%s emits `hit` exactly while someone listens", async (_kind, setup, local) => {
  setup();
  const { spec, get } = cached(local);
  await get("a"); // the miss fills the cache (and the tier)
  await get("a");
  expect(hits).toEqual([]);

  cache.on("hit", onHit);
  await get("a");
  await get("a");
  expect(hits).toHaveLength(2);
  expect(hits[0]).toEqual({ id: spec.id, key: expect.stringContaining(spec.id) });

  // A second listener, then the first goes: the second still hears every hit.
  const second: Hit[] = [];
  const onSecond = (hit: Hit): void => void second.push(hit);
  cache.on("hit", onSecond);
  cache.off("hit", onHit);
  await get("a");
  expect(hits).toHaveLength(2);
  expect(second).toHaveLength(1);

  cache.off("hit", onSecond);
  await get("a");
  expect(second).toHaveLength(1);

  // A listener that removes itself on its first hit (as `once` does).
  const once: Hit[] = [];
  events.once("hit", (hit) => void once.push(hit));
  await get("a");
  await get("a");
  expect(once).toHaveLength(1);
  expect(events.listenerCount("hit")).toBe(0);

  // Listening again after all that.
  cache.on("hit", onHit);
  await get("a");
  expect(hits).toHaveLength(3);
  const stats = cache.stats().functions[spec.id];
  expect(stats).toMatchObject({ hits: 8, misses: 1 });
  if (local !== undefined) expect(stats.localHits).toBe(8);
});
