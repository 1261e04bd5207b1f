/**
 * One tagged TypeScript file to runnable JavaScript, for runners that execute TypeScript from source
 * (tsx, Node's loader hooks): the per-file rewrite of `tscaching/transpile` (same ids as tspc),
 * then type stripping with the project's own `typescript` to the module format Node will load the
 * file as. Files without a `@cache` tag are not touched here: the runner compiles them itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as TS from "typescript";
import { findTsconfig, formatTranspileDiagnostic, loadTypeScript, projectRootOf, transformSource } from "../transformer/transpile";

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

const optionsByConfig = new Map<string, TS.CompilerOptions>();

function compilerOptionsOf(ts: typeof TS, fileName: string): TS.CompilerOptions {
  const config = findTsconfig(path.dirname(fileName));
  if (!config) return {};
  let options = optionsByConfig.get(config);
  if (!options) {
    const parsed = ts.getParsedCommandLineOfConfigFile(config, undefined, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    options = parsed?.options ?? {};
    optionsByConfig.set(config, options);
  }
  return options;
}

/** Is this a TypeScript source file (not a declaration file) that mentions `@cache`? */
export function isTaggedSource(fileName: string, text: string): boolean {
  return /\.[cm]?tsx?$/.test(fileName) && !/\.d\.[cm]?tsx?$/.test(fileName) && text.includes("@cache");
}

/**
 * Compile a tagged file to JavaScript in `format`, with an inline source map. Throws an Error
 * listing `file(line,col): error TS930xx: ...` when a tag has an error, so the process fails there.
 * Returns undefined when nothing in the file is cached (the runner compiles it as usual).
 */
export function compileTaggedFile(fileName: string, text: string, format: "module" | "commonjs"): string | undefined {
  const rootDir = projectRootOf(fileName);
  const ts = loadTypeScript(rootDir);
  const project = compilerOptionsOf(ts, fileName);
  const rewritten = transformSource(fileName, text, { rootDir, ts, compilerOptions: project, sourceMap: false });
  const errors = rewritten.diagnostics.filter((d) => d.category === "error");
  for (const d of rewritten.diagnostics) if (d.category !== "error") process.stderr.write(`${formatTranspileDiagnostic(d)}\n`);
  if (errors.length > 0) throw new Error(`tscaching:\n${errors.map((d) => formatTranspileDiagnostic(d)).join("\n")}`);
  if (!rewritten.transformed) return undefined;
  const output = ts.transpileModule(rewritten.code, {
    fileName,
    compilerOptions: {
      experimentalDecorators: project.experimentalDecorators,
      emitDecoratorMetadata: project.emitDecoratorMetadata,
      useDefineForClassFields: project.useDefineForClassFields,
      jsx: project.jsx,
      target: ts.ScriptTarget.ES2022,
      module: format === "module" ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
      esModuleInterop: true,
      inlineSourceMap: true,
      inlineSources: true,
    },
  });
  return output.outputText;
}
