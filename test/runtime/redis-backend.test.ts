/**
 * Redis specifics, on real redis-server processes: a password and an ACL user in the URL, a wrong
 * password failing open (never hanging), a key of another type under the namespace (someone else's
 * data) failing open and repaired by a set, and what `flush` empties.
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import { Redis } from "ioredis";
import { RedisBackend } from "../../runtime/backends/redis";
import { resolveOptions } from "../../runtime/config";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close } from "../../runtime/state";
import { startRedis, type RedisHandle } from "../helpers/redis";

const started: RedisHandle[] = [];
afterAll(async () => {
  await close();
  await Promise.all(started.map((s) => s.stop()));
});

const backendFor = (url: string) => new RedisBackend({ target: resolveOptions({ servers: url }).redis!, timeout: 500 });

describe("credentials in the URL", () => {
  it("a password (AUTH) and an ACL user work; a wrong one fails open with the server's reason", async () => {
    const server = await startRedis({ args: ["--requirepass", "s@cret pw", "--user", "app", "on", ">app-pw", "~*", "&*", "+@all"] });
    started.push(server);
    const withPassword = backendFor(`redis://:${encodeURIComponent("s@cret pw")}@${server.address}`);
    await withPassword.set("auth:a", "1", 0);
    expect(String(await withPassword.get("auth:a"))).toBe("1");
    await withPassword.close();

    const withUser = backendFor(`redis://app:app-pw@${server.address}`);
    expect(String(await withUser.get("auth:a"))).toBe("1");
    await withUser.close();

    const errors: CacheError[] = [];
    configure({ servers: `redis://app:wrong@${server.address}`, timeout: 500, onError: (e) => errors.push(e) });
    const spec = defineCached({ v: 1, id: "redis#auth" });
    const start = performance.now();
    expect(await cachedCall(spec, [1], async () => "uncached")).toBe("uncached");
    expect(performance.now() - start).toBeLessThan(2_000);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]?.message).toMatch(/WRONGPASS|invalid username-password/i);
    expect(errors[0]?.message).not.toContain("wrong@");
    await close();
  });
});

describe("someone else's data under the namespace", () => {
  it("a key of another type fails open, and cache.set repairs it", async () => {
    const namespace = `foreign${Date.now()}`;
    configure({ servers: `redis://${inject("redis")}`, namespace, timeout: 500, onError: () => undefined });
    const spec = defineCached({ v: 1, id: "redis#foreign", ttl: 60 });
    const key = cache.keyOf<string>(spec.id, [1]);
    const raw = new Redis(`redis://${inject("redis")}`);
    try {
      await raw.lpush(key, "not", "ours");
      let runs = 0;
      expect(await cachedCall(spec, [1], async () => (runs++, "v"))).toBe("v");
      expect(await cachedCall(spec, [1], async () => (runs++, "v"))).toBe("v");
      expect(runs).toBe(2); // uncached while the foreign key is there
      expect(await cache.set(key, "v")).toBe(true);
      expect(await cachedCall(spec, [1], async () => (runs++, "other"))).toBe("v");
      expect(await raw.type(key)).toBe("hash");
    } finally {
      raw.disconnect();
      await close();
    }
  });
});

describe("the hit path", () => {
  it("is one command per hit (no script, no second round trip)", async () => {
    const server = await startRedis();
    started.push(server);
    configure({ servers: server.url, namespace: `hits${Date.now()}`, invalidationCheck: 3_600_000 });
    const spec = defineCached({ v: 1, id: "redis#hits", ttl: 60 });
    let runs = 0;
    expect(await cachedCall(spec, [1], async () => (runs++, { n: 1 }))).toEqual({ n: 1 });
    expect(await cachedCall(spec, [1], async () => (runs++, { n: 1 }))).toEqual({ n: 1 });
    const raw = new Redis(server.url);
    try {
      await raw.config("RESETSTAT");
      for (let i = 0; i < 10; i++) expect(await cachedCall(spec, [1], async () => (runs++, { n: 2 }))).toEqual({ n: 1 });
      expect(runs).toBe(1);
      // Every command the server ran since the reset, but this client's own INFO.
      const counts = Object.fromEntries([...(await raw.info("commandstats")).matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)]
        .map((m) => [m[1], Number(m[2])]));
      delete counts.info;
      delete counts["config|resetstat"];
      expect(counts).toEqual({ hmget: 10 }); // HMGET key v c: the value and its version, one round trip
    } finally {
      raw.disconnect();
      await close();
    }
  });
});

describe("flush", () => {
  it("is FLUSHDB: it empties the URL's database (every namespace), not the server's other databases", async () => {
    const server = await startRedis();
    started.push(server);
    const db1 = backendFor(`${server.url}/1`);
    const db2 = backendFor(`${server.url}/2`);
    await db1.set("ns1:a", "1", 0);
    await db1.set("ns2:b", "2", 0);
    await db2.set("ns1:a", "kept", 0);
    await db1.flush();
    expect(await db1.get("ns1:a")).toBeUndefined();
    expect(await db1.get("ns2:b")).toBeUndefined();
    expect(String(await db2.get("ns1:a"))).toBe("kept");
    expect((await db2.stats())[server.address]?.curr_items).toBe("1");
    await Promise.all([db1.close(), db2.close()]);
  });
});
