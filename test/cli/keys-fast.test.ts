/**
 * `tscaching keys` without the type checker (cli/keys-fast.ts) must give exactly what the checked
 * path gives: the same keys.ts text, helper count and @cache error count, or fall back to it. Every
 * fixture, the example, a generated project, a corpus of type shapes (some made to defeat the
 * syntax: augmented globals, shadowed names, inherited fields) and generated random declarations are
 * run both ways. The two paths use separate file caches, so neither sees what the other parsed, and
 * the checked path reads files exactly as ts-morph does.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import * as ts from "typescript";
import { afterAll, describe, expect, test } from "vitest";
import { keysWithoutChecker, type KeysResult } from "../../cli/keys-fast";
import { keysWithChecker, projectKeys } from "../../cli/keys-registry";
import { ProjectFiles, readTsconfig } from "../../cli/project";
import { prepareProject, repoRoot } from "../helpers/project";

const HEAVY = 300_000;
const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) fs.rmSync(dir, { recursive: true, force: true });
});

/** Let vitest's worker answer its RPC between long synchronous steps. */
const breathe = () => new Promise((resolve) => setImmediate(resolve));

function tempDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tscaching-keys-fast-${name}-`));
  temporary.push(dir);
  return dir;
}

interface Outcome {
  readonly fast: KeysResult | undefined;
  readonly checked: KeysResult;
  /** Why the fast path gave up, if it did. */
  readonly why: string | undefined;
}

/** File caches per tsconfig, one for each path, shared by the cases of one folder. */
const caches = new Map<string, { fast: ProjectFiles; checked: ProjectFiles }>();

/** Run both paths on a project (or on some of its files), each with its own cache. */
function bothPaths(configPath: string, options: { fileNames?: string[]; outFile?: string } = {}): Outcome {
  const parsed = readTsconfig(configPath);
  const project = options.fileNames ? { ...parsed, fileNames: options.fileNames } : parsed;
  const outFile = options.outFile ?? path.join(path.dirname(configPath), "keys.ts");
  let files = caches.get(configPath);
  // As `tscaching keys` reads files (JSDoc for types only), and as ts-morph does (all JSDoc).
  if (!files) {
    caches.set(configPath, (files = { fast: new ProjectFiles(configPath, { jsDoc: "types" }), checked: new ProjectFiles(configPath) }));
  }
  let why: string | undefined;
  const fast = keysWithoutChecker(configPath, project, outFile, files.fast, (reason) => (why = reason));
  const checked = keysWithChecker(configPath, project, outFile, files.checked);
  return { fast, checked, why };
}

/** When the fast path answered, its answer is the checked path's. */
function expectSame(outcome: Outcome, label: string): void {
  expect(outcome.checked.checked, label).toBe(true);
  if (!outcome.fast) return;
  expect(outcome.fast.checked, label).toBe(false);
  const { text, count, errors } = outcome.fast;
  expect({ text, count, errors }, label).toEqual({ text: outcome.checked.text, count: outcome.checked.count, errors: outcome.checked.errors });
}

/**
 * Make a project's transformer entry say `"versions": "syntax"` (a bundler-built project): only then
 * can keys.ts be written without the checker, whose result types an automatic version hashes.
 */
function syntaxVersions(configPath: string): void {
  const config = ts.parseConfigFileTextToJson(configPath, fs.readFileSync(configPath, "utf8")).config as { compilerOptions?: { plugins?: Array<Record<string, unknown>> } };
  const options = (config.compilerOptions ??= {});
  const plugins = (options.plugins ??= []);
  const entry = plugins.find((p) => typeof p.transform === "string" && p.transform.startsWith("tscaching/transformer"));
  if (entry) entry.versions = "syntax";
  else plugins.push({ transform: "tscaching/transformer", versions: "syntax" });
  fs.writeFileSync(configPath, JSON.stringify(config));
}

/** A folder with a tsconfig (no ambient types unless asked) holding one folder per case. */
function corpusRoot(name: string, compilerOptions: Record<string, unknown> = {}, types = false): string {
  const dir = tempDir(name);
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "commonjs", strict: true, skipLibCheck: true, ...(types ? {} : { types: [] }),
      plugins: [{ transform: "tscaching/transformer", versions: "syntax" }], ...compilerOptions },
  }));
  if (types) {
    fs.mkdirSync(path.join(dir, "node_modules/@types"), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, "node_modules/@types/node"), path.join(dir, "node_modules/@types/node"), "dir");
  }
  return dir;
}

/** Write a case's files under `root/<name>/` and run both paths on them alone. */
function runCase(root: string, name: string, files: Record<string, string>): Outcome {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const fileNames: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, file), text);
    if (/\.[cm]?tsx?$/.test(file)) fileNames.push(path.join(dir, file));
  }
  return bothPaths(path.join(root, "tsconfig.json"), { fileNames, outFile: path.join(dir, "keys.ts") });
}

describe("keys without the type checker", () => {
  test("fixture projects and the example: same output; the plain ones take the fast path", async () => {
    const fastOnes = ["cli-bad", "cli-flat", "esm", "init-basic", "init-extends", "init-vite", "vite-basic"];
    // init-new has no source file yet (what `tscaching init` meets in a brand-new project): nothing to compare.
    const projects = fs.readdirSync(path.join(repoRoot, "fixtures/projects")).filter((name) => name !== "init-new");
    for (const name of [...projects, "examples/email-server"]) {
      await breathe();
      const dir = prepareProject(name);
      temporary.push(dir);
      const configPath = path.join(dir, "tsconfig.json");
      if (fastOnes.includes(name)) syntaxVersions(configPath);
      const outcome = bothPaths(configPath);
      expectSame(outcome, name);
      // What the command runs: either path, on files read once for both.
      const { text, count, errors } = projectKeys(configPath, readTsconfig(configPath), path.join(dir, "keys.ts"));
      expect({ text, count, errors }, name).toEqual({ text: outcome.checked.text, count: outcome.checked.count, errors: outcome.checked.errors });
      if (fastOnes.includes(name)) expect(outcome.why, name).toBeUndefined();
    }
  }, HEAVY);

  test("diagnostics and transform fixtures, each as a project: same output", async () => {
    const root = corpusRoot("fixtures", { esModuleInterop: true }, true);
    let fast = 0;
    for (const kind of ["diagnostics", "transform"]) {
      for (const name of fs.readdirSync(path.join(repoRoot, "fixtures", kind))) {
        await breathe();
        const source = path.join(repoRoot, "fixtures", kind, name);
        const files = Object.fromEntries(fs.readdirSync(source).filter((f) => f.endsWith(".ts"))
          .map((f) => [f, fs.readFileSync(path.join(source, f), "utf8")]));
        const outcome = runCase(root, `${kind}-${name}`, files);
        expectSame(outcome, `${kind}/${name}`);
        if (outcome.fast) fast++;
      }
    }
    expect(fast).toBeGreaterThanOrEqual(10);
  }, HEAVY);

  test("a generated project of plain cached functions takes the fast path", async () => {
    const dir = tempDir("generated");
    const genProject: string = "../../bench/gen-project.mjs"; // plain JS, no types: imported by a path the compiler does not follow
    const { generateProject } = await import(genProject) as {
      generateProject: (dir: string, options: { files: number; tagged: number }) => unknown;
    };
    generateProject(dir, { files: 40, tagged: 80 });
    syntaxVersions(path.join(dir, "tsconfig.json"));
    const outcome = bothPaths(path.join(dir, "tsconfig.json"), { outFile: path.join(dir, "keys.generated.ts") });
    expect(outcome.why).toBeUndefined();
    expectSame(outcome, "generated");
    expect(outcome.fast?.count).toBe(80);
  }, HEAVY);

  test("with versions from the checker (tspc's default) keys.ts needs the checker, unless every version is pinned", async () => {
    const dir = tempDir("checker-versions");
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, types: [] } }));
    fs.writeFileSync(path.join(dir, "a.ts"), "/** @cache */\nexport async function f(id: string): Promise<number> { return id.length; }\n");
    const outcome = bothPaths(path.join(dir, "tsconfig.json"));
    expect(outcome.why).toMatch(/version needs the type checker/);
    expectSame(outcome, "checker-versions");
    fs.writeFileSync(path.join(dir, "a.ts"), "/** @cache version=v1 */\nexport async function f(id: string): Promise<number> { return id.length; }\n");
    caches.delete(path.join(dir, "tsconfig.json"));
    const pinned = bothPaths(path.join(dir, "tsconfig.json"));
    expect(pinned.why).toBeUndefined();
    expectSame(pinned, "pinned");
    expect(pinned.checked.text).toContain('"v1"');
  }, HEAVY);

  const ROW = "export interface Row { id: string; value: number; tags: readonly string[]; at?: Date }\n";
  /** Cases: files, and whether the fast path must answer (true), must not (false) or may (undefined). */
  const CASES: Record<string, { files: Record<string, string>; fast?: boolean }> = {
    primitives: { fast: true, files: { "a.ts": `
