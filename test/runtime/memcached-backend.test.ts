import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net from "node:net";
import path from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { MemcachedBackend } from "../../runtime/backends/memcached";
import { ManualClock } from "../helpers/clock";
import { startMemcached, type MemcachedHandle } from "../helpers/memcached";

const ROOT = path.resolve(__dirname, "../..");
const TIMEOUT = 250;
const servers = (...handles: MemcachedHandle[]) => handles.map(({ host, port }) => ({ host, port }));
const keys = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}:${i}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error?: { code?: string } }> {
  const start = performance.now();
  try {
    await promise;
    return { ms: performance.now() - start };
  } catch (error) {
    return { ms: performance.now() - start, error: error as { code?: string } };
  }
}

describe("rendezvous hashing over real servers", () => {
  let handles: MemcachedHandle[];
  beforeAll(async () => {
    handles = await Promise.all([1, 2, 3, 4].map(() => startMemcached()));
  });
  afterAll(() => Promise.all(handles.map((h) => h.stop())));

  it("spreads keys evenly and each lands on the server serverFor names", async () => {
    // Thousands of pipelined requests queue longer than the default 250 ms per-call deadline.
    const backend = new MemcachedBackend({ servers: servers(...handles.slice(0, 3)), timeout: 5_000 });
    const all = keys("spread", 3_000);
    await Promise.all(all.map((k) => backend.set(k, "v", 0)));
    const expected = new Map<string, number>();
    for (const k of all) expected.set(backend.serverFor(k), (expected.get(backend.serverFor(k)) ?? 0) + 1);
    const stats = await backend.stats();
    for (const h of handles.slice(0, 3)) {
      const count = expected.get(h.address) ?? 0;
      expect(count).toBeGreaterThan(all.length * 0.28);
      expect(count).toBeLessThan(all.length * 0.39);
      expect(Number(stats[h.address]?.curr_items)).toBe(count);
    }
    await backend.close();
  });

  it("moves only about a quarter of the keys, all to the new server, when a fourth is added", async () => {
    const three = new MemcachedBackend({ servers: servers(...handles.slice(0, 3)) });
    const four = new MemcachedBackend({ servers: servers(...handles) });
    const all = keys("move", 10_000);
    const moved = all.filter((k) => three.serverFor(k) !== four.serverFor(k));
    expect(moved.length / all.length).toBeGreaterThan(0.15);
    expect(moved.length / all.length).toBeLessThan(0.35);
    expect(new Set(moved.map((k) => four.serverFor(k)))).toEqual(new Set([handles[3]?.address]));
    // Entries written through the old layout stay readable for every key that did not move.
    const sample = all.slice(0, 400);
    await Promise.all(sample.map((k) => three.set(k, "v", 0)));
    const hits = await Promise.all(sample.map(async (k) => (await four.get(k)) !== undefined));
    expect(hits).toEqual(sample.map((k) => !moved.includes(k)));
    await Promise.all([three.close(), four.close()]);
  });
});

