/**
 * `lock`: a waiter that sees the lock gone must see what the holder stored before releasing it.
 * The holder stores the entry, then deletes the lock. A waiter reads both in parallel, so on two
 * servers (entry on one, lock on the other) its entry read can land before the store and its lock
 * read after the delete: it then thought the holder had failed and ran the body a second time (the
 * six-process stampede test saw this under CI load). Made deterministic with a gate in front of the
 * lock's server: the waiter's lock read is held until the holder has stored and released.
 */
import net from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { MemcachedBackend } from "../../runtime/backends/memcached";
import { lockKeyOf } from "../../runtime/call";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close } from "../../runtime/state";
import { startMemcached, type MemcachedHandle } from "../helpers/memcached";

/** A TCP proxy to `target` that, once told what to `watch`, holds client bytes naming it from the `after`-th such chunk on, until opened. */
function gate(target: MemcachedHandle) {
  let marker: Buffer | undefined;
  let after = Infinity;
  let seen = 0;
  let holding = false;
  const held: Array<() => void> = [];
  let onHeld: (() => void) | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    upstream.on("data", (d) => client.write(d));
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
    client.on("data", (chunk: Buffer) => {
      if (!holding && marker !== undefined && chunk.includes(marker) && ++seen >= after) holding = true;
      if (!holding) return void upstream.write(chunk);
      held.push(() => upstream.write(chunk));
      onHeld?.();
    });
  });
  return {
    listen: () => new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port))),
    watch(text: string, from: number) {
      marker = Buffer.from(text);
      after = from;
    },
    held: () => new Promise<void>((resolve) => (held.length ? resolve() : (onHeld = resolve))),
    open() {
      holding = false;
      held.splice(0).forEach((send) => send());
    },
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}

let a: MemcachedHandle;
let b: MemcachedHandle;
beforeAll(async () => {
  [a, b] = await Promise.all([startMemcached(), startMemcached()]);
});
afterAll(async () => {
  await close();
  await Promise.all([a?.stop(), b?.stop()]);
});

test("the lock seen gone: the waiter reads the entry again, and takes the holder's result instead of running the body", async () => {
  const errors: CacheError[] = [];
  const spec = defineCached({ v: 1, id: "order#slow", ttl: 60, lock: 5 });
  const namespace = `lockorder${Date.now()}`;
  // This process reaches b through a gate. The runtime places keys by server address (rendezvous
  // hashing): find an argument whose entry is on a and whose lock is behind the gate.
  const door = gate(b);
  const port = await door.listen();
  const behind = `127.0.0.1:${port}`;
  configure({ servers: `${a.address},${behind}`, namespace });
  const placement = new MemcachedBackend({ servers: [{ host: a.host, port: a.port }, { host: "127.0.0.1", port }] });
  const keyOf = (arg: number) => cache.keyOf<string>(spec.id, [arg]);
  let arg = 0;
  while (placement.serverFor(keyOf(arg)) !== a.address || placement.serverFor(lockKeyOf(keyOf(arg))) !== behind) arg++;
  await placement.close();
  const key = keyOf(arg);
  const lockKey = lockKeyOf(key);
  // The lock's `add` passes the gate; the first poll's read of the lock is held.
  door.watch(lockKey, 2);

  // Another process holds the lock (b, directly).
  const direct = new MemcachedBackend({ servers: [{ host: b.host, port: b.port }] });
  expect(await direct.add(lockKey, "another process", 5)).toBe(true);

  configure({ servers: `${a.address},${behind}`, namespace, timeout: 5_000, onError: (e) => errors.push(e) });
  let runs = 0;
  const call = cachedCall<string>(spec, [arg], async () => (runs++, "computed here"));
  try {
    await door.held();
    // The waiter's entry read went out before (same connection to a, so it misses); now the holder
    // stores its result, then releases the lock, as a holder does.
    expect(await cache.set(key, "the holder's result")).toBe(true);
    expect(await direct.delete(lockKey)).toBe(true);
  } finally {
    door.open();
  }
  expect(await call).toBe("the holder's result");
  expect(runs).toBe(0);
  expect(errors).toEqual([]);
  await close();
  await direct.close();
  await door.close();
});
