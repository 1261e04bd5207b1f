/**
 * `stale=` (serve past the ttl while one refresh runs; grace when the function fails) and `errors=`
 * (negative caching), on the shared memcached. Entries past their ttl are mostly made by writing a
 * back-dated envelope, so only two tests wait for real expiry.
 */
import { afterAll, beforeEach, expect, inject, test } from "vitest";
import { cache, cachedCall, configure, defineCached, Uncached, type CacheError } from "../../runtime/index";
import type { CachedFunctionSpec } from "../../runtime/call";
import { encodeEntry } from "../../runtime/entries";
import { close, state } from "../../runtime/state";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let errors: CacheError[];
let n = 0;

beforeEach(() => {
  errors = [];
  configure({ servers: inject("memcached"), namespace: `stale${Date.now()}x${n++}`, onError: (e) => errors.push(e) });
});
afterAll(() => close());

function spec(fields: Omit<CachedFunctionSpec, "v" | "id">, id = `test#stale${n}`) {
  return defineCached({ v: 1, id, ...fields });
}

/** Store `value` as if written `agoMs` ago by a function with this ttl. */
async function backdate(id: string, args: unknown[], value: unknown, ttl: number, agoMs: number): Promise<string> {
  const key = cache.keyOf(id, args);
  await state().backend.set(key, encodeEntry(value, 0, Date.now() - agoMs + ttl * 1000), 3600);
  return key;
}

test("a function without stale= stores no envelope; one with it does", async () => {
  const plain = spec({ ttl: 60 }, "test#plainEnvelope");
  const withStale = spec({ ttl: 60, stale: 60 }, "test#staleEnvelope");
  await cachedCall(plain, ["a"], async () => "value");
  await cachedCall(withStale, ["a"], async () => "value");
  const raw = async (id: string) => (await state().backend.get(cache.keyOf(id, ["a"])))!.toString();
  expect(await raw("test#plainEnvelope")).toBe(`\u0001tc1J7:"value"`);
  expect(await raw("test#staleEnvelope")).toMatch(/^\u0003\d{13}:\u0001tc1J7:"value"$/);
  // Both read back as hits.
  expect(await cachedCall(withStale, ["a"], async () => "other")).toBe("value");
  expect(await cache.get(cache.keyOf<string>("test#staleEnvelope", ["a"]))).toBe("value");
});

test("past its ttl: served at once, one refresh in the background, the stale event and count", async () => {
  const s = spec({ ttl: 60, stale: 3600 });
  const key = await backdate(s.id, ["k"], "old", 60, 65_000);
  const seen: Array<{ id: string; key: string; age: number }> = [];
  const onStale = (e: { id: string; key: string; age: number }) => seen.push(e);
  cache.on("stale", onStale);
  let runs = 0;
  let finish!: () => void;
  const body = () => {
    runs++;
    return new Promise<string>((resolve) => (finish = () => resolve("new")));
  };
  try {
    // Sequential callers, each finding the stale entry while the refresh is still running.
    for (let i = 0; i < 5; i++) expect(await cachedCall(s, ["k"], body)).toBe("old");
    expect(runs).toBe(1);
    expect(seen).toHaveLength(5);
    expect(seen[0]).toMatchObject({ id: s.id, key });
    expect(seen[0]!.age).toBeGreaterThanOrEqual(5_000);
    expect(seen[0]!.age).toBeLessThan(10_000);
    expect(cache.stats().functions[s.id]).toMatchObject({ staleServes: 5, hits: 0, misses: 0 });
    finish();
    await sleep(50);
    expect(await cachedCall(s, ["k"], body)).toBe("new");
    expect(runs).toBe(1);
    expect(cache.stats().functions[s.id]).toMatchObject({ staleServes: 5, hits: 1 });
  } finally {
    cache.off("stale", onStale);
  }
});

test("grace: while refreshes fail the stale value is served and each failure reported", async () => {
  const s = spec({ ttl: 10, stale: 3600 });
  await backdate(s.id, [1], { v: "old" }, 10, 20_000);
  let runs = 0;
  const failing = async () => {
    runs++;
    throw new TypeError("database down");
  };
  for (let i = 0; i < 3; i++) {
    expect(await cachedCall(s, [1], failing)).toEqual({ v: "old" });
    await sleep(20);
  }
  expect(runs).toBe(3);
  expect(errors.map((e) => e.code)).toEqual(["EREFRESH", "EREFRESH", "EREFRESH"]);
  expect(errors[0]!.cause).toBeInstanceOf(TypeError);
  expect(errors[0]!.message).toMatch(/database down/);
});

test("an Uncached refresh result is not stored: the stale value stays", async () => {
  const s = spec({ ttl: 10, stale: 3600 });
  await backdate(s.id, ["u"], "old", 10, 20_000);
  expect(await cachedCall(s, ["u"], () => new Uncached("private"))).toBe("old");
  await sleep(30);
  expect(await cachedCall(s, ["u"], () => new Uncached("private"))).toBe("old");
});

