/**
 * `tscaching keys` on a project with `tags=`: keys.ts gets a `tags` export, one helper per tag name
 * typed from the parameters it names; right uses compile with plain tsc, wrong ones do not.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, expect, inject, test } from "vitest";
import { compileProject, prepareProject } from "../helpers/project";
import { cli, compile } from "./run-cli";

const USES = `import { cache, type CacheTag } from "tscaching";
import { keys, tags } from "./keys.js";

export async function uses(): Promise<void> {
  await cache.invalidateTag(tags.user(42));
  await cache.invalidateTag(tags.user(42), tags.team("a"), tags.catalog());
  const tag: CacheTag = tags.team("b");
  await cache.invalidate(keys.getProfile);
  void tag;
  // @ts-expect-error user takes the number id of getProfile, not a string
  tags.user("x");
  // @ts-expect-error catalog takes no argument
  tags.catalog(1);
  // @ts-expect-error there is no tag named users
  tags.users(1);
  // @ts-expect-error invalidateTag takes tags, not keys
  await cache.invalidateTag(keys.getProfile(1));
}
`;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

test("keys.ts exports typed tag helpers", async () => {
  const dir = prepareProject("tags");
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "src/uses.ts"), USES);
  const written = await cli(["keys"], { cwd: dir });
  expect(written.stderr).toBe("");
  expect(written.status).toBe(0);
  const text = fs.readFileSync(path.join(dir, "src/keys.ts"), "utf8");
  expect(text).toContain("export const tags = {");
  expect(text).toContain('catalog: (): CacheTag => cache.tag("catalog"),');
  expect(text).toContain("user: (userId: Parameters<typeof m0.getMembership>[0]): CacheTag => cache.tag(\"user\", userId),");
  const built = await compile(dir, "tsc", ["--noEmit"]);
  expect(built.output).toBe("");
  expect(built.status).toBe(0);
}, 180_000);

test("`tscaching key` and `get` agree with tagged calls: the key keys.ts gives, its entry checked against the tags", async () => {
  const dir = prepareProject("tags");
  dirs.push(dir);
  expect((await cli(["keys"], { cwd: dir })).stderr).toBe("");
  expect(compileProject(dir).output).toBe("");
  const env = { TSCACHING_SERVERS: inject("memcached"), TSCACHING_NAMESPACE: `tagcli${Date.now()}` };
  const run = (code: string): unknown => {
    const result = spawnSync(process.execPath, ["-e", `
      const { cache } = require("tscaching");
      const u = require("./dist/users.js");
      const { keys, tags } = require("./dist/keys.js");
      (async () => { ${code} })().then((out) => { process.stdout.write(JSON.stringify(out ?? null)); return cache.close(); });
    `], { cwd: dir, env: { ...process.env, ...env }, encoding: "utf8", timeout: 20_000 });
    expect(result.stderr).toBe("");
    return JSON.parse(result.stdout);
  };
  const [value, key] = run(`return [await u.getProfile(42), keys.getProfile(42)];`) as string[];
  const printed = await cli(["key", "src/users#getProfile", "42"], { cwd: dir, env });
  expect(printed.stdout).toBe(`${key}\n`);
  const got = await cli(["get", "src/users#getProfile", "42"], { cwd: dir, env });
  expect(got.stdout).toBe(`'${value}'\n`);
  expect(run(`return cache.invalidateTag(tags.user(42));`)).toBe(true);
  // The entry is still stored, but written before the invalidation: `get` reads it as a call would.
  expect((await cli(["get", "src/users#getProfile", "42"], { cwd: dir, env })).stdout).toBe("(miss)\n");
  const fresh = run(`return u.getProfile(42);`) as string;
  expect(fresh).not.toBe(value);
  expect((await cli(["get", "src/users#getProfile", "42"], { cwd: dir, env })).stdout).toBe(`'${fresh}'\n`);
}, 180_000);
