/**
 * The one reading of tscaching's settings: the `{ "transform": "tscaching/transformer", ... }` entry
 * of a tsconfig (`rootDir`, `runtime`, `warnings`), resolved against the tsconfig's folder. The
 * transformer, the bundler plugins (through `transformSource`), the editor plugin and the CLI all
 * resolve through here, so one project gives one set of ids and one keys.ts everywhere.
 *
 * @example
 * ```ts
 * const settings = resolveSettings("/app", transformerEntry(parsed.options));
 * // { rootDir: "/app/src", runtime: "@acme/cache", warnings: "warn" } for { "rootDir": "src", "runtime": "@acme/cache" }
 * ```
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as TS from "typescript";

/**
 * What to do with warnings (e.g. a method reading `this` with no `key=`).
 * - `"warn"`: show them without failing (tspc prints them to stderr; bundlers warn). @default
 * - `"diagnostic"`: report them as warning diagnostics (tsc then exits 2).
 * - `"error"`: report them as errors.
 * - `"off"`: ignore them.
 */
export type WarningMode = "warn" | "diagnostic" | "error" | "off";

export const WARNING_MODES: readonly WarningMode[] = ["warn", "diagnostic", "error", "off"];

/**
 * Where cached functions' versions come from (see version.ts): `"checker"` for a project built with
 * tspc (the result type's structure as the checker resolves it), `"syntax"` for one built by a
 * bundler plugin (the declared result type's text; the per-file rewrite has no checker). The CLI and
 * the editor plugin follow it, so keys.ts and `tscaching key`/`get` agree with the build.
 */
export type VersionSource = "checker" | "syntax";

export const VERSION_SOURCES: readonly VersionSource[] = ["checker", "syntax"];

/** Settings as written (in the plugin entry, a bundler plugin's options or the editor plugin's entry). */
export interface SettingsInput {
  /** Folder ids are relative to, relative to the tsconfig's folder. @default the tsconfig's folder */
  readonly rootDir?: unknown;
  /** Module the rewritten code and keys.ts import. @default "tscaching" */
  readonly runtime?: unknown;
  /** @default "warn" */
  readonly warnings?: unknown;
  /** `"checker"` (tspc builds) or `"syntax"` (bundler builds). @default "checker" */
  readonly versions?: unknown;
}

/** Settings resolved: an absolute `rootDir`, a runtime module and a warning mode. */
export interface TscachingSettings {
  readonly rootDir: string;
  readonly runtime: string;
  readonly warnings: WarningMode;
  readonly versions: VersionSource;
}

/** Is this plugin entry tscaching's transformer (`tscaching/transformer`, or a file under it)? */
function isTransformerEntry(entry: Record<string, unknown>): boolean {
  return typeof entry.transform === "string" && /^tscaching\/transformer(?:\/|$)/.test(entry.transform);
}

/** The tscaching transformer entry of a tsconfig's `compilerOptions.plugins`, if any. */
export function transformerEntry(options: TS.CompilerOptions): SettingsInput | undefined {
  const plugins = (options.plugins ?? []) as unknown as Array<Record<string, unknown>>;
  return plugins.find(isTransformerEntry);
}

/**
 * Resolve settings against `configDir` (the tsconfig's folder). `layers` go from the most specific
 * (an option given to a plugin) to the least (the transformer entry); the first that sets a value
 * wins. Malformed values throw a `TypeError` naming the option.
 */