test("a function without stale= treats an expired envelope as a miss; an entry without envelope is fresh", async () => {
  const noStale = spec({ ttl: 10 });
  await backdate(noStale.id, ["x"], "old", 10, 20_000);
  expect(await cachedCall(noStale, ["x"], async () => "fresh")).toBe("fresh");
  const s = spec({ ttl: 10, stale: 60 }, "test#staleReadsPlain");
  await state().backend.set(cache.keyOf(s.id, ["y"]), encodeEntry("plain", 0), 60);
  expect(await cachedCall(s, ["y"], async () => "computed")).toBe("plain");
  expect(cache.stats().functions[s.id]).toMatchObject({ hits: 1, staleServes: 0 });
});

test("real time: fresh, then stale with grace, then gone after ttl + stale", async () => {
  // memcached counts whole seconds, so an item stored for ttl + stale = 4 s may go after 3 s: the
  // stale read at 1.1 s stays clear of that edge (with stale=1 it sometimes found the item gone).
  const s = spec({ ttl: 1, stale: 3 });
  let fail = false;
  let runs = 0;
  const body = async () => {
    runs++;
    if (fail) throw new Error("source down");
    return `v${runs}`;
  };
  expect(await cachedCall(s, ["rt"], body)).toBe("v1");
  expect(await cachedCall(s, ["rt"], body)).toBe("v1");
  await sleep(1_100);
  fail = true;
  expect(await cachedCall(s, ["rt"], body)).toBe("v1"); // stale, refresh fails
  expect(cache.stats().functions[s.id]?.staleServes).toBe(1);
  // memcached counts whole seconds: the entry is gone within ttl + stale + 1 s of its store.
  await sleep(4_000);
  await expect(cachedCall(s, ["rt"], body)).rejects.toThrow("source down");
});

test("errors: rejections are never cached by default", async () => {
  const s = spec({ ttl: 60 });
  let runs = 0;
  const body = async () => {
    runs++;
    throw new Error("nope");
  };
  await expect(cachedCall(s, ["e"], body)).rejects.toThrow("nope");
  await expect(cachedCall(s, ["e"], body)).rejects.toThrow("nope");
  expect(runs).toBe(2);
});

test("errors=: a rejection is cached as name and message, rebuilt as an Error, until it expires", async () => {
  configure({ servers: "", namespace: `errors${Date.now()}` }); // the memory backend expires to the millisecond
  const s = spec({ ttl: 60, errors: 1 });
  let runs = 0;
  class NotFound extends Error {
    override name = "NotFound";
    code = 404;
  }
  const body = async () => {
    runs++;
    if (runs === 1) throw new NotFound("no user 7");
    return "found";
  };
  const original = await cachedCall(s, [7], body).catch((e) => e);
  expect(original).toBeInstanceOf(NotFound);
  const cached = await cachedCall(s, [7], body).catch((e) => e);
  expect(runs).toBe(1);
  expect(cached).toBeInstanceOf(Error);
  expect(cached).not.toBeInstanceOf(NotFound);
  expect(cached).toMatchObject({ name: "NotFound", message: "no user 7", cached: true });
  expect(cached.code).toBeUndefined();
  expect(cache.stats().functions[s.id]).toMatchObject({ hits: 1, misses: 1 });
  expect(await cache.get(cache.keyOf(s.id, [7]))).toBeUndefined();
  await sleep(1_050);
  expect(await cachedCall(s, [7], body)).toBe("found");
  expect(runs).toBe(2);
});

test("errors=: a thrown non-Error comes back as an Error with its text; huge messages are cut", async () => {
  const s = spec({ ttl: 60, errors: 30 });
  await expect(cachedCall(s, ["str"], () => Promise.reject("plain text"))).rejects.toBe("plain text");
  await expect(cachedCall(s, ["str"], async () => 1)).rejects.toMatchObject({ name: "Error", message: "plain text" });
  await expect(cachedCall(s, ["big"], () => Promise.reject(new Error("x".repeat(100_000))))).rejects.toThrow();
  const again = await cachedCall(s, ["big"], async () => 1).catch((e) => e);
  expect(again.message.length).toBeLessThan(5_000);
});

test("errors= with stale=: a failed refresh keeps the stale value instead of caching the rejection", async () => {
  const s = spec({ ttl: 10, stale: 3600, errors: 60 });
  await backdate(s.id, ["se"], "old", 10, 20_000);
  expect(await cachedCall(s, ["se"], async () => { throw new Error("down"); })).toBe("old");
  await sleep(30);
  expect(await cachedCall(s, ["se"], async () => { throw new Error("down"); })).toBe("old");
});
