/**
 * The rewrite changes how often code runs, never what it does: `fixtures/projects/emit-matrix` is
 * built with the real `tspc` at ES5, ES2015 and ES2022, to CommonJS and to ES modules, and the output
 * runs under Node. A script file stays a script, `arguments` and `super` stay the function's own, decorator
 * metadata matches plain tsc, a thrown error's stack names the function and its source line, and a
 * function whose tag has errors is emitted exactly as plain tsc emits it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { compileProject, prepareProject, type TypeScriptPackage } from "../helpers/project";

const made: string[] = [];
afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

interface Variant {
  readonly target: "es5" | "es2015" | "es2022";
  readonly format: "commonjs" | "esm";
  readonly typescript?: TypeScriptPackage;
}

/** Copy the fixture, write its tsconfig (and package type) for one variant. */
function prepare(variant: Variant, extra: Record<string, unknown> = {}): string {
  const dir = prepareProject("emit-matrix", variant.typescript);
  made.push(dir);
  const esm = variant.format === "esm";
  // TypeScript refuses `arguments` in an async function below ES2015 (TS2522): args.ts is left out there.
  const files = ["script", "args-sync", "decorated", "throws", "inherit", ...(variant.target === "es5" ? [] : ["args"])];
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "emit-matrix", private: true, type: esm ? "module" : "commonjs" }));
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: {
      target: variant.target, module: esm ? "nodenext" : "commonjs", moduleResolution: esm ? "nodenext" : "node10",
      lib: ["es2022"], types: ["node"], strict: true, skipLibCheck: true, sourceMap: true,
      experimentalDecorators: true, emitDecoratorMetadata: true, outDir: "dist", rootDir: "src",
      plugins: [{ transform: "tscaching/transformer" }],
      ...extra,
    },
    files: files.map((f) => `src/${f}.ts`),
  }, null, 2));
  return dir;
}

/** Import every built file in a child Node (source maps on) and report what the calls returned. */
function run(dir: string, withArgs: boolean): Record<string, unknown> {
  const script = `
    const load = async (f) => { const m = await import("./dist/" + f); return m.default ?? m; };
    await load("script.js");
    const s = globalThis.matrixScript;
    const out = { script: [await s.scriptTwice(2), await s.scriptTwice(2), s.runs()] };
    const sync = await load("args-sync.js");
    out.countLater = [await sync.countLater(1, 2), await sync.countLater(1)];
    if (${withArgs}) {
      const args = await load("args.js");
      out.count = [await args.count(1, 2), await args.count(1)];
      out.method = await new args.Counter().count(1, 2);
    }
    const { Child } = await load("inherit.js");
    out.inherit = [await new Child().label(1), await new Child().label(1)];
    const { explode } = await load("throws.js");
    out.stack = await explode(7).then(() => "no error", (e) => String(e.stack));
    console.log(JSON.stringify(out));
  `;
  const child = spawnSync(process.execPath, ["--enable-source-maps", "--input-type=module", "-e", script],
    { cwd: dir, encoding: "utf8", timeout: 30_000 });
  expect(child.stderr).toBe("");
  return JSON.parse(child.stdout);
}

/** `__metadata("design:...", X)` calls of a decorated file, in order. */
function metadataOf(file: string): string[] {
  return fs.readFileSync(file, "utf8").match(/__metadata\("design:\w+", [^)]*\)/g) ?? [];
}

const variants: Variant[] = [
  { target: "es5", format: "commonjs", typescript: "typescript" },
  { target: "es2015", format: "commonjs", typescript: "typescript" },
  { target: "es2022", format: "commonjs", typescript: "typescript" },
  { target: "es2015", format: "esm", typescript: "typescript" },
  { target: "es2022", format: "esm", typescript: "typescript" },
  // TypeScript 6 deprecates ES5 and node10 resolution: its ES module builds.
  { target: "es2015", format: "esm", typescript: "typescript-6" },
  { target: "es2022", format: "esm", typescript: "typescript-6" },
];

describe.each(variants)("tspc ($typescript) at $target to $format", (variant) => {
  test("the output runs and behaves as the source says", () => {
    const dir = prepare(variant);
    const built = compileProject(dir, { typescript: variant.typescript });
    expect(built.output).toBe("");
    expect(built.status).toBe(0);
    const scriptJs = fs.readFileSync(path.join(dir, "dist/script.js"), "utf8");
    expect(scriptJs).toContain("cachedCall(");
    expect(scriptJs).not.toMatch(/import \w+ = require/);

    const out = run(dir, variant.target !== "es5");
    expect(out.script).toEqual([4, 4, 1]);
    expect(out.countLater).toEqual([12, 1]);
    expect(out.inherit).toEqual(["base 1 via child", "base 1 via child"]);
    if (variant.target !== "es5") {
      expect(out.count).toEqual([12, 1]);
      expect(out.method).toBe(2);
    }
    const stack = String(out.stack);
    expect(stack).toContain("boom 7");
    expect(stack).toMatch(/\bexplode\b/);
    expect(stack).toMatch(/src[\\/]throws\.ts:4:/);

    // Decorator metadata as plain tsc records it (async methods without a return type: Promise).
    const plain = prepare(variant);
    expect(compileProject(plain, { compiler: "tsc", typescript: variant.typescript }).status).toBe(0);
    const ours = metadataOf(path.join(dir, "dist/decorated.js"));
    expect(ours).toContain('__metadata("design:returntype", Promise)');
    expect(ours).toEqual(metadataOf(path.join(plain, "dist/decorated.js")));
  }, 120_000);
});

