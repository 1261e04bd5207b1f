/**
 * Writes through keys.ts to a tagged function's keys, as a user meets them (issue 15): a project
 * built with `tscaching keys` and tspc, real memcached or Redis, real processes. After
 * `invalidateTag(tags.user(42))` the seed's pattern — write the database, then
 * `cache.set/replace(keys.getProfile(42), value)` — must still reach the next call, in the writing
 * process and in another one, also one that never loaded the function's module (keys.ts says which
 * key part each tag value is). A write that cannot know the key's tag values reads as stale where one
 * was invalidated (a recomputation), never as the old value.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as readline from "node:readline";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { compileProject, prepareProject } from "../helpers/project";
import { cli } from "../cli/run-cli";

let dir: string;

beforeAll(async () => {
  dir = prepareProject("tags");
  const keys = await cli(["keys"], { cwd: dir });
  expect(keys.stderr).toBe("");
  const built = compileProject(dir);
  expect(built.output).toBe("");
}, 120_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const stores = {
  memcached: () => inject("memcached"),
  redis: () => `redis://${inject("redis")}`,
};

describe.each(Object.keys(stores) as (keyof typeof stores)[])("on %s", (store) => {
  let env: NodeJS.ProcessEnv;
  let reader: ChildProcessWithoutNullStreams | undefined;
  let ask: (id: number) => Promise<string>;

  beforeAll(() => {
    env = { ...process.env, TSCACHING_SERVERS: stores[store](), TSCACHING_NAMESPACE: `tagw2p${store}${Date.now()}`,
      TSCACHING_INVALIDATION_CHECK: "200", TSCACHING_TIMEOUT: "10000", TSCACHING_CONNECT_TIMEOUT: "10000" };
    // The reading process: each line in is a user id; it answers getProfile(id).
    reader = spawn(process.execPath, ["-e", `
      const u = require("./dist/users.js");
      require("node:readline").createInterface({ input: process.stdin }).on("line", async (id) => {
        process.stdout.write(JSON.stringify(await u.getProfile(Number(id))) + "\\n");
      });
    `], { cwd: dir, env });
    const answers = readline.createInterface({ input: reader.stdout });
    const waiting: Array<(value: string) => void> = [];
    answers.on("line", (line) => waiting.shift()!(JSON.parse(line)));
    ask = (id) => new Promise((resolve) => {
      waiting.push(resolve);
      reader!.stdin.write(`${id}\n`);
    });
  });

  afterAll(() => {
    reader?.kill();
  });

  /** A one-off script in another process (`loadUsers`: whether it loads the cached functions' module). */
  function other(code: string, loadUsers = true): unknown {
    const result = spawnSync(process.execPath, ["-e", `
      const { cache } = require("tscaching");
      ${loadUsers ? 'const u = require("./dist/users.js");' : ""}
      const { keys, tags } = require("./dist/keys.js");
      (async () => { ${code} })().then((out) => { process.stdout.write(JSON.stringify(out ?? null)); return cache.close(); });
    `], { cwd: dir, env, encoding: "utf8", timeout: 20_000 });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return JSON.parse(result.stdout);
  }

  async function askUntil(id: number, done: (value: string) => boolean): Promise<string> {
    const until = Date.now() + 15_000;
    for (;;) {
      const value = await ask(id);
      if (done(value) || Date.now() > until) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  test("in one process: set, replace, delete and add through keys.ts reach the next call after invalidateTag", () => {
    const [a, b, c, d, e, f, g] = other(`
      const seen = [await u.getProfile(42)];
      if (!(await cache.invalidateTag(tags.user(42)))) throw new Error("not invalidated");
      seen.push(await u.getProfile(42));
      await cache.set(keys.getProfile(42), "v3");
      seen.push(await u.getProfile(42));
      if (!(await cache.replace(keys.getProfile(42), "v4"))) throw new Error("not replaced");
      seen.push(await u.getProfile(42));
      await cache.delete(keys.getProfile(42));
      seen.push(await u.getProfile(42));
      await cache.delete(keys.getProfile(42));
      if (!(await cache.add(keys.getProfile(42), "v5"))) throw new Error("not added");
      seen.push(await u.getProfile(42), await cache.get(keys.getProfile(42)));
      return seen;
    `) as string[];
    expect(b).not.toBe(a);
    expect([c, d]).toEqual(["v3", "v4"]);
    expect(e).toMatch(/^profile 42 by \d+#3$/);
    expect([f, g]).toEqual(["v5", "v5"]);
  }, 60_000);

  test("another process's writes after an invalidateTag reach the reading process; a blind write never brings the old value back", async () => {
    const first = await ask(43);
    expect(await ask(43)).toBe(first);
    expect(other(`return cache.invalidateTag(tags.user(43));`)).toBe(true);
    const second = await askUntil(43, (value) => value !== first);
    expect(second).not.toBe(first);
    expect(await ask(43)).toBe(second);
    // A writer that loaded the module but never called the function: keys.ts tells it the key's tag values.
    expect(other(`return cache.set(keys.getProfile(43), "written");`)).toBe(true);
    expect(await ask(43)).toBe("written");
    expect(other(`return cache.replace(keys.getProfile(43), "replaced");`)).toBe(true);
    expect(await ask(43)).toBe("replaced");
    // A writer that never loaded the module: keys.ts itself says which key part each tag value is.
    expect(other(`return cache.set(keys.getProfile(43), "from keys.ts");`, false)).toBe(true);
    expect(await ask(43)).toBe("from keys.ts");
    // Delete, then the next call computes.
    expect(other(`return cache.delete(keys.getProfile(43));`, false)).toBe(true);
    const third = await ask(43);
    expect(third).toMatch(/^profile 43 by \d+#\d+$/);
    expect([first, second]).not.toContain(third);
    // A write that cannot know the key's tag values (a hand-made helper without them, as for a tag
    // argument that is no key part): no stamp, stale here since user(43) was invalidated, so the
    // reader computes again — never the value before the write, never the pre-invalidation one.
    expect(other(`
      const { keyHelper } = require("tscaching");
      const blind = keyHelper("src/users#getProfile", keys.getProfile(1).split(":@")[1].split(":")[0]);
      if (blind(43) !== keys.getProfile(43)) throw new Error("not the same key");
      return cache.set(blind(43), "blind");
    `, false)).toBe(true);
    const fourth = await ask(43);
    expect(fourth === "blind" || /^profile 43 by \d+#\d+$/.test(fourth)).toBe(true);
    expect([first, second, third, "from keys.ts"]).not.toContain(fourth);
  }, 60_000);
});
