/**
 * The bundler plugin, written once with unplugin and exported for vite (and so vitest), rollup,
 * esbuild and webpack: tagged files are rewritten one at a time (`transformSource`, no program),
 * every other file passes through untouched. It runs before the bundler strips types
 * (`enforce: "pre"`), so the rewrite sees the TypeScript source.
 *
 * Ids are relative to the nearest tsconfig.json's folder, as under tspc; the tsconfig's
 * `{ "transform": "tscaching/transformer" }` entry supplies `rootDir`, `runtime` and `warnings`
 * unless the plugin's own options say otherwise.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as TS from "typescript";
import { createUnplugin, type UnpluginContext, type UnpluginFactory } from "unplugin";
import {
  findTsconfig, formatTranspileDiagnostic, loadTypeScript, transformSource, type TranspileDiagnostic,
} from "../transformer/transpile";

/** A file filter: a RegExp, a predicate on the file path, or a list of them. */
export type FileFilter = RegExp | ((fileName: string) => boolean) | ReadonlyArray<RegExp | ((fileName: string) => boolean)>;

export interface TscachingPluginOptions {
  /** Files to rewrite. @default TypeScript files: `.ts`, `.tsx`, `.mts`, `.cts` (not `.d.ts`) */
  include?: FileFilter;
  /** Files never rewritten. @default files under node_modules */
  exclude?: FileFilter;
  /** Folder ids are relative to. @default the transformer entry's `rootDir`, else the nearest tsconfig.json's folder */
  rootDir?: string;
  /** Module the rewritten code imports. @default the transformer entry's `runtime`, else "tscaching" */
  runtime?: string;
  /**
   * Warnings (e.g. 93017, a method reading `this` with no `key=`): `"warn"` reports them as bundler
   * warnings, `"error"` fails the build, `"off"` hides them. Errors always fail the build (the
   * function would otherwise run uncached).
   * @default the transformer entry's `warnings` ("diagnostic" counts as "warn"), else "warn"
   */
  warnings?: "warn" | "error" | "off";
  /** The TypeScript module. @default the project's `typescript` */
  typescript?: typeof TS;
}

const DEFAULT_INCLUDE = /\.[cm]?tsx?$/;
const DECLARATION = /\.d\.[cm]?tsx?$/;
const DEFAULT_EXCLUDE = /[\\/]node_modules[\\/]/;
const WARNING_MODES = ["warn", "error", "off"];

/** What a project's tsconfig says about tscaching: its transformer entry and the options that shape one file's emit. */
interface ProjectSettings {
  readonly rootDir: string;
  readonly compilerOptions: TS.CompilerOptions;
  readonly entry: { rootDir?: string; runtime?: string; warnings?: string };
}

function matches(filter: FileFilter, file: string): boolean {
  const list = Array.isArray(filter) ? filter : [filter as RegExp | ((f: string) => boolean)];
  return list.some((f) => (typeof f === "function" ? f(file) : (f.lastIndex = 0, f.test(file))));
}