export function resolveSettings(configDir: string, ...layers: Array<SettingsInput | undefined>): TscachingSettings {
  const pick = (name: keyof SettingsInput): unknown => layers.find((layer) => layer?.[name] !== undefined)?.[name];
  const rootDir = pick("rootDir");
  const runtime = pick("runtime");
  const warnings = pick("warnings") ?? "warn";
  const versions = pick("versions") ?? "checker";
  if (rootDir !== undefined && (typeof rootDir !== "string" || rootDir === "")) {
    throw new TypeError(`tscaching: plugin option "rootDir" must be a folder path; got ${JSON.stringify(rootDir)}`);
  }
  if (runtime !== undefined && (typeof runtime !== "string" || runtime === "")) {
    throw new TypeError(`tscaching: plugin option "runtime" must be a module name; got ${JSON.stringify(runtime)}`);
  }
  if (!WARNING_MODES.includes(warnings as WarningMode)) {
    throw new TypeError(`tscaching: plugin option "warnings" must be one of ${WARNING_MODES.join(", ")}; got ${JSON.stringify(warnings)}`);
  }
  if (!VERSION_SOURCES.includes(versions as VersionSource)) {
    throw new TypeError(`tscaching: plugin option "versions" must be one of ${VERSION_SOURCES.join(", ")}; got ${JSON.stringify(versions)}`);
  }
  return {
    versions: versions as VersionSource,
    rootDir: path.resolve(configDir, rootDir ?? "."),
    runtime: runtime ?? "tscaching",
    warnings: warnings as WarningMode,
  };
}

/** The folder a program's ids are relative to by default: its tsconfig's folder, else its current directory. */
export function programConfigDir(program: TS.Program): string {
  const configFile = program.getCompilerOptions().configFilePath;
  return typeof configFile === "string" ? path.dirname(configFile) : program.getCurrentDirectory();
}

/** Settings of a program: `layers` over the program's own transformer entry, against its tsconfig's folder. */
export function programSettings(program: TS.Program, ...layers: Array<SettingsInput | undefined>): TscachingSettings {
  return resolveSettings(programConfigDir(program), ...layers, transformerEntry(program.getCompilerOptions()));
}

const configByDir = new Map<string, string | undefined>();

/** The nearest `tsconfig.json` at or above `dir`, or undefined. */
export function findTsconfig(dir: string): string | undefined {
  const seen: string[] = [];
  let found: string | undefined;
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    if (configByDir.has(current)) {
      found = configByDir.get(current);
      break;
    }
    seen.push(current);
    const candidate = path.join(current, "tsconfig.json");
    if (fs.existsSync(candidate)) {
      found = candidate;
      break;
    }
    if (path.dirname(current) === current) break;
  }
  for (const d of seen) configByDir.set(d, found);
  return found;
}

/** A file's project as a per-file tool sees it: its nearest tsconfig's options and transformer entry. */
export interface FileProject {
  /** The tsconfig's folder (the file's own folder when there is none). */
  readonly configDir: string;
  readonly compilerOptions: TS.CompilerOptions;
  readonly entry: SettingsInput | undefined;
}

const projectByConfig = new Map<string, { mtimeMs: number; project: FileProject }>();

/** The project of a file: its nearest tsconfig.json, read once per change of that file. */
export function fileProject(ts: typeof TS, fileName: string): FileProject {
  const config = findTsconfig(path.dirname(path.resolve(fileName)));
  if (!config) return { configDir: path.dirname(path.resolve(fileName)), compilerOptions: {}, entry: undefined };
  const mtimeMs = fs.statSync(config, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const known = projectByConfig.get(config);
  if (known && known.mtimeMs === mtimeMs) return known.project;
  // A broken tsconfig is the compiler's to report; the file is then rewritten with the defaults.
  const parsed = ts.getParsedCommandLineOfConfigFile(config, undefined, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  const compilerOptions = parsed?.options ?? {};
  const project: FileProject = { configDir: path.dirname(config), compilerOptions, entry: transformerEntry(compilerOptions) };
  projectByConfig.set(config, { mtimeMs, project });
  return project;
}

/** Settings of one file for per-file tools: `layers` over its project's transformer entry. */
export function fileSettings(ts: typeof TS, fileName: string, ...layers: Array<SettingsInput | undefined>): TscachingSettings {
  const project = fileProject(ts, fileName);
  return resolveSettings(project.configDir, ...layers, project.entry);
}
