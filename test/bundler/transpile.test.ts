/**
 * The per-file rewrite (`transformSource`, no program, no type checker) that the bundler plugin
 * runs: same ids, keys and runtime calls as tspc, the syntactic diagnostics, source maps, and
 * untouched output for everything else.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TraceMap, originalPositionFor } from "@jridgewell/trace-mapping";
import * as ts from "typescript";
import { describe, expect, test } from "vitest";
import { compileFiles } from "../helpers/compile";
import { repoRoot } from "../helpers/project";
import { Problems } from "../../transformer/diagnostics";
import { formatTranspileDiagnostic, projectRootOf, transformSource } from "../../transformer/transpile";
import { keyArgumentsOf, specsOf } from "./child";

const transformRoot = path.join(repoRoot, "fixtures/transform");
const diagnosticsRoot = path.join(repoRoot, "fixtures/diagnostics");
const read = (file: string) => fs.readFileSync(file, "utf8");

describe.each(fs.readdirSync(transformRoot).sort())("fixtures/transform/%s", (name) => {
  const input = path.join(transformRoot, name, "input.ts");

  test("gives the same ids, specs and keys as tspc", () => {
    const tspc = compileFiles([input], { module: "esnext" });
    const js = tspc.outputs.get("input.js")!;
    const ours = transformSource(input, read(input), { rootDir: path.dirname(input), ts });
    // Near-miss tags (the look-alikes) only warn.
    expect(ours.diagnostics.filter((d) => d.code !== Problems.nearMissTag.code)).toEqual([]);
    expect(specsOf(ours.code)).toEqual(specsOf(js));
    expect(keyArgumentsOf(ours.code)).toEqual(keyArgumentsOf(js));
    for (const entry of ["cachedCall", "cachedHandler", "cachedFetch"]) {
      expect(ours.code.split(`.${entry}(`).length, entry).toBe(js.split(`.${entry}(`).length);
    }
    expect(ours.functions.map((f) => f.id)).toEqual(specsOf(js).map((s) => /id: "([^"]*)"/.exec(s)![1]));
    if (fs.existsSync(path.join(transformRoot, name, "untouched"))) {
      expect(ours.transformed).toBe(false);
      expect(ours.code).toBe(read(input));
    } else {
      expect(ours.transformed).toBe(true);
      expect(ours.code).toMatch(/^import \* as tscaching_\d+ from "tscaching";$/m);
    }
  });
});

describe("diagnostics without a type checker", () => {
  // What only a program knows: duplicate ids across files, types, keys.ts; and a union return type
  // annotated `Promise<T> | undefined`, which the syntax alone takes for a Promise.
  // A class instance as a key part (93028, 93029) and a data field of `this` read without key= (93027)
  // are told by types too; without them, a method reading `this` is a warning (93017) at the same line.
  // One tag name with two argument types in two files (93043) is seen across files, as duplicate ids are.
  const PROGRAM_ONLY = new Set([93016, 93018, 93023, 93024, 93001, 93027, 93028, 93029, 93043]);

  test.each(fs.readdirSync(diagnosticsRoot).sort())("fixtures/diagnostics/%s: a subset of tspc's, same lines and messages", (name) => {
    const dir = path.join(diagnosticsRoot, name);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).sort().map((f) => path.join(dir, f));
    const line = (file: string, n: number, code: number, category: string, message: string) =>
      `${path.basename(file)}:${n} ${category} TS${code}: ${message}`;
    const tspc = compileFiles(files, { config: { warnings: "diagnostic" } }).diagnostics
      .map((d) => line(d.file, d.line, d.code, d.category, d.message));
    const ours = files.flatMap((file) => transformSource(file, read(file), { rootDir: dir, ts }).diagnostics
      .map((d) => line(d.fileName, d.line, d.code, d.category, d.message)));
    for (const d of ours) {
      // With types, a read of `this` is an error (a data field, 93027) or nothing (collaborators only).
      if (/ warning TS93017: /.test(d) && !tspc.includes(d)) {
        const at = d.slice(0, d.indexOf(" "));
        expect(tspc.filter((t) => t.startsWith(`${at} `) && / TS93017: /.test(t)), d).toEqual([]);
        continue;
      }
      expect(tspc).toContain(d);
    }
    const missing = tspc.filter((d) => !ours.includes(d));
    for (const d of missing) expect(PROGRAM_ONLY.has(Number(/TS(\d+)/.exec(d)![1])), d).toBe(true);
  });

  test("a problem carries file, line and column, formatted as tsc does", () => {
    const file = path.join(os.tmpdir(), "tscaching-transpile", "src", "bad.ts");
    const result = transformSource(file, "/** @cache ttl=5x */\nexport async function f(): Promise<number> { return 1; }\n", {
      rootDir: path.dirname(path.dirname(file)), ts,
    });
    expect(result.diagnostics).toHaveLength(1);
    expect(formatTranspileDiagnostic(result.diagnostics[0], path.dirname(path.dirname(file))))
      .toBe("src/bad.ts(1,16): error TS93003: @cache: malformed ttl '5x'. Use seconds (90) or units in order d, h, m, s (5m, 2h, 1d, 1h30m); 0 means no expiry.");
  });

  test("a warning does not stop the rewrite", () => {
    const code = [
      "export class Users {",
      "  constructor(private tenant: string) {}",
      "  /** @cache */",
      "  async get(id: string): Promise<string> { return this.tenant + id; }",
      "}",
    ].join("\n");
    const result = transformSource("/p/src/users.ts", code, { rootDir: "/p", ts });
    expect(result.transformed).toBe(true);
    expect(result.diagnostics.map((d) => [d.code, d.category, d.line])).toEqual([[93017, "warning", 4]]);
  });

  test("an HTTP handler is recognised by its annotations, or by http=", () => {
    const code = [
      'import type { IncomingMessage, ServerResponse } from "node:http";',
      "/** @cache ttl=30 */",
      "export function page(req: IncomingMessage, res: ServerResponse): void { res.end('x'); }",
      "/** @cache http=node */",
      "export const legacy = (req: any, res: any) => { res.end('y'); };",
    ].join("\n");
    const result = transformSource("/p/src/pages.ts", code, { rootDir: "/p", ts });
    expect(result.code.match(/cachedHandler\(tscaching_spec_\d+, void 0, req, res,/g)).toHaveLength(2);
    expect(specsOf(result.code)).toEqual([
      'defineCached({ v: 1, id: "src/pages#page", ttl: 30, http: "node" })',
      'defineCached({ v: 1, id: "src/pages#legacy", http: "node" })',
    ]);
  });
});

