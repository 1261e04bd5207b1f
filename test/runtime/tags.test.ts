/**
 * Tags (`tags=user(id)`): `cache.invalidateTag()` turns every entry of every function carrying the
 * tag value into a miss, on the in-memory backend and on two real memcached servers (the tag
 * counters keep a copy on each).
 */
import * as net from "node:net";
import { beforeAll, describe, expect, test } from "vitest";
import { cache, cachedCall, configure, defineCached } from "../../runtime/index";
import { flightCount } from "../../runtime/flights";
import { knownCount } from "../../runtime/groups";
import { useMemcachedServers } from "../helpers/cluster";

const servers = useMemcachedServers(2);
const backends = {
  memory: () => ({}),
  memcached: () => ({ servers: servers.map((s) => s.address).join(",") }),
};

describe.each(Object.keys(backends) as (keyof typeof backends)[])("on the %s backend", (backend) => {
  beforeAll(() => configure({ ...backends[backend](), namespace: `tags${backend}`, invalidationCheck: 60_000 }));

  // Three functions as the transformer emits them: getProfile(id) tags=user(id),
  // getMembership(userId, teamId) tags=user(userId),team(teamId), listProducts() tags=catalog.
  const profile = defineCached({ v: 1, id: `tags#${backend}.profile`, tags: [{ name: "user", args: [0] }] });
  const membership = defineCached({ v: 1, id: `tags#${backend}.membership`,
    tags: [{ name: "user", args: [0] }, { name: "team", args: [1] }] });
  const products = defineCached({ v: 1, id: `tags#${backend}.products`, tags: [{ name: "catalog", args: [] }] });
  let runs = 0;
  const getProfile = (id: number) => cachedCall(profile, [id], async () => `profile ${id} #${++runs}`, [id]);
  const getMembership = (userId: number, teamId: string) =>
    cachedCall(membership, [userId, teamId], async () => `member ${userId}/${teamId} #${++runs}`, [userId, teamId]);
  const listProducts = () => cachedCall(products, [], async () => `products #${++runs}`, []);

  test("invalidateTag(user(42)) misses every function carrying user(42), and only those entries", async () => {
    const first = [await getProfile(42), await getProfile(7), await getMembership(42, "a"), await getMembership(7, "a"), await listProducts()];
    expect([await getProfile(42), await getProfile(7), await getMembership(42, "a"), await getMembership(7, "a"), await listProducts()])
      .toEqual(first);
    expect(await cache.invalidateTag(cache.tag("user", 42))).toBe(true);
    const after = [await getProfile(42), await getProfile(7), await getMembership(42, "a"), await getMembership(7, "a"), await listProducts()];
    expect(after[0]).not.toBe(first[0]);
    expect(after[2]).not.toBe(first[2]);
    expect([after[1], after[3], after[4]]).toEqual([first[1], first[3], first[4]]);
    // The new entries are hits again.
    expect([await getProfile(42), await getMembership(42, "a")]).toEqual([after[0], after[2]]);
  });

  test("several tags at once, bare tags, and repeated invalidations", async () => {
    const before = [await getMembership(1, "x"), await getMembership(2, "y"), await listProducts()];
    expect(await cache.invalidateTag(cache.tag("team", "y"), cache.tag("catalog"))).toBe(true);
    const after = [await getMembership(1, "x"), await getMembership(2, "y"), await listProducts()];
    expect(after[0]).toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
    expect(after[2]).not.toBe(before[2]);
    for (let i = 0; i < 3; i++) {
      const was = await listProducts();
      await cache.invalidateTag(cache.tag("catalog"));
      expect(await listProducts()).not.toBe(was);
    }
  });

  test("a computation begun before invalidateTag neither stores over it nor is joined after it", async () => {
    let release!: (value: string) => void;
    const slow = new Promise<string>((resolve) => (release = resolve));
    const early = cachedCall(profile, [500], () => slow, [500]);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the early call is computing
    expect(flightCount()).toBeGreaterThan(0);
    await cache.invalidateTag(cache.tag("user", 500));
    // A call after the invalidation runs its own body instead of waiting on the early one.
    const late = cachedCall(profile, [500], async () => "after", [500]);
    expect(await late).toBe("after");
    release("before");
    expect(await early).toBe("before");
    expect(await getProfile(500)).toBe("after");
  });

  test("tag arguments that cannot form a key run uncached", async () => {
    let calls = 0;
    const errors: unknown[] = [];
    configure({ ...backends[backend](), namespace: `tags${backend}`, invalidationCheck: 60_000, onError: (e) => errors.push(e) });
    const weird = () => cachedCall(profile, [1], async () => ++calls, [() => 1]);
    expect([await weird(), await weird()]).toEqual([1, 2]);
    expect(errors.length).toBe(2);
    expect(() => cache.invalidateTag({ name: 3 } as never)).toThrow(TypeError);
    expect(() => cache.tag("bad name")).toThrow(TypeError);
  });
});

