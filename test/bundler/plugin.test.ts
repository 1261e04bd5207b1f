/**
 * The bundler plugin as users load it: the package's `tscaching/vite` (and `/esbuild`, `/rollup`,
 * `/webpack`) entries from dist/, in ESM and CommonJS, in real vite and esbuild builds; ids equal to
 * tspc's; diagnostics as build errors and warnings; untransformed code detectable.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as ts from "typescript";
import { describe, expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { transformSource } from "../../transformer/transpile";
import { compileAsync, keyArgumentsOf, project, runNode, specsOf } from "./child";

type Plugin = { name: string; enforce?: string; transform: { handler: (this: unknown, code: string, id: string) => unknown } };

/** The plugin module as a project resolves it (through node_modules/tscaching → dist/). */
function load<T>(dir: string, name: string): T {
  return createRequire(path.join(dir, "package.json"))(name) as T;
}

describe("the package entries", () => {
  test("an ESM default import of tscaching/vite is the plugin function (the package is CommonJS)", async () => {
    const dir = project("vite-basic");
    const script = `
      import vite from "tscaching/vite";
      import rollup from "tscaching/rollup";
      import esbuild from "tscaching/esbuild";
      import webpack from "tscaching/webpack";
      import languageService from "tscaching/language-service";
      const plugin = vite();
      console.log(JSON.stringify({
        types: [vite, rollup, esbuild, webpack, languageService].map((f) => typeof f),
        vite: { name: plugin.name, enforce: plugin.enforce },
        rollup: rollup().name,
        esbuild: [esbuild().name, typeof esbuild().setup],
        webpack: typeof webpack().apply,
        languageService: typeof languageService({ typescript: {} }).create,
      }));
    `;
    const child = await runNode(["--input-type=module", "-e", script], { cwd: dir });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({
      types: ["function", "function", "function", "function", "function"],
      vite: { name: "tscaching", enforce: "pre" },
      rollup: "tscaching",
      esbuild: ["tscaching", "function"],
      webpack: "function",
      languageService: "function",
    });
  });

  test("require() gives the same functions", async () => {
    const dir = project("vite-basic");
    const script = `
      const names = ["vite", "rollup", "esbuild", "webpack", "language-service"];
      console.log(JSON.stringify([...names.map((n) => typeof require("tscaching/" + n)), typeof require("tscaching/transpile").transformSource]));
    `;
    const child = await runNode(["-e", script], { cwd: dir });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual(["function", "function", "function", "function", "function", "function"]);
  });

  test("package.json maps every entry for node16 and node10 resolution", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
    for (const entry of ["vite", "rollup", "esbuild", "webpack", "language-service", "transpile"]) {
      const target = pkg.exports[`./${entry}`];
      expect(fs.existsSync(path.join(repoRoot, target.default)), entry).toBe(true);
      expect(fs.existsSync(path.join(repoRoot, target.types)), entry).toBe(true);
      expect(fs.existsSync(path.join(repoRoot, pkg.typesVersions["*"][entry][0])), entry).toBe(true);
    }
    // tsserver loads plugins with node10 resolution, which ignores "exports".
    const stub = JSON.parse(fs.readFileSync(path.join(repoRoot, "language-service/package.json"), "utf8"));
    expect(fs.existsSync(path.join(repoRoot, "language-service", stub.main))).toBe(true);
    expect(pkg.files).toContain("language-service/package.json");
  });

  test("the plugin's types check in an ESM vite config", async () => {
    const dir = project("vite-basic", ["vite", "vitest"]);
    const tsc = path.join(repoRoot, "node_modules/typescript/bin/tsc");
    const child = await runNode([tsc, "-p", "tsconfig.json", "--noEmit"], { cwd: dir });
    expect(child.stdout + child.stderr).toBe("");
    expect(child.status).toBe(0);
  });
});

