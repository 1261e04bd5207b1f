/**
 * `lock`: a cold key computed once across processes through memcached `add`, with a bounded wait
 * and a fallback when the holder dies. In-process cases play the other process by hand; the last
 * ones run real node child processes against the shared memcached.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import * as readline from "node:readline";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, test } from "vitest";
import { assertValidKey } from "../../runtime/backends/hash";
import { lockKeyOf } from "../../runtime/call";
import { encodeEntry } from "../../runtime/entries";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close, state } from "../../runtime/state";
import { transpileRuntime, type TranspiledRuntime } from "../resilience/runtime-build";
import { setClock } from "../../runtime/clock";
import { ManualClock, flush } from "../helpers/clock";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let errors: CacheError[];

beforeEach(() => {
  errors = [];
  configure({ servers: inject("memcached"), namespace: `lock${Date.now()}`, onError: (e) => errors.push(e) });
});
afterAll(() => close());

test("lock keys are valid, never value keys, and stay under 250 bytes", () => {
  const short = cache.keyOf("test#lockKey", ["a"]);
  expect(lockKeyOf(short)).toBe(`${short}~lock`);
  const long = cache.keyOf("test#lockKey", ["x".repeat(200)]);
  for (const key of [short, long, cache.keyOf("test#lockKey", ["y".repeat(1000)])]) {
    expect(() => assertValidKey(lockKeyOf(key))).not.toThrow();
    expect(lockKeyOf(key)).not.toBe(key);
  }
  expect(lockKeyOf(long)).not.toBe(lockKeyOf(cache.keyOf("test#lockKey", ["x".repeat(201)])));
});

test("the lock holder computes, stores and releases the lock", async () => {
  const spec = defineCached({ v: 1, id: "test#lockHolder", ttl: 60, lock: 5 });
  const key = cache.keyOf(spec.id, [1]);
  let lockSeen: unknown = "not looked";
  expect(await cachedCall(spec, [1], async () => {
    lockSeen = (await state().backend.get(lockKeyOf(key)))?.toString();
    return "v";
  })).toBe("v");
  expect(lockSeen).toBe(String(process.pid));
  await sleep(20);
  expect(await state().backend.get(lockKeyOf(key))).toBeUndefined();
  expect(await cachedCall(spec, [1], async () => "again")).toBe("v");
});

/**
 * Move the runtime's clock in `step` ms steps, letting each step's memcached requests (real I/O)
 * finish before the next, until `done()` or `limit` ms; returns the clock time that passed.
 * Every request counts, the test's own writes too: the request deadline runs on this clock, so a
 * write still on the wire while the clock moves 250 ms (a loaded machine) would time out.
 */
async function moveUntil(clock: ManualClock, done: () => boolean, step: number, limit: number): Promise<number> {
  const backend = state().backend;
  let inFlight = 0;
  const counted = <A extends unknown[], R>(op: (...args: A) => Promise<R>) => (...args: A): Promise<R> => {
    inFlight++;
    return op.apply(backend, args).finally(() => inFlight--);
  };
  const ops = ["get", "gets", "set", "add", "delete"] as const;
  const original = Object.fromEntries(ops.map((op) => [op, backend[op]]));
  Object.assign(backend, Object.fromEntries(ops.map((op) => [op, counted(backend[op] as (...args: unknown[]) => Promise<unknown>)])));
  try {
    let passed = 0;
    for (; passed <= limit && !done(); passed += step) {
      while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      await flush();
      if (done()) break;
      await clock.advance(step);
    }
    return passed;
  } finally {
    Object.assign(backend, original);
  }
}

