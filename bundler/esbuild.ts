/**
 * `tscaching/esbuild`: the tscaching plugin for esbuild (build API).
 * The module itself is the plugin function (`module.exports = plugin`), so both
 * `import tscaching from "tscaching/esbuild"` (ESM) and `require("tscaching/esbuild")` give it.
 */
import { unplugin, type FileFilter, type TscachingPluginOptions } from "./unplugin";

function tscaching(options?: TscachingPluginOptions): ReturnType<typeof unplugin.esbuild> {
  return unplugin.esbuild(options);
}

// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace tscaching {
  export type Options = TscachingPluginOptions;
  export type Filter = FileFilter;
}

export = tscaching;