describe("the transform hook", () => {
  const dir = project("vite-basic");
  const plugin = () => load<(options?: object) => Plugin>(dir, "tscaching/vite")();
  const context = () => {
    const messages: Array<{ kind: string; message: string }> = [];
    return {
      messages,
      ctx: {
        error(m: { message: string }) {
          messages.push({ kind: "error", message: m.message });
          throw new Error(m.message);
        },
        warn(m: { message: string }) {
          messages.push({ kind: "warn", message: m.message });
        },
      },
    };
  };
  // unplugin's own code filter answers undefined, our handler null: both mean "not transformed".
  const transform = (p: Plugin, file: string, code: string, ctx = context().ctx) => p.transform.handler.call(ctx, code, file) ?? null;

  test("passes every other file through untouched (null)", () => {
    const p = plugin();
    const tagged = "/** @cache */\nexport async function f(x: number): Promise<number> { return x; }\n";
    expect(transform(p, path.join(dir, "src/runs.ts"), fs.readFileSync(path.join(dir, "src/runs.ts"), "utf8"))).toBeNull();
    expect(transform(p, path.join(dir, "src/a.js"), tagged)).toBeNull();
    expect(transform(p, path.join(dir, "src/a.d.ts"), tagged)).toBeNull();
    expect(transform(p, path.join(dir, "node_modules/lib/a.ts"), tagged)).toBeNull();
    expect(transform(p, "\0virtual:a.ts", tagged)).toBeNull();
    expect(transform(p, path.join(dir, "src/a.ts"), tagged)).toMatchObject({ code: expect.stringContaining("cachedCall(") });
    expect(transform(p, `${path.join(dir, "src/a.ts")}?v=123`, tagged)).toMatchObject({ code: expect.stringContaining("cachedCall(") });
    const mine = load<(options?: object) => Plugin>(dir, "tscaching/vite")({ include: /\.js$/, exclude: [] });
    expect(transform(mine, path.join(dir, "src/a.js"), tagged.replace(": Promise<number>", "").replace(": number", "")))
      .toMatchObject({ code: expect.stringContaining('id: "src/a#f"') });
  });

  test("errors fail the build with file:line, warnings are warnings", () => {
    const p = plugin();
    const bad = context();
    expect(() => transform(p, path.join(dir, "src/bad.ts"), "/** @cache ttl=5x */\nexport async function f(): Promise<number> { return 1; }\n", bad.ctx))
      .toThrow("src/bad.ts(1,16): error TS93003: @cache: malformed ttl '5x'");
    const warned = context();
    const code = "export class U {\n  constructor(private t: string) {}\n  /** @cache */\n  async get(id: string): Promise<string> { return this.t + id; }\n}\n";
    expect(transform(p, path.join(dir, "src/u.ts"), code, warned.ctx)).toMatchObject({ code: expect.stringContaining("cachedCall(") });
    expect(warned.messages).toEqual([{ kind: "warn", message: expect.stringContaining("src/u.ts(4,9): warning TS93017:") }]);
    const strict = context();
    const q = load<(options?: object) => Plugin>(dir, "tscaching/vite")({ warnings: "error" });
    expect(() => transform(q, path.join(dir, "src/u.ts"), code, strict.ctx)).toThrow("src/u.ts(4,9): error TS93017:");
    const quiet = context();
    transform(load<(options?: object) => Plugin>(dir, "tscaching/vite")({ warnings: "off" }), path.join(dir, "src/u.ts"), code, quiet.ctx);
    expect(quiet.messages).toEqual([]);
  });

  test("two files with one id: the second is an error, as under tspc", () => {
    const p = plugin();
    fs.writeFileSync(path.join(dir, "src/one.ts"), "");
    const one = "/** @cache name=users.get */\nexport async function a(x: string): Promise<string> { return x; }\n";
    const two = "export const x = 1;\n/** @cache name=users.get */\nexport async function b(x: string): Promise<string> { return x; }\n";
    transform(p, path.join(dir, "src/one.ts"), one);
    expect(() => transform(p, path.join(dir, "src/two.ts"), two))
      .toThrow("src/two.ts(2,5): error TS93016: @cache: id 'users.get' is already used by 'a' at src/one.ts:2.");
    // Editing the first file so it no longer declares the id frees it.
    transform(p, path.join(dir, "src/one.ts"), one.replace("users.get", "users.one"));
    expect(transform(p, path.join(dir, "src/two.ts"), two)).toMatchObject({ code: expect.stringContaining('id: "users.get"') });
  });

  test("an invalid option is reported when the plugin is created", () => {
    expect(() => load<(options?: object) => Plugin>(dir, "tscaching/vite")({ warnings: "loud" }))
      .toThrow('tscaching: plugin option "warnings" must be one of warn, diagnostic, error, off; got "loud"');
  });

  test("the tsconfig's transformer entry supplies rootDir and runtime", () => {
    const other = project("vite-basic");
    const config = path.join(other, "tsconfig.json");
    fs.writeFileSync(config, fs.readFileSync(config, "utf8").replace('{ "transform": "tscaching/transformer" }',
      '{ "transform": "tscaching/transformer", "rootDir": "src", "runtime": "@acme/cache" }'));
    const p = load<(options?: object) => Plugin>(other, "tscaching/vite")();
    const out = transform(p, path.join(other, "src/users.ts"), fs.readFileSync(path.join(other, "src/users.ts"), "utf8")) as { code: string };
    expect(out.code).toContain('from "@acme/cache"');
    expect(specsOf(out.code)[0]).toBe('defineCached({ v: 1, id: "users#getUser", ttl: 300 })');
  });
});