test("a waiter takes the value the lock holder stores, without running the function", async () => {
  const clock = new ManualClock();
  setClock(clock);
  try {
    const spec = defineCached({ v: 1, id: "test#lockWaiter", ttl: 60, lock: 5 });
    const key = cache.keyOf(spec.id, ["w"]);
    await state().backend.add(lockKeyOf(key), "other process", 5);
    let stored: Promise<unknown> = Promise.resolve();
    clock.after(150, () => void (stored = state().backend.set(key, encodeEntry("from the holder", 0), 60)));
    let runs = 0;
    let answer: string | undefined;
    void cachedCall(spec, ["w"], async () => (runs++, "mine")).then((v) => (answer = v));
    // Polls 20 ms doubling to 200 ms: the value stored at 150 ms is seen by the poll at 300 ms.
    const passed = await moveUntil(clock, () => answer !== undefined, 10, 5_000);
    await stored;
    expect(answer).toBe("from the holder");
    expect(runs).toBe(0);
    expect(passed).toBeLessThanOrEqual(150 + 300);
  } finally {
    setClock();
  }
});

test("a holder that dies: waiters compute once its lock expires, at the latest after the wait bound", async () => {
  const spec = defineCached({ v: 1, id: "test#lockDead", ttl: 60, lock: 2 });
  await state().backend.add(lockKeyOf(cache.keyOf(spec.id, ["d"])), "dead process", 2);
  const start = performance.now();
  expect(await cachedCall(spec, ["d"], async () => "computed")).toBe("computed");
  const ms = performance.now() - start;
  // memcached's clock ticks in whole seconds: a 2 s lock expires after 1 to 2 s.
  expect(ms).toBeGreaterThanOrEqual(900);
  expect(ms).toBeLessThan(2_400);
});

test("a holder that gives up without a value (it failed) releases the waiters early", async () => {
  const clock = new ManualClock();
  setClock(clock);
  try {
    const spec = defineCached({ v: 1, id: "test#lockFailed", ttl: 60, lock: 10 });
    const lockKey = lockKeyOf(cache.keyOf(spec.id, ["f"]));
    await state().backend.add(lockKey, "failing process", 10);
    let released: Promise<unknown> = Promise.resolve();
    clock.after(100, () => void (released = state().backend.delete(lockKey)));
    let answer: string | undefined;
    void cachedCall(spec, ["f"], async () => "computed").then((v) => (answer = v));
    const passed = await moveUntil(clock, () => answer !== undefined, 10, 10_000);
    await released;
    expect(answer).toBe("computed");
    expect(passed).toBeLessThan(600); // long before the 10 s bound
  } finally {
    setClock();
  }
});

test("the holder's cached rejection (errors=) reaches the waiters", async () => {
  const spec = defineCached({ v: 1, id: "test#lockErrors", ttl: 60, lock: 5, errors: 30 });
  const key = cache.keyOf(spec.id, ["r"]);
  await state().backend.add(lockKeyOf(key), "other", 5);
  // The other process's function rejects; it stores the rejection and releases the lock.
  const other = defineCached({ v: 1, id: "test#lockErrors2", ttl: 60, errors: 30 });
  await cachedCall(other, ["r"], async () => { throw new RangeError("bad id"); }).catch(() => undefined);
  const raw = await state().backend.get(cache.keyOf(other.id, ["r"]));
  let stored: Promise<unknown> = Promise.resolve();
  setTimeout(() => void (stored = state().backend.set(key, raw!, 30)), 100);
  let runs = 0;
  await expect(cachedCall(spec, ["r"], async () => (runs++, "mine"))).rejects.toMatchObject({ name: "RangeError", message: "bad id" });
  expect(runs).toBe(0);
  await stored;
});

test("a backend failure while locking falls back to computing", async () => {
  configure({ servers: "127.0.0.1:1", timeout: 50, namespace: "lockdown", onError: (e) => errors.push(e) });
  const spec = defineCached({ v: 1, id: "test#lockBackendDown", ttl: 60, lock: 5 });
  expect(await cachedCall(spec, ["x"], async () => "computed")).toBe("computed");
  expect(errors.length).toBeGreaterThanOrEqual(1);
});

