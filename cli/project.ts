/**
 * The user's project as the CLI reads it: the tsconfig parsed with ts-morph's bundled TypeScript,
 * one ts-morph Project (so one program and one type checker per command), and the scanner's view
 * of it. ts-morph's own `ts` is the only TypeScript module used here: nodes of two TypeScript
 * copies must never meet.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Project } from "ts-morph";
import type * as TS from "typescript";
import { scanProgram } from "../transformer/project";
import type { CachedFunction, ScanResult } from "../transformer/scan";
import type { Problem } from "../transformer/diagnostics";
import { CliError } from "./errors";

let morph: typeof import("ts-morph") | undefined;

/** ts-morph, loaded on first use: commands that need no project (stats, flush, --help) skip its second of start-up. */
function tsMorph(): typeof import("ts-morph") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (morph ??= require("ts-morph") as typeof import("ts-morph"));
}

/** ts-morph's TypeScript, typed as the `typescript` declarations the scanner is written against. */
export function morphTs(): typeof TS {
  return tsMorph().ts as unknown as typeof TS;
}

/** A loaded project: its tsconfig, ts-morph Project and program. */
export interface LoadedProject {
  /** Absolute path of the tsconfig file. */
  readonly configPath: string;
  /** The tsconfig's folder, which ids are relative to. */
  readonly rootDir: string;
  readonly parsed: TS.ParsedCommandLine;
  readonly project: Project;
  readonly program: TS.Program;
  /** Files left out of the program's roots (the generated keys file). */
  readonly excluded: ReadonlySet<string>;
}

/** A cached function with the file it is in. */
export interface FoundFunction {
  readonly fn: CachedFunction;
  readonly sourceFile: TS.SourceFile;
}

/** A problem with the file it is in. */
export interface FoundProblem {
  readonly problem: Problem;
  readonly sourceFile: TS.SourceFile;
}

/** The scanner's results for a project, filtered and flattened. */
export interface ProjectScan {
  readonly scans: Map<TS.SourceFile, ScanResult>;
  readonly functions: FoundFunction[];
  readonly problems: FoundProblem[];
}

/** `-p`: a tsconfig file or a folder holding `tsconfig.json`, relative to `cwd`. */
export function resolveTsconfig(cwd: string, project: string | undefined): string {
  const given = path.resolve(cwd, project ?? "tsconfig.json");
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(given);
  } catch {
    const shown = project ?? "tsconfig.json";
    throw new CliError(`cannot find ${shown}${path.isAbsolute(shown) ? "" : ` in ${cwd}`}; pass -p <path to tsconfig.json>`);
  }
  if (!stat.isDirectory()) return given;
  const inside = path.join(given, "tsconfig.json");
  if (!fs.existsSync(inside)) throw new CliError(`no tsconfig.json in folder '${project}'; pass -p <tsconfig.json>`);
  return inside;
}

/** Where `tscaching keys` writes by default: `src/keys.ts` next to the tsconfig when `src/` exists, else `keys.ts`. */
export function defaultKeysFile(configPath: string): string {
  const dir = path.dirname(configPath);
  const src = path.join(dir, "src");
  return fs.existsSync(src) && fs.statSync(src).isDirectory() ? path.join(src, "keys.ts") : path.join(dir, "keys.ts");
}

/** A config diagnostic on one line: `tsconfig.json(3,5): Property assignment expected.` */
function flatten(diagnostic: TS.Diagnostic, cwd: string): string {
  const text = morphTs().flattenDiagnosticMessageText(diagnostic.messageText, " ").replace(/\s*\n\s*/g, " ");
  if (!diagnostic.file || diagnostic.start === undefined) return text;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const file = path.relative(cwd, diagnostic.file.fileName).replace(/\\/g, "/") || diagnostic.file.fileName;
  return `${file}(${line + 1},${character + 1}): ${text}`;
}

/** Parse the tsconfig (extends, include, exclude) or fail with one readable line. */
export function readTsconfig(configPath: string, cwd = process.cwd()): TS.ParsedCommandLine {
  let fatal: TS.Diagnostic | undefined;
  const ts = morphTs();
  const host: TS.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => (fatal = d),
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, undefined, host);
  const rel = path.relative(cwd, configPath).replace(/\\/g, "/") || configPath;
  if (fatal || !parsed) throw new CliError(`cannot read ${rel}: ${fatal ? flatten(fatal, cwd) : "unknown error"}`);
  // "No inputs were found" is not fatal for tsc's parser, but nothing can be done without files.
  const errors = parsed.errors.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new CliError(`invalid tsconfig ${flatten(errors[0], cwd)}${more}`);
  }
  return parsed;
}

/**
 * Load a project with ts-morph. The root files are the tsconfig's, minus `exclude` (the keys file:
 * its stale contents must not feed the scan that regenerates it). Imports are resolved by the
 * program itself, so types are complete, and the program is built once.
 */
export function loadProject(configPath: string, options: { exclude?: readonly string[]; parsed?: TS.ParsedCommandLine } = {}):
    LoadedProject {
  const parsed = options.parsed ?? readTsconfig(configPath);
  const excluded = new Set((options.exclude ?? []).map((f) => path.resolve(f)));
  const project = new (tsMorph().Project)({ tsConfigFilePath: configPath, skipAddingFilesFromTsConfig: true });
  for (const file of parsed.fileNames) {
    if (!excluded.has(path.resolve(file))) project.addSourceFileAtPath(file);
  }
  const program = project.getProgram().compilerObject as unknown as TS.Program;
  return { configPath, rootDir: path.dirname(configPath), parsed, project, program, excluded };
}

/** Scan every project file with types, as the transformer does, leaving out the excluded files. */
export function scanProject(loaded: LoadedProject): ProjectScan {
  const all = scanProgram(morphTs(), loaded.program, { rootDir: loaded.rootDir });
  // An excluded file still enters the program when another file imports it: drop it here.
  const scans = new Map([...all].filter(([sf]) => !loaded.excluded.has(path.resolve(sf.fileName))));
  const functions: FoundFunction[] = [];
  const problems: FoundProblem[] = [];
  for (const [sourceFile, result] of scans) {
    for (const fn of result.functions) functions.push({ fn, sourceFile });
    for (const problem of result.problems) problems.push({ problem, sourceFile });
  }
  functions.sort((a, b) => (a.fn.id < b.fn.id ? -1 : a.fn.id > b.fn.id ? 1 : 0));
  return { scans, functions, problems };
}

/** Load and scan in one go. */
export function openProject(cwd: string, project: string | undefined, exclude: readonly string[] = []):
    LoadedProject & ProjectScan {
  const configPath = resolveTsconfig(cwd, project);
  const loaded = loadProject(configPath, { exclude, parsed: readTsconfig(configPath, cwd) });
  return { ...loaded, ...scanProject(loaded) };
}
