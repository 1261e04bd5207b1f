/**
 * The commands that talk to memcached: `get` reads through the runtime's own path (codec, group
 * generations), `stats` and `flush` per server; a dead server or none configured is a one-line error.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { cache, configure } from "../../runtime/index";
import { freePort, startMemcached, type MemcachedHandle } from "../helpers/memcached";
import { prepareProject } from "../helpers/project";
import { cli, compile, lines } from "./run-cli";

function node(dir: string, script: string, env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, output }));
  });
}

describe("tscaching get", () => {
  const namespace = `cli-get-${process.pid}`;
  let dir: string;
  let servers: string;

  beforeAll(async () => {
    servers = inject("memcached");
    dir = prepareProject("basic");
    const built = await compile(dir, "tspc");
    expect(built.output).toBe("");
    // Cached calls made by the compiled project populate memcached.
    const populated = await node(dir, `
      const { DB } = require("./dist/classes.js");
      const forms = require("./dist/forms.js");
      const { cache } = require("tscaching");
      (async () => {
        await new DB("eu").get("bob");
        await forms.special("map");
        await forms.special("undefined");
        await forms.search({ text: "books" });
        await cache.close();
      })();`, { TSCACHING_SERVERS: servers, TSCACHING_NAMESPACE: namespace });
    expect(populated).toEqual({ status: 0, output: "" });
  }, 180_000);

  test("prints the decoded value, (miss), and honours group invalidation", async () => {
    const env = { TSCACHING_SERVERS: servers, TSCACHING_NAMESPACE: namespace };
    const hit = await cli(["get", "src/classes#DB.get", "bob"], { cwd: dir, env });
    expect(hit).toEqual({ status: 0, stdout: "'bob@eu'\n", stderr: "" });

    // Checked against the project: the key carries the version the build gave the function (--no-verify cannot know it).
    const map = await cli(["get", "src/forms#special", "map"], { cwd: dir, env });
    expect(map.stdout).toBe("Map(2) { 'a' => 1n, 'b' => Set(2) { 1, 2 } }\n");
    // A cached undefined is a hit, not a miss.
    expect((await cli(["get", "src/forms#special", '"undefined"'], { cwd: dir, env })).stdout).toBe("undefined\n");
    expect((await cli(["get", "src/forms#search", '["books",10]'], { cwd: dir, env })).stdout).toBe("[ 'books0', 'books1', 'books2' ]\n");
    expect((await cli(["get", "src/forms#special", "date", "--no-verify"], { cwd: dir, env })).stdout).toBe("(miss)\n");
    // Another namespace, another key.
    expect((await cli(["get", "src/classes#DB.get", "bob", "--namespace", `${namespace}-other`], { cwd: dir, env })).stdout)
      .toBe("(miss)\n");
    // --servers wins over the environment.
    expect((await cli(["get", "src/classes#DB.get", "bob", "--servers", servers], { cwd: dir, env: { TSCACHING_NAMESPACE: namespace } })).stdout)
      .toBe("'bob@eu'\n");

    // invalidate() moves the group to a new generation: the entry is still in memcached but reads as a miss.
    const invalidated = await node(dir, `
      const { cache } = require("tscaching");
      cache.invalidate({ id: "src/classes#DB.get" }).then(async (ok) => { await cache.close(); if (!ok) process.exit(3); });`,
    { TSCACHING_SERVERS: servers, TSCACHING_NAMESPACE: namespace });
    expect(invalidated.status).toBe(0);
    expect((await cli(["get", "src/classes#DB.get", "bob"], { cwd: dir, env })).stdout).toBe("(miss)\n");
  }, 180_000);

  test("no servers, an unreachable server, an unknown id: one line and a non-zero exit", async () => {
    const none = await cli(["get", "src/classes#DB.get", "bob", "--no-verify"], { cwd: dir });
    expect(none).toEqual({ status: 1, stdout: "", stderr: "tscaching: no memcached servers: pass --servers or set TSCACHING_SERVERS\n" });

    const port = await freePort();
    const dead = await cli(["get", "src/classes#DB.get", "bob", "--no-verify", "--servers", `127.0.0.1:${port}`], { cwd: dir });
    expect(dead.stdout).toBe("");
    expect(lines(dead.stderr)).toHaveLength(1);
    expect(dead.stderr).toMatch(new RegExp(`^tscaching: cannot read from memcached 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    expect(dead.status).toBe(1);

    const unknown = await cli(["get", "src/classes#DB.gte", "bob", "--servers", servers], { cwd: dir });
    expect(unknown).toEqual({ status: 1, stdout: "", stderr: "tscaching: unknown id 'src/classes#DB.gte'; did you mean src/classes#DB.get?\n" });
  }, 180_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("tscaching stats and flush", () => {
  // flush_all on the suite's shared memcached would disturb other test files: a private one here.
  let server: MemcachedHandle;
  beforeAll(async () => {
    server = await startMemcached();
  });
  afterAll(async () => {
    await cache.close();
    await server?.stop();
  });
  const cwd = path.resolve(__dirname);

  test("stats prints the useful fields per server, --json every field", async () => {
    configure({ servers: server.address, namespace: "cli-stats" });
    await cache.set(cache.key<number>("visits"), 3);
    expect(await cache.get(cache.key<number>("visits"))).toBe(3);
    await cache.close();

    const table = await cli(["stats"], { cwd, env: { TSCACHING_SERVERS: server.address } });
    expect(table.stderr).toBe("");
    expect(table.status).toBe(0);
    const [header, row, ...rest] = lines(table.stdout);
    expect(header.split(/\s+/)).toEqual(["SERVER", "UPTIME", "CURR_ITEMS", "BYTES", "LIMIT_MAXBYTES", "GET_HITS", "GET_MISSES", "EVICTIONS", "HIT_RATE"]);
    expect(row.split(/\s+/)[0]).toBe(server.address);
    expect(row.split(/\s+/)[2]).toBe("1");
    expect(rest).toEqual([]);

    const json = await cli(["stats", "--json", "--servers", server.address], { cwd });
    const stats = JSON.parse(json.stdout) as Record<string, Record<string, string>>;
    expect(Object.keys(stats)).toEqual([server.address]);
    expect(stats[server.address]).toMatchObject({ curr_items: "1", pid: String(server.pid) });
    expect(Object.keys(stats[server.address]).length).toBeGreaterThan(20);
  }, 60_000);

  test("flush needs --yes off a terminal, then empties every server", async () => {
    configure({ servers: server.address, namespace: "cli-flush" });
    await cache.set(cache.key<string>("doomed"), "x");
    await cache.close();

    const refused = await cli(["flush", "--servers", server.address], { cwd });
    expect(refused).toEqual({ status: 1, stdout: "", stderr: "tscaching: refusing to flush without --yes (stdin is not a terminal)\n" });
    configure({ servers: server.address, namespace: "cli-flush" });
    expect(await cache.get(cache.key<string>("doomed"))).toBe("x");
    await cache.close();

    const flushed = await cli(["flush", "--yes"], { cwd, env: { TSCACHING_SERVERS: server.address } });
    expect(flushed).toEqual({ status: 0, stdout: `flushed ${server.address}\n`, stderr: "" });
    configure({ servers: server.address, namespace: "cli-flush" });
    expect(await cache.get(cache.key<string>("doomed"))).toBeUndefined();
    await cache.close();
  }, 60_000);

  test("an unreachable server or none configured: one line, non-zero exit", async () => {
    const port = await freePort();
    for (const command of ["stats", "flush"]) {
      const dead = await cli([command, "--yes", "--servers", `127.0.0.1:${port}`].filter((a) => command === "flush" || a !== "--yes"), { cwd });
      expect(dead.stdout).toBe("");
      expect(dead.stderr).toMatch(new RegExp(`^tscaching: cannot (reach|flush) memcached 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`));
      expect(dead.status).toBe(1);
      const none = await cli([command, "--yes"].slice(0, command === "flush" ? 2 : 1), { cwd });
      expect(none).toEqual({ status: 1, stdout: "", stderr: "tscaching: no memcached servers: pass --servers or set TSCACHING_SERVERS\n" });
    }
    // One dead server among live ones: the live one is shown, the dead one fails the command.
    const mixed = await cli(["stats", "--servers", `${server.address},127.0.0.1:${port}`], { cwd });
    expect(lines(mixed.stdout)[1].split(/\s+/)[0]).toBe(server.address);
    expect(mixed.stderr).toMatch(/^tscaching: cannot reach memcached 127\.0\.0\.1:\d+: /);
    expect(mixed.status).toBe(1);
  }, 60_000);
});

describe("tscaching flush on a terminal", () => {
  // util-linux's `script` gives the CLI a pseudo-terminal, as an interactive shell would.
  const script = ["/usr/bin/script", "/bin/script"].find((p) => fs.existsSync(p));
  let server: MemcachedHandle;
  beforeAll(async () => {
    server = await startMemcached();
  });
  afterAll(async () => {
    await server?.stop();
  });

  test.runIf(script !== undefined)("asks first: anything but y cancels, y flushes", async () => {
    const inTerminal = (answer: string) => new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(path.resolve(__dirname, "../../dist/cli/bin.js"))} flush --servers ${server.address}`;
      const child = spawn(script!, ["-qec", command, "/dev/null"], { env: { ...process.env, NO_COLOR: "1" }, stdio: ["pipe", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("[y/N]")) child.stdin.end(`${answer}\n`);
      });
      child.once("error", reject);
      child.once("close", (status) => resolve({ status, output }));
    });
    const cancelled = await inTerminal("n");
    expect(cancelled.output).toContain(`Remove every entry on ${server.address} (all namespaces)? [y/N]`);
    expect(cancelled.output).toContain("tscaching: flush cancelled");
    expect(cancelled.status).toBe(1);
    const confirmed = await inTerminal("y");
    expect(confirmed.output).toContain(`flushed ${server.address}`);
    expect(confirmed.status).toBe(0);
  }, 60_000);
});
