/**
 * `tscaching/jest`: the transformer as a ts-jest AST transformer.
 *
 * @example jest.config.js
 * ```js
 * module.exports = {
 *   transform: { "^.+\\.tsx?$": ["ts-jest", { astTransformers: { before: ["tscaching/jest"] } }] },
 * };
 * ```
 *
 * ts-jest loads a module exporting `name`, `version` and `factory(tsCompiler, options)`, and calls
 * `factory` on every emit. With a full program (ts-jest's default, a LanguageService) the program
 * transformer of `tscaching/transformer` runs, type checks included; in `isolatedModules` mode
 * (no program, or one without types) each file is rewritten alone as the bundler plugins do. Both
 * give the ids tspc gives. A tag error throws, so jest fails the test file with `file(line,col)`.
 */
import * as path from "node:path";
import type * as TS from "typescript";
import tscachingTransformer, { type TscachingPluginConfig } from "../transformer/index";
import { isSingleFileProgram } from "../transformer/program-kind";
import { rewriteSourceFile } from "../transformer/rewrite";
import { mayHaveCacheTags, scanSourceFile } from "../transformer/scan";
import { projectRootOf } from "../transformer/transpile";

/** Options given as `{ path: "tscaching/jest", options: { ... } }` in `astTransformers.before`. */
export interface TscachingJestOptions {
  /** Folder ids are relative to. @default the nearest tsconfig.json's folder (as under tspc) */
  rootDir?: string;
  /** Module the rewritten code imports. @default "tscaching" */
  runtime?: string;
  /** Warnings: printed (`"warn"`), failing the test file (`"error"`) or hidden (`"off"`). @default "warn" */
  warnings?: "warn" | "error" | "off";
}

/** The part of ts-jest's `TsCompiler` this transformer reads. */
export interface TsJestCompiler {
  program?: TS.Program;
  configSet: { compilerModule: typeof TS; isolatedModules?: boolean };
}

/** Name ts-jest uses for this transformer in its cache key. */
export const name = "tscaching";
/** Bump to invalidate ts-jest's cache of transformed files when the rewrite changes. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const version: string = (require("../../package.json") as { version: string }).version;

/** One tag problem, formatted as TypeScript formats diagnostics. */
interface Found { readonly fileName: string; readonly start: number; readonly code: number; readonly message: string; readonly error: boolean }

function formatFound(ts: typeof TS, sf: TS.SourceFile, found: Found): string {
  const { line, character } = ts.getLineAndCharacterOfPosition(sf, found.start);
  const file = path.relative(process.cwd(), found.fileName).replace(/\\/g, "/") || found.fileName;
  return `${file}(${line + 1},${character + 1}): ${found.error ? "error" : "warning"} TS${found.code}: ${found.message}`;
}

/** Throw the errors (jest then fails the test file); print the warnings. */
function settle(ts: typeof TS, sf: TS.SourceFile, found: readonly Found[], warnings: string): void {
  const errors = found.filter((f) => f.error || warnings === "error");
  for (const f of found) if (!errors.includes(f) && warnings !== "off") process.stderr.write(`${formatFound(ts, sf, f)}\n`);
  if (errors.length > 0) throw new Error(`tscaching:\n${errors.map((f) => formatFound(ts, sf, { ...f, error: true })).join("\n")}`);
}

/** Does this emit produce CommonJS for `sf`? */
function emitsCommonJS(ts: typeof TS, options: TS.CompilerOptions, sf: TS.SourceFile): boolean {
  const kind = options.module ?? ts.ModuleKind.CommonJS;
  if (kind === ts.ModuleKind.CommonJS) return true;
  if (kind >= ts.ModuleKind.Node16 && kind <= ts.ModuleKind.NodeNext) {
    return (sf.impliedNodeFormat ?? (/\.c[jt]s$/.test(sf.fileName) ? ts.ModuleKind.CommonJS : undefined)) === ts.ModuleKind.CommonJS;
  }
  return false;
}

/** The per-file rewrite: scan without a checker, rewrite, report. */
function perFile(ts: typeof TS, options: TscachingJestOptions): TS.TransformerFactory<TS.SourceFile> {
  return (context) => (sf) => {
    if (sf.isDeclarationFile || !mayHaveCacheTags(sf.text)) return sf;
    const rootDir = options.rootDir ? path.resolve(options.rootDir) : projectRootOf(sf.fileName);
    const result = scanSourceFile(ts, sf, { rootDir });
    settle(ts, sf, result.problems.map((p) => ({ fileName: sf.fileName, start: p.start, code: p.code, message: p.message,
      error: p.severity === "error" })), options.warnings ?? "warn");
    return rewriteSourceFile(ts, context, sf, result.functions,
      { runtime: options.runtime ?? "tscaching", commonjs: emitsCommonJS(ts, context.getCompilerOptions(), sf) });
  };
}

/** The program transformer, with its diagnostics collected per file and settled as above. */
function withProgram(ts: typeof TS, program: TS.Program, options: TscachingJestOptions): TS.TransformerFactory<TS.SourceFile> {
  const found: Found[] = [];
  const config: TscachingPluginConfig = { runtime: options.runtime, rootDir: options.rootDir,
    warnings: options.warnings === "off" ? "off" : "diagnostic" };
  const inner = tscachingTransformer(program, config, {
    ts,
    addDiagnostic: (d) => found.push({ fileName: d.file?.fileName ?? "", start: d.start ?? 0, code: d.code,
      message: ts.flattenDiagnosticMessageText(d.messageText, "\n"), error: d.category === ts.DiagnosticCategory.Error }),
  });
  return (context) => {
    const transform = inner(context);
    return (sf) => {
      found.length = 0;
      const out = transform(sf);
      settle(ts, sf, found.filter((f) => f.fileName === sf.fileName || f.fileName === ""), options.warnings ?? "warn");
      return out;
    };
  };
}

const byProgram = new WeakMap<TS.Program, TS.TransformerFactory<TS.SourceFile>>();

/** ts-jest's entry: called on every emit with its compiler. */
export function factory(tsCompiler: TsJestCompiler, options: TscachingJestOptions = {}): TS.TransformerFactory<TS.SourceFile> {
  if (options.warnings !== undefined && !["warn", "error", "off"].includes(options.warnings)) {
    throw new TypeError(`tscaching/jest: option "warnings" must be one of warn, error, off; got ${JSON.stringify(options.warnings)}`);
  }
  const ts = tsCompiler.configSet.compilerModule;
  const program = tsCompiler.program;
  if (!program || tsCompiler.configSet.isolatedModules || isSingleFileProgram(program)) return perFile(ts, options);
  // One program transformer per program: its scan of the whole program is made once, not per file.
  let known = byProgram.get(program);
  if (!known) byProgram.set(program, known = withProgram(ts, program, options));
  return known;
}
