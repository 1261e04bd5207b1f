/**
 * The bus (issue 16) on a private, real redis-server, with two processes: this one reads through
 * a local tier holding copies for `local=60`, another (a runtime process of its own) writes. Every
 * write and invalidation of the other process is seen here within a few seconds — far below 60 s,
 * so only the bus can explain it; this process's own messages are ignored; a subscriber that lost
 * its connection falls back to the `local` bound and comes back; garbage on the channel changes
 * nothing; an idle process is not kept alive by the subscriber.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RedisBackend } from "../../runtime/backends/redis";
import { busStatus } from "../../runtime/bus";
import { formatMessage, MAX_MESSAGE_BYTES } from "../../runtime/bus-message";
import { groupOf } from "../../runtime/groups";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close, state } from "../../runtime/state";
import { repoRoot } from "../helpers/project";
import { startRedis, type RedisHandle } from "../helpers/redis";
import { cli } from "../cli/run-cli";
import { startRuntimeProcess, type RuntimeProcess } from "../helpers/runtime-process";
import { transpileRuntime, type TranspiledRuntime } from "../resilience/runtime-build";

let server: RedisHandle;
let admin: Redis;
let runtime: TranspiledRuntime;
let writer: RuntimeProcess;
const namespace = `bus-${Date.now()}`;
const errors: CacheError[] = [];
const id = (label: string) => `bus#${label}#${randomUUID().slice(0, 8)}`;
/** Generous: a loaded machine delivers a message in milliseconds; 60 s (`local=`) is the other explanation. */
const SEEN_WITHIN_MS = 5_000;

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis({ host: server.host, port: server.port, lazyConnect: true });
  await admin.connect();
  // The reader's own user, so that its channel permission can be taken away (see "fallback").
  await admin.acl("SETUSER", "reader", "on", ">pw", "~*", "&*", "+@all");
  readerConfig();
  runtime = transpileRuntime();
  writer = await startRuntimeProcess(runtime, { TSCACHING_SERVERS: server.url, TSCACHING_NAMESPACE: namespace, TSCACHING_TIMEOUT: "2000" });
}, 60_000);

afterEach(() => {
  expect(errors).toEqual([]);
  expect(writer.stderr).toBe("");
});

afterAll(async () => {
  await close();
  await writer?.stop();
  admin?.disconnect();
  await server?.stop();
  runtime?.dispose();
});

/**
 * This process: the reader. It trusts the group and tag generations it knows for a minute
 * (`invalidationCheck`), so that, like `local=60`, only the bus can explain another process's
 * invalidation being seen within seconds.
 */
function readerConfig(): void {
  configure({ servers: `redis://reader:pw@${server.address}`, namespace, timeout: 2_000, invalidationCheck: 60_000,
    onError: (e) => errors.push(e) });
}

const bus = () => busStatus(state().backend)!;

/** A cached function of `spec` whose body counts its runs. */
function counted(spec: ReturnType<typeof defineCached>, tagged = false) {
  const fn = (arg: string) => cachedCall<string>(spec, [arg], async () => `computed ${++fn.runs}`, tagged ? [arg] : undefined);
  fn.runs = 0;
  return fn;
}

/** Code registering `fnId` in the writer (as loading its module would), so that its keys need no warning. */
const register = (fnId: string) => `if (!runtime.cachedFunctions().some((f) => f.id === ${JSON.stringify(fnId)})) runtime.defineCached({ v: 1, id: ${JSON.stringify(fnId)} });`;

const localHits = (spec: { id: string }) => cache.stats().functions[spec.id]?.localHits ?? 0;

/** Have `row("k")` held as a local copy while the bus listens. */
async function holding(spec: { id: string }, row: (arg: string) => Promise<string>, expected = "computed 1"): Promise<void> {
  expect(await row("k")).toBe(expected);
  await until(() => bus().up, "the bus subscribed");
  expect(await row("k")).toBe(expected); // refills the copy (the tier is cleared when the bus comes up)
  const before = localHits(spec);
  expect(await row("k")).toBe(expected);
  expect(localHits(spec)).toBe(before + 1);
}

