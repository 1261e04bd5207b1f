/**
 * The commands that talk to a store, on Redis: `get` through the runtime's own path (codec, group
 * generations: an invalidate() in another process turns a hit into a miss), `stats` (INFO with
 * memcached's names) and `flush` (FLUSHDB); a dead server is a one-line error.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { cache, configure } from "../../runtime/index";
import { freePort } from "../helpers/memcached";
import { prepareProject } from "../helpers/project";
import { startRedis, type RedisHandle } from "../helpers/redis";
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

describe("tscaching get on Redis", () => {
  const namespace = `cli-redis-get-${process.pid}`;
  let dir: string;
  let url: string;

  beforeAll(async () => {
    url = `redis://${inject("redis")}`;
    dir = prepareProject("basic");
    const built = await compile(dir, "tspc");
    expect(built.output).toBe("");
    const populated = await node(dir, `
      const { DB } = require("./dist/classes.js");
      const forms = require("./dist/forms.js");
      const { cache } = require("tscaching");
      (async () => {
        await new DB("eu").get("bob");
        await forms.special("map");
        await cache.close();
      })();`, { TSCACHING_SERVERS: url, TSCACHING_NAMESPACE: namespace });
    expect(populated).toEqual({ status: 0, output: "" });
  }, 180_000);

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("prints the decoded value, (miss), and honours group invalidation made by another process", async () => {
    const env = { TSCACHING_SERVERS: url, TSCACHING_NAMESPACE: namespace };
    expect(await cli(["get", "src/classes#DB.get", "bob"], { cwd: dir, env })).toEqual({ status: 0, stdout: "'bob@eu'\n", stderr: "" });
    expect((await cli(["get", "src/forms#special", "map"], { cwd: dir, env })).stdout)
      .toBe("Map(2) { 'a' => 1n, 'b' => Set(2) { 1, 2 } }\n");
    expect((await cli(["get", "src/forms#special", "date"], { cwd: dir, env })).stdout).toBe("(miss)\n");
    // TSCACHING_STORE=redis takes plain host:port.
    expect((await cli(["get", "src/classes#DB.get", "bob"], { cwd: dir,
      env: { TSCACHING_SERVERS: inject("redis"), TSCACHING_STORE: "redis", TSCACHING_NAMESPACE: namespace } })).stdout).toBe("'bob@eu'\n");

    const invalidated = await node(dir, `
      const { cache } = require("tscaching");
      cache.invalidate({ id: "src/classes#DB.get" }).then(async (ok) => { await cache.close(); if (!ok) process.exit(3); });`, env);
    expect(invalidated.status).toBe(0);
    expect((await cli(["get", "src/classes#DB.get", "bob"], { cwd: dir, env })).stdout).toBe("(miss)\n");

    const port = await freePort();
    const dead = await cli(["get", "src/classes#DB.get", "bob", "--no-verify", "--servers", `redis://127.0.0.1:${port}`], { cwd: dir });
    expect(dead.stdout).toBe("");
    expect(lines(dead.stderr)).toHaveLength(1);
    expect(dead.stderr).toMatch(new RegExp(`^tscaching: cannot read from redis 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    expect(dead.status).toBe(1);
  }, 180_000);

  test("key needs no server and names the same key get reads", async () => {
    const key = await cli(["key", "src/classes#DB.get", "bob", "--namespace", namespace], { cwd: dir });
    expect(key.status).toBe(0);
    expect(key.stdout.trim()).toMatch(new RegExp(`^${namespace}:`));
  }, 60_000);
});

describe("tscaching stats and flush on Redis", () => {
  // FLUSHDB on the suite's shared Redis would disturb other test files: a private one here.
  let server: RedisHandle;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await cache.close();
    await server?.stop();
  });
  const cwd = path.resolve(__dirname);

  test("stats prints memcached's fields from INFO, --json every field", async () => {
    configure({ servers: server.url, namespace: "cli-stats" });
    await cache.set(cache.key<number>("visits"), 3);
    expect(await cache.get(cache.key<number>("visits"))).toBe(3);
    await cache.close();

    const table = await cli(["stats"], { cwd, env: { TSCACHING_SERVERS: server.url } });
    expect(table.stderr).toBe("");
    expect(table.status).toBe(0);
    const [, row, ...rest] = lines(table.stdout);
    expect(row.split(/\s+/)[0]).toBe(server.address);
    expect(row.split(/\s+/)[2]).toBe("1");
    expect(rest).toEqual([]);

    const json = await cli(["stats", "--json", "--servers", server.url], { cwd });
    const stats = JSON.parse(json.stdout) as Record<string, Record<string, string>>;
    expect(Object.keys(stats)).toEqual([server.address]);
    expect(stats[server.address]).toMatchObject({ curr_items: "1", process_id: String(server.pid) });
  }, 60_000);

  test("flush needs --yes off a terminal, then empties the database", async () => {
    configure({ servers: server.url, namespace: "cli-flush" });
    await cache.set(cache.key<string>("doomed"), "x");
    await cache.close();
    const refused = await cli(["flush", "--servers", server.url], { cwd });
    expect(refused.status).toBe(1);
    const flushed = await cli(["flush", "--yes"], { cwd, env: { TSCACHING_SERVERS: server.url } });
    expect(flushed).toEqual({ status: 0, stdout: `flushed ${server.address}\n`, stderr: "" });
    configure({ servers: server.url, namespace: "cli-flush" });
    expect(await cache.get(cache.key<string>("doomed"))).toBeUndefined();
    await cache.close();

    const port = await freePort();
    for (const command of ["stats", "flush"]) {
      const dead = await cli([command, "--yes", "--servers", `redis://127.0.0.1:${port}`].filter((a) => command === "flush" || a !== "--yes"), { cwd });
      expect(dead.stdout).toBe("");
      expect(dead.stderr).toMatch(new RegExp(`^tscaching: cannot (reach|flush) redis 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`));
      expect(dead.status).toBe(1);
    }
  }, 60_000);
});