describe("across processes", () => {
  let runtime: TranspiledRuntime;
  let script: string;
  beforeAll(() => {
    runtime = transpileRuntime();
    script = path.join(path.dirname(runtime.entry), "lock-child.js");
    // Each child: "ready", then on "go <arg>" one cached call of a slow function, answering
    // { value, ran }. DIE=1 makes the body exit the process (a lock holder that crashes).
    writeFileSync(script, `
      const rt = require(${JSON.stringify(runtime.entry)});
      rt.configure({ servers: process.env.SERVERS, namespace: process.env.NS, timeout: 1000 });
      const spec = rt.defineCached({ v: 1, id: "child#slow", ttl: 60, lock: Number(process.env.LOCK) });
      require("node:readline").createInterface({ input: process.stdin }).on("line", async (line) => {
        let ran = false;
        const value = await rt.cachedCall(spec, [line.split(" ")[1]], async () => {
          ran = true;
          if (process.env.DIE) process.exit(3);
          await new Promise((r) => setTimeout(r, 300));
          return "value-" + process.pid;
        });
        process.stdout.write(JSON.stringify({ value, ran }) + "\\n");
        await rt.cache.close();
        process.exit(0);
      });
      process.stdout.write("ready\\n");
    `);
  });
  afterAll(() => runtime.dispose());

  function child(ns: string, lock: number, die = false) {
    const proc: ChildProcessWithoutNullStreams = spawn(process.execPath, [script], {
      env: { ...runtime.env, SERVERS: inject("memcached"), NS: ns, LOCK: String(lock), ...(die ? { DIE: "1" } : {}) },
    });
    let stderr = "";
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const lines = readline.createInterface({ input: proc.stdout });
    const queue: string[] = [];
    const waiting: Array<(line: string) => void> = [];
    lines.on("line", (line) => (waiting.length ? waiting.shift()!(line) : queue.push(line)));
    const next = () => new Promise<string>((resolve, reject) => {
      if (queue.length) return resolve(queue.shift()!);
      const timer = setTimeout(() => reject(new Error(`child silent for 10 s: ${stderr}`)), 10_000);
      waiting.push((line) => (clearTimeout(timer), resolve(line)));
    });
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    return { proc, next, exited, go: (arg: string) => proc.stdin.write(`go ${arg}\n`) };
  }

  test("six processes calling the same cold key concurrently: the body runs once", async () => {
    const ns = `xproc${Date.now()}`;
    const children = Array.from({ length: 6 }, () => child(ns, 5));
    try {
      expect(await Promise.all(children.map((c) => c.next()))).toEqual(Array(6).fill("ready"));
      children.forEach((c) => c.go("cold"));
      const answers = (await Promise.all(children.map((c) => c.next()))).map((l) => JSON.parse(l));
      expect(answers.filter((a) => a.ran)).toHaveLength(1);
      expect(new Set(answers.map((a) => a.value)).size).toBe(1);
    } finally {
      children.forEach((c) => c.proc.kill());
    }
  });

  test("control: without lock, concurrent processes each run the body", async () => {
    const ns = `xnolock${Date.now()}`;
    const children = Array.from({ length: 3 }, () => child(ns, 0));
    try {
      await Promise.all(children.map((c) => c.next()));
      children.forEach((c) => c.go("cold"));
      const answers = (await Promise.all(children.map((c) => c.next()))).map((l) => JSON.parse(l));
      expect(answers.filter((a) => a.ran).length).toBeGreaterThan(1);
    } finally {
      children.forEach((c) => c.proc.kill());
    }
  });

  test("the lock holder process dies: the others compute after the bound", async () => {
    const ns = `xdie${Date.now()}`;
    const holder = child(ns, 1, true);
    const others = [child(ns, 1), child(ns, 1)];
    try {
      expect(await holder.next()).toBe("ready");
      await Promise.all(others.map((c) => c.next()));
      holder.go("k");
      expect(await holder.exited).toBe(3);
      const start = performance.now();
      others.forEach((c) => c.go("k"));
      const answers = (await Promise.all(others.map((c) => c.next()))).map((l) => JSON.parse(l));
      const ms = performance.now() - start;
      expect(answers.every((a) => typeof a.value === "string" && a.value.startsWith("value-"))).toBe(true);
      expect(answers.some((a) => a.ran)).toBe(true);
      expect(ms).toBeLessThan(1_000 + 300 + 700);
    } finally {
      [holder, ...others].forEach((c) => c.proc.kill());
    }
  });
});