describe("output", () => {
  test("a file without @cache comes back as it went in", () => {
    const code = "export const answer: number = 42;\n";
    expect(transformSource("/p/src/a.ts", code, { rootDir: "/p", ts })).toEqual({
      code, map: null, diagnostics: [], functions: [], transformed: false,
    });
    const mention = 'export const doc = "use /** @cache */ to cache";\n';
    expect(transformSource("/p/src/b.ts", mention, { rootDir: "/p", ts })).toMatchObject({ code: mention, transformed: false });
  });

  test("a file with a syntax error is left to the next step", () => {
    const code = "/** @cache */\nexport async function f( { return 1 }\n";
    expect(transformSource("/p/src/a.ts", code, { rootDir: "/p", ts })).toMatchObject({ code, transformed: false, map: null });
  });

  test("type-only imports do not become runtime imports; value imports stay", () => {
    const code = [
      'import type { Region } from "./types";',
      'import { Config, load } from "./config";',
      'import { type Shape, draw } from "./shapes";',
      "/** @cache */",
      "export async function f(r: Region, c: Config, s: Shape): Promise<string> { return load(r) + draw(s); }",
    ].join("\n");
    const plain = transformSource("/p/src/a.ts", code, { rootDir: "/p", ts });
    expect(plain.code).not.toContain("./types");
    expect(plain.code).toContain('import { load } from "./config";');
    expect(plain.code).toContain('import { draw } from "./shapes";');
    // verbatimModuleSyntax: what is not marked `type` stays, as the project asked.
    const verbatim = transformSource("/p/src/a.ts", code, { rootDir: "/p", ts, compilerOptions: { verbatimModuleSyntax: true } });
    expect(verbatim.code).not.toContain("./types");
    expect(verbatim.code).toContain('import { Config, load } from "./config";');
    expect(verbatim.code).toContain('import { draw } from "./shapes";');
  });

  test("ES imports and exports, decorators and JSX are kept for the next step", () => {
    const code = [
      'import React from "react";',
      "function logged(target: any, _context: ClassMethodDecoratorContext) { return target; }",
      "export class A {",
      "  /** @cache */",
      "  @logged",
      "  async get(id: string): Promise<string> { return id; }",
      "}",
      "export const view = () => <div>{String(A)}</div>;",
      "export default A;",
    ].join("\n");
    const result = transformSource("/p/src/view.tsx", code, { rootDir: "/p", ts });
    expect(result.transformed).toBe(true);
    expect(result.code).toContain('import React from "react";');
    expect(result.code).toContain("@logged");
    expect(result.code).toContain("<div>{String(A)}</div>");
    expect(result.code).toContain("export default A;");
    expect(result.code).toContain('id: "src/view#A.get"');
  });

  test("a CommonJS-flavoured .cts file imports the runtime with require", () => {
    const code = "/** @cache */\nexport async function f(x: number): Promise<number> { return x; }\n";
    const result = transformSource("/p/src/a.cts", code, { rootDir: "/p", ts });
    expect(result.code).toContain('const tscaching_1 = require("tscaching");');
  });

  test("the source map leads back to the original lines", () => {
    const file = path.join(repoRoot, "fixtures/projects/vite-basic/src/users.ts");
    const code = read(file);
    const result = transformSource(file, code, { ts });
    expect(result.map!.sources).toEqual(["users.ts"]);
    expect(result.map!.sourcesContent).toEqual([code]);
    expect(result.code).not.toContain("sourceMappingURL");
    const map = new TraceMap(result.map as never);
    const outputLines = result.code.split("\n");
    for (const needle of ['ran("getUser")', 'ran("Directory.lookup")', 'ran("plain")']) {
      const outLine = outputLines.findIndex((l) => l.includes(needle));
      const column = outputLines[outLine].indexOf(needle);
      const original = originalPositionFor(map, { line: outLine + 1, column });
      expect(original.line, needle).toBe(code.split("\n").findIndex((l) => l.includes(needle)) + 1);
    }
  });

  test("ids are relative to the nearest tsconfig.json's folder, as under tspc", () => {
    const file = path.join(repoRoot, "fixtures/projects/vite-basic/src/users.ts");
    expect(projectRootOf(file)).toBe(path.join(repoRoot, "fixtures/projects/vite-basic"));
    expect(transformSource(file, read(file), { ts }).functions.map((f) => f.id))
      .toEqual(["src/users#getUser", "src/users#Directory.lookup"]);
  });

  test("a name= id and a custom runtime module", () => {
    const code = "/** @cache name=users.byName */\nexport async function f(x: number): Promise<number> { return x; }\n";
    const result = transformSource("/p/src/a.ts", code, { rootDir: "/p", ts, runtime: "@acme/cache" });
    expect(result.code).toContain('import * as tscaching_1 from "@acme/cache";');
    expect(specsOf(result.code)).toEqual(['defineCached({ v: 1, id: "users.byName" })']);
  });

  test("works with TypeScript 6.0 as well", async () => {
    const ts6 = (await import("typescript-6")).default as unknown as typeof ts;
    const input = path.join(transformRoot, "classes/input.ts");
    const five = transformSource(input, read(input), { rootDir: path.dirname(input), ts });
    const six = transformSource(input, read(input), { rootDir: path.dirname(input), ts: ts6 });
    expect(specsOf(six.code)).toEqual(specsOf(five.code));
    expect(keyArgumentsOf(six.code)).toEqual(keyArgumentsOf(five.code));
  });
});
