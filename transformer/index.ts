/**
 * The ts-patch entry point: `{ "transform": "tscaching/transformer" }` in `compilerOptions.plugins`.
 *
 * @example tsconfig.json
 * ```json
 * { "compilerOptions": { "plugins": [{ "transform": "tscaching/transformer", "warnings": "warn" }] } }
 * ```
 */
import type * as TS from "typescript";
import type { Problem } from "./diagnostics";
import { isCommonJSScript } from "./factory";
import { KEYS_HEADER } from "./keys-file";
import { isSingleFileProgram } from "./program-kind";
import { fileProblems, scanProgram } from "./project";
import { toDiagnostic } from "./report";
import { surfaceErrorsUnderTsNode } from "./ts-node";
import { rewriteSourceFile } from "./rewrite";
import type { ScanResult } from "./model";
import { programSettings, type VersionSource, type WarningMode } from "./settings";

/** Options read from the plugin entry in tsconfig.json (resolved by `resolveSettings`). */
export interface TscachingPluginConfig {
  /**
   * What to do with warnings (e.g. a method reading `this` with no `key=`). tsc exits with status 2
   * on any diagnostic, warnings included, so by default warnings are printed without failing the build.
   * - `"warn"`: print them to stderr in tsc's format; the exit status is unchanged. @default
   * - `"diagnostic"`: report them as warning diagnostics (visible to tools; tsc then exits 2).
   * - `"error"`: report them as errors.
   * - `"off"`: ignore them.
   */
  warnings?: WarningMode;
  /** Module the rewritten code imports. @default "tscaching" */
  runtime?: string;
  /** Folder that ids are relative to, relative to the tsconfig's folder. @default the tsconfig's folder */
  rootDir?: string;
  /** Where versions come from: `"checker"` (tspc) or `"syntax"` (as a bundler build). @default "checker" */
  versions?: VersionSource;
}

/** The subset of ts-patch's `TransformerExtras` the plugin uses. */
export interface TransformerExtras {
  ts: typeof TS;
  addDiagnostic: (diagnostic: TS.Diagnostic) => number;
}

/** ts-patch "program" plugin: `(program, config, extras) => TransformerFactory`. */
export default function tscachingTransformer(program: TS.Program, config: TscachingPluginConfig = {},
                                             extras?: Partial<TransformerExtras>): TS.TransformerFactory<TS.SourceFile> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts: typeof TS = extras?.ts ?? require("typescript");
  const { rootDir, runtime, warnings, versions } = programSettings(program, config);
  extras = surfaceErrorsUnderTsNode(ts, program, extras);
  let scans: Map<TS.SourceFile, ScanResult> | undefined;
  // transpileModule's program (ts-node --transpile-only): no types, so decide by syntax, compare no keys.ts.
  const syntaxOnly = isSingleFileProgram(program);

  const report = (sf: TS.SourceFile, p: Problem) => {
    const diagnostic = toDiagnostic(ts, sf, p, warnings);
    if (!diagnostic) return;
    // "warn": a warning goes to stderr, so that tsc's exit status stays 0 (it exits 2 on any diagnostic).
    if ((warnings === "warn" && diagnostic.category === ts.DiagnosticCategory.Warning) || !extras?.addDiagnostic) {
      process.stderr.write(ts.formatDiagnostic(diagnostic, {
        getCanonicalFileName: (f) => f, getCurrentDirectory: () => program.getCurrentDirectory(), getNewLine: () => "\n",
      }));
      return;
    }
    extras.addDiagnostic(diagnostic);
  };

  return (context) => {
    const transformFile = (sf: TS.SourceFile): TS.SourceFile => {
      scans ??= scanProgram(ts, program, { rootDir, types: !syntaxOnly, versions });
      // The program's own SourceFile object is the key; files outside the project are not scanned.
      const original = program.getSourceFile(sf.fileName) ?? sf;
      // A one-file program (transpileModule) resolves no import and holds no other file: it can tell
      // neither a missing nor a stale keys.ts, so only the file's own tag problems are reported.
      const problems = syntaxOnly ? scans.get(original)?.problems ?? [] : fileProblems(ts, program, original, scans, runtime);
      for (const p of problems) report(sf, p);
      if (original.text.startsWith(KEYS_HEADER)) return sf;
      const result = scans.get(original);
      if (!result) return sf;
      return rewriteSourceFile(ts, context, sf, result.functions,
        { runtime, commonjs: emitsCommonJS(ts, program, sf) || isCommonJSScript(ts, original), problems: result.problems });
    };
    return ((node: TS.SourceFile | TS.Bundle) => ts.isBundle(node)
      ? context.factory.updateBundle(node, node.sourceFiles.map(transformFile))
      : transformFile(node)) as TS.Transformer<TS.SourceFile>;
  };
}

/** Will this file be emitted as CommonJS (module commonjs, or a .cts / CJS-scoped file under node16+)? */
function emitsCommonJS(ts: typeof TS, program: TS.Program, sf: TS.SourceFile): boolean {
  const original = program.getSourceFile(sf.fileName) ?? sf;
  // TypeScript 5.6+ answers this itself (it knows `module` defaults and package.json "type").
  const exact = (program as { getEmitModuleFormatOfFile?: (f: TS.SourceFile) => TS.ModuleKind }).getEmitModuleFormatOfFile;
  if (exact) return exact.call(program, original) === ts.ModuleKind.CommonJS;
  const options = program.getCompilerOptions();
  const kind = options.module ?? (options.target !== undefined && options.target >= ts.ScriptTarget.ES2015
    ? ts.ModuleKind.ES2015 : ts.ModuleKind.CommonJS);
  if (kind === ts.ModuleKind.CommonJS) return true;
  if (kind >= ts.ModuleKind.Node16 && kind <= ts.ModuleKind.NodeNext) return original.impliedNodeFormat === ts.ModuleKind.CommonJS;
  return false;
}
