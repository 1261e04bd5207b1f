/**
 * The local tier (issue 16, `local=`) on a private, real memcached: a local hit costs no request
 * (the server's own counters say so, and a killed server changes nothing), this process's writes
 * and invalidations are seen at once, another process's within `local` (the runtime clock is
 * moved), bounds hold, every caller gets its own copy, and writes still win.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cache, cachedCall, configure, defineCached, type CacheError, type CacheKey } from "../../runtime/index";
import { setClock } from "../../runtime/clock";
import { close } from "../../runtime/state";
import { ManualClock, flush } from "../helpers/clock";
import { startMemcached, type MemcachedHandle } from "../helpers/memcached";
import { transpileRuntime, type TranspiledRuntime } from "../resilience/runtime-build";

let server: MemcachedHandle;
let clock: ManualClock;
let runtime: TranspiledRuntime;
const namespace = `local-${Date.now()}`;
const errors: CacheError[] = [];
const id = (label: string) => `local#${label}#${randomUUID().slice(0, 8)}`;

function setup(local?: { maxEntries?: number; maxBytes?: number; shareValues?: boolean }): void {
  configure({ servers: server.address, namespace, onError: (e) => errors.push(e), ...(local ? { local } : {}) });
}

/** The server's count of get requests (its own statistics; one `stats` request, not a get). */
async function serverGets(): Promise<number> {
  const stats = await cache.serverStats();
  return Number(stats[server.address].cmd_get);
}

/** A cached function of `spec` whose body counts its runs and returns `value()`. */
function counted<T>(spec: ReturnType<typeof defineCached>, value: (runs: number) => T | Promise<T>) {
  const fn = (arg: string) => cachedCall<T>(spec, [arg], async () => {
    fn.runs++;
    return value(fn.runs);
  });
  fn.runs = 0;
  return fn;
}

