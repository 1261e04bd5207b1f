/**
 * The rewrite one file at a time, without a program: what bundlers (vite, vitest, rollup, esbuild,
 * webpack) and other per-file pipelines need, since they never build a TypeScript program and ignore
 * compiler transformers. Same scanner, same rewrite, same ids and keys as under tspc.
 *
 * Without a type checker, decisions that need types fall back to the syntax: a function must be
 * `async` or annotated `Promise<...>`, an HTTP handler is recognised by its annotations
 * (`IncomingMessage`/`ServerResponse`, `Request`/`Response`) or an explicit `http=` option, and the
 * type checks (93018, 93023) and the stale keys.ts warning (93024) come from tspc, `tscaching check`
 * and the editor plugin instead. Duplicate ids (93016) are found within the file, and across files
 * when the caller passes one `ids` registry for all of them (the bundler plugins do).
 *
 * @example
 * ```ts
 * const { code, map, diagnostics } = transformSource("/app/src/db.ts", text, { rootDir: "/app" });
 * ```
 */
import * as path from "node:path";
import type * as TS from "typescript";
import type { Problem, Severity } from "./diagnostics";
import { IdOwners, TagShapes } from "./project";
import { rewritableFunctions, rewriteSourceFile } from "./rewrite";
import { mayHaveCacheTags, scanSourceFile } from "./scan";
import { fileSettings } from "./settings";

export { findTsconfig } from "./settings";

/** A source map (version 3) as bundlers take it. */
export interface SourceMapV3 {
  version: number;
  file?: string;
  sourceRoot?: string;
  sources: string[];
  sourcesContent?: Array<string | null>;
  names: string[];
  mappings: string;
}

export interface TransformSourceOptions {
  /**
   * Folder ids are relative to (relative paths: to the nearest tsconfig.json's folder).
   * @default the nearest tsconfig's transformer entry's `rootDir`, else that tsconfig's folder, as under tspc
   */
  readonly rootDir?: string;
  /** Module the rewritten code imports. @default the nearest tsconfig's transformer entry's `runtime`, else "tscaching" */
  readonly runtime?: string;
  /** The TypeScript module to use. @default the project's `typescript`, else the one next to tscaching */
  readonly ts?: typeof TS;
  /**
   * The project's compiler options (from its tsconfig). Only the options that change how one file
   * is emitted are used: decorators, class fields, `verbatimModuleSyntax`, import helpers.
   */
  readonly compilerOptions?: TS.CompilerOptions;
  /** Produce a source map. @default true */
  readonly sourceMap?: boolean;
  /**
   * The ids claimed so far, for the duplicate-id check (93016) across files: a bundler passes one
   * registry for the whole build. @default a fresh one (duplicates within the file only)
   */
  readonly ids?: IdOwners;
  /** Tag argument types seen so far (across files, when the caller keeps one for all of them). */
  readonly tagShapes?: TagShapes;
}

/** A tscaching problem found in one file, with its position. */
export interface TranspileDiagnostic {
  readonly fileName: string;
  readonly code: number;
  readonly category: Severity;
  readonly message: string;
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
  /** Offset and length in the original text. */
  readonly start: number;
  readonly length: number;
}

/** A function the file caches, as tspc would cache it. */
export interface TranspiledFunction {
  readonly id: string;
  readonly qualifiedName: string;
  readonly line: number;
}

export interface TransformSourceResult {
  /**
   * The rewritten file as JavaScript (ESNext, imports kept as ES imports, JSX preserved), which is
   * also valid TypeScript for a next step; the input text itself when nothing was rewritten.
   */
  readonly code: string;
  /** Maps `code` back to the input; null when nothing was rewritten. */
  readonly map: SourceMapV3 | null;
  readonly diagnostics: TranspileDiagnostic[];
  readonly functions: TranspiledFunction[];
  /** Whether `code` differs from the input (at least one function is cached). */
  readonly transformed: boolean;
}

/** Compiler options copied from the project: the ones that change what one file's emit means. */
const KEPT_OPTIONS = [
  "experimentalDecorators", "emitDecoratorMetadata", "useDefineForClassFields", "verbatimModuleSyntax",
  "preserveValueImports", "importsNotUsedAsValues", "importHelpers", "preserveConstEnums", "jsxImportSource",
] as const;

const typescriptByRoot = new Map<string, typeof TS>();

/**
 * The `typescript` the project uses (resolved from `rootDir`), else the one tscaching resolves.
 * Throws a readable error when there is none.
 */
export function loadTypeScript(rootDir?: string): typeof TS {
  const key = rootDir ?? "";
  const known = typescriptByRoot.get(key);
  if (known) return known;
  let ts: typeof TS | undefined;
  if (rootDir) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ts = require(require.resolve("typescript", { paths: [rootDir] })) as typeof TS;
    } catch {
      // fall back to ours
    }
  }
  if (!ts) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ts = require("typescript") as typeof TS;
    } catch {
      throw new Error("tscaching: the rewrite needs the 'typescript' package; install it (npm install -D typescript)");
    }
  }
  typescriptByRoot.set(key, ts);
  return ts;
}

