/**
 * Writes win across processes (issue 12, items 1 and 3), with two real processes and a real
 * memcached (each test again on a real Redis): a reader process computes a cached read from the old
 * row while a writer process changes the row and then deletes, replaces or sets the key; afterwards
 * neither process may read the old value. And a computation that hangs in one process does not hold up the key: not in its
 * own process past the bound, not at all in another.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { transpileRuntime, type TranspiledRuntime } from "../resilience/runtime-build";

let runtime: TranspiledRuntime;
let env: NodeJS.ProcessEnv;
let reader: ChildProcessWithoutNullStreams;
const answers = new Map<string, (message: Record<string, unknown>) => void>();
const seen: Array<Record<string, unknown>> = [];

/** The reader process: a cached `row(name)` whose body reads the row, then waits for a release when asked to hold. */
const READER = (entry: string) => `
  const { cachedCall, defineCached } = require(${JSON.stringify(entry)});
  const spec = defineCached({ v: 1, id: "twoproc#row", ttl: 60 });
  const rows = {};
  const gates = {};
  let runs = 0;
  const send = (message) => process.stdout.write(JSON.stringify(message) + "\\n");
  require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
    const m = JSON.parse(line);
    if (m.op === "row") { rows[m.name] = m.value; send({ tag: m.tag }); return; }
    if (m.op === "release") { gates[m.name](); send({ tag: m.tag }); return; }
    cachedCall(spec, [m.name], async () => {
      runs++;
      // The row: in this process's table, or in a file another process writes (a shared database).
      const value = m.file ? require("node:fs").readFileSync(m.file, "utf8") : rows[m.name];
      if (m.hold === "forever") await new Promise(() => {});
      if (typeof m.hold === "number") await new Promise((resolve) => setTimeout(resolve, m.hold));
      if (m.hold === true) { await new Promise((resolve) => { gates[m.name] = resolve; send({ tag: m.tag + ":started" }); }); }
      return value;
    }).then((value) => send({ tag: m.tag, value, runs }), (error) => send({ tag: m.tag, error: String(error) }));
  });
`;

/**
 * A long-lived writer process: `delay` ms after a command it writes the row's file (the database),
 * then the cache, as the seed's DB.set does; it answers with what it then reads from the cache.
 */
const WRITER = (entry: string) => `
  const { cache } = require(${JSON.stringify(entry)});
  require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
    const m = JSON.parse(line);
    const key = cache.keyOf("twoproc#row", [m.name]);
    setTimeout(async () => {
      if (m.kind !== "get") {
        require("node:fs").writeFileSync(m.file, "v2");
        if (m.kind === "delete") await cache.delete(key);
        else await cache[m.kind](key, "v2");
      }
      const seen = await cache.get(key);
      process.stdout.write(JSON.stringify({ tag: m.tag, seen: seen ?? null }) + "\\n");
    }, m.delay);
  });
`;

let tags = 0;
/** Send a command to the reader; resolves with its answer for `suffix` (the call's result by default). */
function ask(command: Record<string, unknown>, suffix = ""): { tag: string; answer: Promise<Record<string, unknown>> } {
  const tag = `t${tags++}`;
  const answer = waitFor(`${tag}${suffix}`);
  reader.stdin.write(JSON.stringify({ ...command, tag }) + "\n");
  return { tag, answer };
}

function waitFor(tag: string): Promise<Record<string, unknown>> {
  const early = seen.find((m) => m.tag === tag);
  if (early) return Promise.resolve(early);
  return new Promise((resolve) => answers.set(tag, resolve));
}

