/**
 * The typed operations and group invalidation, on the in-memory backend and on a real memcached
 * (a private one: flushAll must not wipe other test files' entries).
 */
import { beforeAll, describe, expect, test } from "vitest";
import { cache, cachedCall, configure, defineCached, keyHelper } from "../../runtime/index";
import { useMemcachedServers } from "../helpers/cluster";

const servers = useMemcachedServers(1);
const backends = { memory: () => ({}), memcached: () => ({ servers: servers[0].address }) };

describe.each(Object.keys(backends) as (keyof typeof backends)[])("on the %s backend", (backend) => {
  beforeAll(() => configure({ ...backends[backend](), namespace: `ops${backend}`, invalidationCheck: 0 }));

  test("get, set, add, replace keep memcached's meaning", async () => {
    const key = cache.key<{ n: number; at: Date }>("ops", backend, 1);
    expect(await cache.get(key)).toBeUndefined();
    expect(await cache.replace(key, { n: 1, at: new Date(0) })).toBe(false);
    expect(await cache.add(key, { n: 2, at: new Date(0) })).toBe(true);
    expect(await cache.add(key, { n: 3, at: new Date(0) })).toBe(false);
    expect(await cache.get(key)).toEqual({ n: 2, at: new Date(0) });
    expect(await cache.replace(key, { n: 4, at: new Date(1) })).toBe(true);
    expect(await cache.get(key)).toEqual({ n: 4, at: new Date(1) });
    expect(await cache.set(key, { n: 5, at: new Date(2) }, 60)).toBe(true);
    expect((await cache.get(key))?.n).toBe(5);
    expect(await cache.delete(key)).toBe(true);
    expect(await cache.delete(key)).toBe(false);
  });

  test("append, prepend, counters and touch", async () => {
    const text = cache.key<string>("text", backend);
    expect(await cache.append(text, "x")).toBe(false);
    await cache.set(text, "middle");
    expect(await cache.append(text, ">")).toBe(true);
    expect(await cache.prepend(text, "<")).toBe(true);
    expect(await cache.get(text)).toBe("<middle>");
    const counter = cache.key<number>("counter", backend);
    expect(await cache.incr(counter)).toBeUndefined();
    await cache.set(counter, 10);
    expect(await cache.incr(counter, 5)).toBe(15);
    expect(await cache.decr(counter, 20)).toBe(0);
    expect(await cache.get(counter)).toBe(0);
    expect(await cache.touch(counter, 100)).toBe(true);
    expect(await cache.touch(cache.key<number>("absent"), 100)).toBe(false);
  });

  test("getMulti returns the hits", async () => {
    const a = cache.key<string>("multi", "a");
    const b = cache.key<string>("multi", "b");
    const c = cache.key<string>("multi", "c");
    await cache.set(a, "A");
    await cache.set(c, "C");
    const found = await cache.getMulti([a, b, c]);
    expect([...found.entries()]).toEqual([[a, "A"], [c, "C"]]);
  });

  test("invalidate(helper) turns every entry of one function into a miss, and only that function's", async () => {
    const spec = defineCached({ v: 1, id: `ops#${backend}.lookup` });
    const other = defineCached({ v: 1, id: `ops#${backend}.other` });
    const helper = keyHelper<[name: string], string>(spec.id);
    let runs = 0;
    const lookup = (name: string) => cachedCall(spec, [name], async () => `${name}#${++runs}`);
    const otherLookup = (name: string) => cachedCall(other, [name], async () => `${name}#${++runs}`);
    expect([await lookup("a"), await lookup("b"), await otherLookup("a")]).toEqual(["a#1", "b#2", "a#3"]);
    expect(await cache.get(helper("a"))).toBe("a#1");
    expect(await cache.invalidate(helper)).toBe(true);
    expect(await cache.get(helper("a"))).toBeUndefined();
    expect([await lookup("a"), await lookup("b"), await otherLookup("a")]).toEqual(["a#4", "b#5", "a#3"]);
    expect([await lookup("a"), await lookup("b")]).toEqual(["a#4", "b#5"]);
    // Writes through the helper after an invalidation are current.
    expect(await cache.replace(helper("a"), "fresh")).toBe(true);
    expect(await lookup("a")).toBe("fresh");
    expect(await cache.invalidate(helper)).toBe(true);
    expect(await cache.invalidate(helper)).toBe(true);
    expect(await lookup("a")).toBe("a#6");
  });

  test("the group of cache.key() names", async () => {
    const key = cache.key<string>("family", 1);
    await cache.set(key, "one");
    await cache.invalidate(cache.group<string>("family"));
    expect(await cache.get(key)).toBeUndefined();
  });

  test("flushAll empties the cache", async () => {
    const key = cache.key<string>("flushed");
    await cache.set(key, "x");
    expect(await cache.flushAll()).toBe(true);
    expect(await cache.get(key)).toBeUndefined();
  });
});

test("keyHelper builds the very key cachedCall uses", () => {
  configure({ namespace: "same" });
  const helper = keyHelper<[string, number], string>("src/db#DB.get");
  expect(helper("bob", 1)).toBe(cache.keyOf("src/db#DB.get", ["bob", 1]));
  expect(helper.id).toBe("src/db#DB.get");
  expect(() => keyHelper("")).toThrow(TypeError);
});
