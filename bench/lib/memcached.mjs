// One memcached (and, for hit-redis, one redis-server) for the whole bench, on a free loopback port, stopped by its PID (the same way
// test/helpers/memcached.ts starts the test servers).
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";

const HOST = "127.0.0.1";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The memcached version string, e.g. "memcached 1.6.18", or undefined. */
export function memcachedVersion(bin = "memcached") {
  const result = spawnSync(bin, ["-V"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Starts memcached (`-m` MiB of cache) and resolves once it accepts connections. */
export async function startMemcached({ memoryMb = 256, bin = "memcached" } = {}) {
  return startServer(bin, (port) => {
    const args = ["-l", HOST, "-p", String(port), "-U", "0", "-m", String(memoryMb), "-t", "1"];
    if (process.getuid?.() === 0) args.push("-u", "root");
    return args;
  });
}

/** Starts `bin` with `argsFor(port)` on a free loopback port; resolves once it accepts connections (stopped by PID). */
export async function startServer(bin, argsFor) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = argsFor(port);
    const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], detached: false });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    await new Promise((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    const pid = child.pid;
    const deadline = Date.now() + 5000;
    let up = false;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) break;
      if (await accepts(port)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up) {
      child.stderr.unref?.();
      child.unref();
      const exitHook = () => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
      };
      process.once("exit", exitHook);
      return {
        host: HOST,
        port,
        address: `${HOST}:${port}`,
        pid,
        async stop() {
          process.removeListener("exit", exitHook);
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once("exit", resolve));
          process.kill(pid, "SIGTERM");
          const timer = setTimeout(() => alive(pid) && process.kill(pid, "SIGKILL"), 2000);
          await exited;
          clearTimeout(timer);
        },
      };
    }
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, "SIGKILL");
    if (attempt >= 3) throw new Error(`${bin} did not start on port ${port}: ${stderr.trim()}`);
  }
}

/** Starts redis-server (no persistence, `maxmemory` MiB) the same way. */
export function startRedis({ memoryMb = 256, bin = "redis-server" } = {}) {
  return startServer(bin, (port) => ["--bind", HOST, "--port", String(port), "--save", "", "--appendonly", "no",
    "--maxmemory", `${memoryMb}mb`, "--loglevel", "warning"]);
}

/** The redis-server version string, e.g. "Redis server v=7.0.15 ...", or undefined. */
export function redisVersion(bin = "redis-server") {
  const result = spawnSync(bin, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}