/** The folder ids are relative to for a file: its project's `rootDir` (the tsconfig's folder unless the entry says otherwise). */
export function projectRootOf(fileName: string, ts: typeof TS = loadTypeScript(path.dirname(path.resolve(fileName)))): string {
  return fileSettings(ts, fileName).rootDir;
}

/** `src/db.ts(3,5): error TS93003: @cache: malformed ttl '5x'`, relative to `cwd`. */
export function formatTranspileDiagnostic(d: TranspileDiagnostic, cwd = process.cwd()): string {
  const file = path.relative(cwd, d.fileName).replace(/\\/g, "/") || d.fileName;
  return `${file}(${d.line},${d.column}): ${d.category} TS${d.code}: ${d.message}`;
}

/**
 * Rewrite one file's cached functions, with no program and no type checker. A file without `@cache`
 * text, or whose tags all have errors, comes back as it went in (`transformed: false`).
 */
export function transformSource(fileName: string, code: string, options: TransformSourceOptions = {}): TransformSourceResult {
  const untouched = (diagnostics: TranspileDiagnostic[] = [], functions: TranspiledFunction[] = []): TransformSourceResult =>
    ({ code, map: null, diagnostics, functions, transformed: false });
  if (!mayHaveCacheTags(code)) return untouched();
  const absolute = path.resolve(fileName);
  const ts = options.ts ?? loadTypeScript(path.dirname(absolute));
  const { rootDir, runtime } = fileSettings(ts, absolute, { rootDir: options.rootDir, runtime: options.runtime });
  const ids = options.ids ?? new IdOwners();
  const tagShapes = options.tagShapes ?? new TagShapes();
  const isCommonJS = /\.c[jt]s$/.test(absolute);
  const diagnostics: TranspileDiagnostic[] = [];
  const functions: TranspiledFunction[] = [];
  let rewritten = false;

  const report = (sf: TS.SourceFile, p: Problem) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(p.start);
    diagnostics.push({ fileName: absolute, code: p.code, category: p.severity, message: p.message,
      line: line + 1, column: character + 1, start: p.start, length: p.length });
  };
  const before: TS.TransformerFactory<TS.SourceFile> = (context) => (sf) => {
    const result = scanSourceFile(ts, sf, { rootDir });
    ids.forget(absolute);
    tagShapes.forget(absolute);
    for (const fn of result.functions) {
      const duplicate = ids.claim(rootDir, absolute, fn);
      if (duplicate) result.problems.push(duplicate);
      result.problems.push(...tagShapes.claim(ts, rootDir, absolute, fn));
    }
    for (const p of result.problems) report(sf, p);
    for (const fn of result.functions) functions.push({ id: fn.id, qualifiedName: fn.qualifiedName, line: fn.line });
    const rewritable = rewritableFunctions(result.functions, result.problems);
    if (rewritable.length === 0) return sf;
    rewritten = true;
    return rewriteSourceFile(ts, context, sf, rewritable, { runtime, commonjs: isCommonJS });
  };

  const output = ts.transpileModule(code, {
    fileName: absolute,
    reportDiagnostics: true,
    compilerOptions: emitOptions(ts, options.compilerOptions ?? {}, options.sourceMap !== false),
    transformers: { before: [before] },
  });
  // A syntax error: leave the file to the next step, which reports it in its own words.
  if (output.diagnostics?.some((d) => d.category === ts.DiagnosticCategory.Error)) return untouched();
  if (!rewritten) return untouched(diagnostics, functions);
  const text = output.outputText.replace(/\n?\/\/# sourceMappingURL=[^\n]*\s*$/, "\n");
  let map: SourceMapV3 | null = null;
  if (output.sourceMapText) {
    map = JSON.parse(output.sourceMapText) as SourceMapV3;
    map.sources = [path.basename(absolute)];
    map.sourcesContent = [code];
    map.file = path.basename(absolute);
  }
  return { code: text, map, diagnostics, functions, transformed: true };
}

/** Options for emitting one file: modern output that keeps imports, JSX and syntax for the next step. */
function emitOptions(ts: typeof TS, project: TS.CompilerOptions, sourceMap: boolean): TS.CompilerOptions {
  const options: TS.CompilerOptions = {};
  for (const name of KEPT_OPTIONS) if (project[name] !== undefined) (options as Record<string, unknown>)[name] = project[name];
  // Class fields keep the semantics the project's own target gives them (as esbuild does).
  if (options.useDefineForClassFields === undefined && project.target !== undefined) {
    options.useDefineForClassFields = project.target >= ts.ScriptTarget.ES2022;
  }
  // `module: preserve` (TypeScript 5.4+) keeps every import and export form as written.
  const preserve = (ts.ModuleKind as unknown as Record<string, TS.ModuleKind | undefined>).Preserve;
  return {
    ...options,
    target: ts.ScriptTarget.ESNext,
    module: preserve ?? ts.ModuleKind.ESNext,
    jsx: ts.JsxEmit.Preserve,
    isolatedModules: true,
    sourceMap,
    inlineSourceMap: false,
    inlineSources: false,
    declaration: false,
    removeComments: false,
    noEmit: false,
  };
}
