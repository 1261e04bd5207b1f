/**
 * Flights (issue 12 item 3, issue 11 item 6): a caller waits on another caller's computation of
 * its key for a bounded time only (the clock is moved, nobody sleeps), waiters are bounded, and
 * every caller gets a value it may change alone, on both backends.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cache, cachedCall, configure, defineCached, Uncached, type CacheKey } from "../../runtime/index";
import { setClock } from "../../runtime/clock";
import { flightCount, MAX_WAITERS } from "../../runtime/flights";
import { close } from "../../runtime/state";
import { ManualClock, flush } from "../helpers/clock";

const never = new Promise<never>(() => undefined);
const id = (label: string) => `flights#${label}#${randomUUID().slice(0, 8)}`;

/** Wait (real time, generous bound) for a condition reached through I/O; the runtime's clock stays put. */
async function until(condition: () => boolean): Promise<void> {
  const limit = Date.now() + 10_000;
  while (!condition() && Date.now() < limit) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(condition()).toBe(true);
}

/** Settles within the moved time, or reports that it had not. */
async function settled<T>(promise: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  promise.then((value) => (state = { done: true, value }), () => (state = { done: true }));
  await flush();
  return state;
}

function boundedWaits(name: string, setup: (clock: ManualClock) => void) {
  describe(`${name}: bounded waits`, () => {
    let clock: ManualClock;
    beforeAll(() => {
      clock = new ManualClock();
      setClock(clock);
      setup(clock);
    });
    afterAll(async () => {
      setClock();
      await close();
    });

    it("a call behind a hung computation settles after the configured bound, by running the function itself", async () => {
      const spec = defineCached({ v: 1, id: id("hung"), ttl: 60 });
      void cachedCall(spec, ["k"], () => never);
      await flush();
      const later = cachedCall(spec, ["k"], async () => "own");
      await clock.advance(1_000);
      expect((await settled(later)).done).toBe(false);
      await clock.advance(4_000); // the bound is 5 s here
      expect(await settled(later)).toEqual({ done: true, value: "own" });
    });

    it("a call made after the bound does not wait at all: the hung flight was detached", async () => {
      const spec = defineCached({ v: 1, id: id("detached"), ttl: 60 });
      void cachedCall(spec, ["k"], () => never);
      await flush();
      await clock.advance(5_000);
      // The clock does not move from here: a call that waited on the hung flight would never settle.
      expect(await cachedCall(spec, ["k"], async () => "fresh")).toBe("fresh");
    });

    it("timeout= on the function overrides the configured bound", async () => {
      const spec = defineCached({ v: 1, id: id("tag"), ttl: 60, timeout: 1 });
      void cachedCall(spec, ["k"], () => never);
      await flush();
      const later = cachedCall(spec, ["k"], async () => "own");
      await clock.advance(999);
      expect((await settled(later)).done).toBe(false);
      await clock.advance(1);
      expect(await settled(later)).toEqual({ done: true, value: "own" });
    });

    it("the original caller still gets its own result", async () => {
      const spec = defineCached({ v: 1, id: id("original"), ttl: 60 });
      let release!: (value: string) => void;
      const first = cachedCall(spec, ["k"], () => new Promise<string>((resolve) => (release = resolve)));
      await flush();
      const joiner = cachedCall(spec, ["k"], async () => "joiner's own");
      await clock.advance(5_000);
      expect(await joiner).toBe("joiner's own");
      release("original's");
      expect(await first).toBe("original's");
    });

    it(`at most ${MAX_WAITERS} callers wait on one flight; all of them settle at the bound`, async () => {
      const spec = defineCached({ v: 1, id: id("many"), ttl: 60 });
      let runs = 0;
      // The first computation hangs; any later one answers at once.
      const body = () => (++runs === 1 ? never : Promise.resolve("own"));
      void cachedCall(spec, ["k"], body);
      await flush();
      let done = 0;
      const calls = Array.from({ length: MAX_WAITERS * 2 + 1 }, () => cachedCall(spec, ["k"], body).finally(() => done++));
      // The hung flight took MAX_WAITERS joiners; the next caller led a second flight, which
      // answered its own joiners with copies.
      await until(() => done === MAX_WAITERS + 1);
      expect(runs).toBe(2);
      await clock.advance(5_000);
      // At the bound each joiner of the hung flight ran its own call.
      const results = await Promise.all(calls.map((call) => settled(call)));
      expect(results.filter((r) => !r.done)).toHaveLength(0);
      expect(runs).toBe(2 + MAX_WAITERS);
      expect(flightCount()).toBe(0);
    });

    it("configure() refuses a bad flightTimeout and defineCached a bad timeout", () => {
      expect(() => configure({ flightTimeout: 0 })).toThrow(TypeError);
      expect(() => defineCached({ v: 1, id: id("bad"), timeout: -1 })).toThrow(TypeError);
      expect(() => defineCached({ v: 1, id: id("bad"), timeout: Number.NaN })).toThrow(TypeError);
    });
  });
}