/** `/app/src/db.ts?v=12` → `/app/src/db.ts`; virtual modules (`\0...`) have no file. */
function fileOf(id: string): string | undefined {
  if (id.startsWith("\0")) return undefined;
  const file = id.replace(/[?#].*$/, "");
  return path.isAbsolute(file) ? file : undefined;
}

const factory: UnpluginFactory<TscachingPluginOptions | undefined, false> = (options = {}) => {
  if (options.warnings !== undefined && !WARNING_MODES.includes(options.warnings)) {
    throw new TypeError(`tscaching: plugin option "warnings" must be one of ${WARNING_MODES.join(", ")}; got ${JSON.stringify(options.warnings)}`);
  }
  const include = options.include ?? DEFAULT_INCLUDE;
  const exclude = options.exclude ?? DEFAULT_EXCLUDE;
  const settingsCache = new Map<string, { mtimeMs: number; settings: ProjectSettings }>();
  /** Which file declares each id, for the duplicate-id check across files. */
  const idOwners = new Map<string, { file: string; qualifiedName: string; line: number }>();

  const settingsFor = (file: string): ProjectSettings => {
    const config = findTsconfig(path.dirname(file));
    if (!config) return { rootDir: options.rootDir ?? path.dirname(file), compilerOptions: {}, entry: {} };
    const mtimeMs = fs.statSync(config, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const known = settingsCache.get(config);
    if (known && known.mtimeMs === mtimeMs) return known.settings;
    const dir = path.dirname(config);
    const ts = options.typescript ?? loadTypeScript(dir);
    let compilerOptions: TS.CompilerOptions = {};
    const parsed = ts.getParsedCommandLineOfConfigFile(config, undefined, {
      ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined,
    });
    if (parsed) compilerOptions = parsed.options;
    const plugins = (compilerOptions.plugins ?? []) as unknown as Array<Record<string, unknown>>;
    const entry = plugins.find((p) => typeof p.transform === "string" && /^tscaching\/transformer(?:\/|$)/.test(p.transform)) ?? {};
    const settings: ProjectSettings = {
      rootDir: dir, compilerOptions,
      entry: {
        rootDir: typeof entry.rootDir === "string" ? path.resolve(dir, entry.rootDir) : undefined,
        runtime: typeof entry.runtime === "string" ? entry.runtime : undefined,
        warnings: typeof entry.warnings === "string" ? entry.warnings : undefined,
      },
    };
    settingsCache.set(config, { mtimeMs, settings });
    return settings;
  };

  const report = (ctx: UnpluginContext, d: TranspileDiagnostic, severity: "error" | "warn") => {
    const message = {
      message: formatTranspileDiagnostic({ ...d, category: severity === "error" ? "error" : d.category }),
      id: d.fileName, code: `TS${d.code}`, plugin: "tscaching",
      loc: { file: d.fileName, line: d.line, column: d.column - 1 },
    };
    if (severity === "error") ctx.error(message);
    else ctx.warn(message);
  };

  return {
    name: "tscaching",
    enforce: "pre",
    // esbuild: only offer TypeScript files to the hook (it would otherwise read every file).
    esbuild: { onLoadFilter: /\.[cm]?tsx?$/ },
    transform: {
      filter: { code: "@cache" },
      handler(code, id) {
        const file = fileOf(id);
        if (!file || DECLARATION.test(file) || !matches(include, file) || matches(exclude, file)) return null;
        if (!code.includes("@cache")) return null;
        const settings = settingsFor(file);
        const warnings = options.warnings ?? (settings.entry.warnings === "error" ? "error"
          : settings.entry.warnings === "off" ? "off" : "warn");
        const result = transformSource(file, code, {
          rootDir: options.rootDir ? path.resolve(options.rootDir) : settings.entry.rootDir ?? settings.rootDir,
          runtime: options.runtime ?? settings.entry.runtime ?? "tscaching",
          ts: options.typescript ?? loadTypeScript(settings.rootDir),
          compilerOptions: settings.compilerOptions,
        });
        const diagnostics = [...result.diagnostics];
        // Across files: the first file to declare an id keeps it (as tspc reports each later one).
        for (const [id, owner] of idOwners) if (owner.file === file) idOwners.delete(id);
        for (const fn of result.functions) {
          const owner = idOwners.get(fn.id);
          if (owner && owner.file !== file && fs.existsSync(owner.file)) {
            diagnostics.push({
              fileName: file, code: 93016, category: "error", line: fn.line, column: 1, start: 0, length: 0,
              message: `@cache: id '${fn.id}' is already used by '${owner.qualifiedName}' at ` +
                `${path.relative(settings.rootDir, owner.file).replace(/\\/g, "/")}:${owner.line}. Give one of them a distinct name=.`,
            });
          } else {
            idOwners.set(fn.id, { file, qualifiedName: fn.qualifiedName, line: fn.line });
          }
        }
        let failed = false;
        for (const d of diagnostics) {
          const severity = d.category === "error" ? "error" : warnings === "error" ? "error" : warnings === "off" ? undefined : "warn";
          if (!severity) continue;
          failed ||= severity === "error";
          // rollup and vite throw here; esbuild collects the message and needs a result to attach it to.
          report(this, d, severity);
        }
        if (!result.transformed) return failed ? { code, map: null } : null;
        return { code: result.code, map: result.map };
      },
    },
  };
};

/** The plugin for every bundler unplugin supports. */
export const unplugin = createUnplugin(factory);
