import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { freePort, accepts, killNow, stopped, terminate, track } from "./memcached";

declare module "vitest" {
  export interface ProvidedContext {
    /** "127.0.0.1:port" of the redis-server started by test/setup/redis.ts. */
    redis: string;
  }
}

/** A redis-server process owned by a test (same shape as the memcached handle). */
export interface RedisHandle {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:port". */
  readonly address: string;
  /** "redis://127.0.0.1:port". */
  readonly url: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Kills the process if it is running and starts a fresh, empty one on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP: connections are accepted by the kernel but never answered. */
  pause(): Promise<void>;
  /** SIGCONT after {@link RedisHandle.pause}. */
  resume(): void;
}

/** Options of {@link startRedis}. */
export interface RedisOptions {
  /** Extra `redis-server` arguments (e.g. `["--requirepass", "pw"]`). */
  args?: string[];
  /** Serve TLS only (the port is a `tls-port`), with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
}

const HOST = "127.0.0.1";
const READY_WITHIN_MS = 5_000;

/**
 * Starts a real redis-server on loopback (no persistence) and waits until it accepts connections.
 * Throws, never skips, when the binary is missing or the server does not come up.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisHandle> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      let child = await spawnRedis(port, options);
      return {
        host: HOST,
        port,
        address: `${HOST}:${port}`,
        url: `redis://${HOST}:${port}`,
        get pid() {
          return child.pid as number;
        },
        stop: () => terminate(child),
        kill: () => killNow(child),
        async restart() {
          await killNow(child);
          child = await spawnRedis(port, options);
        },
        async pause() {
          child.kill("SIGSTOP");
          await stopped(child.pid as number);
        },
        resume: () => void child.kill("SIGCONT"),
      };
    } catch (err) {
      // Another process may take the port between freePort() and redis-server's bind.
      if (attempt >= 3 || !/in use|bind|listen/i.test(String(err))) throw err;
    }
  }
}

async function spawnRedis(port: number, options: RedisOptions): Promise<ChildProcess> {
  if (await accepts(port)) throw new Error(`cannot start redis-server: port ${port} is already in use`);
  // No RDB or AOF files: nothing is written to disk, so a restart starts empty (as memcached does).
  const ports = options.tls
    ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", options.tls.cert, "--tls-key-file", options.tls.key,
      "--tls-ca-cert-file", options.tls.cert, "--tls-auth-clients", "no"]
    : ["--port", String(port)];
  const args = [...ports, "--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no",
    "--loglevel", "warning", ...(options.args ?? [])];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(err.code === "ENOENT" ? new Error("redis-server not found on PATH: install it with `apt-get install -y redis-server`") : err));
  });
  track(child);
  const deadline = Date.now() + READY_WITHIN_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server on port ${port} exited (${child.exitCode ?? child.signalCode}): ${output.trim()}`);
    }
    if (Date.now() > deadline) {
      await killNow(child);
      throw new Error(`redis-server on port ${port} did not accept connections within ${READY_WITHIN_MS} ms: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

/** A Redis Cluster of masters only, owned by a test. */
export interface RedisClusterHandle {
  readonly nodes: readonly RedisHandle[];
  /** "redis+cluster://127.0.0.1:p1,redis+cluster://127.0.0.1:p2,...". */
  readonly url: string;
  /** Stops every node and removes the cluster's config files. */
  stop(): Promise<void>;
}

/**
 * Starts `size` redis-server nodes in cluster mode, joins them with `redis-cli --cluster create`
 * (masters only, the 16384 slots spread over them) and waits until the cluster reports `ok`.
 */
export async function startRedisCluster(size = 3): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), "tscaching-redis-cluster-"));
  const nodes: RedisHandle[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(await startRedis({ args: ["--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, `nodes-${i}.conf`),
        "--cluster-node-timeout", "2000", "--dir", dir] }));
    }
    const created = spawnSync("redis-cli", ["--cluster", "create", ...nodes.map((n) => n.address), "--cluster-replicas", "0", "--cluster-yes"],
      { encoding: "utf8", timeout: 20_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const states = nodes.map((n) => spawnSync("redis-cli", ["-p", String(n.port), "cluster", "info"], { encoding: "utf8" }).stdout);
      if (states.every((info) => /cluster_state:ok/.test(info))) break;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become ok within 10 s: ${states.join(" | ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { nodes, url: nodes.map((n) => `redis+cluster://${n.address}`).join(","), stop };
}
