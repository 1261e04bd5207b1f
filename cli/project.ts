/**
 * The user's project as the CLI reads it: the tsconfig parsed with ts-morph's bundled TypeScript,
 * one program (so one type checker per command), and the scanner's view of it. ts-morph's own `ts`
 * is the only TypeScript module used here: nodes of two TypeScript copies must never meet.
 *
 * The program is built the way ts-morph's `Project` builds it (same file system, compiler host, lib
 * files and source-file options, so the same files, resolutions and types) but without ts-morph's
 * node wrappers, which the CLI never used: source files are parsed once into a cache that every
 * program of a command (or of a `--watch` session) shares.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as Common from "@ts-morph/common";
import type * as TS from "typescript";
import { scanProgram } from "../transformer/project";
import type { CachedFunction, ScanResult } from "../transformer/model";
import type { Problem } from "../transformer/diagnostics";
import { resolveSettings, transformerEntry, type TscachingSettings } from "../transformer/settings";

export { defaultKeysFile } from "../transformer/keys-location";
import { CliError } from "./errors";

let common: typeof Common | undefined;

/**
 * `@ts-morph/common`, the package ts-morph is built on (its TypeScript, file system and compiler
 * host), required from ts-morph's own folder so that it is the very copy ts-morph uses. Loaded on
 * first use: commands that need no project (stats, flush, --help) skip its second of start-up.
 */
function morphCommon(): typeof Common {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (common ??= createRequire(require.resolve("ts-morph"))("@ts-morph/common") as typeof Common);
}

/** ts-morph's TypeScript, typed as the `typescript` declarations the scanner is written against. */
export function morphTs(): typeof TS {
  return morphCommon().ts as unknown as typeof TS;
}

/**
 * The source files, file system and compiler host of one tsconfig, as a ts-morph `Project` has them:
 * `@ts-morph/common`'s transactional file system (with ts-morph's in-memory lib files) and compiler
 * host, and the compiler options ts-morph reads from the tsconfig. Source files are parsed as ts-morph
 * parses them (target from the options, no module format), except that parent pointers are left to
 * the binder (the scanner always runs on bound files). With `jsDoc: "types"`, JSDoc is parsed only
 * where types depend on it, as tsc does: types, symbols and the scanner's findings are the same (it
 * reads tags from the comment text), but JSDoc nodes are no longer children of the declarations they
 * document, which moves the position of a problem reported on a constructor's first child. Commands
 * that print positions keep the default, `"all"`. Reuse one instance for every program of a command;
 * `forget` a file that changed on disk.
 */
export class ProjectFiles {
  readonly options: TS.CompilerOptions;
  readonly host: TS.CompilerHost;
  readonly #files = new Map<string, TS.SourceFile>();
  readonly #directories = new Set<string>();
  readonly #fileSystem: Common.TransactionalFileSystem;
  readonly #ts = morphTs();
  readonly #jsDoc: TS.JSDocParsingMode;

  constructor(configPath: string, options: { jsDoc?: "all" | "types" } = {}) {
    this.#jsDoc = options.jsDoc === "types" ? this.#ts.JSDocParsingMode.ParseForTypeErrors : this.#ts.JSDocParsingMode.ParseAll;
    const morph = morphCommon();
    this.#fileSystem = new morph.TransactionalFileSystem({
      fileSystem: new morph.RealFileSystemHost(), skipLoadingLibFiles: undefined, libFolderPath: undefined,
    });
    this.options = this.#readOptions(configPath);
    const optionsContainer = new morph.CompilerOptionsContainer();
    optionsContainer.set(this.options as Common.ts.CompilerOptions);
    const { compilerHost } = morph.createHosts({
      transactionalFileSystem: this.#fileSystem,
      sourceFileContainer: this.#container(),
      compilerOptions: optionsContainer,
      getNewLine: () => "\n",
      resolutionHost: {},
      getProjectVersion: () => "0",
    });
    this.host = compilerHost as unknown as TS.CompilerHost;
  }

  /** The path as ts-morph keys it: absolute, normalized, forward slashes. */
  standardize(file: string): string {
    return this.#fileSystem.getStandardizedAbsolutePath(file);
  }

  /** Drop a file's parsed copy (it changed on disk); the next program reads it again. */
  forget(file: string): void {
    this.#files.delete(this.standardize(file));
  }

  /** ts-morph's reading of the tsconfig's compiler options (its `TsConfigResolver`, without listing the files). */
  #readOptions(configPath: string): TS.CompilerOptions {
    const ts = this.#ts;
    const fileSystem = this.#fileSystem;
    const file = fileSystem.getStandardizedAbsolutePath(configPath);
    const json = ts.parseConfigFileTextToJson(file, fileSystem.readFileSync(file, "utf-8"));
    if (json.error) throw new CliError(`cannot read ${configPath}: ${ts.flattenDiagnosticMessageText(json.error.messageText, " ")}`);
    const host: TS.ParseConfigHost = {
      useCaseSensitiveFileNames: false,
      // The file list comes from readTsconfig; only the options are wanted here.
      readDirectory: () => [],
      fileExists: (f) => fileSystem.fileExistsSync(fileSystem.getStandardizedAbsolutePath(f)),
      readFile: (f) => fileSystem.readFileSync(fileSystem.getStandardizedAbsolutePath(f), "utf-8"),
    };
    return ts.parseJsonConfigFileContent(json.config, host, morphCommon().FileUtils.getDirPath(file), undefined, file).options;
  }

  /** The source-file container ts-morph's compiler host reads from. */
  #container(): Common.TsSourceFileContainer {
    const files = this.#files;
    const get = (file: string) => files.get(file) as Common.ts.SourceFile | undefined;
    return {
      containsSourceFileAtPath: (file) => files.has(file),
      getSourceFilePaths: () => files.keys() as Iterable<Common.StandardizedFilePath>,
      getSourceFileFromCacheFromFilePath: get,
      addOrGetSourceFileFromFilePath: (file) => Promise.resolve(this.#addOrGet(file) as Common.ts.SourceFile | undefined),
      addOrGetSourceFileFromFilePathSync: (file) => this.#addOrGet(file) as Common.ts.SourceFile | undefined,
      getSourceFileVersion: () => "0",
      containsDirectoryAtPath: (dir) => this.#directories.has(dir),
      getChildDirectoriesOfDirectory: () => [],
    };
  }

  #addOrGet(file: string): TS.SourceFile | undefined {
    const cached = this.#files.get(file);
    if (cached) return cached;
    const standardized = file as Common.StandardizedFilePath;
    let text = this.#fileSystem.readFileIfExistsSync(standardized, "utf-8");
    if (text === undefined) return undefined;
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const ts = this.#ts;
    const sourceFile = ts.createSourceFile(file, text, {
      languageVersion: this.options.target ?? ts.ScriptTarget.Latest,
      jsDocParsingMode: this.#jsDoc,
    });
    this.#files.set(file, sourceFile);
    // ts-morph records the file's folder, creating it (in memory) when it is not on disk: the lib folder.
    const dir = morphCommon().FileUtils.getDirPath(file) as Common.StandardizedFilePath;
    if (!this.#directories.has(dir)) {
      this.#directories.add(dir);
      if (!this.#fileSystem.directoryExistsSync(dir)) this.#fileSystem.queueMkdir(dir);
    }
    return sourceFile;
  }
}

