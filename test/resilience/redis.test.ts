/**
 * Fail-open on Redis, as on memcached: a refused, killed, hung or restarted redis-server never
 * breaks a cached call and never adds more than the timeout to it; 64 concurrent callers see 0
 * failed calls across a SIGKILL and a restart; an idle connection does not keep a script alive.
 * Real redis-server processes owned by this file.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { close } from "../../runtime/state";
import { freePort } from "../helpers/memcached";
import { repoRoot } from "../helpers/project";
import { startRedis, type RedisHandle } from "../helpers/redis";

const TIMEOUT = 100;
const CONCURRENCY = 64;
const KEYS = 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

let server: RedisHandle;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await close();
  await server?.stop();
});

describe("a redis-server that fails under 64 concurrent callers", () => {
  async function underLoad(id: string, takeDown: () => Promise<void>, bringBack: () => Promise<void>, downMs: number) {
    const errors = new Map<string, number>();
    configure({ servers: server.url, timeout: TIMEOUT, namespace: `rkill${Date.now()}`,
      onError: (e: CacheError) => errors.set(e.code, (errors.get(e.code) ?? 0) + 1) });
    const spec = defineCached({ v: 1, id, ttl: 300 });
    for (let i = 0; i < KEYS; i++) await cachedCall(spec, [i], async () => ({ i }));
    errors.clear();
    let phase: "healthy" | "down" | "restarted" = "healthy";
    let stop = false;
    let failed = 0;
    let wrong = 0;
    let resumedAt = 0;
    const calls: Array<{ phase: string; ms: number; hit: boolean; at: number }> = [];
    const worker = async (w: number) => {
      let n = w * 7919;
      let done = 0;
      while (!stop) {
        n = (n * 1103515245 + 12345) % 2147483648;
        const i = ((n >> 8) % (KEYS / CONCURRENCY)) * CONCURRENCY + w;
        let ran = false;
        const start = performance.now();
        try {
          const value = await cachedCall(spec, [i], async () => {
            ran = true;
            return { i };
          });
          if (value.i !== i) wrong++;
        } catch {
          failed++;
        }
        const end = performance.now();
        calls.push({ phase, ms: end - start, hit: !ran, at: end });
        if (phase === "restarted" && !ran && resumedAt === 0) resumedAt = end;
        if (++done % 32 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const workers = Array.from({ length: CONCURRENCY }, (_, w) => worker(w));
    let restartedAt = 0;
    let downAt = 0;
    let closedAt = 0;
    const onCircuit = (change: { state: string }) => {
      if (change.state === "closed" && phase === "restarted") closedAt ||= performance.now();
    };
    cache.on("circuit", onCircuit);
    try {
      await sleep(1_000);
      phase = "down";
      downAt = performance.now();
      await takeDown();
      await sleep(downMs);
      await bringBack();
      restartedAt = performance.now();
      phase = "restarted";
      while (resumedAt === 0 && performance.now() - restartedAt < 10_000) await sleep(10);
      await sleep(200);
    } finally {
      stop = true;
      await Promise.all(workers);
      cache.off("circuit", onCircuit);
    }
    const of = (p: string) => calls.filter((c) => c.phase === p).map((c) => c.ms);
    const figures = {
      calls: calls.length, failed, wrong,
      healthyP99: percentile(of("healthy"), 99), downP99: percentile(of("down"), 99),
      healthyHitRate: calls.filter((c) => c.phase === "healthy" && c.hit).length / of("healthy").length,
      resumedAfter: resumedAt === 0 ? Infinity : (resumedAt - restartedAt) / 1000,
      breakerClosedAfter: closedAt === 0 ? Infinity : (closedAt - restartedAt) / 1000,
      late: calls.filter((c) => c.phase === "down" && c.at > downAt + 1_500),
      errors: Object.fromEntries(errors),
    };
    console.info(`── redis ${id} ── calls ${figures.calls}, failed ${failed}, wrong ${wrong}, p99 healthy ${figures.healthyP99.toFixed(1)} ms, ` +
      `down ${figures.downP99.toFixed(1)} ms (timeout ${TIMEOUT}), caching resumed ${figures.resumedAfter.toFixed(2)} s after the restart ` +
      `(breaker closed after ${figures.breakerClosedAfter.toFixed(2)} s), ` +
      `reports ${JSON.stringify(figures.errors)}`);
    return figures;
  }

  it("killed (SIGKILL) and restarted: no failed call, bounded latency, caching resumes", async () => {
    const f = await underLoad("rkill#sigkill", () => server.kill(), () => server.restart(), 2_000);
    expect(f.failed).toBe(0);
    expect(f.wrong).toBe(0);
    expect(f.healthyHitRate).toBeGreaterThan(0.99);
    expect(f.downP99).toBeLessThan(TIMEOUT + f.healthyP99 + 50);
    expect(f.resumedAfter).toBeLessThan(6);
    expect(f.errors.ECIRCUIT ?? 0).toBeLessThanOrEqual(2);
  }, 40_000);

  it("hung (SIGSTOP) and resumed: calls wait at most the timeout, and only until the breaker opens", async () => {
    const f = await underLoad("rkill#sigstop", () => server.pause(), async () => server.resume(), 2_500);
    expect(f.failed).toBe(0);
    expect(f.wrong).toBe(0);
    expect(f.downP99).toBeLessThan(TIMEOUT + f.healthyP99 + 50);
    const slowLate = f.late.filter((c) => c.ms >= TIMEOUT).length;
    expect(f.late.length).toBeGreaterThan(100);
    expect(slowLate / f.late.length).toBeLessThan(0.02);
    expect(f.resumedAfter).toBeLessThan(6);
  }, 40_000);
});

describe("fail-open on Redis", () => {
  it("a server that refuses connections: every call answers from the original function, at once", async () => {
    const errors: CacheError[] = [];
    configure({ servers: `redis://127.0.0.1:${await freePort()}`, timeout: TIMEOUT, onError: (e) => errors.push(e) });
    const spec = defineCached({ v: 1, id: "redis#refused" });
    let runs = 0;
    for (let i = 0; i < 8; i++) {
      const start = performance.now();
      expect(await cachedCall(spec, ["a"], async () => (runs++, "value"))).toBe("value");
      expect(performance.now() - start).toBeLessThan(TIMEOUT + 50);
    }
    expect(runs).toBe(8);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.code === "ESERVER" || e.code === "ECIRCUIT")).toBe(true);
    expect(errors.some((e) => /ECONNREFUSED/.test(e.message))).toBe(true);
  });
});

/** Runs `script` in a child process; resolves with its exit code (or why it was killed) and its output. */
function run(script: string, env: Record<string, string>): Promise<{ exit: number | string; output: string }> {
  const child = spawn(process.execPath, ["-e", script], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => (child.kill("SIGKILL"), resolve({ exit: "still running after 8 s", output })), 8_000);
    child.once("exit", (code) => (clearTimeout(timer), resolve({ exit: code ?? "killed", output })));
  });
}

