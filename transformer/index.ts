/**
 * The ts-patch entry point: `{ "transform": "tscaching/transformer" }` in `compilerOptions.plugins`.
 *
 * @example tsconfig.json
 * ```json
 * { "compilerOptions": { "plugins": [{ "transform": "tscaching/transformer", "warnings": "warn" }] } }
 * ```
 */
import * as path from "node:path";
import type * as TS from "typescript";
import { problem, type Problem } from "./diagnostics";
import { generateKeysFile, KEYS_HEADER } from "./keys-file";
import { isSingleFileProgram } from "./program-kind";
import { scanProgram } from "./project";
import { rewriteSourceFile } from "./rewrite";
import type { ScanResult } from "./scan";
import { surfaceErrorsUnderTsNode } from "./ts-node";

/** Options read from the plugin entry in tsconfig.json. */
export interface TscachingPluginConfig {
  /**
   * What to do with warnings (e.g. a method reading `this` with no `key=`). tsc exits with status 2
   * on any diagnostic, warnings included, so by default warnings are printed without failing the build.
   * - `"warn"`: print them to stderr in tsc's format; the exit status is unchanged. @default
   * - `"diagnostic"`: report them as warning diagnostics (visible to tools; tsc then exits 2).
   * - `"error"`: report them as errors.
   * - `"off"`: ignore them.
   */
  warnings?: "warn" | "diagnostic" | "error" | "off";
  /** Module the rewritten code imports. @default "tscaching" */
  runtime?: string;
  /** Folder that ids are relative to. @default the tsconfig's folder */
  rootDir?: string;
}

/** The subset of ts-patch's `TransformerExtras` the plugin uses. */
export interface TransformerExtras {
  ts: typeof TS;
  addDiagnostic: (diagnostic: TS.Diagnostic) => number;
}

const WARNING_MODES = ["warn", "diagnostic", "error", "off"];

/** ts-patch "program" plugin: `(program, config, extras) => TransformerFactory`. */
export default function tscachingTransformer(program: TS.Program, config: TscachingPluginConfig = {},
                                             extras?: Partial<TransformerExtras>): TS.TransformerFactory<TS.SourceFile> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts: typeof TS = extras?.ts ?? require("typescript");
  extras = surfaceErrorsUnderTsNode(ts, program, extras);
  const warnings = config.warnings ?? "warn";
  if (!WARNING_MODES.includes(warnings)) {
    throw new TypeError(`tscaching: plugin option "warnings" must be one of ${WARNING_MODES.join(", ")}; got ${JSON.stringify(warnings)}`);
  }
  const runtime = config.runtime ?? "tscaching";
  let scans: Map<TS.SourceFile, ScanResult> | undefined;
  // transpileModule's program (ts-node --transpile-only): no types, so decide by syntax, compare no keys.ts.
  const syntaxOnly = isSingleFileProgram(program);

  const report = (sf: TS.SourceFile, p: Problem) => {
    const severity = p.severity === "warning" ? warnings : "error";
    if (severity === "off") return;
    const diagnostic: TS.Diagnostic = {
      file: sf, start: p.start, length: p.length, messageText: p.message, code: p.code, source: "tscaching",
      category: severity === "diagnostic" ? ts.DiagnosticCategory.Warning : ts.DiagnosticCategory.Error,
    };
    if (severity === "warn" || !extras?.addDiagnostic) {
      if (severity === "warn") diagnostic.category = ts.DiagnosticCategory.Warning;
      process.stderr.write(ts.formatDiagnostic(diagnostic, {
        getCanonicalFileName: (f) => f, getCurrentDirectory: () => program.getCurrentDirectory(), getNewLine: () => "\n",
      }));
      return;
    }
    extras.addDiagnostic(diagnostic);
  };

  return (context) => {
    const transformFile = (sf: TS.SourceFile): TS.SourceFile => {
      scans ??= scanProgram(ts, program, { rootDir: config.rootDir, types: !syntaxOnly });
      // The program's own SourceFile object is the key; files outside the project are not scanned.
      const original = program.getSourceFile(sf.fileName) ?? sf;
      if (original.text.startsWith(KEYS_HEADER)) {
        if (syntaxOnly) return sf;
        // A generated registry: compare it with what `tscaching keys` would write now.
        const expected = generateKeysFile(ts, program, scans, original.fileName, runtime);
        if (expected !== original.text) report(sf, problem("staleKeys", 0, KEYS_HEADER.length, path.basename(original.fileName)));
        return sf;
      }
      const result = scans.get(original);
      if (!result) return sf;
      for (const p of result.problems) report(sf, p);
      return rewriteSourceFile(ts, context, sf, result.functions, { runtime, commonjs: emitsCommonJS(ts, program, sf) });
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