/** A loaded project: its tsconfig, files and program. */
export interface LoadedProject {
  /** Absolute path of the tsconfig file. */
  readonly configPath: string;
  /** The tsconfig's transformer entry, resolved: `rootDir` (which ids are relative to), `runtime`, `warnings`. */
  readonly settings: TscachingSettings;
  readonly parsed: TS.ParsedCommandLine;
  readonly files: ProjectFiles;
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

/** A config diagnostic on one line: `tsconfig.json(3,5): Property assignment expected.` */
function flatten(diagnostic: TS.Diagnostic, cwd: string): string {
  const text = morphTs().flattenDiagnosticMessageText(diagnostic.messageText, " ").replace(/\s*\n\s*/g, " ");
  if (!diagnostic.file || diagnostic.start === undefined) return text;
  const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
  const file = path.relative(cwd, diagnostic.file.fileName).replace(/\\/g, "/") || diagnostic.file.fileName;
  return `${file}(${line + 1},${character + 1}): ${text}`;
}

/** TypeScript's "No inputs were found in config file": a project with no source file yet. */
const NO_INPUTS = 18003;

/**
 * Parse the tsconfig (extends, include, exclude) or fail with one readable line. `allowNoInputs`
 * accepts a project with no source file yet (`init` on a brand-new project).
 */
export function readTsconfig(configPath: string, cwd = process.cwd(), options: { allowNoInputs?: boolean } = {}): TS.ParsedCommandLine {
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
  const errors = parsed.errors.filter((d) => d.category === ts.DiagnosticCategory.Error && !(options.allowNoInputs && d.code === NO_INPUTS));
  if (errors.length > 0) {
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new CliError(`invalid tsconfig ${flatten(errors[0], cwd)}${more}`);
  }
  return parsed;
}

/**
 * Load a project. The root files are the tsconfig's, minus `exclude` (the keys file: its stale
 * contents must not feed the scan that regenerates it). Imports are resolved by the program itself,
 * so types are complete, and the program is built once. `files` shares parsed files with earlier
 * programs; `noLib` leaves the lib files out (a program for syntax and symbols only: keys-fast.ts).
 */
export function loadProject(configPath: string,
                            options: { exclude?: readonly string[]; parsed?: TS.ParsedCommandLine; files?: ProjectFiles; noLib?: boolean } = {}):
    LoadedProject {
  const parsed = options.parsed ?? readTsconfig(configPath);
  const excluded = new Set((options.exclude ?? []).map((f) => path.resolve(f)));
  const files = options.files ?? new ProjectFiles(configPath);
  const rootNames = parsed.fileNames.filter((file) => !excluded.has(path.resolve(file))).map((file) => files.standardize(file));
  const compilerOptions = options.noLib ? { ...files.options, noLib: true } : files.options;
  const program = morphTs().createProgram(rootNames, compilerOptions, files.host);
  const settings = resolveSettings(path.dirname(configPath), transformerEntry(parsed.options));
  return { configPath, settings, parsed, files, program, excluded };
}

/**
 * Scan every project file with types, as the transformer does, leaving out the excluded files.
 * `types: false` scans the syntax alone (bind the program first: the scanner needs parent nodes).
 */
export function scanProject(loaded: LoadedProject, options: { types?: boolean } = {}): ProjectScan {
  const all = scanProgram(morphTs(), loaded.program, { rootDir: loaded.settings.rootDir, types: options.types, versions: loaded.settings.versions });
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
