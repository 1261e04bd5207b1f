/**
 * Bad data and hostile surroundings: values over the item size (ours and the server's), entries of
 * another application on the same server, SASL credentials on the wire, expiry past 30 days, and
 * no code execution anywhere in the runtime.
 */
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { resolveOptions } from "../../runtime/config";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close, state } from "../../runtime/state";
import { startMemcached, type MemcachedHandle } from "../helpers/memcached";

const ROOT = path.resolve(__dirname, "../..");

describe("values above the item size", () => {
  let small: MemcachedHandle;
  beforeAll(async () => {
    small = await startMemcached({ maxItemSize: "512k" });
  });
  afterAll(async () => {
    await close();
    await small.stop();
  });

  it("a result over maxValueSize is returned uncached with one E2BIG report", async () => {
    const errors: CacheError[] = [];
    configure({ servers: inject("memcached"), namespace: `big${Date.now()}`, maxValueSize: 10_000, onError: (e) => errors.push(e) });
    const spec = defineCached({ v: 1, id: "test#tooBig", ttl: 60 });
    let runs = 0;
    const big = () => cachedCall(spec, [], async () => (runs++, "x".repeat(20_000)));
    expect(await big()).toHaveLength(20_000);
    expect(await big()).toHaveLength(20_000);
    expect(runs).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(["E2BIG", "E2BIG"]);
    // Nothing stored, and the lease the miss took is given up.
    await vi.waitFor(async () => expect(await state().backend.get(cache.keyOf(spec.id, []))).toBeUndefined(), { timeout: 10_000 });
  });

  it("a server with a smaller item size than configured refuses it: returned uncached, reported, nothing breaks", async () => {
    const errors: CacheError[] = [];
    configure({ servers: small.address, namespace: `small${Date.now()}`, onError: (e) => errors.push(e) });
    const spec = defineCached({ v: 1, id: "test#serverTooBig", ttl: 60 });
    const value = "y".repeat(700_000);
    let runs = 0;
    expect(await cachedCall(spec, ["a"], async () => (runs++, value))).toBe(value);
    expect(await cachedCall(spec, ["a"], async () => (runs++, value))).toBe(value);
    expect(runs).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(["E2BIG", "E2BIG"]);
    // The connection survived: small values still cache.
    expect(await cachedCall(spec, ["b"], async () => "small")).toBe("small");
    expect(await cachedCall(spec, ["b"], async () => "other")).toBe("small");
  });
});

describe("namespaces", () => {
  afterAll(() => close());

  it("keep two applications on one server apart, with the same function ids and arguments", async () => {
    const spec = defineCached({ v: 1, id: "shared#get", ttl: 60 });
    const suffix = Date.now();
    configure({ servers: inject("memcached"), namespace: `appone${suffix}` });
    expect(await cachedCall(spec, ["bob"], async () => "one")).toBe("one");
    configure({ servers: inject("memcached"), namespace: `apptwo${suffix}` });
    expect(await cachedCall(spec, ["bob"], async () => "two")).toBe("two");
    expect(await cachedCall(spec, ["bob"], async () => "again")).toBe("two");
    configure({ servers: inject("memcached"), namespace: `appone${suffix}` });
    expect(await cachedCall(spec, ["bob"], async () => "again")).toBe("one");
  });
});

describe("expiry beyond 30 days", () => {
  afterAll(() => close());

  it("ttl + stale past memcached's 30-day relative limit is stored as absolute time and hits", async () => {
    configure({ servers: inject("memcached"), namespace: `long${Date.now()}` });
    const long = defineCached({ v: 1, id: "test#fortyDays", ttl: 40 * 86_400 });
    const straddle = defineCached({ v: 1, id: "test#straddle", ttl: 29 * 86_400, stale: 2 * 86_400 });
    for (const spec of [long, straddle]) {
      expect(await cachedCall(spec, [], async () => "kept")).toBe("kept");
      expect(await cachedCall(spec, [], async () => "recomputed")).toBe("kept");
    }
  });
});

