/**
 * One project, four tools, one id: a plugin entry with a non-default `rootDir` and `runtime` gives
 * the same ids (and the same keys.ts) under tspc, the bundler plugin (a real vite build), the editor
 * plugin (the real tsserver) and `tscaching keys`, and `cache.get(keys.f(...))` in the tspc-built
 * program finds what the tagged function stored.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { afterEach, expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { compileAsync, project, runNode, specsOf } from "../bundler/child";
import { cli } from "../cli/run-cli";
import { TsServer } from "../language-service/tsserver";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const USERS = `
/** @cache ttl=5m */
export async function getUser(id: string): Promise<{ id: string; n: number }> {
  return { id, n: Math.random() };
}

export class Repo {
  /** @cache */
  async find(id: number): Promise<string> { return "instance " + id; }
}
`;

const MAIN = `
import { cache } from "@acme/cache";
import { keys } from "./keys";
import { getUser, Repo } from "./users";

async function main(): Promise<void> {
  const stored = await getUser("bob");
  const found = await cache.get(keys.getUser("bob"));
  await new Repo().find(1);
  console.log(JSON.stringify({ stored, found, repo: await cache.get(keys.Repo.find(1)) }));
}
void main();
`;

function setUp(): string {
  const dir = project("vite-basic", ["vite"]);
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.rmSync(path.join(dir, "src"), { recursive: true, force: true });
  fs.rmSync(path.join(dir, "test"), { recursive: true, force: true });
  fs.rmSync(path.join(dir, "vitest.config.ts"), { force: true });
  fs.mkdirSync(path.join(dir, "src"));
  fs.writeFileSync(path.join(dir, "src/users.ts"), USERS);
  fs.writeFileSync(path.join(dir, "src/main.ts"), MAIN);
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "agree", private: true, type: "commonjs" }));
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: "ES2022", module: "node16", moduleResolution: "node16", strict: true, skipLibCheck: true,
      outDir: "out", types: ["node"],
      plugins: [
        { transform: "tscaching/transformer", rootDir: "src", runtime: "@acme/cache" },
        { name: "tscaching/language-service" },
      ],
    },
    include: ["src"],
  }, null, 2));
  // The runtime under another name, as a re-exporting package would provide it.
  fs.mkdirSync(path.join(dir, "node_modules/@acme"), { recursive: true });
  fs.symlinkSync(repoRoot, path.join(dir, "node_modules/@acme/cache"), "dir");
  return dir;
}

const idsOf = (text: string) => [...text.matchAll(/\bid: "([^"]+)"|keyHelper<[^\n]*>\("([^"]+)"(?:, "[A-Za-z0-9_.-]+")?\)/g)].map((m) => m[1] ?? m[2]).sort();

test("tspc, vite, tsserver and `tscaching keys` agree on ids and runtime under a custom rootDir and runtime", async () => {
  const dir = setUp();

  // `tscaching keys`: ids relative to src/, helpers imported from the configured runtime.
  const keys = await cli(["keys"], { cwd: dir });
  expect(keys.stderr).toBe("");
  const keysText = fs.readFileSync(path.join(dir, "src/keys.ts"), "utf8");
  expect(idsOf(keysText)).toEqual(["users#Repo.find", "users#getUser"]);
  expect(keysText).toContain('from "@acme/cache";');

  // tspc: the same ids, and no stale-keys warning for the keys.ts the CLI wrote.
  const tspc = await compileAsync(dir);
  expect(tspc.output).toBe("");
  expect(tspc.status).toBe(0);
  const emitted = fs.readFileSync(path.join(dir, "out/users.js"), "utf8");
  expect(idsOf(emitted)).toEqual(["users#Repo.find", "users#getUser"]);
  expect(emitted).toContain('require("@acme/cache")');

  // The bundler plugin in a real vite build: the same ids, the same runtime.
  const { build } = await import("vite");
  const vite = createRequire(path.join(dir, "package.json"))("tscaching/vite") as () => import("vite").Plugin;
  const result = await build({
    root: dir, configFile: false, logLevel: "silent", plugins: [vite()],
    build: { ssr: "src/users.ts", write: false, minify: false, rollupOptions: { external: ["@acme/cache"] } },
  }) as import("rollup").RollupOutput;
  const chunk = result.output.find((o) => o.type === "chunk")!;
  expect(specsOf(chunk.code)).toEqual(specsOf(emitted));
  expect(chunk.code).toContain('from "@acme/cache"');

  // The editor plugin: the keys.ts the CLI wrote is what it expects (no TS93024), users.ts is clean.
  const server = new TsServer(path.join(repoRoot, "node_modules/typescript/lib/tsserver.js"), {
    cwd: dir, args: ["--pluginProbeLocations", dir],
  });
  cleanups.push(() => server.close());
  for (const file of ["keys.ts", "users.ts", "main.ts"]) {
    server.open(path.join(dir, "src", file), dir);
    expect(await server.semanticDiagnostics(path.join(dir, "src", file)), file).toEqual([]);
  }

  // `tscaching list` and `key` name the same ids.
  const list = await cli(["list", "--json"], { cwd: dir });
  expect(list.stderr).toBe("");
  expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((f) => f.id).sort()).toEqual(["users#Repo.find", "users#getUser"]);
  const key = await cli(["key", "users#getUser", "bob"], { cwd: dir });
  expect(key.stderr).toBe("");
  // Versions (issue 15): the ones tspc emitted are the ones `list` shows, keys.ts carries and `key` uses.
  const emittedVersions = [...emitted.matchAll(/id: "([^"]+)"[^}]*version: "([^"]+)"/g)].map((m) => `${m[1]}@${m[2]}`).sort();
  expect(emittedVersions).toHaveLength(2);
  expect((JSON.parse(list.stdout) as Array<{ id: string; version: string }>).map((f) => `${f.id}@${f.version}`).sort())
    .toEqual(emittedVersions);
  expect([...keysText.matchAll(/Helper<[^\n]*>\("([^"]+)", "([^"]+)"\)/g)].map((m) => `${m[1]}@${m[2]}`).sort()).toEqual(emittedVersions);
  const getUser = emittedVersions.find((v) => v.startsWith("users#getUser@"))!.split("@")[1];
  expect(key.stdout.trim()).toBe(`tscaching:users#getUser:@${getUser}:"bob"`);

  // The built program: keys.ts finds what the tagged functions stored.
  const run = await runNode([path.join(dir, "out/main.js")], { cwd: dir });
  expect(run.stderr).toBe("");
  const seen = JSON.parse(run.stdout) as { stored: unknown; found: unknown; repo: unknown };
  expect(seen.found).toEqual(seen.stored);
  expect(seen.repo).toBe("instance 1");
}, 180_000);
