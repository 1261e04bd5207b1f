/**
 * `tscaching/vite`: the tscaching plugin for vite (and vitest, which uses vite.config / vitest.config plugins).
 * The module itself is the plugin function (`module.exports = plugin`), so both
 * `import tscaching from "tscaching/vite"` (ESM) and `require("tscaching/vite")` give it.
 */
import { unplugin, type FileFilter, type TscachingPluginOptions } from "./unplugin";

function tscaching(options?: TscachingPluginOptions): ReturnType<typeof unplugin.vite> {
  return unplugin.vite(options);
}

// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace tscaching {
  export type Options = TscachingPluginOptions;
  export type Filter = FileFilter;
}

export = tscaching;