describe("SASL", () => {
  /** A minimal binary-protocol memcached that requires PLAIN auth and records the credentials. */
  async function saslServer() {
    const credentials: string[] = [];
    const store = new Map<string, { value: Buffer; cas: bigint }>();
    let versions = 0n;
    const server = net.createServer((socket) => {
      let buffer = Buffer.alloc(0);
      let authed = false;
      socket.on("error", () => {});
      socket.on("data", (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        while (buffer.length >= 24 && buffer.length >= 24 + buffer.readUInt32BE(8)) {
          const opcode = buffer[1] as number;
          const keyLength = buffer.readUInt16BE(2);
          const extrasLength = buffer[4] as number;
          const total = buffer.readUInt32BE(8);
          const opaque = buffer.readUInt32BE(12);
          const key = buffer.subarray(24 + extrasLength, 24 + extrasLength + keyLength).toString();
          const value = buffer.subarray(24 + extrasLength + keyLength, 24 + total);
          const request = buffer.subarray(0, 24);
          buffer = buffer.subarray(24 + total);
          const reply = (status: number, body: Buffer | string = "", extras = 0, cas = 0n) => {
            const b = Buffer.from(body);
            const header = Buffer.alloc(24);
            header[0] = 0x81;
            header[1] = opcode;
            header[4] = extras;
            header.writeUInt16BE(status, 6);
            header.writeUInt32BE(b.length, 8);
            header.writeUInt32BE(opaque, 12);
            header.writeBigUInt64BE(cas, 16);
            socket.write(Buffer.concat([header, b]));
          };
          if (opcode === 0x20) reply(0, "PLAIN");
          else if (opcode === 0x21) {
            credentials.push(value.toString());
            authed = value.toString() === "\u0000app\u0000s3cret";
            reply(authed ? 0 : 0x20, authed ? "Authenticated" : "Auth failure");
          } else if (!authed) reply(0x20, "Auth required");
          else if (opcode === 0x00) {
            const stored = store.get(key);
            if (stored) reply(0, Buffer.concat([Buffer.alloc(4), stored.value]), 4, stored.cas); // flags, then the value
            else reply(1, "Not found");
          } else if (opcode === 0x01 || opcode === 0x02) {
            // set (with an optional CAS: the item must still be that version) and add.
            const cas = request.readBigUInt64BE(16);
            const stored = store.get(key);
            if (opcode === 0x02 && stored) reply(2, "Exists");
            else if (opcode === 0x01 && cas !== 0n && stored?.cas !== cas) reply(stored ? 2 : 1, "Not stored");
            else {
              const next = { value: Buffer.from(value), cas: ++versions };
              store.set(key, next);
              reply(0, "", 0, next.cas);
            }
          } else reply(0x81, "Unknown command");
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      credentials,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it("credentials from configure() reach the server through memjs's PLAIN auth", async () => {
    const fake = await saslServer();
    try {
      const errors: CacheError[] = [];
      configure({ servers: fake.address, username: "app", password: "s3cret", namespace: "sasl", onError: (e) => errors.push(e) });
      const spec = defineCached({ v: 1, id: "test#sasl", ttl: 60 });
      expect(await cachedCall(spec, [], async () => "v")).toBe("v");
      expect(await cachedCall(spec, [], async () => "recomputed")).toBe("v");
      expect(fake.credentials[0]).toBe("\u0000app\u0000s3cret");
      expect(errors).toEqual([]);
    } finally {
      await close();
      await fake.close();
    }
  });

  it("wrong credentials: calls still answer, the failure is reported", async () => {
    const fake = await saslServer();
    try {
      const errors: CacheError[] = [];
      configure({ servers: fake.address, username: "app", password: "wrong", timeout: 200, namespace: "sasl", onError: (e) => errors.push(e) });
      const spec = defineCached({ v: 1, id: "test#saslWrong", ttl: 60 });
      expect(await cachedCall(spec, [], async () => "v")).toBe("v");
      expect(fake.credentials).toEqual(["\u0000app\u0000wrong"]);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await close();
      await fake.close();
    }
  });

  it("the environment supplies them too", () => {
    const resolved = resolveOptions({}, { TSCACHING_USERNAME: "u", TSCACHING_PASSWORD: "p" });
    expect(resolved).toMatchObject({ username: "u", password: "p" });
  });
});

it("the runtime never evaluates code: no eval, Function constructor or vm anywhere in it", () => {
  const files = ["runtime", "runtime/backends", "runtime/http"].flatMap((dir) =>
    readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(".ts")).map((f) => path.join(ROOT, dir, f)));
  expect(files.length).toBeGreaterThan(8);
  for (const file of files) {
    const source = readFileSync(file, "utf8");
    expect(source, file).not.toMatch(/\beval\s*\(|new\s+Function\s*\(|\bFunction\s*\(\s*["'`]|["'](?:node:)?vm["']|\bimport\s*\(/);
  }
});