describe("another process's writes and invalidations end local copies at once", () => {
  const cases: Array<[string, (fn: string) => string, string]> = [
    ["set", (fn) => `return cache.set(cache.keyOf(${fn}, ["k"]), "v2")`, "v2"],
    ["replace", (fn) => `return cache.replace(cache.keyOf(${fn}, ["k"]), "v2")`, "v2"],
    ["delete", (fn) => `return cache.delete(cache.keyOf(${fn}, ["k"]))`, "computed 2"],
    ["invalidate", (fn) => `return cache.invalidate({ id: ${fn} })`, "computed 2"],
    ["flushAll", () => `return cache.flushAll()`, "computed 2"],
  ];
  it.each(cases)("%s", async (label, code, expected) => {
    const spec = defineCached({ v: 1, id: id(label), ttl: 600, local: 60 });
    const row = counted(spec);
    await holding(spec, row);
    expect(await writer.run(register(spec.id) + code(JSON.stringify(spec.id)))).toBe(true);
    await eventually(row, expected);
  });

  it("invalidateTag", async () => {
    const spec = defineCached({ v: 1, id: id("tag"), ttl: 600, local: 60, tags: [{ name: "user", args: [0] }] });
    const row = counted(spec, true);
    await holding(spec, row);
    expect(await writer.run(`return cache.invalidateTag(cache.tag("user", "k"))`)).toBe(true);
    await eventually(row, "computed 2");
  });

  it("tscaching flush (the built CLI)", async () => {
    const spec = defineCached({ v: 1, id: id("cli-flush"), ttl: 600, local: 60 });
    const row = counted(spec);
    await holding(spec, row);
    const flushed = await cli(["flush", "--yes", "--servers", server.url], { cwd: repoRoot });
    expect(flushed).toEqual({ status: 0, stdout: `flushed ${server.address}\n`, stderr: "" });
    await eventually(row, "computed 2");
  });

  it("a write that resolved has been announced: seen by the next read after it, here", async () => {
    const spec = defineCached({ v: 1, id: id("order"), ttl: 600, local: 60 });
    const row = counted(spec);
    await holding(spec, row);
    for (let i = 0; i < 5; i++) {
      expect(await writer.run(`${register(spec.id)} return cache.set(cache.keyOf(${JSON.stringify(spec.id)}, ["k"]), "v${i}")`)).toBe(true);
      await eventually(row, `v${i}`);
    }
    expect(row.runs).toBe(1);
  });
});

describe("this process's own messages", () => {
  it("are ignored: its own touch leaves its copy", async () => {
    const spec = defineCached({ v: 1, id: id("own"), ttl: 600, local: 60 });
    const row = counted(spec);
    await holding(spec, row);
    const marker = defineCached({ v: 1, id: id("marker"), ttl: 600, local: 60 });
    const mark = counted(marker);
    await holding(marker, mark);
    const own = bus().own;
    // touch keeps this process's copy (the value did not change); its message would drop it.
    expect(await cache.touch(cache.keyOf(spec.id, ["k"]), 600)).toBe(true);
    // Messages arrive in order: once the other process's later one is seen, ours was too.
    expect(await writer.run(`${register(marker.id)} return cache.set(cache.keyOf(${JSON.stringify(marker.id)}, ["k"]), "marked")`)).toBe(true);
    await eventually(mark, "marked");
    expect(bus().own).toBeGreaterThan(own);
    const before = localHits(spec);
    expect(await row("k")).toBe("computed 1");
    expect(localHits(spec)).toBe(before + 1);
  });
});

describe("garbage on the channel", () => {
  it("is ignored: no crash, no wrong value, at most a miss", async () => {
    const spec = defineCached({ v: 1, id: id("garbage"), ttl: 600, local: 60 });
    const row = counted(spec);
    await holding(spec, row);
    const channel = (state().backend as RedisBackend).bus.channel(namespace);
    const malformed = bus().malformed;
    const garbage: Array<Buffer | string> = [
      ...fc.sample(fc.uint8Array({ maxLength: 300 }), { numRuns: 40, seed: 16 }).map((bytes) => Buffer.from(bytes)),
      ...fc.sample(fc.string({ maxLength: 80 }), { numRuns: 20, seed: 16 }).map((text) => `tscaching1 ${text}`),
      "x".repeat(MAX_MESSAGE_BYTES + 1),
      Buffer.alloc(1024 * 1024, 0x20),
      `tscaching1 ${"o".repeat(22)} k other-namespace:fn:k`,
      `tscaching1 ${"o".repeat(22)} k ${namespace}:`,
      `tscaching1 short k ${namespace}:fn:k`,
      `tscaching1 ${"o".repeat(22)} g ${namespace}:fn:extra`,
      `tscaching1 ${"o".repeat(22)} q ${namespace}:fn:k`,
      `tscaching1 ${"o".repeat(22)} f extra`,
      `tscaching1 ${"o".repeat(22)} t ${namespace}:fn:`,
      "",
    ];
    for (const message of garbage) await admin.publish(channel, message);
    // Well-formed forgeries about this very function: copies go and counters are re-read, values stay right.
    const group = groupOf(cache.keyOf(spec.id, ["k"]));
    await admin.publish(channel, formatMessage("f".repeat(22), "group", [group]));
    await admin.publish(channel, formatMessage("f".repeat(22), "key", [cache.keyOf(spec.id, ["k"])]));
    await admin.publish(channel, formatMessage("f".repeat(22), "tags", [`${namespace}:~tag.user:"k":`]));
    const marker = defineCached({ v: 1, id: id("marker"), ttl: 600, local: 60 });
    const mark = counted(marker);
    await holding(marker, mark);
    expect(await writer.run(`${register(marker.id)} return cache.set(cache.keyOf(${JSON.stringify(marker.id)}, ["k"]), "marked")`)).toBe(true);
    await eventually(mark, "marked");
    expect(bus().malformed - malformed).toBe(garbage.length);
    expect(bus().up).toBe(true);
    expect(await row("k")).toBe("computed 1");
    expect(row.runs).toBe(1);
  });
});