/** @cache */
export async function f(a: string, b: number, c: boolean, d: bigint, e = 3, g = "x", ...rest: string[]): Promise<number> { return 1; }
/** @cache key=b */
export async function literal(a: "x" | "y", b: 1 | 2 | null, c: \`id-\${string}\`): Promise<"ok" | undefined> { return "ok"; }
` } },
    interfaces: { fast: true, files: { "types.ts": ROW + "export enum Kind { A, B }\nexport type Pair = [string, number];\n", "a.ts": `
import type { Row, Kind, Pair } from "./types";
import * as types from "./types";
interface Local { row: Row; rows: Row[]; nested: { deep: { deeper: Date[] } }; self?: Local }
type Alias = { kind: Kind; pair: Pair; ro: readonly [string, number] };
/** @cache */
export async function rows(id: string, row: Row, kind: Kind, pair: Pair): Promise<Row[] | undefined> { return []; }
/** @cache */
export async function local(l: Local, q: types.Row, opts: { limit: number; order?: "asc" | "desc" }): Promise<Alias> { return null!; }
/** @cache */
export async function both(x: Row & { extra: number }, y: object, z: unknown, w: any): Promise<Local | null> { return null; }
` } },
    classes: { fast: true, files: { "a.ts": `
export class Service {
  static region = "eu";
  declare shard: number;
  constructor(private readonly tenant: string, protected level: number, public name: string, readonly flags: boolean[]) {}
  /** @cache key=this.tenant,this.level,this.name,this.flags,this.shard,id */
  async find(id: number): Promise<string> { return ""; }
  /** @cache key=this.region,id */
  static async all(id: number): Promise<string[]> { return []; }
  /** @cache key=this.count */
  private async hidden(): Promise<number> { return 1; }
  private count: number = 0;
  /** @cache key=this.tags,x */
  async tagged(x: string): Promise<number> { return 1; }
  private tags: readonly string[] = [];
  get when(): Date { return new Date(); }
  /** @cache key=this.when */
  async at(): Promise<number> { return 1; }
}
export const api = {
  prefix: "p",
  users: {
    limit: 3,
    /** @cache key=this.limit,name */
    async byName(name: string): Promise<string> { return name; },
  },
  /** @cache key=this.prefix */
  async top(): Promise<string> { return ""; },
};
` } },
    "not exported": { fast: true, files: { "a.ts": `
/** @cache */
async function inner(a: string, b: number[], c: readonly string[], d: Date, e: boolean, f: bigint, g: any, h: unknown): Promise<string[]> { return []; }
/** @cache */
const arrow = async (x: { a: string }, y: [string, number]): Promise<Date> => new Date();
interface Shape { kind: string }
/** @cache */
async function shaped(s: Shape, ...rest: number[]): Promise<Shape> { return s; }
export class K {
  /** @cache */
  private async secret(id: string): Promise<readonly number[]> { return []; }
  /** @cache */
  async #hash(id: number): Promise<boolean> { return true; }
}
export { inner as renamed };
void arrow; void shaped;
` } },
    overloads: { fast: true, files: { "a.ts": `
export function over(a: string): Promise<number>;
export function over(a: number): Promise<number>;
/** @cache */
export async function over(a: any): Promise<number> { return 1; }
export class C {
  get(a: string): Promise<string>;
  get(a: number): Promise<string>;
  /** @cache */
  async get(a: unknown): Promise<string> { return ""; }
}
` } },
    exports: { fast: true, files: { "a.ts": `
/** @cache */
async function named(a: string): Promise<number> { return 1; }
export { named as alias, named };
/** @cache */
export default async function (a: string): Promise<number> { return 1; }
export namespace NS {
  /** @cache */
  export async function f(a: string): Promise<number> { return 1; }
  export namespace Deep {
    /** @cache */
    export async function g(a: string): Promise<number> { return 1; }
  }
  /** @cache */
  async function hidden(a: string): Promise<number> { return 1; }
}
`, "b.ts": `
/** @cache */
export const holder = { async get(a: string): Promise<string> { return a; } };
export * from "./a";
` } },
    patterns: { fast: true, files: { "a.ts": `
/** @cache */
export async function p({ text, limit = 10 }: { text: string; limit?: number }, [first, , third]: string[]): Promise<string> { return ""; }
/** @cache */
async function r({ a }: { a: string }): Promise<string> { return a; }
void r;
` } },
    "key parts bound by a pattern": { fast: false, files: { "a.ts": `
/** @cache key=limit,first */
export async function q({ text, limit }: { text: string; limit: number }, [first]: [string]): Promise<string> { return ""; }
` } },
    handlers: { files: { "a.ts": `
import type { IncomingMessage, ServerResponse } from "node:http";
/** @cache http=node */
export async function page(req: any, res: any): Promise<void> {}
/** @cache http=fetch key=id */
export async function api(request: any, id: string): Promise<any> { return null; }
/** @cache */
export async function fetchy(request: Request): Promise<Response> { return new Response(""); }
/** @cache */
export async function nodey(req: IncomingMessage, res: ServerResponse): Promise<void> {}
` } },
    "promise-returning": { fast: true, files: { "a.ts": `
/** @cache */
export function later(a: string): Promise<number> { return Promise.resolve(1); }
` } },
    "PromiseLike-returning": { fast: false, files: { "a.ts": `
/** @cache */
export function thenable(a: string): PromiseLike<number> { return Promise.resolve(1); }
` } },
    "inferred types": { fast: false, files: { "a.ts": `
/** @cache */
export const f = async (n: number) => n * 2;
` } },
    "class results": { fast: false, files: { "a.ts": `
export class User { constructor(public name: string) {} greet(): string { return this.name; } }
/** @cache */
export async function user(name: string): Promise<User> { return new User(name); }
` } },
    "uncacheable types": { fast: false, files: { "a.ts": `
/** @cache */
export async function cb(id: number, done: (x: number) => void): Promise<number> { return id; }
/** @cache */
export async function sym(): Promise<symbol> { return Symbol(); }
/** @cache */
export async function weak(): Promise<WeakMap<object, number>> { return new WeakMap(); }
/** @cache */
export async function nested(): Promise<{ later: Promise<number> }> { return { later: Promise.resolve(1) }; }
` } },
    "a thenable and a stream by their members": { fast: false, files: { "a.ts": `
interface Thenable { then: (f: () => void) => void }
interface Streamy { pipe: string; on: string }
/** @cache */
export async function t(x: Thenable): Promise<Streamy> { return null!; }
` } },
    "names inspect knows": { fast: false, files: { "a.ts": `
interface Map { a: string }
interface Promise2 { a: string }
/** @cache */
export async function m(x: Map): Promise<Promise2> { return null!; }
` } },
    "inherited fields": { fast: false, files: { "a.ts": `
class Base { protected region = "eu"; }
export class Child extends Base {
  /** @cache key=this.region,id */
  async get(id: string): Promise<string> { return id; }
  /** @cache key=this.missing */
  async bad(): Promise<string> { return ""; }
}
` } },
    "static and instance fields mixed up": { fast: false, files: { "a.ts": `
export class S {
  tenant = "t";
  static shared = 1;
  /** @cache key=this.tenant */
  static async f(): Promise<number> { return 1; }
  /** @cache key=this.shared */
  async g(): Promise<number> { return 1; }
}
` } },
    "generic functions": { fast: false, files: { "a.ts": `
/** @cache */
export async function g<T extends string>(x: T): Promise<T> { return x; }
` } },
    "a shadowed Promise": { fast: false, files: { "a.ts": `
type Promise<T> = globalThis.Promise<T>;
/** @cache */
export async function f(a: string): Promise<number> { return 1; }
/** @cache */
export function g(a: string): Promise<number> { return null!; }
` } },
    "String augmented into a request": { fast: false, files: { "a.ts": `
declare global { interface String { method: string; url: string; headers: Record<string, string> } }
/** @cache */
export async function f(a: string, b: { setHeader(): void; end(): void; statusCode: number }): Promise<number> { return 1; }
` } },
    "Object augmented with then": { fast: false, files: { "a.ts": `
declare global { interface Object { then(): void } }
export interface Row { id: string }
/** @cache */
export async function f(a: Row): Promise<Row> { return a; }
` } },
    "Array augmented through a base": { fast: false, files: { "a.ts": `
declare global { interface Pipeable { pipe(): void; on(): void } interface Array<T> extends Pipeable {} }
/** @cache */
export async function f(a: string[]): Promise<number[]> { return []; }
` } },
    "a module augmentation adding a function field": { fast: false, files: {
      "types.ts": ROW,
      "aug.ts": `export {};\ndeclare module "./types" { interface Row { callback: () => void } }\n`,
      "a.ts": `import type { Row } from "./types";\n/** @cache */\nexport async function f(a: string): Promise<Row> { return null!; }\n`,
    } },
    "a global interface that may merge with the lib": { fast: false, files: { "g.ts": "interface Event { detail: string }\n", "a.ts": `
/** @cache */
export async function f(e: Event): Promise<string> { return ""; }
` } },
    "scripts": { fast: false, files: { "a.ts": `
interface Row { id: string }
/** @cache */
async function f(a: Row): Promise<Row> { return a; }
` } },
    "problems": { files: { "a.ts": `
/** @cache */
export function notAsync(a: string): number { return 1; }
/** @cache ttl=forever */
export async function badTtl(a: string): Promise<number> { return 1; }
/** @cache key=nope */
export async function badKey(a: string): Promise<number> { return 1; }
/** @cache name=dup */
export async function one(a: string): Promise<number> { return 1; }
/** @cache name=dup */
export async function two(a: string): Promise<number> { return 1; }
` } },
  };

  test("a corpus of type shapes: same output; the fast path answers where it should", async () => {
    const root = corpusRoot("corpus", { esModuleInterop: true, lib: ["ES2022", "DOM"] }, true);
    for (const [name, { files, fast }] of Object.entries(CASES)) {
      await breathe();
      const outcome = runCase(root, name.replace(/\W+/g, "-"), files);
      expectSame(outcome, name);
      if (fast !== undefined) expect(outcome.fast !== undefined, `${name}: ${outcome.why}`).toBe(fast);
    }
  }, HEAVY);

  test("projects whose lib is not ts-morph's standard one take the checked path", () => {
    const plain = { "a.ts": "/** @cache */\nexport async function f(a: string): Promise<number> { return 1; }\n" };
    const noLib = runCase(corpusRoot("nolib", { noLib: true }), "c", plain);
    expect(noLib.why).toMatch(/lib/);
    expectSame(noLib, "noLib");
    const domOnly = runCase(corpusRoot("dom-only", { lib: ["DOM"] }), "c", plain);
    expect(domOnly.why).toMatch(/lib/);
    expectSame(domOnly, "lib: [DOM]");
    const replaced = corpusRoot("lib-replacement");
    fs.mkdirSync(path.join(replaced, "node_modules/@typescript/lib-es2022"), { recursive: true });
    expect(runCase(replaced, "c", plain).why).toMatch(/lib/);
    const mapped = runCase(corpusRoot("paths", { baseUrl: ".", paths: { "*": ["types/*"] } }), "c", plain);
    expect(mapped.why).toMatch(/lib/);
    expectSame(mapped, "paths *");
    expect(runCase(corpusRoot("alias", { baseUrl: ".", paths: { "@/*": ["src/*"] } }), "c", plain).why).toBeUndefined();
    const own = runCase(corpusRoot("own-lib"), "c", { ...plain, "lib.d.ts": '/// <reference no-default-lib="true"/>\ninterface Array<T> {}\n' });
    expect(own.why).toMatch(/lib/);
  }, HEAVY);

  test("random declarations: same output either way", async () => {
    const root = corpusRoot("random", { lib: ["ES2022", "DOM"] });
    fs.writeFileSync(path.join(root, "shared.ts"), [
      "export interface Plain { id: string; n: number; when: Date; tags: string[] }",
      "export interface WithFn { id: string; run: () => void }",
      "export interface WithMethod { id: string; run(): void }",
      "export type Union = Plain | string;",
      "export enum Color { Red, Green }",
      "export class Box { constructor(public v: number) {} get(): number { return this.v; } }",
      "",
    ].join("\n"));
    const leaf = fc.constantFrom("string", "number", "boolean", "bigint", "symbol", "any", "unknown", "never", "undefined", "null",
      "void", "object", "\"lit\"", "42", "true", "Date", "RegExp", "Map<string, number>", "Set<string>", "WeakMap<object, number>",
      "() => void", "Function", "Promise<number>", "PromiseLike<number>", "Plain", "WithFn", "WithMethod", "Union", "Color",
      "Color.Red", "Box", "Request", "Response", "URL", "Local", "Uint8Array", "ReadableStream", "`x-${string}`");
    const type: fc.Arbitrary<string> = fc.letrec<{ type: string }>((tie) => ({
      type: fc.oneof({ depthSize: "small", withCrossShrink: true },
        leaf,
        tie("type").map((t) => `${t}[]`),
        tie("type").map((t) => `readonly ${t}[]`),
        tie("type").map((t) => `Array<${t}>`),
        fc.tuple(tie("type"), tie("type")).map(([a, b]) => `(${a} | ${b})`),
        fc.tuple(tie("type"), tie("type")).map(([a, b]) => `(${a} & ${b})`),
        fc.tuple(tie("type"), tie("type")).map(([a, b]) => `[${a}, ${b}]`),
        fc.tuple(tie("type"), fc.boolean()).map(([t, optional]) => `{ field${optional ? "?" : ""}: ${t} }`)),
    })).type;
    const parameter = fc.record({ type, optional: fc.boolean(), annotated: fc.nat(9) });
    const declaration = fc.record({
      form: fc.constantFrom("function", "arrow", "method", "static", "private", "object"),
      exported: fc.boolean(),
      async: fc.nat(5),
      params: fc.array(parameter, { maxLength: 3 }),
      result: type,
      key: fc.constantFrom<string | undefined>(undefined, "p0", "this.field", "this.priv,p0"),
      field: type,
    });
    let n = 0;
    let fast = 0;
    await fc.assert(fc.asyncProperty(declaration, async (d) => {
      await breathe();
      const name = `case${n++}`;
      const params = d.params.map((p, i) => p.annotated === 0 && !p.optional ? `p${i} = ${i}` : `p${i}${p.optional ? "?" : ""}: ${p.type}`);
      const signature = `(${params.join(", ")}): ${d.async === 0 ? d.result : `Promise<${d.result}>`}`;
      const body = "{ return null!; }";
      const tag = `/** @cache${d.key ? ` key=${d.key}` : ""} */`;
      const mod = d.async === 0 ? "" : "async ";
      const exp = d.exported ? "export " : "";
      const text = [
        'import type { Plain, WithFn, WithMethod, Union, Color, Box } from "../shared";',
        `interface Local { a: ${d.field}; b: Plain }`,
        d.form === "function" ? `${tag}\n${exp}${mod}function ${name}${signature} ${body}`
          : d.form === "arrow" ? `${tag}\n${exp}const ${name} = ${mod}${signature} => null!;`
          : d.form === "object" ? `${exp}const ${name} = {\n  field: null! as ${d.field},\n  ${tag}\n  ${mod}run${signature} ${body}\n};`
          : `${exp}class ${name} {\n  field!: ${d.field};\n  private priv = 1;\n  static field: ${d.field};\n  static priv = 2;\n` +
            `  ${tag}\n  ${d.form === "static" ? "static " : d.form === "private" ? "private " : ""}${mod}run${signature} ${body}\n}`,
        "export {};",
        "",
      ].join("\n");
      const outcome = runCase(root, name, { "a.ts": text });
      expectSame(outcome, text);
      if (outcome.fast) fast++;
    }), { seed: Number(process.env.KF_SEED ?? 20261125), numRuns: Number(process.env.KF_RUNS ?? 250) });
    console.log(`random declarations: ${fast} of ${n} without the checker`);
    // The generator must reach the fast path often enough to test it.
    expect(fast).toBeGreaterThan(25);
  }, HEAVY);
});
