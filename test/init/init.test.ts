/**
 * `tscaching init` on fixture projects copied to temporary folders: what it changes (and prints),
 * that it keeps tsconfig comments and layout, that a second run changes nothing, and that the
 * project then builds with tspc and caches.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { initCommand } from "../../cli/commands/init";
import { createStyle, type Context } from "../../cli/output";
import { repoRoot } from "../helpers/project";
import { childEnv, compileAsync, project, runNode } from "../bundler/child";
import { run } from "../cli/run-cli";

/** Run `tscaching init ...args` in `cwd`, capturing what it prints. */
async function init(cwd: string, args: string[] = []): Promise<string[]> {
  const out: string[] = [];
  const style = createStyle(false);
  const ctx: Context = {
    env: {}, cwd, style, errStyle: style, color: false, stdinIsTTY: false, exitCode: 0,
    out: (line = "") => void out.push(line), err: (line = "") => void out.push(`stderr: ${line}`),
    writeOut: (text) => void out.push(text), writeErr: (text) => void out.push(`stderr: ${text}`),
    ask: async () => "", interrupted: () => new Promise(() => undefined),
  };
  await initCommand(ctx).exitOverride().parseAsync(args, { from: "user" });
  return out;
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), "utf8");

describe("a tsc project (fixtures/projects/init-basic)", () => {
  test("adds the plugins, switches tsc to tspc, writes keys.ts; the second run changes nothing", async () => {
    const dir = project("init-basic");
    const first = await init(dir);
    expect(first).toEqual([
      'tsconfig.json: added { "transform": "tscaching/transformer" } to compilerOptions.plugins',
      'tsconfig.json: added { "name": "tscaching/language-service" } to compilerOptions.plugins',
      'package.json: scripts.build: "tsc" → "tscaching keys && tspc"',
      'package.json: scripts.watch: "tsc --watch -p tsconfig.json" → "tspc --watch -p tsconfig.json"',
      'package.json: scripts.lint: "eslint . && tsc --noEmit" → "eslint . && tspc --noEmit"',
      "src/keys.ts: wrote the key registry (2 key helpers)",
      "next: build with `npm run build` (tspc); keep keys.ts current with `tscaching keys --watch`",
    ]);
    // Comments and layout kept; the array added in the file's own style.
    expect(read(dir, "tsconfig.json")).toBe(read(path.join(repoRoot, "fixtures/projects/init-basic"), "tsconfig.json").replace(
      '"types": ["node"]\n',
      '"types": ["node"],\n    "plugins": [\n      { "transform": "tscaching/transformer" },\n      { "name": "tscaching/language-service" }\n    ]\n',
    ));
    expect(JSON.parse(read(dir, "package.json")).scripts).toEqual({
      build: "tscaching keys && tspc", watch: "tspc --watch -p tsconfig.json", lint: "eslint . && tspc --noEmit", start: "node dist/index.js",
    });
    expect(read(dir, "src/keys.ts")).toContain('getUser: keyHelper<[name: Parameters<typeof m0.getUser>[0]]');

    const before = ["tsconfig.json", "package.json", "src/keys.ts"].map((f) => read(dir, f));
    expect(await init(dir)).toEqual(["nothing to change: tsconfig.json is set up for tscaching"]);
    expect(["tsconfig.json", "package.json", "src/keys.ts"].map((f) => read(dir, f))).toEqual(before);

    // The CLI agrees the registry is current, and the project builds with tspc and caches.
    const check = await runNode([path.join(repoRoot, "dist/cli/bin.js"), "keys", "--check"], { cwd: dir });
    expect(check.stdout).toContain("src/keys.ts is up to date (2 key helpers)");
    const built = await compileAsync(dir);
    expect(built.output).toBe("");
    expect(built.status).toBe(0);
    const run = await runNode(["dist/index.js"], { cwd: dir });
    expect(JSON.parse(run.stdout)).toEqual({ lookups: 1, key: expect.stringMatching(/^tscaching:src\/users#getUser:@[A-Za-z0-9_]{10}:"bob"$/) });
  }, 120_000);

  test("--dry-run prints what would change and changes nothing", async () => {
    const dir = project("init-basic");
    const before = ["tsconfig.json", "package.json"].map((f) => read(dir, f));
    expect(await init(dir, ["--dry-run"])).toEqual([
      'tsconfig.json: would add { "transform": "tscaching/transformer" } to compilerOptions.plugins',
      'tsconfig.json: would add { "name": "tscaching/language-service" } to compilerOptions.plugins',
      'package.json: would change scripts.build: "tsc" → "tscaching keys && tspc"',
      'package.json: would change scripts.watch: "tsc --watch -p tsconfig.json" → "tspc --watch -p tsconfig.json"',
      'package.json: would change scripts.lint: "eslint . && tsc --noEmit" → "eslint . && tspc --noEmit"',
      "src/keys.ts: would write the key registry (2 key helpers)",
    ]);
    expect(["tsconfig.json", "package.json"].map((f) => read(dir, f))).toEqual(before);
    expect(fs.existsSync(path.join(dir, "src/keys.ts"))).toBe(false);
  }, 60_000);

  test("--no-language-service, --no-scripts, --no-keys", async () => {
    const dir = project("init-basic");
    expect(await init(dir, ["--no-language-service", "--no-scripts", "--no-keys"])).toEqual([
      'tsconfig.json: added { "transform": "tscaching/transformer" } to compilerOptions.plugins',
      "next: build with `npm run build` (tspc); keep keys.ts current with `tscaching keys --watch`",
    ]);
    expect(await init(dir, ["--no-language-service", "--no-scripts", "--no-keys"])).toEqual([
      "nothing to change: tsconfig.json is set up for tscaching",
    ]);
  }, 60_000);

  test("a keys.ts it did not write is left alone; a stale generated one is refreshed", async () => {
    const dir = project("init-basic");
    fs.writeFileSync(path.join(dir, "src/keys.ts"), "export const keys = {};\n");
    const out = await init(dir, ["--no-scripts"]);
    expect(out).toContain("note: src/keys.ts exists and was not written by tscaching: left alone (write the registry elsewhere with `tscaching keys -o <file>`)");
    expect(read(dir, "src/keys.ts")).toBe("export const keys = {};\n");

    fs.rmSync(path.join(dir, "src/keys.ts"));
    await init(dir, ["--no-scripts"]);
    fs.appendFileSync(path.join(dir, "src/users.ts"), "\n/** @cache */\nexport async function extra(x: number): Promise<number> { return x; }\n");
    expect(await init(dir, ["--no-scripts"])).toEqual(["src/keys.ts: refreshed the key registry (3 key helpers)",
      "next: build with `npm run build` (tspc); keep keys.ts current with `tscaching keys --watch`"]);
  }, 90_000);
});

test("a tsconfig that extends one with plugins keeps the inherited entries", async () => {
  const dir = project("init-extends");
  const out = await init(dir);
  expect(out).toEqual([
    'tsconfig.json: added { "transform": "tscaching/transformer" } to compilerOptions.plugins',
    'tsconfig.json: added { "name": "tscaching/language-service" } to compilerOptions.plugins',
    'package.json: scripts.build: "rm -rf dist && tsc -p tsconfig.json" → "tscaching keys && rm -rf dist && tspc -p tsconfig.json"',
    "src/keys.ts: wrote the key registry (1 key helper)",
    "note: ts-patch is not in package.json: npm install -D ts-patch",
    "note: tscaching is not in package.json's dependencies: npm install tscaching",
    "next: build with `npm run build` (tspc); keep keys.ts current with `tscaching keys --watch`",
  ]);
  expect(read(dir, "tsconfig.json")).toBe([
    "{",
    '  "extends": "./tsconfig.base.json",',
    '  "compilerOptions": { "outDir": "dist", "plugins": [{ "name": "some-editor-plugin" }, ' +
      '{ "transform": "tscaching/transformer" }, { "name": "tscaching/language-service" }] },',
    '  "include": ["src"]',
    "}",
    "",
  ].join("\n"));
  expect(await init(dir)).toEqual([
    "nothing to change: tsconfig.json is set up for tscaching",
    "note: ts-patch is not in package.json: npm install -D ts-patch",
    "note: tscaching is not in package.json's dependencies: npm install tscaching",
  ]);
  const built = await compileAsync(dir);
  expect(built.output).toBe("");
  expect(read(dir, "dist/prices.js")).toMatch(/defineCached\(\{ v: 1, id: "src\/prices#price", ttl: 60, version: "\w{10}" \}\)/);
}, 90_000);

test("a vite project: compilerOptions created, the bundler plugin pointed out", async () => {
  const dir = project("init-vite");
  const out = await init(dir);
  expect(out).toEqual([
    'tsconfig.json: added { "transform": "tscaching/transformer" } to compilerOptions.plugins',
    'tsconfig.json: added { "name": "tscaching/language-service" } to compilerOptions.plugins',
    "src/keys.ts: wrote the key registry (1 key helper)",
    'note: scripts.build ("vite build") does not run tsc: a bundler that builds the project needs the tscaching plugin (tscaching/vite, tscaching/esbuild, ...); see the README',
    "note: vitest.config.ts does not load tscaching/vite: tagged functions run uncached under vitest. " +
      'Add `import tscaching from "tscaching/vite"` and `plugins: [tscaching()]`',
    "next: build with `npm run build` (tspc); keep keys.ts current with `tscaching keys --watch`",
  ]);
  expect(read(dir, "tsconfig.json")).toBe([
    "{",
    '  "include": ["src"],',
    '  "compilerOptions": {',
    '    "plugins": [',
    '      { "transform": "tscaching/transformer" },',
    '      { "name": "tscaching/language-service" }',
    "    ]",
    "  }",
    "}",
    "",
  ].join("\n"));
  // package.json untouched (tabs and all).
  expect(read(dir, "package.json")).toBe(read(path.join(repoRoot, "fixtures/projects/init-vite"), "package.json"));
  expect((await init(dir))[0]).toBe("nothing to change: tsconfig.json is set up for tscaching");
}, 60_000);

describe("tsconfig layouts", () => {
  const cases: Array<[string, string, string]> = [
    ["tabs and trailing commas",
      '{\n\t"compilerOptions": {\n\t\t"strict": true,\n\t\t"plugins": [\n\t\t\t{ "name": "other" },\n\t\t],\n\t},\n}\n',
      '{\n\t"compilerOptions": {\n\t\t"strict": true,\n\t\t"plugins": [\n\t\t\t{ "name": "other" },\n\t\t\t{ "transform": "tscaching/transformer" },\n\t\t\t{ "name": "tscaching/language-service" },\n\t\t],\n\t},\n}\n'],
    ["a one-line plugins array",
      '{ "compilerOptions": { "plugins": [{ "name": "other" }] } }\n',
      '{ "compilerOptions": { "plugins": [{ "name": "other" }, { "transform": "tscaching/transformer" }, { "name": "tscaching/language-service" }] } }\n'],
    ["an empty plugins array",
      '{\n  "compilerOptions": {\n    "plugins": []\n  }\n}\n',
      '{\n  "compilerOptions": {\n    "plugins": [{ "transform": "tscaching/transformer" }, { "name": "tscaching/language-service" }]\n  }\n}\n'],
    ["a comment ending the last line",
      '{\n  "compilerOptions": {\n    "strict": true // always\n  }\n}\n',
      '{\n  "compilerOptions": {\n    "strict": true, // always\n    "plugins": [\n      { "transform": "tscaching/transformer" },\n      { "name": "tscaching/language-service" }\n    ]\n  }\n}\n'],
    ["an empty object, CRLF line ends",
      "{}\r\n",
      '{\r\n  "compilerOptions": {\r\n    "plugins": [\r\n      { "transform": "tscaching/transformer" },\r\n      { "name": "tscaching/language-service" }\r\n    ]\r\n  }\r\n}\r\n'],
    ["the editor plugin already there",
      '{\n  "compilerOptions": {\n    "plugins": [\n      { "name": "tscaching/language-service" }\n    ]\n  }\n}\n',
      '{\n  "compilerOptions": {\n    "plugins": [\n      { "name": "tscaching/language-service" },\n      { "transform": "tscaching/transformer" }\n    ]\n  }\n}\n'],
  ];

  test.each(cases)("%s", async (_name, before, after) => {
    const dir = project("init-basic");
    fs.writeFileSync(path.join(dir, "tsconfig.json"), before);
    await init(dir, ["--no-scripts", "--no-keys"]);
    expect(read(dir, "tsconfig.json")).toBe(after);
    expect((await init(dir, ["--no-scripts", "--no-keys"]))[0]).toBe("nothing to change: tsconfig.json is set up for tscaching");
  });

  test("a tsconfig it cannot parse is refused with the reason", async () => {
    const dir = project("init-basic");
    fs.writeFileSync(path.join(dir, "tsconfig.json"), '{ "compilerOptions": { "strict": true,, } }\n');
    await expect(init(dir)).rejects.toThrow(/^(cannot read|invalid tsconfig|cannot edit) tsconfig\.json/);
  });
});

/** `npm run <script>` in `dir`, with the package's bins (tscaching, tspc) on PATH as npm links them. */
function npmRun(dir: string, script: string): Promise<{ status: number | null; output: string }> {
  const bin = path.join(dir, "node_modules/.bin");
  fs.mkdirSync(bin, { recursive: true });
  const link = (name: string, target: string) => {
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${target}" "$@"\n`, { mode: 0o755 });
  };
  link("tscaching", path.join(repoRoot, "dist/cli/bin.js"));
  link("tspc", path.join(repoRoot, "node_modules/ts-patch/bin/tspc.js"));
  return run("npm", ["run", "--silent", script], { cwd: dir, env: childEnv() });
}

test("a brand-new project with no .ts file yet is set up; its build writes keys.ts first, so a checkout without it builds", async () => {
  const dir = project("init-new");
  expect(await init(dir)).toEqual([
    'tsconfig.json: added { "transform": "tscaching/transformer" } to compilerOptions.plugins',
    'tsconfig.json: added { "name": "tscaching/language-service" } to compilerOptions.plugins',
    'package.json: scripts.build: added "tscaching keys && tspc"',
    "note: no source file yet: keys.ts is written by `tscaching keys` (the build script runs it) once there is one",
    "next: build with `npm run build` (tspc); keep keys.ts current with `tscaching keys --watch`",
  ]);
  expect(fs.existsSync(path.join(dir, "keys.ts"))).toBe(false);

  // The first code, importing a keys.ts nobody generated (git-ignored, as in CI): the build script makes it.
  fs.cpSync(path.join(repoRoot, "fixtures/projects/init-basic/src"), path.join(dir, "src"), { recursive: true });
  expect(fs.existsSync(path.join(dir, "src/keys.ts"))).toBe(false);
  const built = await npmRun(dir, "build");
  expect(built.output).toBe("wrote src/keys.ts: 2 key helpers\n");
  expect(built.status).toBe(0);
  const run = await runNode(["dist/index.js"], { cwd: dir });
  expect(JSON.parse(run.stdout)).toEqual({ lookups: 1, key: expect.stringMatching(/^tscaching:src\/users#getUser:@[A-Za-z0-9_]{10}:"bob"$/) });
}, 120_000);
