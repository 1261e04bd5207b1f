/**
 * Writes win (issue 12, items 1 and 2), in one process, on both backends: a computation that
 * started before a `cache.delete/replace/set/add` or `invalidate()` (memory, memcached, Redis) never stores its result over
 * the write, and a call made after the write never joins it. The race is swept: the write lands
 * at every step of the miss (read, lease, computation, store).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cache, cachedCall, configure, defineCached, type CacheKey } from "../../runtime/index";
import { close } from "../../runtime/state";
import { setClock } from "../../runtime/clock";
import { ManualClock, flush } from "../helpers/clock";

type Write = "delete" | "replace" | "set" | "add" | "invalidate";
const WRITES: Write[] = ["delete", "replace", "set", "add", "invalidate"];

/** A database row and a cached read of it whose runs can be held open. */
function fixture(label: string) {
  const spec = defineCached({ v: 1, id: `writes#${label}#${randomUUID().slice(0, 8)}`, ttl: 60 });
  const db = { value: "v1" };
  const gates: Array<() => void> = [];
  let runs = 0;
  /** The cached read: reads the row when it starts, then waits for its gate (when `hold`). */
  const read = (hold = false) => cachedCall(spec, ["row"], async () => {
    runs++;
    const seen = db.value;
    if (hold) await new Promise<void>((resolve) => gates.push(resolve));
    return seen;
  });
  const key = cache.keyOf<string>(spec.id, ["row"]) as CacheKey<string>;
  /** The writer's part: change the row, then tell the cache, as the seed's DB.set does. */
  const write = async (kind: Write): Promise<boolean> => {
    db.value = "v2";
    if (kind === "delete") return cache.delete(key);
    if (kind === "replace") return cache.replace(key, "v2");
    if (kind === "set") return cache.set(key, "v2");
    if (kind === "add") return cache.add(key, "v2");
    return cache.invalidate({ id: spec.id });
  };
  return { spec, db, gates, read, write, key, runs: () => runs };
}

function suite(name: string, setup: () => void) {
  describe(`${name}: writes win in this process`, () => {
    beforeAll(setup);
    afterAll(() => close());

    it.each(WRITES)("a miss that read v1 before a %s does not store v1 over it", async (kind) => {
      const f = fixture(`stale-${kind}`);
      const first = f.read(true);
      await waitFor(() => f.gates.length === 1);
      await f.write(kind);
      f.gates.shift()!();
      expect(await first).toBe("v1"); // its own caller still gets its own result
      expect(await f.read()).toBe("v2");
      expect(await f.read()).toBe("v2");
    });

    it.each(WRITES)("a call made after a %s does not join the flight begun before it", async (kind) => {
      const f = fixture(`join-${kind}`);
      const first = f.read(true);
      await waitFor(() => f.gates.length === 1);
      await f.write(kind);
      const second = f.read();
      expect(await second).toBe("v2");
      f.gates.shift()!();
      expect(await first).toBe("v1");
      expect(await f.read()).toBe("v2");
    });

    it("callers that joined before the write still share the flight", async () => {
      const f = fixture("joined-before");
      const calls = [f.read(true), f.read(true), f.read(true)];
      await waitFor(() => f.gates.length === 1);
      f.gates.shift()!();
      expect(await Promise.all(calls)).toEqual(["v1", "v1", "v1"]);
      expect(f.runs()).toBe(1);
    });

    it.each(WRITES)("sweep: a %s landing at any step of a miss never leaves v1 behind", async (kind) => {
      // The write starts after `step` turns of the event loop: before the read answers, between
      // the read and the lease, during the computation, and while the result is being stored.
      for (let step = 0; step < 24; step++) {
        const f = fixture(`sweep-${kind}-${step}`);
        const first = cachedCall(f.spec, ["row"], async () => {
          const seen = f.db.value;
          await ticks(8);
          return seen;
        });
        await ticks(step);
        const wrote = await f.write(kind);
        await first;
        const after = await cachedCall(f.spec, ["row"], async () => f.db.value);
        // An add that found v1 already stored wrote nothing: v1 was stored before it, legitimately.
        if (kind !== "add" || wrote) expect(after, `write at step ${step}`).toBe("v2");
      }
    });
  });
}

suite("memory", () => configure({ namespace: `ww${Date.now()}` }));
suite("memcached", () => configure({ servers: inject("memcached"), namespace: `ww${Date.now()}` }));
suite("redis", () => configure({ servers: `redis://${inject("redis")}`, namespace: `ww${Date.now()}` }));

describe("memory, with a moved clock: the write's moment swept across a computation of 100 ms", () => {
  let clock: ManualClock;
  beforeAll(() => {
    clock = new ManualClock();
    setClock(clock);
    configure({ namespace: `wwclock${Date.now()}` });
  });
  afterAll(async () => {
    setClock();
    await close();
  });

  it.each(WRITES)("%s at every 5 ms of the computation", async (kind) => {
    for (let at = 0; at <= 110; at += 5) {
      const f = fixture(`clock-${kind}-${at}`);
      const first = cachedCall(f.spec, ["row"], async () => {
        const seen = f.db.value;
        await new Promise<void>((resolve) => clock.after(100, resolve));
        return seen;
      });
      await clock.advance(at);
      const wrote = await f.write(kind);
      await clock.advance(200);
      expect(await first).toBe("v1");
      const after = await cachedCall(f.spec, ["row"], async () => f.db.value);
      if (kind !== "add" || wrote) expect(after, `write at ${at} ms`).toBe("v2");
    }
  });
});

/** Let `n` turns of the event loop pass (I/O included). */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Wait for a condition reached through I/O, with a generous bound. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !condition(); i++) await flush();
  expect(condition()).toBe(true);
}
