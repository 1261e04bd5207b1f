/**
 * Tags (`tags=user(id)`): `cache.invalidateTag()` turns every entry of every function carrying the
 * tag value into a miss, on the in-memory backend and on two real memcached servers (the tag
 * counters keep a copy on each).
 */
import { beforeAll, describe, expect, test } from "vitest";
import { cache, cachedCall, configure, defineCached } from "../../runtime/index";
import { flightCount } from "../../runtime/flights";
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
