/**
 * Compile fixture files in memory with the real transformer, as ts-patch would: the plugin function
 * gets the program, its config and extras with `addDiagnostic`, and runs as a `before` transformer.
 */
import * as path from "node:path";
import type * as TS from "typescript";
import tscachingTransformer, { type TscachingPluginConfig } from "../../transformer/index";

export interface CompiledDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly code: number;
  readonly category: "error" | "warning";
  readonly message: string;
}

export interface CompileResult {
  /** Emitted files by base name (`input.js`, `input.js.map`, `input.d.ts`). */
  readonly outputs: Map<string, string>;
  readonly diagnostics: CompiledDiagnostic[];
}

export interface CompileOptions {
  readonly ts?: typeof TS;
  readonly module?: "commonjs" | "esnext" | "nodenext";
  readonly target?: "es2022" | "es2015" | "es5";
  readonly plugin?: boolean;
  readonly config?: TscachingPluginConfig;
  readonly compilerOptions?: TS.CompilerOptions;
  /**
   * How JSDoc is parsed: "tsc" as tsc and tspc do (skipped in .ts files but for @see/@link), or "all"
   * as the editor and ts-morph do. @default "tsc"
   */
  readonly jsDoc?: "tsc" | "all";
  /** Report each diagnostic's offset too. */
  readonly offsets?: boolean;
}

const libraryCache = new WeakMap<typeof TS, Map<string, TS.SourceFile | undefined>>();

export function compileFiles(rootNames: string[], options: CompileOptions = {}): CompileResult {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts: typeof TS = options.ts ?? require("typescript");
  const compilerOptions: TS.CompilerOptions = {
    target: ts.ScriptTarget[options.target === "es5" ? "ES5" : options.target === "es2015" ? "ES2015" : "ES2022"],
    module: options.module === "esnext" ? ts.ModuleKind.ESNext
      : options.module === "nodenext" ? ts.ModuleKind.NodeNext : ts.ModuleKind.CommonJS,
    moduleResolution: options.module === "nodenext" ? ts.ModuleResolutionKind.NodeNext : ts.ModuleResolutionKind.Node10,
    strict: true, experimentalDecorators: false, esModuleInterop: true, skipLibCheck: true,
    lib: ["lib.es2022.d.ts"], types: ["node"], typeRoots: [path.resolve(__dirname, "../../node_modules/@types")],
    ...options.compilerOptions,
  };
  const host = ts.createCompilerHost(compilerOptions);
  // Library files (lib.*.d.ts, @types) are parsed once per TypeScript copy and shared by all compiles.
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    if (!fileName.includes("node_modules") && !/lib\.[\w.]*d\.ts$/.test(fileName)) return getSourceFile(fileName, languageVersion, ...rest);
    const cache = libraryCache.get(ts) ?? new Map<string, TS.SourceFile | undefined>();
    libraryCache.set(ts, cache);
    const key = `${fileName}|${JSON.stringify(languageVersion)}`;
    if (!cache.has(key)) cache.set(key, getSourceFile(fileName, languageVersion, ...rest));
    return cache.get(key);
  };
  (host as { jsDocParsingMode?: TS.JSDocParsingMode }).jsDocParsingMode = options.jsDoc === "all"
    ? ts.JSDocParsingMode.ParseAll : ts.JSDocParsingMode.ParseForTypeErrors;
  const outputs = new Map<string, string>();
  host.writeFile = (fileName, text) => outputs.set(path.basename(fileName), text);
  const program = ts.createProgram({ rootNames, options: compilerOptions, host });
  const collected: TS.Diagnostic[] = [];
  const before = options.plugin === false ? [] : [tscachingTransformer(program, {
    rootDir: path.dirname(rootNames[0]), ...options.config,
  }, { ts, addDiagnostic: (d) => collected.push(d) })];
  program.emit(undefined, undefined, undefined, false, { before });
  const diagnostics = collected.map((d) => ({
    file: path.basename(d.file!.fileName),
    line: d.file!.getLineAndCharacterOfPosition(d.start!).line + 1,
    code: d.code,
    category: d.category === ts.DiagnosticCategory.Warning ? "warning" as const : "error" as const,
    message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    ...(options.offsets ? { start: d.start, length: d.length } : {}),
  }));
  return { outputs, diagnostics };
}
