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
import type { Severity } from "../transformer/diagnostics";
import { IdOwners, TagShapes } from "../transformer/project";
import { shownSeverity } from "../transformer/report";
import { fileProject, resolveSettings, type WarningMode } from "../transformer/settings";
import { formatTranspileDiagnostic, loadTypeScript, transformSource, type TranspileDiagnostic } from "../transformer/transpile";

/** A file filter: a RegExp, a predicate on the file path, or a list of them. */
export type FileFilter = RegExp | ((fileName: string) => boolean) | ReadonlyArray<RegExp | ((fileName: string) => boolean)>;

export interface TscachingPluginOptions {
  /** Files to rewrite. @default TypeScript files: `.ts`, `.tsx`, `.mts`, `.cts` (not `.d.ts`) */
  include?: FileFilter;
  /** Files never rewritten. @default files under node_modules */
  exclude?: FileFilter;
  /** Folder ids are relative to (relative to the current directory). @default the transformer entry's `rootDir`, else the nearest tsconfig.json's folder */
  rootDir?: string;
  /** Module the rewritten code imports. @default the transformer entry's `runtime`, else "tscaching" */
  runtime?: string;
  /**
   * Warnings (e.g. 93017, a method reading `this` with no `key=`): `"warn"` reports them as bundler
   * warnings, `"error"` fails the build, `"off"` hides them. Errors always fail the build (the
   * function would otherwise run uncached).
   * `"diagnostic"` is taken as `"warn"`.
   * @default the transformer entry's `warnings`, else "warn"
   */
  warnings?: WarningMode;
  /** The TypeScript module. @default the project's `typescript` */
  typescript?: typeof TS;
}

const DEFAULT_INCLUDE = /\.[cm]?tsx?$/;
const DECLARATION = /\.d\.[cm]?tsx?$/;
const DEFAULT_EXCLUDE = /[\\/]node_modules[\\/]/;

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
  // The plugin's own options win over the tsconfig's entry; a bad value fails here, at start-up.
  const own = { rootDir: options.rootDir === undefined ? undefined : path.resolve(options.rootDir), runtime: options.runtime, warnings: options.warnings };
  resolveSettings(process.cwd(), own);
  const include = options.include ?? DEFAULT_INCLUDE;
  const exclude = options.exclude ?? DEFAULT_EXCLUDE;
  /** Which file declares each id, for the duplicate-id check across files (a deleted file's ids are free). */
  const ids = new IdOwners((file) => fs.existsSync(file));
  /** The argument types of each tag name, for the tag-type check across files (93043). */
  const tagShapes = new TagShapes((file) => fs.existsSync(file));

  const report = (ctx: UnpluginContext, d: TranspileDiagnostic, severity: Severity) => {
    const message = {
      message: formatTranspileDiagnostic({ ...d, category: severity }),
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
        const ts = options.typescript ?? loadTypeScript(path.dirname(file));
        const project = fileProject(ts, file);
        const settings = resolveSettings(project.configDir, own, project.entry);
        const result = transformSource(file, code, {
          rootDir: settings.rootDir, runtime: settings.runtime, ts, compilerOptions: project.compilerOptions, ids, tagShapes,
        });
        let failed = false;
        for (const d of result.diagnostics) {
          const severity = shownSeverity(d.category, settings.warnings);
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