/** The writer process: changes the row's cache entry the way the seed's DB.set does. */
function writer(code: string): string {
  const result = spawnSync(process.execPath, ["-e", `
    const { cache } = require(${JSON.stringify(runtime.entry)});
    const key = (name) => cache.keyOf("twoproc#row", [name]);
    (async () => { ${code} })().then((out) => { process.stdout.write(JSON.stringify(out ?? null)); return cache.close(); });
  `], { env, encoding: "utf8", timeout: 20_000 });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

// The same races on every shared store.
describe.each([
  ["memcached", () => inject("memcached")],
  ["redis", () => `redis://${inject("redis")}`],
])("%s", (_store, servers) => {
  beforeAll(() => {
    runtime = transpileRuntime();
    env = { ...runtime.env, TSCACHING_SERVERS: servers(), TSCACHING_NAMESPACE: `wwtp${Date.now()}`,
      TSCACHING_FLIGHT_TIMEOUT: "300" };
    reader = spawn(process.execPath, ["-e", READER(runtime.entry)], { env });
    readline.createInterface({ input: reader.stdout }).on("line", (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      const waiting = answers.get(message.tag as string);
      if (waiting) {
        answers.delete(message.tag as string);
        waiting(message);
      } else seen.push(message);
    });
  }, 60_000);

  afterAll(() => {
    reader?.kill();
    runtime?.dispose();
  });

  test.each([
    ["delete", "return cache.delete(key(NAME));"],
    ["replace", "return cache.replace(key(NAME), 'v2');"],
    ["set", "return cache.set(key(NAME), 'v2');"],
    ["add", "return cache.add(key(NAME), 'v2');"],
  ])("a %s in another process wins over a computation that read the old row", async (kind, code) => {
    const name = `user-${kind}`;
    await ask({ op: "row", name, value: "v1" }).answer;
    const first = ask({ op: "call", name, hold: true });
    await waitFor(`${first.tag}:started`);
    // The writer changes the database, then the cache, while the reader's computation holds v1.
    await ask({ op: "row", name, value: "v2" }).answer;
    const wrote = writer(code.replace("NAME", JSON.stringify(name)));
    // set and add store v2 (the lease is no entry for add); delete and replace act on the lease.
    if (kind === "set" || kind === "add") expect(wrote).toBe(true);
    await ask({ op: "release", name }).answer;
    expect((await first.answer).value).toBe("v1"); // its own caller got what it computed
    // Neither process reads v1 afterwards.
    expect((await ask({ op: "call", name }).answer).value).toBe("v2");
    expect(writer(`return cache.get(key(${JSON.stringify(name)}));`)).not.toBe("v1");
    expect((await ask({ op: "call", name }).answer).value).toBe("v2");
  });

  test("sweep: a write from another process at any moment of a 30 ms computation never leaves the old row behind", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tscaching-sweep-"));
    const writerProcess = spawn(process.execPath, ["-e", WRITER(runtime.entry)], { env });
    const pending = new Map<string, (m: Record<string, unknown>) => void>();
    readline.createInterface({ input: writerProcess.stdout }).on("line", (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      pending.get(message.tag as string)?.(message);
    });
    const write = (m: Record<string, unknown>) => new Promise<Record<string, unknown>>((resolve) => {
      const tag = `w${tags++}`;
      pending.set(tag, resolve);
      writerProcess.stdin.write(JSON.stringify({ ...m, tag }) + "\n");
    });
    try {
      const stale: string[] = [];
      for (const kind of ["delete", "replace", "set"]) {
        for (let delay = 0; delay <= 60; delay += 4) {
          const name = `sweep-${kind}-${delay}`;
          const file = path.join(dir, name);
          writeFileSync(file, "v1");
          // The reader's computation reads the row and holds it 30 ms; the writer writes the row
          // and then the cache `delay` ms after the command (0 to 60 ms: before, during, after).
          const [first] = await Promise.all([ask({ op: "call", name, file, hold: 30 }).answer, write({ kind, name, file, delay })]);
          void first;
          const reader = await ask({ op: "call", name, file }).answer;
          const writer = await write({ kind: "get", name, file, delay: 0 });
          if (reader.value === "v1") stale.push(`${kind} at ${delay} ms: the reader process read v1`);
          if (writer.seen === "v1") stale.push(`${kind} at ${delay} ms: the writer process read v1`);
        }
      }
      expect(stale).toEqual([]);
    } finally {
      writerProcess.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test("a hung computation: a later call in its process settles after the bound; another process is not held at all", async () => {
    const name = "user-hung";
    await ask({ op: "row", name, value: "v1" }).answer;
    void ask({ op: "call", name, hold: "forever" });
    const later = ask({ op: "call", name });
    // The reader's flight bound is 300 ms; waiting for the event, with a generous limit.
    expect((await later.answer).value).toBe("v1");
    // The lease the hung computation holds reads as a miss elsewhere: the writer computes for itself.
    expect(writer(`
      const { cachedCall, defineCached } = require(${JSON.stringify(runtime.entry)});
      return cachedCall(defineCached({ v: 1, id: "twoproc#row", ttl: 60 }), [${JSON.stringify(name)}], async () => "computed elsewhere");
    `)).toBe("computed elsewhere");
  });
});