/** Run `code` in another process sharing the servers and the namespace. */
function otherProcess(code: string): unknown {
  const result = spawnSync(process.execPath, ["-e", `
    const { cache } = require(${JSON.stringify(runtime.entry)});
    (async () => { ${code} })().then((out) => { process.stdout.write(JSON.stringify(out ?? null)); return cache.close(); });
  `], { env: { ...runtime.env, TSCACHING_SERVERS: server.address, TSCACHING_NAMESPACE: namespace }, encoding: "utf8", timeout: 30_000 });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

beforeAll(async () => {
  server = await startMemcached();
  runtime = transpileRuntime();
  clock = new ManualClock();
  setClock(clock);
  setup();
}, 60_000);

afterEach(() => {
  expect(errors).toEqual([]);
});

afterAll(async () => {
  setClock();
  await close();
  await server?.stop();
  runtime?.dispose();
});

describe("a local hit", () => {
  it("is answered without a request to the server", async () => {
    const spec = defineCached({ v: 1, id: id("no-network"), ttl: 60, local: 2 });
    const row = counted(spec, () => ({ name: "bob" }));
    expect(await row("k")).toEqual({ name: "bob" });
    const before = await serverGets();
    for (let i = 0; i < 20; i++) expect(await row("k")).toEqual({ name: "bob" });
    expect(await serverGets()).toBe(before);
    expect(row.runs).toBe(1);
    expect(cache.stats().functions[spec.id]).toMatchObject({ hits: 20, localHits: 20, misses: 1 });
  });

  it("a function without local= still asks the server on every hit", async () => {
    const spec = defineCached({ v: 1, id: id("no-tier"), ttl: 60 });
    const row = counted(spec, () => "v");
    await row("k");
    const before = await serverGets();
    for (let i = 0; i < 5; i++) await row("k");
    expect(await serverGets()).toBeGreaterThanOrEqual(before + 5);
    expect(cache.stats().functions[spec.id].localHits).toBeUndefined();
  });

  it("ends after local seconds: the next call reads the shared store again", async () => {
    const spec = defineCached({ v: 1, id: id("expires"), ttl: 60, local: 2 });
    const row = counted(spec, () => "v");
    await row("k");
    await clock.advance(1_999);
    let before = await serverGets();
    await row("k");
    expect(await serverGets()).toBe(before);
    await clock.advance(1);
    before = await serverGets();
    expect(await row("k")).toBe("v");
    // The entry, and the group generation (this process trusts it for invalidationCheck, 1 s).
    expect(await serverGets()).toBeGreaterThan(before);
    expect(row.runs).toBe(1); // a shared hit, which fills the tier again
    before = await serverGets();
    await row("k");
    expect(await serverGets()).toBe(before);
  });

  it("hands each caller its own copy; with local.shareValues one deep-frozen value", async () => {
    const spec = defineCached({ v: 1, id: id("copies"), ttl: 60, local: 5 });
    const row = counted(spec, () => ({ tags: ["a"] }));
    const first = await row("k");
    const a = await row("k");
    const b = await row("k");
    expect(a).not.toBe(b);
    a.tags.push("changed");
    expect(await row("k")).toEqual({ tags: ["a"] });
    first.tags.push("leader's own");
    expect(await row("k")).toEqual({ tags: ["a"] });

    setup({ shareValues: true });
    const shared = defineCached({ v: 1, id: id("shared"), ttl: 60, local: 5 });
    const frozen = counted(shared, () => ({ tags: ["a"] }));
    await frozen("k");
    const x = await frozen("k");
    expect(await frozen("k")).toBe(x);
    expect(Object.isFrozen(x) && Object.isFrozen(x.tags)).toBe(true);
    setup();
  });
});

describe("writes and invalidations made by this process are seen at once", () => {
  const cases: Array<[string, (key: CacheKey<string>, group: { id: string }) => Promise<unknown>, string]> = [
    ["set", (key) => cache.set(key, "v2"), "v2"],
    ["replace", (key) => cache.replace(key, "v2"), "v2"],
    ["delete", (key) => cache.delete(key), "computed 2"],
    ["delete then add", async (key) => {
      await cache.delete(key);
      await cache.add(key, "v2");
    }, "v2"],
    ["invalidate", (_key, group) => cache.invalidate(group), "computed 2"],
  ];
  it.each(cases)("%s", async (label, write, expected) => {
    const spec = defineCached({ v: 1, id: id(label.replace(/ /g, "-")), ttl: 60, local: 60 });
    const row = counted(spec, (runs) => `computed ${runs}`);
    expect(await row("k")).toBe("computed 1");
    expect(await row("k")).toBe("computed 1");
    await write(cache.keyOf<string>(spec.id, ["k"]), { id: spec.id });
    // The clock does not move: only the write can have ended the local copy.
    expect(await row("k")).toBe(expected);
    expect(await row("k")).toBe(expected);
  });

  it("in any sequence of calls, writes, deletes, invalidations and clock moves (fast-check model)", async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("call" as const), k: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant("set" as const), k: fc.integer({ min: 0, max: 2 }), v: fc.string({ maxLength: 5 }) }),
      fc.record({ kind: fc.constant("replace" as const), k: fc.integer({ min: 0, max: 2 }), v: fc.string({ maxLength: 5 }) }),
      fc.record({ kind: fc.constant("delete" as const), k: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ kind: fc.constant("invalidate" as const) }),
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
      const spec = defineCached({ v: 1, id: id("model"), ttl: 600, local: 2 });
      // What the shared store holds for each argument, as this process (the only writer) made it.
      const model = new Map<number, string>();
      let runs = 0;
      for (const o of ops) {
        const key = cache.keyOf<string>(spec.id, [o.kind === "invalidate" || o.kind === "advance" ? 0 : o.k]);
        if (o.kind === "call") {
          const got = await cachedCall(spec, [o.k], async () => `computed ${++runs}`);
          if (model.has(o.k)) expect(got).toBe(model.get(o.k));
          else model.set(o.k, got);
        } else if (o.kind === "set") {
          await cache.set(key, o.v);
          model.set(o.k, o.v);
        } else if (o.kind === "replace") {
          if (await cache.replace(key, o.v)) model.set(o.k, o.v);
        } else if (o.kind === "delete") {
          await cache.delete(key);
          model.delete(o.k);
        } else if (o.kind === "invalidate") {
          await cache.invalidate({ id: spec.id });
          model.clear();
        } else await clock.advance(o.ms);
      }
    }), { numRuns: 40 });
  });

  it("flushAll", async () => {
    const spec = defineCached({ v: 1, id: id("flush"), ttl: 60, local: 60 });
    const row = counted(spec, (runs) => `computed ${runs}`);
    await row("k");
    await cache.flushAll();
    expect(await row("k")).toBe("computed 2");
  });
});

