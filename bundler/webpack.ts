/**
 * `tscaching/webpack`: the tscaching plugin for webpack (runs as a pre-loader, before ts-loader or babel).
 * The module itself is the plugin function (`module.exports = plugin`), so both
 * `import tscaching from "tscaching/webpack"` (ESM) and `require("tscaching/webpack")` give it.
 */
import { unplugin, type FileFilter, type TscachingPluginOptions } from "./unplugin";

function tscaching(options?: TscachingPluginOptions): ReturnType<typeof unplugin.webpack> {
  return unplugin.webpack(options);
}

// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace tscaching {
  export type Options = TscachingPluginOptions;
  export type Filter = FileFilter;
}

export = tscaching;