/** A short script: a cached call, then the same call again (a hit when the cache works); it never closes the cache. */
const script = `
  const { cachedCall, defineCached } = require(${JSON.stringify(path.join(repoRoot, "dist/runtime/index.js"))});
  const spec = defineCached({ v: 1, id: "redis#idle", ttl: 60 });
  (async () => {
    let runs = 0;
    const a = await cachedCall(spec, [process.pid], async () => (runs++, "computed"));
    const b = await cachedCall(spec, [process.pid], async () => (runs++, "computed"));
    console.log(JSON.stringify({ a, b, runs }));
  })();`;

describe("process lifetime on Redis", () => {
  it("a script that used the cache (and never closed it) exits by itself", async () => {
    const { exit, output } = await run(script, { TSCACHING_SERVERS: `redis://${inject("redis")}`, TSCACHING_NAMESPACE: `idle${Date.now()}` });
    expect(exit, output).toBe(0);
    expect(JSON.parse(output)).toEqual({ a: "computed", b: "computed", runs: 1 });
  }, 20_000);

  it("so does one whose server refuses connections", async () => {
    const { exit, output } = await run(script, { TSCACHING_SERVERS: `redis://127.0.0.1:${await freePort()}` });
    expect(exit, output).toBe(0);
    expect(output).toMatch(/"runs":2/);
  }, 20_000);
});

describe("TLS (rediss://)", () => {
  it("a script reaches a TLS-only redis-server through rediss://, trusting its CA by NODE_EXTRA_CA_CERTS, and exits by itself", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tscaching-redis-tls-"));
    try {
      const cert = path.join(dir, "cert.pem");
      const key = path.join(dir, "key.pem");
      const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8" });
      expect(made.status, made.stderr).toBe(0);
      const tlsServer = await startRedis({ tls: { cert, key } });
      try {
        const { exit, output } = await run(script, { TSCACHING_SERVERS: `rediss://${tlsServer.address}`, NODE_EXTRA_CA_CERTS: cert,
          TSCACHING_NAMESPACE: `tls${Date.now()}` });
        expect(exit, output).toBe(0);
        expect(JSON.parse(output)).toEqual({ a: "computed", b: "computed", runs: 1 });
        // The same server through redis:// (no TLS) gets nothing cached: it cannot talk to it.
        const plain = await run(script.replace("console.log", "void "), { TSCACHING_SERVERS: `redis://${tlsServer.address}`, TSCACHING_TIMEOUT: "200" });
        expect(plain.exit, plain.output).toBe(0);
      } finally {
        await tlsServer.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
