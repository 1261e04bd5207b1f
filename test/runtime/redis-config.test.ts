/** Selecting the Redis store: URL forms, `store: "redis"`, and what is refused (never echoing a password). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../runtime/config";

const resolve = (options: Parameters<typeof resolveOptions>[0], env: NodeJS.ProcessEnv = {}) => resolveOptions(options, env);

describe("Redis store selection", () => {
  it("reads redis://, rediss://, credentials, a database and cluster forms", () => {
    expect(resolve({ servers: "redis://cache:6380" })).toMatchObject({
      store: "redis", servers: [{ host: "cache", port: 6380 }], redis: { cluster: false, tls: false, db: 0, nodes: [{ host: "cache", port: 6380 }] },
    });
    expect(resolve({ servers: "rediss://app:s%40cret@cache/2" }).redis)
      .toEqual({ nodes: [{ host: "cache", port: 6379 }], cluster: false, tls: true, username: "app", password: "s@cret", db: 2 });
    expect(resolve({ servers: "redis://:pw@[::1]:7000" }).redis).toMatchObject({ nodes: [{ host: "::1", port: 7000 }], password: "pw" });
    expect(resolve({ servers: "redis+cluster://a:7000,redis+cluster://b:7001" }).redis)
      .toMatchObject({ cluster: true, nodes: [{ host: "a", port: 7000 }, { host: "b", port: 7001 }] });
    expect(resolve({ servers: ["redis://a:7000", "redis://b:7001"] }).redis?.cluster).toBe(true);
    expect(resolve({}, { TSCACHING_SERVERS: "redis://envhost" }).redis?.nodes).toEqual([{ host: "envhost", port: 6379 }]);
  });

  it("store: \"redis\" takes host:port (6379 by default) and defaults to 127.0.0.1:6379", () => {
    expect(resolve({ store: "redis", servers: "cache" }).redis?.nodes).toEqual([{ host: "cache", port: 6379 }]);
    expect(resolve({ store: "redis" }).redis?.nodes).toEqual([{ host: "127.0.0.1", port: 6379 }]);
    expect(resolve({}, { TSCACHING_STORE: "redis", TSCACHING_SERVERS: "c:1" }).redis?.nodes).toEqual([{ host: "c", port: 1 }]);
    expect(resolve({ store: "memory", servers: "redis://cache" })).toMatchObject({ store: "memory", servers: [] });
    expect(resolve({ servers: "cache:11211" })).toMatchObject({ store: "memcached" });
    expect(resolve({ servers: "cache:11211" }).redis).toBeUndefined();
    expect(resolve({})).toMatchObject({ store: "memory", servers: [] });
  });

  it("refuses bad forms with a TypeError naming the option, never showing the password", () => {
    for (const bad of ["redis://u:hunter2@h/x", "redis://u:hunter2@h?x=1", "redis://u:hunter2@h,cache:11211x://", "redis://u:hunter2@h:99999",
      "redis://u:hunter2@a/1,redis://b"]) {
      const error = (() => {
        try {
          resolve({ servers: bad });
        } catch (err) {
          return err as Error;
        }
        return undefined;
      })();
      expect(error, bad).toBeInstanceOf(TypeError);
      expect(error?.message).toMatch(/option "servers"/);
      expect(error?.message).not.toContain("hunter2");
    }
    expect(() => resolve({ store: "memcached", servers: "redis://h" })).toThrow(TypeError);
    expect(() => resolve({ store: "valkey" as "redis" })).toThrow(/option "store"/);
    // From the environment: caching off, reported once, naming the variable.
    expect(resolve({}, { TSCACHING_SERVERS: "redis://h/abc" })).toMatchObject({ enabled: false, envProblem: { variable: "TSCACHING_SERVERS" } });
    expect(resolve({}, { TSCACHING_STORE: "mongo" })).toMatchObject({ enabled: false, envProblem: { variable: "TSCACHING_STORE" } });
  });

  it("any server string either resolves or throws a TypeError (fuzzed)", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string().map((s) => `redis://${s}`), fc.string().map((s) => `rediss+cluster://${s}`)), (servers) => {
      try {
        const resolved = resolve({ servers });
        if (resolved.store === "redis") {
          for (const node of resolved.redis!.nodes) expect(node.port).toBeGreaterThan(0);
        }
      } catch (error) {
        expect(error).toBeInstanceOf(TypeError);
      }
    }), { numRuns: 500 });
  });
});