describe("in real builds", () => {
  test("vite build: tagged files rewritten with tspc's ids, the rest as vite makes it", async () => {
    const dir = project("vite-basic", ["vite", "vitest"]);
    const { build } = await import("vite");
    const tscaching = load<(options?: object) => import("vite").Plugin>(dir, "tscaching/vite");
    const result = await build({
      root: dir, configFile: false, logLevel: "silent",
      plugins: [tscaching()],
      build: { ssr: "src/users.ts", write: false, minify: false, sourcemap: true, rollupOptions: { external: ["tscaching"] } },
    }) as import("rollup").RollupOutput;
    const chunk = result.output.find((o) => o.type === "chunk")!;
    expect(specsOf(chunk.code)).toEqual([
      'defineCached({ v: 1, id: "src/users#getUser", ttl: 300 })',
      'defineCached({ v: 1, id: "src/users#Directory.lookup" })',
    ]);
    expect(chunk.code).toContain("async function plain(id) {\n  ran(\"plain\");");
    // The source map of the bundle still leads to users.ts.
    expect(chunk.map!.sources.map((s) => path.basename(s))).toContain("users.ts");

    // tspc on the same project: same specs and keys.
    const tspc = await compileAsync(dir, { args: ["--noEmit", "false", "--outDir", "out"] });
    expect(tspc.output).toBe("");
    const emitted = fs.readFileSync(path.join(dir, "out/src/users.js"), "utf8");
    expect(specsOf(chunk.code)).toEqual(specsOf(emitted));
    expect(keyArgumentsOf(chunk.code)).toEqual(keyArgumentsOf(emitted));
  });

  test("vite build: a tag error fails the build with file and line", async () => {
    const dir = project("vite-basic");
    fs.writeFileSync(path.join(dir, "src/bad.ts"), "/** @cache ttl=5x */\nexport async function f(): Promise<number> { return 1; }\n");
    const { build } = await import("vite");
    const tscaching = load<(options?: object) => import("vite").Plugin>(dir, "tscaching/vite");
    await expect(build({
      root: dir, configFile: false, logLevel: "silent", plugins: [tscaching()],
      build: { ssr: "src/bad.ts", write: false, rollupOptions: { external: ["tscaching"] } },
    })).rejects.toThrow("src/bad.ts(1,16): error TS93003: @cache: malformed ttl '5x'");
  });

  test("compiled both ways, a CommonJS project gets the same specs and keys from the plugin as from tspc", async () => {
    const dir = project("basic");
    const built = await compileAsync(dir);
    expect(built.status).toBe(0);
    for (const file of fs.readdirSync(path.join(dir, "src"))) {
      const source = path.join(dir, "src", file);
      const ours = transformSource(source, fs.readFileSync(source, "utf8"), { ts });
      const emitted = fs.readFileSync(path.join(dir, "dist", file.replace(/\.ts$/, ".js")), "utf8");
      expect(specsOf(ours.code), file).toEqual(specsOf(emitted));
      expect(keyArgumentsOf(ours.code), file).toEqual(keyArgumentsOf(emitted));
    }
  });

  const main = `
    import { cachedFunctions } from "tscaching";
    import { runs } from "./runs";
    import { Directory, getUser } from "./users";
    await getUser("bob");
    await getUser("bob");
    await new Directory("acme").lookup("1");
    await new Directory("acme").lookup("1");
    console.log(JSON.stringify({ runs, ids: cachedFunctions().map((f) => f.id).sort() }));
  `;

  test("esbuild with tscaching/esbuild: the bundle caches", async () => {
    const dir = project("vite-basic");
    fs.writeFileSync(path.join(dir, "src/main.ts"), main);
    const esbuild = await import("esbuild");
    const tscaching = load<(options?: object) => import("esbuild").Plugin>(dir, "tscaching/esbuild");
    await esbuild.build({
      absWorkingDir: dir, entryPoints: ["src/main.ts"], bundle: true, platform: "node", format: "esm",
      outfile: "out/main.mjs", external: ["tscaching"], plugins: [tscaching()], logLevel: "silent",
    });
    const run = await runNode(["out/main.mjs"], { cwd: dir });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({
      runs: { getUser: 1, "Directory.lookup": 1 },
      ids: ["src/users#Directory.lookup", "src/users#getUser"],
    });
  });

  test("esbuild reports a tag error as a build error", async () => {
    const dir = project("vite-basic");
    fs.writeFileSync(path.join(dir, "src/bad.ts"), "/** @cache ttl=5x */\nexport async function f(): Promise<number> { return 1; }\n");
    const esbuild = await import("esbuild");
    const tscaching = load<(options?: object) => import("esbuild").Plugin>(dir, "tscaching/esbuild");
    const failure = await esbuild.build({
      absWorkingDir: dir, entryPoints: ["src/bad.ts"], bundle: true, write: false, platform: "node", format: "esm",
      external: ["tscaching"], plugins: [tscaching()], logLevel: "silent",
    }).then(() => undefined, (error: { errors: Array<{ text: string }> }) => error);
    expect(failure?.errors.map((e) => e.text)).toEqual([expect.stringContaining("src/bad.ts(1,16): error TS93003")]);
  });

  test("without the plugin a tagged function runs uncached, and that is detectable", async () => {
    const dir = project("vite-basic");
    fs.writeFileSync(path.join(dir, "src/main.ts"), main);
    const esbuild = await import("esbuild");
    await esbuild.build({
      absWorkingDir: dir, entryPoints: ["src/main.ts"], bundle: true, platform: "node", format: "esm",
      outfile: "out/main.mjs", external: ["tscaching"], logLevel: "silent",
    });
    const run = await runNode(["out/main.mjs"], { cwd: dir });
    // The bodies ran twice and nothing registered: cachedFunctions() lacks what `tscaching list` shows.
    expect(JSON.parse(run.stdout)).toEqual({ runs: { getUser: 2, "Directory.lookup": 2 }, ids: [] });
    const list = await runNode([path.join(repoRoot, "dist/cli/bin.js"), "list", "--json"], { cwd: dir });
    expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((f) => f.id).sort())
      .toEqual(["src/users#Directory.lookup", "src/users#getUser"]);
  });
});
