/**
 * `tscaching/language-service`: a TypeScript language-service plugin, so editors show tscaching's
 * diagnostics as you type (a bad tag, a function that is not async, a stale keys.ts), with the same
 * codes and messages as tspc and `tscaching check`.
 *
 * @example tsconfig.json
 * ```json
 * { "compilerOptions": { "plugins": [
 *   { "transform": "tscaching/transformer" },
 *   { "name": "tscaching/language-service" }
 * ] } }
 * ```
 *
 * The module itself is the plugin factory (`module.exports = init`), as tsserver expects.
 */
import type * as TS from "typescript";
import { tscachingDiagnostics, type EditorSettings } from "./diagnostics";

function init(modules: { typescript: typeof TS }): TS.server.PluginModule {
  const ts = modules.typescript;
  let override: EditorSettings | undefined;
  return {
    create(info) {
      const ls = info.languageService;
      const log = (message: string) => info.project.projectService.logger.info(`tscaching: ${message}`);
      // The program's transformer entry is read (and resolved) by tscachingDiagnostics itself.
      const settings = (): EditorSettings => (override ?? info.config ?? {}) as EditorSettings;
      const proxy = Object.create(null) as TS.LanguageService;
      for (const name of Object.keys(ls) as Array<keyof TS.LanguageService>) {
        const member = ls[name];
        (proxy as unknown as Record<string, unknown>)[name] = typeof member === "function"
          ? (...args: unknown[]) => (member as (...a: unknown[]) => unknown).apply(ls, args) : member;
      }
      proxy.getSemanticDiagnostics = (fileName) => {
        const prior = ls.getSemanticDiagnostics(fileName);
        try {
          const program = ls.getProgram();
          if (!program) return prior;
          return [...prior, ...tscachingDiagnostics(ts, program, fileName, settings())];
        } catch (error) {
          // Never break the editor: log and show TypeScript's own diagnostics.
          log(`diagnostics of ${fileName} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
          return prior;
        }
      };
      log("language service plugin loaded");
      return proxy;
    },
    onConfigurationChanged(config: EditorSettings) {
      override = config;
    },
  };
}

export = init;