test("a spec with malformed tags is refused", () => {
  expect(() => defineCached({ v: 1, id: "tags#bad", tags: [{ name: "x y", args: [0] }] })).toThrow(TypeError);
  expect(() => defineCached({ v: 1, id: "tags#bad2", tags: [{ name: "x", args: [-1] }] } as never)).toThrow(TypeError);
});

/** Every command a memcached server has answered so far (its `stats`), over a raw socket. */
async function commandsServed(address: string): Promise<number> {
  const [host, port] = address.split(":");
  const text = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), host, () => socket.write("stats\r\n"));
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString();
      if (data.endsWith("END\r\n")) {
        socket.end();
        resolve(data);
      }
    });
    socket.on("error", reject);
  });
  const stat = (name: string) => Number(new RegExp(`STAT ${name} (\\d+)`).exec(text)?.[1] ?? 0);
  // Every storage, retrieval, counter and delete command (a get or gets of a key counts once in cmd_get).
  return stat("cmd_get") + stat("cmd_set") + stat("cmd_touch") + stat("incr_hits") + stat("incr_misses") +
    stat("decr_hits") + stat("decr_misses") + stat("delete_hits") + stat("delete_misses") + stat("cas_hits") +
    stat("cas_misses") + stat("cas_badval");
}

test("invalidating a tag carried by 10,000 entries is one command per server, whatever the entry count", async () => {
  const addresses = servers.map((s) => s.address);
  // A generous operation timeout: on a loaded machine a timed-out counter write would be made again later.
  configure({ servers: addresses.join(","), namespace: `tagcost${Date.now()}`, invalidationCheck: 60_000, timeout: 10_000 });
  const spec = defineCached({ v: 1, id: "tags#cost", tags: [{ name: "shop", args: [0] }] });
  let runs = 0;
  const call = (shop: number, item: number) => cachedCall(spec, [shop, item], async () => ++runs, [shop]);
  await cache.invalidateTag(cache.tag("shop", 1)); // creates the counters: the first invalidation of a value does
  let last = 0;
  for (let from = 0; from < 10_000; from += 500) {
    const values = await Promise.all(Array.from({ length: 500 }, (_, i) => call(1, from + i)));
    last = values[499] as number; // which run computed item 9,999 depends on the order replies came back in
  }
  expect(runs).toBe(10_000);
  expect(await call(1, 9_999)).toBe(last); // a hit: the value its own computation stored
  const before = await Promise.all(addresses.map(commandsServed));
  expect(await cache.invalidateTag(cache.tag("shop", 1))).toBe(true);
  const after = await Promise.all(addresses.map(commandsServed));
  expect(after.map((n, i) => n - before[i])).toEqual([1, 1]);
  expect(await call(1, 9_999)).toBe(10_001);
}, 120_000);

test("the tag generations a process remembers stay bounded however many tag values it meets", async () => {
  configure({ namespace: `tagbound${Date.now()}` });
  const spec = defineCached({ v: 1, id: "tags#bound", tags: [{ name: "visitor", args: [0] }] });
  for (let from = 0; from < 101_000; from += 1000) {
    await Promise.all(Array.from({ length: 1000 }, (_, i) => cachedCall(spec, [from + i], async () => from + i, [from + i])));
  }
  expect(knownCount()).toBeLessThanOrEqual(100_000);
  // A forgotten value is read again from the cache: hits and invalidation still hold.
  const cached = await cachedCall(spec, [0], async () => "again", [0]);
  expect(await cachedCall(spec, [0], async () => "not a hit", [0])).toBe(cached);
  await cache.invalidateTag(cache.tag("visitor", 0));
  expect(await cachedCall(spec, [0], async () => "fresh", [0])).toBe("fresh");
}, 60_000);