describe("failures", () => {
  let a: MemcachedHandle;
  let b: MemcachedHandle;
  let backend: MemcachedBackend;
  let onA: string;
  let onB: string;
  // Deadlines run on this clock: it moves only when a test moves it, so a request that settles
  // without it being moved did not wait for its timeout, however loaded the machine is.
  let clock: ManualClock;
  beforeAll(async () => {
    [a, b] = await Promise.all([startMemcached(), startMemcached()]);
    clock = new ManualClock();
    backend = new MemcachedBackend({ servers: servers(a, b), timeout: TIMEOUT, clock });
    onA = keys("fail", 100).find((k) => backend.serverFor(k) === a.address) as string;
    onB = keys("fail", 100).find((k) => backend.serverFor(k) === b.address) as string;
  });
  afterAll(async () => {
    await backend.close();
    await Promise.all([a.stop(), b.stop()]);
  });

  it("rejects quickly for a killed server, keeps serving the others, recovers after a restart", async () => {
    await backend.set(onB, "before", 0);
    await b.kill();
    for (let i = 0; i < 5; i++) {
      const { ms, error } = await timed(backend.get(onB));
      console.info(`killed server: get rejected (${error?.code}) after ${ms.toFixed(1)} ms`);
      expect(error).toBeDefined();
      expect(error?.code).not.toBe("ETIMEDOUT"); // the clock never moved: it did not wait for a timeout
      await backend.set(onA, `alive-${i}`, 0);
      expect((await backend.get(onA))?.toString()).toBe(`alive-${i}`);
    }
    await b.restart();
    const deadline = Date.now() + 3_000;
    let recovered = false;
    while (!recovered && Date.now() < deadline) {
      recovered = await backend.set(onB, "after", 0).then(() => true, () => false);
      if (!recovered) {
        await sleep(50);
        await clock.advance(50); // the breaker's cool-down runs on the same clock
      }
    }
    expect(recovered).toBe(true);
    expect((await backend.get(onB))?.toString()).toBe("after");
  });

  it("times out on a server that stops answering, then reconnects once it answers again", async () => {
    await backend.set(onB, "v", 0);
    await backend.set(onA, "a-value", 0);
    await b.pause();
    try {
      for (let i = 0; i < 3; i++) {
        let outcome: { error?: { code?: string } } | undefined;
        void timed(backend.get(onB)).then((o) => (outcome = o));
        await clock.advance(TIMEOUT - 1);
        expect(outcome).toBeUndefined();
        await clock.advance(1);
        expect(outcome?.error?.code).toBe("ETIMEDOUT");
      }
      expect((await backend.get(onA))?.toString()).toBe("a-value");
    } finally {
      b.resume();
    }
    await backend.set(onB, "resumed", 0);
    expect((await backend.get(onB))?.toString()).toBe("resumed");
  });

  it("fails requests in flight at once when the server process is killed", async () => {
    // A long deadline: only the connection close can settle the request within a second.
    const patient = new MemcachedBackend({ servers: servers(b), timeout: 10_000, clock: new ManualClock() });
    try {
      await patient.set(onB, "v", 0);
      await b.pause();
      const pending = timed(patient.get(onB));
      await sleep(50);
      await b.kill();
      const { error } = await pending; // the deadline's clock never moves: only the event settles it
      expect(error).toBeDefined();
      await b.restart();
      await patient.set(onB, "back", 0);
      expect((await patient.get(onB))?.toString()).toBe("back");
    } finally {
      await patient.close();
    }
  });

  it("fails requests in flight at once when the server closes the connection cleanly", async () => {
    // memjs alone leaves such requests pending forever: its 'close' handler fails no callback.
    const proxy = await relay(a);
    const patient = new MemcachedBackend({ servers: [{ host: "127.0.0.1", port: proxy.port }], timeout: 10_000,
      clock: new ManualClock() });
    try {
      await patient.set(onA, "v", 0);
      proxy.dropResponses();
      const pending = timed(patient.get(onA));
      await sleep(50);
      proxy.closeClients();
      const { error } = await pending; // the deadline's clock never moves: only the event settles it
      expect(error?.code).toBe("ECONNRESET");
      proxy.forwardResponses();
      expect((await patient.get(onA))?.toString()).toBe("v");
    } finally {
      await patient.close();
      await proxy.close();
    }
  });

  it("close() settles calls in flight and refuses later ones", async () => {
    const closing = new MemcachedBackend({ servers: servers(a), timeout: 10_000, clock: new ManualClock() });
    await closing.set(onA, "v", 0);
    await a.pause();
    try {
      const pending = timed(closing.get(onA));
      await sleep(50);
      await closing.close();
      const { error } = await pending; // the deadline's clock never moves: only the event settles it
      expect(error?.code).toBe("ECLOSED");
      await expect(closing.get(onA)).rejects.toMatchObject({ code: "ECLOSED" });
    } finally {
      a.resume();
    }
  });

  it("rejects invalid keys and oversized values without sending them or breaking the connection", async () => {
    await backend.set(onA, "v", 0);
    const before = (await backend.stats())[a.address];
    for (const bad of ["k".repeat(251), "two words", "ctl\u0001"]) {
      await expect(backend.set(bad, "v", 0)).rejects.toMatchObject({ code: "EBADKEY" });
    }
    await expect(backend.set(onA, Buffer.alloc(backend.maxValueSize + 1), 0)).rejects.toMatchObject({ code: "E2BIG" });
    expect((await backend.get(onA))?.toString()).toBe("v");
    const after = (await backend.stats())[a.address];
    expect(after?.total_connections).toBe(before?.total_connections);
    expect(after?.cmd_set).toBe(before?.cmd_set);
  });
});

/**
 * A TCP relay in front of a real memcached that can withhold its answers and close connections with
 * a FIN, as a server shutting down or timing out a connection does (a killed one sends an RST).
 */
async function relay(target: MemcachedHandle) {
  const clients = new Set<net.Socket>();
  let forwarding = true;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    clients.add(client);
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => forwarding && client.write(chunk));
    client.on("close", () => (clients.delete(client), upstream.destroy()));
    upstream.on("close", () => client.destroy());
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    dropResponses: () => void (forwarding = false),
    forwardResponses: () => void (forwarding = true),
    closeClients: () => clients.forEach((client) => client.end()),
    close: () => new Promise<void>((resolve) => (clients.forEach((c) => c.destroy()), server.close(() => resolve()))),
  };
}

describe("process lifetime", () => {
  let outDir: string;
  beforeAll(() => {
    outDir = mkdtempSync(path.join(tmpdir(), "tscaching-backends-"));
    mkdirSync(path.join(outDir, "backends"));
    const backends = readdirSync(path.join(ROOT, "runtime/backends")).filter((n) => n.endsWith(".ts")).map((n) => `backends/${n.slice(0, -3)}`);
    for (const name of [...backends, "clock"]) {
      const source = readFileSync(path.join(ROOT, "runtime", `${name}.ts`), "utf8");
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      writeFileSync(path.join(outDir, `${name}.js`), outputText);
    }
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it("lets a script that used the cache exit by itself", async () => {
    const script = `
      const { MemcachedBackend } = require(${JSON.stringify(path.join(outDir, "backends/memcached.js"))});
      const [host, port] = process.env.TSCACHING_TEST_MEMCACHED.split(":");
      const cache = new MemcachedBackend({ servers: [{ host, port: Number(port) }] });
      (async () => {
        await cache.set("child:" + process.pid, "from-child", 0);
        const hit = await cache.get("child:" + process.pid);
        const miss = await cache.get("child:missing:" + process.pid);
        console.log(JSON.stringify({ hit: hit.toString(), miss: miss === undefined }));
      })();`;
    const child = spawn(process.execPath, ["-e", script], {
      env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules"), TSCACHING_TEST_MEMCACHED: inject("memcached") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const start = performance.now();
    const exit = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => (child.kill("SIGKILL"), resolve("still running after 5 s")), 5_000);
      child.once("exit", (code) => (clearTimeout(timer), resolve(code ?? "killed")));
    });
    console.info(`child exited (${exit}) after ${(performance.now() - start).toFixed(0)} ms`);
    expect(exit, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ hit: "from-child", miss: true });
  });

  it("passes the shared server to child processes through the environment", () => {
    expect(process.env.TSCACHING_TEST_MEMCACHED).toBe(inject("memcached"));
  });
});