describe("writes made by another process", () => {
  it("are seen once the local copy is local seconds old", async () => {
    const spec = defineCached({ v: 1, id: id("other-set"), ttl: 60, local: 2 });
    const row = counted(spec, () => "v1");
    expect(await row("k")).toBe("v1");
    expect(otherProcess(`return cache.set(cache.keyOf(${JSON.stringify(spec.id)}, ["k"]), "v2")`)).toBe(true);
    // Within the window this process may still answer from its copy (memcached has no pub/sub).
    expect(await row("k")).toBe("v1");
    await clock.advance(2_000);
    expect(await row("k")).toBe("v2");
    expect(row.runs).toBe(1);
  });

  it("and their invalidate() too", async () => {
    const spec = defineCached({ v: 1, id: id("other-invalidate"), ttl: 60, local: 3 });
    const row = counted(spec, (runs) => `computed ${runs}`);
    expect(await row("k")).toBe("computed 1");
    expect(otherProcess(`return cache.invalidate({ id: ${JSON.stringify(spec.id)} })`)).toBe(true);
    // The group generation this process knows is re-read after invalidationCheck (1 s), within local.
    await clock.advance(3_000);
    expect(await row("k")).toBe("computed 2");
  });
});

describe("bounds", () => {
  afterAll(() => setup());

  it("by entries: the least recently used copy goes first", async () => {
    setup({ maxEntries: 2 });
    const spec = defineCached({ v: 1, id: id("entries"), ttl: 60, local: 60 });
    const row = counted(spec, () => "v");
    for (const k of ["a", "b", "c"]) await row(k);
    const before = await serverGets();
    await row("b");
    await row("c");
    expect(await serverGets()).toBe(before);
    await row("a"); // evicted: a shared hit
    expect(await serverGets()).toBe(before + 1);
    expect(row.runs).toBe(3);
  });

  it("by bytes: copies past maxBytes are evicted, and one larger than it is never kept", async () => {
    setup({ maxBytes: 3_000 });
    const spec = defineCached({ v: 1, id: id("bytes"), ttl: 60, local: 60 });
    const row = counted(spec, () => "x".repeat(1_000));
    for (const k of ["a", "b", "c"]) await row(k); // about 1 KB each, key included
    let before = await serverGets();
    await row("c");
    await row("b");
    expect(await serverGets()).toBe(before);
    await row("a");
    expect(await serverGets()).toBe(before + 1);

    const big = defineCached({ v: 1, id: id("big"), ttl: 60, local: 60 });
    const huge = counted(big, () => "y".repeat(5_000));
    await huge("k");
    before = await serverGets();
    expect(await huge("k")).toHaveLength(5_000);
    expect(await serverGets()).toBe(before + 1);
  });

  it("configure() validates the local options", () => {
    expect(() => configure({ local: { maxEntries: 0 } })).toThrow(TypeError);
    expect(() => configure({ local: { maxBytes: -1 } })).toThrow(/local\.maxBytes/);
    expect(() => configure({ local: { shareValues: "yes" as never } })).toThrow(/local\.shareValues/);
    expect(() => configure({ local: { max: 1 } as never })).toThrow(/unknown option "local\.max"/);
    expect(() => configure({ local: [] as never })).toThrow(TypeError);
  });

  it("defineCached validates local=", () => {
    for (const local of [0, -1, 86_401, Number.NaN]) {
      expect(() => defineCached({ v: 1, id: id("bad"), local })).toThrow(/local must be/);
    }
  });
});

