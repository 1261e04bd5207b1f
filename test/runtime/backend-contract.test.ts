import { describe, expect, inject, it } from "vitest";
import { MemcachedBackend } from "../../runtime/backends/memcached";
import { MemoryBackend } from "../../runtime/backends/memory";
import { RedisBackend } from "../../runtime/backends/redis";
import { backendContract } from "../helpers/backend-contract";
import { startMemcached } from "../helpers/memcached";
import { startRedis } from "../helpers/redis";

let clock = Date.now();
backendContract({
  name: "memory",
  create: () => new MemoryBackend({ now: () => clock }),
  createPrivate: async () => {
    const backend = new MemoryBackend({ now: () => clock });
    return { backend, dispose: () => backend.close() };
  },
  advance: async (ms) => {
    clock += ms;
  },
  statsKeys: () => ["memory"],
});

backendContract({
  name: "memcached",
  create: () => new MemcachedBackend({ servers: [parseAddress(inject("memcached"))] }),
  // Flushing the shared server would wipe entries of test files running in parallel.
  createPrivate: async () => {
    const server = await startMemcached();
    const backend = new MemcachedBackend({ servers: [{ host: server.host, port: server.port }] });
    return { backend, dispose: async () => (await backend.close(), await server.stop()) };
  },
  advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  statsKeys: () => [inject("memcached")],
});

const redisTarget = (address: string) => ({ nodes: [parseAddress(address)], cluster: false, tls: false, db: 0 });
backendContract({
  name: "redis",
  create: () => new RedisBackend({ target: redisTarget(inject("redis")) }),
  // FLUSHDB on the shared server would wipe entries of test files running in parallel.
  createPrivate: async () => {
    const server = await startRedis();
    const backend = new RedisBackend({ target: redisTarget(server.address) });
    return { backend, dispose: async () => (await backend.close(), await server.stop()) };
  },
  advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  statsKeys: () => [inject("redis")],
});

describe("memory backend specifics", () => {
  it("returns values with the type they were stored with", async () => {
    const backend = new MemoryBackend();
    await backend.set("typed:s", "a", 0);
    await backend.set("typed:b", Buffer.from("a"), 0);
    await backend.append("typed:s", Buffer.from("b"));
    await backend.append("typed:b", "b");
    expect(await backend.get("typed:s")).toBe("ab");
    expect(await backend.get("typed:b")).toEqual(Buffer.from("ab"));
  });

  it("evicts the least recently used entries past maxEntries or maxBytes", async () => {
    const backend = new MemoryBackend({ maxEntries: 3, maxBytes: 1_000, maxValueSize: 600 });
    for (const k of ["a", "b", "c"]) await backend.set(k, "v", 0);
    await backend.get("a");
    await backend.set("d", "v", 0);
    expect(await backend.get("b")).toBeUndefined();
    expect(await backend.get("a")).toBe("v");
    await backend.set("big1", "x".repeat(600), 0);
    await backend.set("big2", "y".repeat(600), 0);
    expect(await backend.get("big1")).toBeUndefined();
    expect(Number((await backend.stats()).memory?.bytes)).toBeLessThanOrEqual(1_000);
  });

  it("expires a ttl beyond 30 days only after it has passed", async () => {
    let now = 1_000;
    const backend = new MemoryBackend({ now: () => now });
    await backend.set("month", "v", 31 * 24 * 3600);
    now += 30 * 24 * 3600 * 1000;
    expect(await backend.get("month")).toBe("v");
    now += 24 * 3600 * 1000 + 1;
    expect(await backend.get("month")).toBeUndefined();
  });
});

function parseAddress(address: string): { host: string; port: number } {
  const [host, port] = address.split(":");
  return { host: host as string, port: Number(port) };
}
