/**
 * A static and an instance method of one name are two functions with two ids (`Repo.static.find`,
 * `Repo.find`), under tspc and in a real vite build; two functions given one `name=` in one file are
 * a duplicate-id error on every path.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { afterEach, expect, test } from "vitest";
import { compileAsync, project, runNode, specsOf } from "./child";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const REPO = `
import { ran } from "./runs";

export class Repo {
  /** @cache */
  static async find(id: number): Promise<string> {
    ran("static");
    return "static " + id;
  }

  /** @cache */
  async find(id: number): Promise<string> {
    ran("instance");
    return "instance " + id;
  }
}
`;

const MAIN = `
import { cachedFunctions } from "tscaching";
import { runs } from "./runs";
import { Repo } from "./repo";
const values = [await new Repo().find(1), await Repo.find(1), await new Repo().find(1), await Repo.find(1)];
console.log(JSON.stringify({ values, runs, ids: cachedFunctions().map((f) => f.id).sort() }));
`;

function setUp(files: Record<string, string>): string {
  const dir = project("vite-basic", ["vite"]);
  dirs.push(dir);
  fs.rmSync(path.join(dir, "test"), { recursive: true, force: true });
  fs.rmSync(path.join(dir, "vitest.config.ts"), { force: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, "src", name), text);
  return dir;
}

async function viteBuild(dir: string, entry: string, write: boolean) {
  const { build } = await import("vite");
  const plugin = createRequire(path.join(dir, "package.json"))("tscaching/vite") as () => import("vite").Plugin;
  return build({
    root: dir, configFile: false, logLevel: "silent", plugins: [plugin()],
    build: { ssr: entry, write, outDir: "out", minify: false, rollupOptions: { external: ["tscaching"] } },
  }) as Promise<import("rollup").RollupOutput>;
}

test("vite build: new Repo().find(1) and Repo.find(1) each return their own value, cached under their own id", async () => {
  const dir = setUp({ "repo.ts": REPO, "main.ts": MAIN });
  await viteBuild(dir, "src/main.ts", true);
  const run = await runNode([path.join(dir, "out/main.js")], { cwd: dir });
  expect(run.stderr).toBe("");
  expect(JSON.parse(run.stdout)).toEqual({
    values: ["instance 1", "static 1", "instance 1", "static 1"],
    runs: { instance: 1, static: 1 },
    ids: ["src/repo#Repo.find", "src/repo#Repo.static.find"],
  });

  // tspc gives the same ids.
  const tspc = await compileAsync(dir, { args: ["--noEmit", "false", "--outDir", "tsc-out"] });
  expect(tspc.output).toBe("");
  const emitted = fs.readFileSync(path.join(dir, "tsc-out/repo.js"), "utf8");
  const chunk = (await viteBuild(dir, "src/repo.ts", false)).output.find((o) => o.type === "chunk")!;
  expect(specsOf(emitted)).toEqual([
    'defineCached({ v: 1, id: "src/repo#Repo.static.find" })',
    'defineCached({ v: 1, id: "src/repo#Repo.find" })',
  ]);
  expect(specsOf(chunk.code)).toEqual(specsOf(emitted));
}, 120_000);

test("two functions with one name= in one file: a duplicate-id error in vite and under tspc", async () => {
  const twice = `
/** @cache name=users.get */
export async function a(x: string): Promise<string> { return "a" + x; }
/** @cache name=users.get */
export async function b(x: string): Promise<string> { return "b" + x; }
`;
  const dir = setUp({ "twice.ts": twice });
  await expect(viteBuild(dir, "src/twice.ts", false))
    .rejects.toThrow("src/twice.ts(4,5): error TS93016: @cache: id 'users.get' is already used by 'a' at src/twice.ts:3.");
  const tspc = await compileAsync(dir, { args: ["--noEmit", "false", "--outDir", "tsc-out"] });
  expect(tspc.output).toContain("src/twice.ts(4,5): error TS93016: @cache: id 'users.get' is already used by 'a' at src/twice.ts:3.");
}, 120_000);
