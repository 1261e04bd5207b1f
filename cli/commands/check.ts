/**
 * `tscaching check`: every tscaching diagnostic of the project without emitting anything, printed
 * like tsc prints them, plus a stale or missing-but-imported keys file as a warning.
 */
import * as path from "node:path";
import { Command } from "commander";
import { KEYS_HEADER } from "../../transformer/keys-file";
import { keysImports } from "../../transformer/keys-location";
import { isProjectFile } from "../../transformer/project";
import { shownSeverity } from "../../transformer/report";
import { diffKeys, generateKeys, readKeysFile, summarizeDiff } from "../keys-registry";
import { displayPath, examples, plural, type Context } from "../output";
import { defaultKeysFile, loadProject, morphTs, readTsconfig, resolveTsconfig, scanProject, type LoadedProject } from "../project";

interface CheckOptions {
  project: string;
  keys?: string;
  strict?: boolean;
}

interface Line {
  readonly file: string;
  readonly position: number;
  readonly text: string;
  readonly severity: "error" | "warning";
}

export function checkCommand(ctx: Context): Command {
  return new Command("check")
    .summary("report every @cache problem without building")
    .description("Report every @cache problem of the project (the transformer's diagnostics, duplicate ids) in tsc's format,\n" +
      "and a keys file that is out of date or missing. Exits 1 when there are errors (with --strict, warnings too).")
    .option("-p, --project <path>", "tsconfig.json, or the folder holding it", "tsconfig.json")
    .option("--keys <file>", "the keys file to check for staleness (default: as `tscaching keys`)")
    .option("--strict", "fail on warnings too")
    .addHelpText("after", examples([
      ["tscaching check"],
      ["tscaching check --strict -p packages/api", "in CI: warnings fail too"],
    ]))
    .action((options: CheckOptions) => {
      const configPath = resolveTsconfig(ctx.cwd, options.project);
      const keysFile = options.keys !== undefined ? path.resolve(ctx.cwd, options.keys) : defaultKeysFile(configPath);
      const loaded = loadProject(configPath, { exclude: [keysFile], parsed: readTsconfig(configPath, ctx.cwd) });
      const scan = scanProject(loaded);
      // The tsconfig's `warnings` setting applies here as under tspc: "off" hides warnings, "error" makes them errors.
      const lines: Line[] = scan.problems.flatMap(({ problem, sourceFile }) => {
        const severity = shownSeverity(problem.severity, loaded.settings.warnings);
        if (!severity) return [];
        const file = displayPath(ctx.cwd, path.resolve(sourceFile.fileName));
        const { line, character } = sourceFile.getLineAndCharacterOfPosition(problem.start);
        return [{ file, position: problem.start, severity,
          text: `${file}(${line + 1},${character + 1}): ${paint(ctx, severity)} TS${problem.code}: ${problem.message}` }];
      });
      lines.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.position - b.position));
      const keysWarning = staleKeys(ctx, loaded, scan, keysFile);
      if (keysWarning) lines.push(keysWarning);
      for (const line of lines) ctx.out(line.text);
      const errors = lines.filter((l) => l.severity === "error").length;
      const warnings = lines.length - errors;
      if (lines.length === 0) {
        // Files that hold a cached function: one that only mentions `@cache` caches nothing.
        const files = new Set(scan.functions.map((f) => f.sourceFile)).size;
        ctx.out(`no problems: ${plural(scan.functions.length, "cached function")} in ${plural(files, "file")}`);
        return;
      }
      const files = new Set(lines.map((l) => l.file)).size;
      const counts = [errors > 0 ? plural(errors, "error") : "", warnings > 0 ? plural(warnings, "warning") : ""].filter(Boolean);
      ctx.out(`\nFound ${counts.join(" and ")} in ${plural(files, "file")}.`);
      if (errors > 0 || (options.strict && warnings > 0)) ctx.exitCode = 1;
    });
}

function paint(ctx: Context, severity: "error" | "warning"): string {
  return severity === "error" ? ctx.style.red("error") : ctx.style.yellow("warning");
}

/** A warning when the generated keys file is out of date, or missing while some file imports it. */
function staleKeys(ctx: Context, loaded: LoadedProject, scan: ReturnType<typeof scanProject>, keysFile: string): Line | undefined {
  const file = displayPath(ctx.cwd, keysFile);
  const warning = (message: string): Line => ({
    file, position: 0, severity: "warning", text: `${file}: ${paint(ctx, "warning")}: ${message}`,
  });
  const existing = readKeysFile(keysFile);
  if (existing === undefined) {
    const importer = importerOf(loaded, keysFile);
    return importer ? warning(`missing, but ${displayPath(ctx.cwd, importer)} imports it; run \`tscaching keys\``) : undefined;
  }
  if (!existing.startsWith(KEYS_HEADER)) return undefined; // a keys.ts of the user's own
  const { text } = generateKeys(loaded, scan, keysFile);
  if (existing === text) return undefined;
  return warning(`out of date: ${summarizeDiff(diffKeys(existing, text))}; run \`tscaching keys\``);
}

/** A project file that imports the keys file, if any. */
function importerOf(loaded: LoadedProject, keysFile: string): string | undefined {
  const ts = morphTs();
  const importer = loaded.program.getSourceFiles().find((sf) => isProjectFile(loaded.program, sf) && keysImports(ts, sf, keysFile).length > 0);
  return importer && path.resolve(importer.fileName);
}
