/**
 * The per-server circuit breaker of the memcached backend and how the runtime reports it: real
 * memcached processes owned by this file (killed, paused, restarted), plus a bare TCP listener that
 * counts connection attempts.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemcachedBackend, type CircuitChange } from "../../runtime/backends/memcached";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close } from "../../runtime/state";
import { useMemcachedServers } from "../helpers/cluster";
import { freePort, startMemcached, type MemcachedHandle } from "../helpers/memcached";
import { ManualClock } from "../helpers/clock";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (promise: Promise<unknown>) => promise.then(() => "ok", (e: { code?: string }) => e.code ?? "no code");
const address = (h: MemcachedHandle) => ({ host: h.host, port: h.port });

/** Let a probe's connection attempt (real I/O) settle: wait until the connection count holds still. */
async function probesSettled(connections: () => number): Promise<void> {
  for (let seen = -1; seen !== connections();) {
    seen = connections();
    await sleep(2);
  }
}

/** A listener that accepts and at once resets every connection, counting them. */
async function resetter() {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.resetAndDestroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("memcached backend breaker", () => {
  let server: MemcachedHandle;
  beforeAll(async () => {
    server = await startMemcached();
  });
  afterAll(() => server.stop());

  it("opens after consecutive failures; then rejects at once with ECIRCUIT, all sharing one outage", async () => {
    const changes: CircuitChange[] = [];
    const port = await freePort();
    const backend = new MemcachedBackend({ servers: [{ host: "127.0.0.1", port }], timeout: 200,
      breaker: { failures: 3, cooldown: 60_000 }, onCircuit: (c) => changes.push(c) });
    try {
      for (let i = 0; i < 3; i++) expect(await codeOf(backend.get("k"))).not.toBe("ECIRCUIT");
      expect(changes).toEqual([{ server: `127.0.0.1:${port}`, state: "open", failures: 3, retryIn: 60_000 }]);
      expect(backend.downServers).toEqual([`127.0.0.1:${port}`]);
      const first = await backend.get("k").catch((e) => e);
      const second = await backend.get("k").catch((e) => e);
      expect(first).toMatchObject({ code: "ECIRCUIT", server: `127.0.0.1:${port}`, outage: { reported: false } });
      expect(second.code).toBe("ECIRCUIT");
      expect(second.outage).toBe(first.outage);
      // Refused at once: settled before any I/O or timer could run.
      let code = "pending";
      void codeOf(backend.set("k", "v", 0)).then((c) => (code = c));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      expect(code).toBe("ECIRCUIT");
    } finally {
      await backend.close();
    }
  });

  it("counts requests that fail together (a hung server timing them all out) as one failure", async () => {
    const backend = new MemcachedBackend({ servers: [address(server)], timeout: 150, breaker: { failures: 2 } });
    try {
      await backend.set("burst", "v", 0);
      await server.pause();
      try {
        const codes = await Promise.all(Array.from({ length: 20 }, () => codeOf(backend.get("burst"))));
        expect(codes.every((c) => c === "ETIMEDOUT")).toBe(true);
        expect(backend.downServers).toEqual([]);
      } finally {
        server.resume();
      }
      expect((await backend.get("burst"))?.toString()).toBe("v");
    } finally {
      await backend.close();
    }
  });

  it("half-open: probes after the cool-down, doubling it while the server stays down", async () => {
    const dead = await resetter();
    // The breaker's time is a moved clock: 300 calls 5 ms apart, however slow the machine is.
    const clock = new ManualClock();
    const backend = new MemcachedBackend({ servers: [{ host: "127.0.0.1", port: dead.port }], timeout: 200,
      breaker: { failures: 3, cooldown: 100, maxCooldown: 400 }, clock });
    try {
      let circuit = 0;
      for (let t = 0; t < 1_500; t += 5) {
        if ((await codeOf(backend.get("k"))) === "ECIRCUIT") circuit++;
        await probesSettled(dead.connections);
        await clock.advance(5);
      }
      // Without a breaker every one of the ~200 calls would have connected. With it: 3 failures,
      // then probes at about 100, 300, 700, 1100, 1500 ms.
      console.info(`dead server: ${dead.connections()} connection attempts in 1.5 s, ${circuit} calls refused at once`);
      expect(dead.connections()).toBeGreaterThanOrEqual(5);
      expect(dead.connections()).toBeLessThanOrEqual(10);
      expect(circuit).toBeGreaterThan(250);
    } finally {
      await backend.close();
      await dead.close();
    }
  });

  it("closes again once a restarted server answers the probe", async () => {
    const changes: CircuitChange[] = [];
    const clock = new ManualClock();
    const backend = new MemcachedBackend({ servers: [address(server)], timeout: 200,
      breaker: { failures: 3, cooldown: 200, maxCooldown: 800 }, onCircuit: (c) => changes.push(c), clock });
    try {
      await backend.set("restart", "before", 0);
      await server.kill();
      for (let i = 0; i < 3; i++) await codeOf(backend.get("restart"));
      expect(await codeOf(backend.get("restart"))).toBe("ECIRCUIT");
      // 500 ms of the breaker's time pass: a probe or two fail meanwhile.
      for (let t = 0; t < 500; t += 20) {
        await codeOf(backend.get("restart"));
        await sleep(10); // a probe's connection attempt settles (real I/O)
        await clock.advance(20);
      }
      await server.restart();
      // On the breaker's clock, the first probe after the restart comes within one (longest) cool-down.
      let ms = 0;
      for (; ms <= 3_000; ms += 20) {
        if ((await codeOf(backend.set("restart", "after", 0))) === "ok") break;
        await sleep(10);
        await clock.advance(20);
      }
      console.info(`breaker closed ${ms} ms (breaker clock) after the restart`);
      expect(ms).toBeLessThanOrEqual(800 + 40);
      expect(changes.map((c) => c.state)).toEqual(["open", "closed"]);
      expect((await backend.get("restart"))?.toString()).toBe("after");
    } finally {
      await backend.close();
    }
  });

  it("breaker: false lets every call find out for itself", async () => {
    const port = await freePort();
    const backend = new MemcachedBackend({ servers: [{ host: "127.0.0.1", port }], breaker: false });
    try {
      const codes = [];
      for (let i = 0; i < 10; i++) codes.push(await codeOf(backend.get("k")));
      expect(codes).not.toContain("ECIRCUIT");
    } finally {
      await backend.close();
    }
  });
});

describe("failover", () => {
  const handles = useMemcachedServers(3);

  it("is off by default: a down server's keys are not remapped", async () => {
    const backend = new MemcachedBackend({ servers: handles.map(address), breaker: { failures: 1, cooldown: 60_000 } });
    const port = await freePort();
    const withDead = new MemcachedBackend({ servers: [...handles.map(address), { host: "127.0.0.1", port }],
      breaker: { failures: 1, cooldown: 60_000 } });
    try {
      const keys = Array.from({ length: 400 }, (_, i) => `fo:${i}`);
      const onDead = keys.filter((k) => withDead.serverFor(k) === `127.0.0.1:${port}`);
      await codeOf(withDead.get(onDead[0] as string));
      expect(withDead.downServers).toEqual([`127.0.0.1:${port}`]);
      expect(onDead.every((k) => withDead.serverFor(k) === `127.0.0.1:${port}`)).toBe(true);
      expect(await codeOf(withDead.get(onDead[1] as string))).toBe("ECIRCUIT");
    } finally {
      await Promise.all([backend.close(), withDead.close()]);
    }
  });

  it("failover: true sends only the down server's keys to their next rendezvous choice", async () => {
    const port = await freePort();
    const dead = `127.0.0.1:${port}`;
    const live = new MemcachedBackend({ servers: handles.map(address) });
    const backend = new MemcachedBackend({ servers: [...handles.map(address), { host: "127.0.0.1", port }],
      failover: true, breaker: { failures: 1, cooldown: 60_000 } });
    try {
      const keys = Array.from({ length: 400 }, (_, i) => `fo2:${i}`);
      const owners = new Map(keys.map((k) => [k, backend.serverFor(k)]));
      const onDead = keys.filter((k) => owners.get(k) === dead);
      expect(onDead.length).toBeGreaterThan(60);
      await codeOf(backend.get(onDead[0] as string));
      expect(backend.downServers).toEqual([dead]);
      for (const k of keys) {
        // Keys of live servers stay; the dead server's go where a cluster without it would put them.
        expect(backend.serverFor(k)).toBe(owners.get(k) === dead ? live.serverFor(k) : owners.get(k));
      }
      await backend.set(onDead[1] as string, "moved", 0);
      expect((await backend.get(onDead[1] as string))?.toString()).toBe("moved");
      expect((await live.get(onDead[1] as string))?.toString()).toBe("moved");
    } finally {
      await Promise.all([backend.close(), live.close()]);
    }
  });
});

describe("runtime reporting", () => {
  afterAll(() => close());

  it("reports a dead server once per outage, not once per call; every call answers", async () => {
    const errors: CacheError[] = [];
    const changes: CircuitChange[] = [];
    const onCircuit = (c: CircuitChange) => changes.push(c);
    cache.on("circuit", onCircuit);
    configure({ servers: `127.0.0.1:${await freePort()}`, timeout: 100, namespace: `breaker${Date.now()}`,
      breaker: { cooldown: 60_000 }, onError: (e) => errors.push(e) });
    const spec = defineCached({ v: 1, id: "test#breakerReports" });
    try {
      const before = cache.stats().functions["test#breakerReports"]?.errors ?? 0;
      for (let i = 0; i < 50; i++) expect(await cachedCall(spec, [i], async () => i * 2)).toBe(i * 2);
      expect(errors.map((e) => e.code)).toEqual(["ESERVER", "ESERVER", "ESERVER", "ESERVER", "ESERVER", "ECIRCUIT"]);
      expect(errors[5]?.message).toMatch(/marked down/);
      expect(cache.stats().functions["test#breakerReports"]?.errors).toBe(before + 50);
      expect(changes.map((c) => c.state)).toEqual(["open"]);
    } finally {
      cache.off("circuit", onCircuit);
    }
  });

  it("rejects bad breaker options", () => {
    expect(() => configure({ breaker: { failures: 0 } })).toThrow(/breaker.failures/);
    expect(() => configure({ breaker: "off" as never })).toThrow(/"breaker"/);
    expect(() => configure({ failover: "yes" as never })).toThrow(/"failover"/);
  });
});
