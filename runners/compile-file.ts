/**
 * One tagged TypeScript file to runnable JavaScript, for runners that execute TypeScript from source
 * (tsx, Node's loader hooks): the per-file scan and rewrite `tscaching/transpile` uses (same ids as
 * tspc) and type stripping in one pass with the project's own `typescript`, to the module format
 * Node will load the file as. Files without a `@cache` tag are not touched here: the runner compiles them itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as TS from "typescript";
import { rewriteSourceFile } from "../transformer/rewrite";
import { mayHaveCacheTags, scanSourceFile } from "../transformer/scan";
import { findTsconfig, formatTranspileDiagnostic, loadTypeScript, projectRootOf } from "../transformer/transpile";

/** The module format Node gives a file: by extension, else by the nearest package.json's "type". */
export function moduleFormatOf(fileName: string): "module" | "commonjs" {
  if (/\.m[jt]s$/.test(fileName)) return "module";
  if (/\.c[jt]s$/.test(fileName)) return "commonjs";
  for (let dir = path.dirname(fileName); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        return (JSON.parse(fs.readFileSync(pkg, "utf8")) as { type?: string }).type === "module" ? "module" : "commonjs";
      } catch {
        return "commonjs";
      }
    }
    if (path.dirname(dir) === dir) return "commonjs";
  }
}

/** The project's options that change what one file's emit means (an option set to undefined is an error for transpileModule). */
const KEPT_OPTIONS = [
  "experimentalDecorators", "emitDecoratorMetadata", "useDefineForClassFields", "verbatimModuleSyntax", "jsx", "jsxImportSource",
  "jsxFactory", "jsxFragmentFactory",
] as const;

/** What the nearest tsconfig says: compiler options, and the tscaching transformer entry's `rootDir` and `runtime`. */
interface ProjectSettings {
  readonly options: TS.CompilerOptions;
  readonly rootDir: string;
  readonly runtime: string;
}

const settingsByConfig = new Map<string, ProjectSettings>();

function settingsOf(ts: typeof TS, fileName: string): ProjectSettings {
  const config = findTsconfig(path.dirname(fileName));
  if (!config) return { options: {}, rootDir: projectRootOf(fileName), runtime: "tscaching" };
  let settings = settingsByConfig.get(config);
  if (!settings) {
    const parsed = ts.getParsedCommandLineOfConfigFile(config, undefined, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    const options = parsed?.options ?? {};
    const plugins = (options.plugins ?? []) as unknown as Array<Record<string, unknown>>;
    const entry = plugins.find((p) => typeof p.transform === "string" && /^tscaching\/transformer(?:\/|$)/.test(p.transform)) ?? {};
    settings = {
      options,
      rootDir: typeof entry.rootDir === "string" ? path.resolve(path.dirname(config), entry.rootDir) : path.dirname(config),
      runtime: typeof entry.runtime === "string" ? entry.runtime : "tscaching",
    };
    settingsByConfig.set(config, settings);
  }
  return settings;
}

/** Is this a TypeScript source file (not a declaration file) that mentions `@cache`? */
export function isTaggedSource(fileName: string, text: string): boolean {
  return /\.[cm]?tsx?$/.test(fileName) && !/\.d\.[cm]?tsx?$/.test(fileName) && text.includes("@cache");
}

/**
 * Compile a tagged file to JavaScript in `format`, with an inline source map of the original text
 * (one `transpileModule`, the rewrite as its `before` transformer, so stack traces point at the
 * user's lines). Throws an Error listing `file(line,col): error TS930xx: ...` when a tag has an
 * error, so the process stops there. Returns undefined when nothing in the file is cached (the
 * runner compiles it as usual).
 */
export function compileTaggedFile(fileName: string, text: string, format: "module" | "commonjs"): string | undefined {
  if (!mayHaveCacheTags(text)) return undefined;
  const ts = loadTypeScript(projectRootOf(fileName));
  const { options: project, rootDir, runtime } = settingsOf(ts, fileName);
  const problems: string[] = [];
  let rewritten = false;
  const before: TS.TransformerFactory<TS.SourceFile> = (context) => (sf) => {
    const result = scanSourceFile(ts, sf, { rootDir });
    for (const p of result.problems) {
      const { line, character } = sf.getLineAndCharacterOfPosition(p.start);
      const message = formatTranspileDiagnostic({ fileName, code: p.code, category: p.severity, message: p.message,
        line: line + 1, column: character + 1, start: p.start, length: p.length });
      if (p.severity === "error") problems.push(message);
      else process.stderr.write(`${message}\n`);
    }
    if (result.functions.length === 0) return sf;
    rewritten = true;
    return rewriteSourceFile(ts, context, sf, result.functions, { runtime, commonjs: format === "commonjs" });
  };
  const kept: TS.CompilerOptions = {};
  for (const name of KEPT_OPTIONS) if (project[name] !== undefined) (kept as Record<string, unknown>)[name] = project[name];
  const output = ts.transpileModule(text, {
    fileName,
    reportDiagnostics: true,
    transformers: { before: [before] },
    compilerOptions: {
      ...kept,
      target: ts.ScriptTarget.ES2022,
      module: format === "module" ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
      esModuleInterop: true,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  if (problems.length > 0) throw new Error(`tscaching:\n${problems.join("\n")}`);
  // A syntax error, or nothing cached: the runner compiles the file and reports in its own words.
  if (!rewritten || output.diagnostics?.some((d) => d.file !== undefined && d.category === ts.DiagnosticCategory.Error)) return undefined;
  return output.outputText;
}
