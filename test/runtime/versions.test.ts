/**
 * Versioned keys (issue 15): two builds of one function (old and new processes of a rolling deploy)
 * keep separate entries in one memcached, neither reads the other's, `keyHelper(id, version)` finds
 * what the function of that version stored, and `invalidate` reaches every version.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { cache, cachedCall, configure, defineCached, keyHelper } from "../../runtime/index";
import { buildKey, MAX_KEY_LENGTH } from "../../runtime/keys";
import { groupOf } from "../../runtime/groups";
import { useMemcachedServers } from "../helpers/cluster";

const servers = useMemcachedServers(1);
const backends = { memory: () => ({}), memcached: () => ({ servers: servers[0].address }) };

describe.each(Object.keys(backends) as (keyof typeof backends)[])("on the %s backend", (backend) => {
  beforeAll(() => configure({ ...backends[backend](), namespace: `ver${backend}`, invalidationCheck: 0 }));

  test("an entry written by another version is never returned; each version keeps its own", async () => {
    const id = `versions#${backend}.profile`;
    // Two spec objects, as two processes built from different code would define them.
    const v1 = { v: 1 as const, id, version: "aaaa" };
    const v2 = { v: 1 as const, id, version: "bbbb" };
    let runs = 0;
    const call = (spec: typeof v1, shape: string) => cachedCall(spec, [7], async () => (runs++, { shape }));
    expect(await call(v1, "old")).toEqual({ shape: "old" });
    expect(await call(v2, "new")).toEqual({ shape: "new" }); // a miss: v1's entry is not v2's
    expect(await call(v1, "old?")).toEqual({ shape: "old" }); // v1's entry is still there for old processes
    expect(await call(v2, "new?")).toEqual({ shape: "new" });
    expect(runs).toBe(2);
    expect(await cache.get(keyHelper<[number], { shape: string }>(id, "bbbb")(7))).toEqual({ shape: "new" });
    expect(await cache.get(keyHelper<[number], { shape: string }>(id, "aaaa")(7))).toEqual({ shape: "old" });
    expect(await cache.get(keyHelper<[number], { shape: string }>(id)(7))).toBeUndefined();

    // One group for all versions: invalidating the function reaches both.
    expect(await cache.invalidate(keyHelper(id, "bbbb"))).toBe(true);
    expect(await call(v1, "old2")).toEqual({ shape: "old2" });
    expect(await call(v2, "new2")).toEqual({ shape: "new2" });
    expect(runs).toBe(4);
  });
});

test("a versioned key sits in its function's group and never equals an unversioned key", () => {
  const versioned = buildKey("ns", "f", ["@v:1"], "v");
  expect(versioned).toBe('ns:f:@v:"@v:1"');
  expect(versioned.startsWith("ns:f:")).toBe(true);
  for (const args of [[], [1], ["@v"], [null]]) expect(buildKey("ns", "f", args)).not.toBe(buildKey("ns", "f", args, "v"));
});

test("a malformed version is refused by defineCached and keyHelper", () => {
  for (const version of ["", "a:b", "a b", "x".repeat(33), 3 as unknown as string]) {
    expect(() => defineCached({ v: 1, id: `bad-version-${String(version)}`, version })).toThrow(TypeError);
    expect(() => keyHelper("f", version)).toThrow(TypeError);
  }
});

test("any valid version and arguments: a key of at most 250 printable bytes in its function's group, apart from other versions'", () => {
  const version = fc.stringMatching(/^[A-Za-z0-9_.-]{1,32}$/);
  const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.$#/@+-]{1,100}$/), fc.string({ minLength: 1, maxLength: 300 }));
  fc.assert(fc.property(id, version, version, fc.array(fc.jsonValue(), { maxLength: 4 }), (id, a, b, args) => {
    const key = buildKey("n".repeat(60), id, args, a);
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(MAX_KEY_LENGTH);
    expect(key).toMatch(/^[\x21-\x7e]+$/);
    expect(groupOf(key)).toBe(buildKey("n".repeat(60), id, []));
    if (a !== b) expect(buildKey("n".repeat(60), id, args, b)).not.toBe(key);
    expect(buildKey("n".repeat(60), id, args)).not.toBe(key);
  }), { numRuns: 500 });
});
