/**
 * Fail-open: a dead, hung or restarted memcached never breaks a cached call and never adds more
 * than the configured timeout to it. Real memcached processes, stopped and paused by the test.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close } from "../../runtime/state";
import { freePort, startMemcached, type MemcachedHandle } from "../helpers/memcached";
import { setClock } from "../../runtime/clock";
import { ManualClock } from "../helpers/clock";

const spec = defineCached({ v: 1, id: "test#failOpen" });
let server: MemcachedHandle;
beforeAll(async () => {
  server = await startMemcached();
});
afterAll(async () => {
  await close();
  await server.stop();
});

function setup(servers: string, timeout = 100) {
  const errors: CacheError[] = [];
  configure({ servers, timeout, namespace: `failopen${Date.now()}`, onError: (e) => errors.push(e) });
  let runs = 0;
  const call = (arg: string) => cachedCall(spec, [arg], async () => {
    runs++;
    return `value of ${arg}`;
  });
  return { errors, call, runs: () => runs };
}

test("a server that refuses connections: every call answers from the original function, at once", async () => {
  const { errors, call, runs } = setup(`127.0.0.1:${await freePort()}`);
  // The runtime's clock does not move: a call that waited for its timeout would never answer.
  const clock = new ManualClock();
  setClock(clock);
  try {
    for (let i = 0; i < 5; i++) expect(await call("a")).toBe("value of a");
  } finally {
    setClock();
  }
  expect(runs()).toBe(5);
  expect(errors.length).toBeGreaterThanOrEqual(5);
  expect(errors.every((e) => e.code === "ESERVER" && e.id === "test#failOpen")).toBe(true);
});

test("a hung server (accepts, never answers): each call waits at most the timeout", async () => {
  const { errors, call, runs } = setup(server.address, 100);
  expect(await call("warm")).toBe("value of warm");
  const clock = new ManualClock();
  setClock(clock);
  await server.pause();
  try {
    const settled: string[] = [];
    const calls = Array.from({ length: 8 }, (_, i) => call(`k${i}`).then((v) => (settled.push(v), v)));
    await clock.advance(99);
    expect(settled).toEqual([]);
    await clock.advance(1); // the timeout: every call answers from the original function
    const values = await Promise.all(calls);
    for (const value of values) expect(value).toMatch(/^value of k\d$/);
    expect(errors.some((e) => e.code === "ETIMEDOUT")).toBe(true);
  } finally {
    setClock();
    server.resume();
  }
  // After the server answers again, caching resumes.
  await call("after");
  const before = runs();
  expect(await call("after")).toBe("value of after");
  expect(runs()).toBe(before);
});

test("a restarted server: caching resumes", async () => {
  const { call, runs } = setup(server.address, 200);
  await call("r");
  await server.restart();
  let resumed = false;
  for (let i = 0; i < 50 && !resumed; i++) {
    await call("r2");
    const before = runs();
    await call("r2");
    resumed = runs() === before;
    if (!resumed) await new Promise((r) => setTimeout(r, 100));
  }
  expect(resumed).toBe(true);
});

test("typed operations fail open too", async () => {
  const { errors } = setup(`127.0.0.1:${await freePort()}`);
  const key = cache.key<string>("failing-ops");
  expect(await cache.get(key)).toBeUndefined();
  expect(await cache.set(key, "x")).toBe(false);
  expect(await cache.delete(key)).toBe(false);
  expect(await cache.incr(cache.key<number>("n"))).toBeUndefined();
  expect(errors.length).toBe(4);
});

test("a throwing onError handler does not break the call", async () => {
  configure({ servers: `127.0.0.1:${await freePort()}`, timeout: 50, onError: () => { throw new Error("handler bug"); } });
  expect(await cachedCall(spec, ["x"], async () => 42)).toBe(42);
});

test("a setup error (an invalid TSCACHING_SERVERS) never reaches the caller: the call runs uncached", async () => {
  await close();
  const saved = process.env.TSCACHING_SERVERS;
  process.env.TSCACHING_SERVERS = "not a server list";
  const warned = new Promise<Error>((resolve) => process.once("warning", resolve));
  try {
    let result: Promise<string> | undefined;
    expect(() => {
      result = cachedCall(spec, ["x"], async () => "value");
    }).not.toThrow();
    await expect(result).resolves.toBe("value");
    expect((await warned).message).toMatch(/TSCACHING_SERVERS/);
  } finally {
    if (saved === undefined) delete process.env.TSCACHING_SERVERS;
    else process.env.TSCACHING_SERVERS = saved;
    await close();
  }
});