test("TypeScript 6 defaults in a CommonJS package: a script file stays runnable CommonJS", () => {
  const dir = prepareProject("emit-matrix", "typescript-6");
  made.push(dir);
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { outDir: "dist", rootDir: "src", plugins: [{ transform: "tscaching/transformer" }] },
    files: ["src/script.ts"],
  }));
  const built = compileProject(dir, { typescript: "typescript-6" });
  expect(built.output).toBe("");
  expect(built.status).toBe(0);
  const js = fs.readFileSync(path.join(dir, "dist/script.js"), "utf8");
  expect(js).toContain("cachedCall(");
  expect(js).not.toMatch(/^\s*import\b/m);
  const child = spawnSync(process.execPath, ["-e", `
    require("./dist/script.js");
    const s = globalThis.matrixScript;
    (async () => console.log(JSON.stringify([await s.scriptTwice(3), await s.scriptTwice(3), s.runs()])))();
  `], { cwd: dir, encoding: "utf8", timeout: 30_000 });
  expect(child.stderr).toBe("");
  expect(JSON.parse(child.stdout)).toEqual([6, 6, 1]);
}, 120_000);

describe.each([false, true])("a tag with errors (noEmitOnError %s)", (noEmitOnError) => {
  test("leaves its function exactly as plain tsc emits it, running every call", () => {
    const variant: Variant = { target: "es2022", format: "commonjs" };
    const source = [
      "let runs = 0;",
      "/** @cache 30 seconds */",
      "export async function prose(n: number): Promise<number> {",
      "  runs++;",
      "  return n;",
      "}",
      "export const proseRuns = () => runs;",
      "",
    ].join("\n");
    const dirs = [prepare(variant, { noEmitOnError }), prepare(variant, { noEmitOnError })];
    for (const dir of dirs) {
      fs.writeFileSync(path.join(dir, "src/prose.ts"), source);
      const config = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8"));
      fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ ...config, files: [...config.files, "src/prose.ts"] }));
    }
    const [ours, plain] = dirs;
    const built = compileProject(ours);
    expect(built.status).toBe(2);
    expect(built.output).toContain("src/prose.ts(2,12): error TS93002");
    expect(compileProject(plain, { compiler: "tsc" }).status).toBe(0);
    const emitted = path.join(ours, "dist/prose.js");
    if (!fs.existsSync(emitted)) return; // nothing emitted at all: nothing cached either
    expect(fs.readFileSync(emitted, "utf8")).toBe(fs.readFileSync(path.join(plain, "dist/prose.js"), "utf8"));
    const child = spawnSync(process.execPath, ["-e", `
      const m = require("./dist/prose.js");
      (async () => console.log(JSON.stringify([await m.prose(1), await m.prose(1), m.proseRuns()])))();
    `], { cwd: ours, encoding: "utf8", timeout: 30_000 });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual([1, 1, 2]);
  }, 120_000);
});

test("near-miss tags: tspc warns with file and line, exits 0, and emits the functions as plain tsc does", () => {
  const variant: Variant = { target: "es2022", format: "commonjs" };
  const source = [
    "/** @cached ttl=5m */",
    "export async function a(n: number): Promise<number> { return n; }",
    "/** @Cache */",
    "export async function b(n: number): Promise<number> { return n; }",
    "// @cache",
    "export async function c(n: number): Promise<number> { return n; }",
    "/* @cache */",
    "export async function d(n: number): Promise<number> { return n; }",
    "",
  ].join("\n");
  const dirs = [prepare(variant), prepare(variant)];
  for (const dir of dirs) {
    fs.writeFileSync(path.join(dir, "src/typo.ts"), source);
    const config = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8"));
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ ...config, files: [...config.files, "src/typo.ts"] }));
  }
  const [ours, plain] = dirs;
  const built = compileProject(ours);
  expect(built.status).toBe(0);
  const warnings = built.output.split("\n").filter((l) => l.includes("TS93030")).map((l) => l.slice(0, l.indexOf(":", l.indexOf(")"))));
  expect(warnings).toEqual(["src/typo.ts(1,5)", "src/typo.ts(3,5)", "src/typo.ts(5,4)", "src/typo.ts(7,4)"]);
  expect(compileProject(plain, { compiler: "tsc" }).status).toBe(0);
  expect(fs.readFileSync(path.join(ours, "dist/typo.js"), "utf8")).toBe(fs.readFileSync(path.join(plain, "dist/typo.js"), "utf8"));
}, 120_000);
