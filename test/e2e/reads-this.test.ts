/**
 * `this` by meaning, built the way a user builds: real `tspc` through tsconfig plugins on a
 * NestJS-style project (experimentalDecorators, emitDecoratorMetadata, constructor injection).
 * Collaborators draw nothing and the method is cached; a data field read without key= (the
 * tenant-mixing case) and an opaque class key part fail the build.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { compileProject, prepareProject } from "../helpers/project";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function project(): string {
  const dir = prepareProject("nest-style");
  dirs.push(dir);
  return dir;
}

const TENANT = [
  'import { Injectable } from "./injectable";',
  'import { UserRepo, type User } from "./users.service";',
  "",
  "@Injectable()",
  "export class TenantUsers {",
  "  constructor(private readonly repo: UserRepo, private readonly tenant: string) {}",
  "",
  "  /** @cache */",
  "  async find(id: string): Promise<User | undefined> {",
  "    const user = await this.repo.find(id);",
  "    return user && { ...user, name: `${user.name} of ${this.tenant}` };",
  "  }",
  "}",
  "",
  "export class UserId {",
  "  #id: string;",
  "  constructor(id: string) { this.#id = id; }",
  "  get id(): string { return this.#id; }",
  "}",
  "",
  "/** @cache */",
  "export async function profile(user: UserId): Promise<string> {",
  "  return `profile of ${user.id}`;",
  "}",
  "",
].join("\n");

describe("a NestJS-style service", () => {
  test("with injected collaborators only: builds clean and its method is cached", () => {
    const dir = project();
    const built = compileProject(dir);
    expect(built.output).toBe("");
    expect(built.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "dist/users.service.js"), "utf8")).toContain("cachedCall(");
    const script = [
      'const { UsersService, UserRepo } = require("./dist/users.service.js");',
      "const repo = new UserRepo();",
      'const service = new UsersService(repo, { get: async (url) => `bio at ${url}` });',
      "(async () => {",
      '  const first = await service.findOne("alice");',
      '  const again = await service.findOne("alice");',
      '  const bob = await service.findOne("bob");',
      '  const profiles = require("./dist/profiles.js");',
      '  const alice = await profiles.getProfile(new profiles.UserId("alice"));',
      '  const aliceAgain = await profiles.getProfile(new profiles.UserId("alice"));',
      '  const bobProfile = await profiles.getProfile(new profiles.UserId("bob"));',
      "  console.log(JSON.stringify({ first, again, bob, calls: repo.calls, profiles: [alice, aliceAgain, bobProfile, profiles.runs] }));",
      "})();",
    ].join("\n");
    const run = spawnSync(process.execPath, ["-e", script], { cwd: dir, encoding: "utf8", env: { ...process.env, TSCACHING_SERVERS: "" } });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({
      first: { id: "alice", name: "Alice (bio at /bio/alice)" },
      again: { id: "alice", name: "Alice (bio at /bio/alice)" },
      bob: { id: "bob", name: "Bob (bio at /bio/bob)" },
      calls: 2,
      profiles: ["profile of alice", "profile of alice", "profile of bob", 2],
    });
  }, 120_000);

  test("reading a data field (this.tenant) without key=, or keying by a #private class: tspc fails with file:line and the fix", () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, "src/tenant.ts"), TENANT);
    const built = compileProject(dir);
    expect(built.status).not.toBe(0);
    expect(built.output).toContain("src/tenant.ts(9,9): error TS93027: @cache on 'TenantUsers.find': the method reads this.tenant");
    expect(built.output).toContain("key=this.tenant,id");
    expect(built.output).toContain("src/tenant.ts(22,23): error TS93028: @cache on 'profile': parameter 'user' (UserId) cannot form a cache key");
    expect(built.output).toContain("[cacheKey]()");
    // The collaborator-only service in the same project stays silent.
    expect(built.output).not.toContain("users.service.ts");
  }, 120_000);

  test("a function whose tag has errors is emitted unchanged: exactly as plain tsc emits it, no caching", () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, "src/tenant.ts"), TENANT);
    expect(compileProject(dir).status).not.toBe(0);
    const plainDir = project();
    fs.writeFileSync(path.join(plainDir, "src/tenant.ts"), TENANT);
    compileProject(plainDir, { compiler: "tsc" });
    const ours = fs.readFileSync(path.join(dir, "dist/tenant.js"), "utf8");
    expect(ours).not.toContain("cachedCall(");
    expect(ours).toBe(fs.readFileSync(path.join(plainDir, "dist/tenant.js"), "utf8"));
  }, 120_000);
});