boundedWaits("memory", () => configure({ namespace: `fl${Date.now()}`, flightTimeout: 5_000 }));
// Moving the clock also expires the memcached requests of the hung calls (ETIMEDOUT): expected here.
boundedWaits("memcached", () => configure({ servers: inject("memcached"), namespace: `fl${Date.now()}`, flightTimeout: 5_000,
  onError: () => undefined }));

function copies(name: string, setup: () => void) {
  describe(`${name}: every caller gets its own copy`, () => {
    beforeAll(setup);
    afterAll(() => close());

    it("callers of one cold-key computation may change what they got without the others seeing it", async () => {
      const spec = defineCached({ v: 1, id: id("cold"), ttl: 60 });
      let runs = 0;
      const profile = () => cachedCall(spec, ["bob"], async () => {
        runs++;
        await new Promise((resolve) => setImmediate(resolve));
        return { name: "bob", email: "bob@example.org", tags: ["a"] };
      });
      const results = await Promise.all([profile(), profile(), profile()]);
      expect(runs).toBe(1);
      delete (results[0] as { email?: string }).email;
      (results[1] as { internal?: string }).internal = "secret";
      results[2]!.tags.push("mutated");
      expect(results[0]).toEqual({ name: "bob", tags: ["a"] });
      expect(results[1]).toEqual({ name: "bob", email: "bob@example.org", tags: ["a"], internal: "secret" });
      expect(results[2]).toEqual({ name: "bob", email: "bob@example.org", tags: ["a", "mutated"] });
      expect(await profile()).toEqual({ name: "bob", email: "bob@example.org", tags: ["a"] });
    });

    it("callers served by one read of a warm key each get their own object", async () => {
      const spec = defineCached({ v: 1, id: id("warm"), ttl: 60 });
      const key = cache.keyOf(spec.id, ["bob"]) as CacheKey<{ email: string }>;
      expect(await cache.set(key, { email: "bob@example.org" })).toBe(true);
      const results = await Promise.all(Array.from({ length: 5 }, () =>
        cachedCall(spec, ["bob"], async () => ({ email: "recomputed" }))));
      expect(new Set(results).size).toBe(5);
      results[0]!.email = "changed";
      expect(results.slice(1).map((r) => r.email)).toEqual(Array(4).fill("bob@example.org"));
    });
  });
}

copies("memory", () => configure({ namespace: `cp${Date.now()}` }));

describe("a dead server: joiners still get copies, and an Uncached answer stays with its caller", () => {
  beforeAll(async () => {
    const { freePort } = await import("../helpers/memcached");
    configure({ servers: `127.0.0.1:${await freePort()}`, namespace: `dead${Date.now()}`, onError: () => undefined });
  });
  afterAll(() => close());

  it("each joiner of a flight whose read failed gets its own copy", async () => {
    const spec = defineCached({ v: 1, id: id("dead-copies"), ttl: 60 });
    const call = () => cachedCall(spec, ["k"], async () => ({ list: [1] }));
    const [a, b] = await Promise.all([call(), call()]);
    expect(a).not.toBe(b);
    expect(b).toEqual({ list: [1] });
  });

  it("an Uncached result is not handed to joiners: each runs its own call", async () => {
    const spec = defineCached({ v: 1, id: id("dead-uncached"), ttl: 60 });
    let runs = 0;
    const call = () => cachedCall(spec, ["k"], async () => new Uncached(`answer ${++runs}`));
    const answers = await Promise.all([call(), call(), call()]);
    expect(new Set(answers).size).toBe(3);
  });
});
copies("memcached", () => configure({ servers: inject("memcached"), namespace: `cp${Date.now()}` }));

describe("memory.shareValues: hits share one deep-frozen value, as documented", () => {
  beforeAll(() => configure({ namespace: `sv${Date.now()}`, memory: { shareValues: true } }));
  afterAll(() => close());

  it("joiners of a cold key still get copies; later hits get the frozen value", async () => {
    const spec = defineCached({ v: 1, id: id("shared"), ttl: 60 });
    const call = () => cachedCall(spec, [], async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return { list: [1] };
    });
    const [a, b] = await Promise.all([call(), call()]);
    expect(a).not.toBe(b);
    a!.list.push(2);
    expect(b).toEqual({ list: [1] });
    const hit = await call();
    expect(Object.isFrozen(hit) && Object.isFrozen(hit.list)).toBe(true);
  });
});
