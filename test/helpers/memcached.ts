import { spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import net from "node:net";

declare module "vitest" {
  export interface ProvidedContext {
    /** "127.0.0.1:port" of the memcached started by test/setup/memcached.ts. */
    memcached: string;
  }
}

/** Options of {@link startMemcached}. */
export interface MemcachedOptions {
  /** Port to listen on; a free one is picked when omitted. */
  port?: number;
  /** Cache size in MiB (`-m`). Default 64. */
  memoryMb?: number;
  /** Item size limit (`-I`), e.g. "1m" or "512k". Default memcached's (1m). */
  maxItemSize?: string;
}

/** A memcached process owned by a test. */
export interface MemcachedHandle {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:port". */
  readonly address: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 2 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Kills the process if it is running and starts a fresh one on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP, resolving once stopped: connections are still accepted by the kernel but never answered. */
  pause(): Promise<void>;
  /** SIGCONT after {@link MemcachedHandle.pause}. */
  resume(): void;
}

const HOST = "127.0.0.1";
const READY_WITHIN_MS = 5_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A loopback port that was free a moment ago (memcached may still lose a race for it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real memcached on loopback and waits until it accepts connections. Throws, never skips,
 * when the binary is missing or the server does not come up.
 */
export async function startMemcached(options: MemcachedOptions = {}): Promise<MemcachedHandle> {
  installExitHook();
  // Another process may grab a port between freePort() and memcached's bind; pick again then.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(port, options);
    } catch (err) {
      if (options.port !== undefined || attempt >= 3 || !/bind|listen|in use/i.test(String(err))) throw err;
    }
  }
}

async function launch(port: number, options: MemcachedOptions): Promise<MemcachedHandle> {
  let child = await spawnMemcached(port, options);
  return {
    host: HOST,
    port,
    address: `${HOST}:${port}`,
    get pid() {
      return child.pid as number;
    },
    stop: () => terminate(child),
    kill: () => killNow(child),
    async restart() {
      await killNow(child);
      child = await spawnMemcached(port, options);
    },
    async pause() {
      child.kill("SIGSTOP");
      await stopped(child.pid as number);
    },
    resume: () => void child.kill("SIGCONT"),
  };
}

async function spawnMemcached(port: number, options: MemcachedOptions): Promise<ChildProcess> {
  const args = ["-l", HOST, "-p", String(port), "-U", "0", "-m", String(options.memoryMb ?? 64)];
  if (options.maxItemSize !== undefined) args.push("-I", options.maxItemSize);
  // memcached refuses to run as root unless told which user to stay.
  if (process.getuid?.() === 0) args.push("-u", "root");
  // Readiness is probed by connecting, which must not be answered by someone else's listener.
  if (await accepts(port)) throw new Error(`cannot start memcached: port ${port} is already in use`);
  const child = spawn("memcached", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "ENOENT"
          ? new Error("memcached binary not found on PATH: install it with `apt-get install -y memcached`")
          : err,
      ),
    );
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  const deadline = Date.now() + READY_WITHIN_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`memcached on port ${port} exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
    }
    if (Date.now() > deadline) {
      await killNow(child);
      throw new Error(`memcached on port ${port} did not accept connections within ${READY_WITHIN_MS} ms: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

// SIGSTOP takes effect asynchronously, thread by thread: a worker still running can answer.
export async function stopped(pid: number): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => undefined);
    if (tasks === undefined) return new Promise((resolve) => setTimeout(resolve, 100)); // no procfs
    const states = await Promise.all(
      tasks.map(async (tid) => {
        const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => ") T");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3); // field 3: state
      }),
    );
    if (states.every((state) => state === "T" || state === "t")) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`process ${pid} did not stop within 2 s of SIGSTOP`);
}

export async function killNow(child: ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await exited(child);
}

export async function terminate(child: ChildProcess): Promise<void> {
  child.kill("SIGCONT"); // a paused process would act on SIGTERM only once resumed
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
  await exited(child);
  clearTimeout(timer);
}

/** Kill `child` (SIGKILL) if the test process exits while it runs: a dying worker leaves no server behind. */
export function track(child: ChildProcess): void {
  installExitHook();
  live.add(child);
  child.once("exit", () => live.delete(child));
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A worker that dies mid-test must not leave memcached processes behind.
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}