describe("writes win across the local tier", () => {
  it("a computation begun before this process's write never fills the local copy", async () => {
    const spec = defineCached({ v: 1, id: id("race-own"), ttl: 60, local: 60 });
    let release!: (value: string) => void;
    const first = cachedCall(spec, ["k"], () => new Promise<string>((resolve) => (release = resolve)));
    await until(() => release !== undefined);
    expect(await cache.set(cache.keyOf<string>(spec.id, ["k"]), "written")).toBe(true);
    release("old");
    expect(await first).toBe("old"); // its own caller gets it
    expect(await cachedCall(spec, ["k"], async () => "recomputed")).toBe("written");
    expect(await cachedCall(spec, ["k"], async () => "recomputed")).toBe("written");
  });

  it("a computation that lost its store to another process's write never fills the local copy", async () => {
    const spec = defineCached({ v: 1, id: id("race-other"), ttl: 60, local: 60 });
    let release!: (value: string) => void;
    const first = cachedCall(spec, ["k"], () => new Promise<string>((resolve) => (release = resolve)));
    await until(() => release !== undefined);
    expect(otherProcess(`return cache.set(cache.keyOf(${JSON.stringify(spec.id)}, ["k"]), "theirs")`)).toBe(true);
    release("old");
    expect(await first).toBe("old");
    // No clock move: a local copy of "old" would answer here for 60 s.
    expect(await cachedCall(spec, ["k"], async () => "recomputed")).toBe("theirs");
  });

  it("a read begun before this process's write does not fill the copy after it", async () => {
    const spec = defineCached({ v: 1, id: id("race-read"), ttl: 60, local: 60 });
    const key = cache.keyOf<string>(spec.id, ["k"]);
    expect(await cache.set(key, "old")).toBe(true);
    // The read is on the wire when the write starts; memcached answers in order, so it sees "old".
    const reading = cachedCall(spec, ["k"], async () => "computed");
    const writing = cache.set(key, "new");
    expect(await reading).toBe("old");
    await writing;
    expect(await cachedCall(spec, ["k"], async () => "computed")).toBe("new");
  });
});

describe("on the memory backend", () => {
  afterAll(() => setup());

  it("local= is accepted and changes nothing: hits are in-process already, writes seen at once", async () => {
    configure({ namespace: `${namespace}-memory`, onError: (e) => errors.push(e) });
    const spec = defineCached({ v: 1, id: id("memory"), ttl: 60, local: 2 });
    const row = counted(spec, (runs) => `computed ${runs}`);
    expect(await row("k")).toBe("computed 1");
    expect(await row("k")).toBe("computed 1");
    await cache.delete(cache.keyOf(spec.id, ["k"]));
    expect(await row("k")).toBe("computed 2");
    expect(cache.stats().functions[spec.id]).toMatchObject({ hits: 1, localHits: 0 });
  });
});

describe("a killed server", () => {
  it("does not stop local hits", async () => {
    const spec = defineCached({ v: 1, id: id("killed"), ttl: 60, local: 30 });
    const row = counted(spec, () => "kept");
    expect(await row("k")).toBe("kept");
    await server.kill();
    try {
      for (let i = 0; i < 10; i++) expect(await row("k")).toBe("kept");
      expect(row.runs).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await server.restart();
    }
  });
});

/** Wait (real time, generous bound) for a condition reached through I/O; the runtime's clock stays put. */
async function until(condition: () => boolean): Promise<void> {
  const limit = Date.now() + 10_000;
  while (!condition() && Date.now() < limit) await flush();
  expect(condition()).toBe(true);
}
