/**
 * `tscaching/rollup`: the tscaching plugin for rollup (put it before the TypeScript plugin).
 * The module itself is the plugin function (`module.exports = plugin`), so both
 * `import tscaching from "tscaching/rollup"` (ESM) and `require("tscaching/rollup")` give it.
 */
import { unplugin, type FileFilter, type TscachingPluginOptions } from "./unplugin";

function tscaching(options?: TscachingPluginOptions): ReturnType<typeof unplugin.rollup> {
  return unplugin.rollup(options);
}

// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace tscaching {
  export type Options = TscachingPluginOptions;
  export type Filter = FileFilter;
}

export = tscaching;