describe("a lost subscriber", () => {
  it("falls back to the local bound while it is down, and reconnects", async () => {
    const spec = defineCached({ v: 1, id: id("fallback"), ttl: 600, local: 2 });
    const row = counted(spec);
    await holding(spec, row);
    // Its user may no longer subscribe (so it cannot come back yet), and its connection is killed.
    await admin.acl("SETUSER", "reader", "resetchannels");
    await admin.client("KILL", "TYPE", "pubsub");
    try {
      await until(() => !bus().up, "the bus noticed its connection is gone");
      expect(await writer.run(`${register(spec.id)} return cache.set(cache.keyOf(${JSON.stringify(spec.id)}, ["k"]), "v2")`)).toBe(true);
      // Seen through local=2 alone: the copy ends after 2 s, whatever happened to the message.
      await eventually(row, "v2", 30_000);
      expect(bus().up).toBe(false);
      // Its attempts to subscribe again failed, retried with backoff all along: told once, with the server's reason.
      expect(errors.map((e) => [e.code, e.message])).toEqual([["ESERVER", expect.stringMatching(/could not subscribe: NOPERM.*local= bound/)]]);
      errors.length = 0;
    } finally {
      await admin.acl("SETUSER", "reader", "allchannels");
    }
    await until(() => bus().up, "the bus reconnected");
    const again = defineCached({ v: 1, id: id("reconnected"), ttl: 600, local: 60 });
    const second = counted(again);
    await holding(again, second);
    expect(await writer.run(`${register(again.id)} return cache.delete(cache.keyOf(${JSON.stringify(again.id)}, ["k"]))`)).toBe(true);
    await eventually(second, "computed 2");
  }, 90_000);
});

describe("the subscriber's lifetime", () => {
  const child = (servers: string, waitUp: boolean, env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, ["-e", `
    const runtime = require(${JSON.stringify(runtime.entry)});
    const { busStatus } = require(${JSON.stringify(path.join(path.dirname(runtime.entry), "bus.js"))});
    const { state } = require(${JSON.stringify(path.join(path.dirname(runtime.entry), "state.js"))});
    const spec = runtime.defineCached({ v: 1, id: "idle", ttl: 60, local: 30 });
    (async () => {
      await runtime.cachedCall(spec, ["k"], async () => 1);
      while (${waitUp} && !busStatus(state().backend).up) await new Promise((r) => setTimeout(r, 20));
      process.stdout.write(String(busStatus(state().backend).listening));
    })();
  `], { env: { ...runtime.env, ...env, TSCACHING_SERVERS: servers, TSCACHING_NAMESPACE: namespace }, encoding: "utf8", timeout: 20_000 });

  it("does not keep an idle process alive, subscribed or retrying", async () => {
    const subscribed = child(server.url, true);
    expect(subscribed.signal).toBeNull();
    expect(subscribed.status).toBe(0);
    expect(subscribed.stdout).toBe("true");
    const down = await startRedis();
    await down.stop(); // a port nothing listens on: every connection attempt fails
    const retrying = child(down.url, false);
    expect(retrying.signal).toBeNull();
    expect(retrying.status).toBe(0);
    expect(retrying.stdout).toBe("true");
  });

  it("subscribes over TLS (rediss://) too", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tscaching-bus-tls-"));
    try {
      const cert = path.join(dir, "cert.pem");
      const key = path.join(dir, "key.pem");
      const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8" });
      expect(made.status, made.stderr).toBe(0);
      const tlsServer = await startRedis({ tls: { cert, key } });
      try {
        const subscribed = child(`rediss://${tlsServer.address}`, true, { NODE_EXTRA_CA_CERTS: cert });
        expect(subscribed.signal).toBeNull();
        expect(subscribed.stdout).toBe("true");
      } finally {
        await tlsServer.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ends with close()", async () => {
    const spec = defineCached({ v: 1, id: id("close"), ttl: 600, local: 60 });
    await holding(spec, counted(spec));
    const channel = (state().backend as RedisBackend).bus.channel(namespace);
    const subscribers = async () => ((await admin.pubsub("NUMSUB", channel)) as [string, number])[1];
    expect(await subscribers()).toBe(1);
    await close();
    await until(async () => (await subscribers()) === 0, "the subscriber left");
    readerConfig();
  });
});

/** Call `row("k")` until it answers `expected`, for at most `bound` ms (real time). */
async function eventually(row: (arg: string) => Promise<string>, expected: string, bound = SEEN_WITHIN_MS): Promise<void> {
  const limit = Date.now() + bound;
  let got = await row("k");
  while (got !== expected && Date.now() < limit) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    got = await row("k");
  }
  expect(got, `seen within ${bound} ms`).toBe(expected);
}

/** Wait (real time, generous bound) for a condition reached through I/O. */
async function until(condition: () => boolean | Promise<boolean>, what: string, bound = 15_000): Promise<void> {
  const limit = Date.now() + bound;
  while (!(await condition()) && Date.now() < limit) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(await condition(), what).toBe(true);
}
