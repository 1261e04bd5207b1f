/**
 * `tscaching keys`: write the typed key registry (`keys.ts`) for every cached function, check that
 * it is current (`--check`, for CI), or keep it current (`--watch`, next to `tspc --watch`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import type * as TS from "typescript";
import { CliError, messageOf } from "../errors";
import { describeDiff, diffKeys, projectKeys, readKeysFile, summarizeDiff } from "../keys-registry";
import { displayPath, examples, plural, type Context } from "../output";
import { defaultKeysFile, ProjectFiles, readTsconfig, resolveTsconfig } from "../project";
import { SourceWatcher, watchTargets } from "../watch";

interface KeysOptions {
  project: string;
  out?: string;
  check?: boolean;
  watch?: boolean;
}

export function keysCommand(ctx: Context): Command {
  return new Command("keys")
    .summary("write the typed key registry (keys.ts)")
    .description("Write keys.ts: one typed key helper per cached function, for cache.get/replace/delete/invalidate.\n" +
      "The file is generated from the project's @cache tags; commit it or git-ignore it and run this before tsc.")
    .option("-p, --project <path>", "tsconfig.json, or the folder holding it", "tsconfig.json")
    .option("-o, --out <file>", "file to write (default: src/keys.ts next to the tsconfig when src/ exists, else keys.ts)")
    .option("--check", "write nothing; exit 1 when the file is missing or out of date (for CI)")
    .option("--watch", "regenerate whenever a source file changes, until Ctrl-C")
    .addHelpText("after", examples([
      ["tscaching keys", "writes src/keys.ts"],
      ["tscaching keys -p packages/api -o packages/api/src/cache-keys.ts"],
      ["tscaching keys --check", "in CI: fails when keys.ts is stale"],
      ["tscaching keys --watch & tspc --watch", "development: both stay current"],
    ]))
    .action(async (options: KeysOptions) => {
      if (options.check && options.watch) throw new CliError("--check and --watch cannot be combined");
      const configPath = resolveTsconfig(ctx.cwd, options.project);
      const outFile = options.out !== undefined ? path.resolve(ctx.cwd, options.out) : defaultKeysFile(configPath);
      if (options.check) return check(ctx, configPath, outFile);
      if (options.watch) return watch(ctx, configPath, outFile);
      ctx.out(write(ctx, configPath, readTsconfig(configPath, ctx.cwd), outFile));
    });
}

/** Generate, write when different, and say what happened. */
function write(ctx: Context, configPath: string, parsed: TS.ParsedCommandLine, outFile: string, files?: ProjectFiles): string {
  const { text, count, errors } = projectKeys(configPath, parsed, outFile, files);
  if (errors > 0) {
    ctx.err(ctx.errStyle.yellow(`note: ${plural(errors, "@cache error")} in the project; those functions get no helper (see \`tscaching check\`)`));
  }
  const shown = displayPath(ctx.cwd, outFile);
  if (readKeysFile(outFile) === text) return `${shown} is up to date`;
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, text);
  return `wrote ${shown}: ${plural(count, "key helper")}`;
}

function check(ctx: Context, configPath: string, outFile: string): void {
  const { text, count } = projectKeys(configPath, readTsconfig(configPath, ctx.cwd), outFile);
  const shown = displayPath(ctx.cwd, outFile);
  const existing = readKeysFile(outFile);
  if (existing === undefined) {
    throw new CliError(`${shown} is missing (${plural(count, "key helper")} to generate); run \`tscaching keys\``);
  }
  if (existing !== text) {
    const diff = diffKeys(existing, text);
    throw new CliError(`${shown} is out of date: ${summarizeDiff(diff)}; run \`tscaching keys\``, { details: describeDiff(diff) });
  }
  ctx.out(`${shown} is up to date (${plural(count, "key helper")})`);
}

async function watch(ctx: Context, configPath: string, outFile: string): Promise<void> {
  const stamp = () => ctx.style.dim(`[${new Date().toTimeString().slice(0, 8)}]`);
  // The tsconfig as last read, and the files parsed since (unchanged files are not parsed again).
  let loaded: { parsed: TS.ParsedCommandLine; files: ProjectFiles } | undefined;
  let watcher: SourceWatcher | undefined;
  const configFiles = () => new Set([configPath, ...extendedConfigs(configPath, loaded?.parsed)].map((f) => path.resolve(f)));
  const start = () => {
    watcher?.close();
    watcher = new SourceWatcher(watchTargets(configPath, loaded?.parsed ?? { fileNames: [], options: {}, errors: [] }), {
      ignore: (file) => path.resolve(file) === outFile,
      onChange: (paths) => regenerate(paths),
    });
  };
  const run = (changed: readonly string[] | undefined) => {
    const roots = new Set(loaded?.parsed.fileNames.map((f) => path.resolve(f)));
    const configs = configFiles();
    const reload = !loaded || !changed || changed.some((f) => configs.has(f) || !roots.has(f) || !fs.existsSync(f));
    if (reload) {
      const parsed = readTsconfig(configPath, ctx.cwd);
      loaded = { parsed, files: new ProjectFiles(configPath, { jsDoc: "types" }) };
      // Watch the new file list before writing: a change saved right after the line below is
      // printed (or while keys.ts is generated) must reach a watcher, not fall between two.
      start();
    } else {
      // Only known files changed: read them again; the rest stay as parsed.
      for (const file of changed!) loaded!.files.forget(file);
    }
    ctx.out(`${stamp()} ${write(ctx, configPath, loaded!.parsed, outFile, loaded!.files)}`);
  };
  const regenerate = (changed: readonly string[] | undefined) => {
    try {
      run(changed);
    } catch (error) {
      // Keep watching: the next save may fix the tsconfig.
      ctx.err(`${stamp()} tscaching: ${messageOf(error)}`);
      if (!watcher) start();
    }
  };
  const stopped = ctx.interrupted();
  regenerate(undefined);
  ctx.out(ctx.style.dim(`watching ${displayPath(ctx.cwd, path.dirname(configPath))} for changes (Ctrl-C to stop)`));
  await stopped;
  watcher?.close();
}

/** Files a tsconfig extends (`extends`), which also trigger a reload when they change. */
function extendedConfigs(configPath: string, parsed: TS.ParsedCommandLine | undefined): string[] {
  const raw = parsed?.raw as { extends?: string | string[] } | undefined;
  const list = raw?.extends === undefined ? [] : Array.isArray(raw.extends) ? raw.extends : [raw.extends];
  return list.filter((e) => e.startsWith(".")).map((e) => path.resolve(path.dirname(configPath), e));
}
