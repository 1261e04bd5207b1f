/**
 * Versions end to end (issue 15), as a user meets them across deploys: a project built with the
 * real tspc runs in a fresh Node process against a real memcached and stores an entry; a field
 * added to the result's interface in ANOTHER file, and a rebuild, makes the next process miss (the
 * body runs); a comment-only change and a rebuild make it hit. keys.ts (`tscaching keys`) finds
 * what the built function stored: `cache.get(keys.getProfile(7))`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, expect, inject, test } from "vitest";
import { cli } from "../cli/run-cli";
import { compileProject, prepareProject } from "../helpers/project";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const PROFILE = "export interface Profile {\n  name: string;\n}\n";
const SERVICE = `import type { Profile } from "./profile";

export const runs = { count: 0 };

/** @cache ttl=10m */
export async function getProfile(id: number): Promise<Profile> {
  runs.count++;
  return { name: "user" + id };
}
`;
const RUNNER = `const { cache, configure } = require("tscaching");
configure({ servers: process.env.SERVERS, namespace: process.env.NS });
const service = require("./dist/service.js");
const { keys } = require("./dist/keys.js");
(async () => {
  const value = await service.getProfile(7);
  const viaKeys = await cache.get(keys.getProfile(7));
  process.stdout.write(JSON.stringify({ ran: service.runs.count, value, viaKeys, key: keys.getProfile(7) }));
  process.exit(0);
})();
`;

interface Run {
  readonly ran: number;
  readonly value: unknown;
  readonly viaKeys: unknown;
  readonly key: string;
}

test("a result interface changed in another file misses after a rebuild; a comment-only change hits", async () => {
  const dir = prepareProject("cli-flat");
  dirs.push(dir);
  fs.rmSync(path.join(dir, "users.ts"));
  fs.writeFileSync(path.join(dir, "run.js"), RUNNER);
  const namespace = `versions-e2e-${process.pid}-${Date.now()}`;

  /** Write the sources, regenerate keys.ts, build with tspc; the emitted version. */
  const build = async (profile: string, service: string): Promise<string> => {
    fs.writeFileSync(path.join(dir, "profile.ts"), profile);
    fs.writeFileSync(path.join(dir, "service.ts"), service);
    const keys = await cli(["keys"], { cwd: dir });
    expect(keys.status, keys.stderr).toBe(0);
    const built = compileProject(dir);
    expect(built.output).toBe("");
    expect(built.status).toBe(0);
    const js = fs.readFileSync(path.join(dir, "dist/service.js"), "utf8");
    return /version: "([^"]+)"/.exec(js)![1];
  };
  /** One process of a deploy: one call, then the same key read through keys.ts. */
  const run = (): Run => {
    const result = spawnSync(process.execPath, ["run.js"], {
      cwd: dir, encoding: "utf8", timeout: 60_000, env: { ...process.env, SERVERS: inject("memcached"), NS: namespace },
    });
    expect(result.status, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as Run;
  };

  const v1 = await build(PROFILE, SERVICE);
  const first = run();
  expect(first).toMatchObject({ ran: 1, value: { name: "user7" }, viaKeys: { name: "user7" } });
  expect(first.key).toBe(`${namespace}:service#getProfile:@${v1}:7`);
  expect(run()).toMatchObject({ ran: 0, value: { name: "user7" } }); // the next process hits

  // The result's interface gains a field in profile.ts; service.ts is untouched.
  const v2 = await build(PROFILE.replace("name: string;", "name: string;\n  email?: string;"), SERVICE);
  expect(v2).not.toBe(v1);
  expect(run()).toMatchObject({ ran: 1, viaKeys: { name: "user7" } }); // the old entry is never returned

  // A comment and some formatting only: the same version, a hit on what v2 stored.
  const v3 = await build(PROFILE.replace("name: string;", "name: string;\n  email?: string;"),
    SERVICE.replace("runs.count++;", "// count the runs\n    runs.count ++ ;"));
  expect(v3).toBe(v2);
  expect(run()).toMatchObject({ ran: 0, value: { name: "user7" }, viaKeys: { name: "user7" } });
}, 240_000);
