/**
 * Writes to a tagged function's keys (issue 15): tag generations live in the entry, not in the key,
 * so `cache.set/replace/add/delete` on the key keys.ts (or `cache.keyOf`) gives reach what the
 * next call reads, also after `invalidateTag()`; on the memory backend, a real memcached and a real
 * Redis. A write whose tag values this process does not know reads as stale once any of them was
 * invalidated: at worst a recomputation, never the pre-invalidation value. The local tier and
 * in-process flights follow the generations this process knows now.
 */
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, inject, test } from "vitest";
import { cache, cachedCall, configure, defineCached, keyHelper, type CacheKey } from "../../runtime/index";
import { learn } from "../../runtime/groups";
import { tagBase } from "../../runtime/tags";
import { state, close } from "../../runtime/state";

const backends = {
  memory: () => ({}),
  memcached: () => ({ servers: inject("memcached") }),
  redis: () => ({ servers: `redis://${inject("redis")}` }),
};

afterAll(() => close());

describe.each(Object.keys(backends) as (keyof typeof backends)[])("on the %s backend", (backend) => {
  const namespace = `tagw${backend}${Date.now()}`;
  const setup = () => configure({ ...backends[backend](), namespace, invalidationCheck: 60_000 });
  // getProfile(id) with tags=user(id): its tag value is its key part 0 (`tagKeys`).
  const make = (label: string, extra: object = {}) => {
    const spec = defineCached({ v: 1, id: `tagw#${label}.${randomUUID().slice(0, 8)}`, tags: [{ name: "user", args: [0] }],
      tagKeys: [0], ...extra } as never);
    let runs = 0;
    const call = (id: number) => cachedCall(spec, [id], async () => `computed ${id} #${++runs}`, [id]);
    const key = (id: number) => cache.keyOf<string>(spec.id, [id]) as CacheKey<string>;
    return { spec, call, key, runs: () => runs };
  };

  test("set, replace, add and delete reach the next call after invalidateTag", async () => {
    setup();
    const { call, key } = make("ops");
    const first = await call(42);
    expect(await call(42)).toBe(first);
    expect(await cache.invalidateTag(cache.tag("user", 42))).toBe(true);
    const second = await call(42);
    expect(second).not.toBe(first);
    expect(await cache.set(key(42), "v3")).toBe(true);
    expect(await call(42)).toBe("v3");
    expect(await cache.replace(key(42), "v4")).toBe(true);
    expect(await call(42)).toBe("v4");
    expect(await cache.get(key(42))).toBe("v4");
    expect(await cache.delete(key(42))).toBe(true);
    const recomputed = await call(42);
    expect(recomputed).toMatch(/^computed 42 #/);
    expect(await cache.delete(key(42))).toBe(true);
    expect(await cache.add(key(42), "v5")).toBe(true);
    expect(await call(42)).toBe("v5");
    // Another invalidation: the written value goes like any other entry.
    await cache.invalidateTag(cache.tag("user", 42));
    expect(await call(42)).toMatch(/^computed 42 #/);
    expect(await cache.get(key(42))).toMatch(/^computed 42 #/);
  });

  test("an add over an entry an invalidation made stale wins, as over nothing", async () => {
    setup();
    const { call, key } = make("add");
    await call(7);
    await cache.invalidateTag(cache.tag("user", 7));
    expect(await cache.get(key(7))).toBeUndefined();
    expect(await cache.add(key(7), "added")).toBe(true);
    expect(await call(7)).toBe("added");
    expect(await cache.add(key(7), "again")).toBe(false);
  });

  test("a key whose tag values this process never learnt is written with a stamp that reads stale once they were invalidated", async () => {
    setup();
    const known = make("unknown");
    await known.call(9);
    await cache.invalidateTag(cache.tag("user", 9));
    const fresh = await known.call(9);
    // A spec without tagKeys (hand-written, or a tag argument not in the key): no way to know the bases from the key.
    const spec = defineCached({ v: 1, id: `tagw#nokeys.${randomUUID().slice(0, 8)}`, tags: [{ name: "user", args: [0] }] });
    let runs = 0;
    const call = (id: number) => cachedCall(spec, [id], async () => `nk ${id} #${++runs}`, [id]);
    const key = cache.keyOf<string>(spec.id, [9]) as CacheKey<string>;
    expect(await cache.set(key, "blind")).toBe(true);
    // user(9) was invalidated: the blind write reads as stale, a recomputation, never an old value.
    expect(await call(9)).toBe("nk 9 #1");
    expect(await call(9)).toBe("nk 9 #1");
    // Once a call taught this process the key's tags, a write stamps them and is read back.
    expect(await cache.set(key, "seen")).toBe(true);
    expect(await call(9)).toBe("seen");
    // A tag value never invalidated: a blind write is read as it is.
    const other = cache.keyOf<string>(spec.id, [10]) as CacheKey<string>;
    expect(await cache.set(other, "ten")).toBe(true);
    expect(await call(10)).toBe("ten");
    expect(fresh).not.toBe("blind");
  });

  test("cached rejections (errors=) and lock functions carry the stamp too", async () => {
    setup();
    const failing = make("errors", { errors: 60 });
    let fail = 0;
    const call = () => cachedCall(failing.spec, [5], async () => {
      throw new Error(`no ${++fail}`);
    }, [5]);
    await expect(call()).rejects.toThrow("no 1");
    await expect(call()).rejects.toThrow("no 1");
    await cache.invalidateTag(cache.tag("user", 5));
    await expect(call()).rejects.toThrow("no 2");
    await expect(call()).rejects.toThrow("no 2"); // stored with the new stamp: a cached rejection again
    const locked = make("lock", { lock: 5 });
    const first = await locked.call(6);
    await cache.invalidateTag(cache.tag("user", 6));
    const second = await locked.call(6);
    expect(second).not.toBe(first);
    expect(await locked.call(6)).toBe(second);
    expect(locked.runs()).toBe(2);
  });

  test("a keys.ts helper that says the key part of each tag value stamps writes before the module loads", async () => {
    setup();
    const id = `tagw#helper.${randomUUID().slice(0, 8)}`;
    const helper = keyHelper<[id: number], string>(id, undefined, { tags: [{ name: "user", args: [0] }], tagKeys: [0] });
    await cache.invalidateTag(cache.tag("user", 12));
    expect(await cache.set(helper(12), "early")).toBe(true);
    const spec = defineCached({ v: 1, id, tags: [{ name: "user", args: [0] }], tagKeys: [0] } as never);
    expect(await cachedCall(spec, [12], async () => "computed", [12])).toBe("early");
    expect(() => keyHelper(id, undefined, { tags: [{ name: "user", args: [0] }], tagKeys: [] })).toThrow(TypeError);
    expect(() => keyHelper(id, undefined, { tags: [{ name: "no good", args: [0] }], tagKeys: [0] })).toThrow(TypeError);
    expect(() => keyHelper(id, undefined, null as never)).toThrow(TypeError);
  });

  test("a generation learnt from elsewhere turns a stored entry into a miss", async () => {
    setup();
    const { call } = make("learn");
    const first = await call(11);
    expect(await call(11)).toBe(first);
    // What another process's invalidateTag (or a pub/sub bus) teaches this one.
    learn(state().backend, tagBase(namespace, cache.tag("user", 11)), 5);
    expect(await call(11)).not.toBe(first);
  });
});

describe("the local tier and flights follow the generations this process knows", () => {
  test("a learn() after a local copy was filled turns the copy into a miss", async () => {
    configure({ servers: inject("memcached"), namespace: `tagwl${Date.now()}`, invalidationCheck: 60_000 });
    const spec = defineCached({ v: 1, id: `tagw#local.${randomUUID().slice(0, 8)}`, local: 60,
      tags: [{ name: "user", args: [0] }], tagKeys: [0] } as never);
    let runs = 0;
    const call = (id: number) => cachedCall(spec, [id], async () => `l ${id} #${++runs}`, [id]);
    const first = await call(1);
    expect(await call(1)).toBe(first);
    expect(spec.localHits).toBeGreaterThan(0);
    learn(state().backend, tagBase(state().options.namespace, cache.tag("user", 1)), 3);
    expect(await call(1)).not.toBe(first);
    // The group's generation too.
    const second = await call(1);
    expect(await call(1)).toBe(second);
    learn(state().backend, `${state().options.namespace}:${spec.id}:`, 4);
    expect(await call(1)).not.toBe(second);
  });

  test("invalidateTag in this process: a call after it never joins a flight begun before it", async () => {
    configure({ servers: inject("memcached"), namespace: `tagwf${Date.now()}`, invalidationCheck: 60_000 });
    const spec = defineCached({ v: 1, id: `tagw#flight.${randomUUID().slice(0, 8)}`, tags: [{ name: "user", args: [0] }],
      tagKeys: [0] } as never);
    let release!: (value: string) => void;
    const early = cachedCall(spec, [3], () => new Promise<string>((resolve) => (release = resolve)), [3]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await cache.invalidateTag(cache.tag("user", 3));
    const late = cachedCall(spec, [3], async () => "late", [3]);
    expect(await late).toBe("late");
    release("early");
    expect(await early).toBe("early");
    // The early computation stored under the old generation (or lost its CAS): never read now.
    expect(await cachedCall(spec, [3], async () => "never", [3])).toBe("late");
  });
});

describe("the tag stamp in an entry", () => {
  test("round-trips with the group generation and the stale envelope; all zeros writes no stamp", async () => {
    const { encodeEntry, parseEntry } = await import("../../runtime/entries");
    const fc = (await import("fast-check")).default;
    fc.assert(fc.property(fc.jsonValue(), fc.nat(1e9), fc.array(fc.nat(1e12), { maxLength: 8 }), fc.option(fc.nat(1e12), { nil: undefined }),
      (value, generation, stamp, soft) => {
        const parsed = parseEntry(encodeEntry(value, generation, soft, stamp));
        expect(parsed.generation).toBe(generation);
        expect(parsed.stamp ?? []).toEqual(stamp.some((g) => g !== 0) ? stamp : []);
        expect(parsed.body.kind).toBe("hit");
        expect((parsed.body as { value: unknown }).value).toEqual(value);
      }));
    expect(encodeEntry("x", 0, undefined, [0, 0])).toBe(encodeEntry("x", 0));
  });

  test("a malformed stamp reads as corrupt, never as a value, and never throws", async () => {
    const { encodeEntry, parseEntry } = await import("../../runtime/entries");
    const body = encodeEntry("v", 0);
    for (const stamp of ["", ":", "1..2:", ".1:", "1.:", "a:", "1234567890123456:", `${"1.".repeat(70)}1:`, "12"]) {
      for (const raw of [`\u0006${stamp}${body}`, `\u00023:\u0006${stamp}${body}`]) {
        expect(parseEntry(raw).body.kind).toBe("corrupt");
        expect(parseEntry(Buffer.from(raw, "latin1")).body.kind).toBe("corrupt");
      }
    }
    const fc = (await import("fast-check")).default;
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const raw = Buffer.concat([Buffer.from([6]), bytes]);
      expect(() => parseEntry(raw)).not.toThrow();
    }));
  });

  test("an entry with a malformed stamp is a miss for the call, overwritten", async () => {
    configure({ servers: inject("memcached"), namespace: `tagwc${Date.now()}`, onError: () => undefined });
    const spec = defineCached({ v: 1, id: `tagw#corrupt.${randomUUID().slice(0, 8)}`, tags: [{ name: "user", args: [0] }],
      tagKeys: [0] } as never);
    const key = cache.keyOf<string>(spec.id, [1]);
    await state().backend.set(key, `\u0006x:${"\u0001tc1J3:\"v\""}`, 60);
    expect(await cachedCall(spec, [1], async () => "computed", [1])).toBe("computed");
    expect(await cachedCall(spec, [1], async () => "again", [1])).toBe("computed");
  });
});

test("stale=: a refresh stores with the tag generations it read, so its value is a hit afterwards", async () => {
  const { setClock } = await import("../../runtime/clock");
  const { ManualClock, flush } = await import("../helpers/clock");
  const clock = new ManualClock(Date.now());
  setClock(clock);
  try {
    configure({ namespace: `tagws${Date.now()}` });
    const spec = defineCached({ v: 1, id: `tagw#stale.${randomUUID().slice(0, 8)}`, ttl: 1, stale: 60,
      tags: [{ name: "user", args: [0] }], tagKeys: [0] } as never);
    let runs = 0;
    const call = () => cachedCall(spec, [8], async () => `s #${++runs}`, [8]);
    await cache.invalidateTag(cache.tag("user", 8));
    expect(await call()).toBe("s #1");
    await clock.advance(2000);
    expect(await call()).toBe("s #1"); // stale, served while the refresh runs
    await flush();
    expect(await call()).toBe("s #2"); // the refresh's value, stamped with user(8)'s generation
    expect(await call()).toBe("s #2");
    expect(runs).toBe(2);
  } finally {
    const { systemClock } = await import("../../runtime/clock");
    setClock(systemClock);
  }
});
