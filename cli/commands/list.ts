/** `tscaching list`: every cached function with its id, place, key parts, ttl, version and options. */
import * as path from "node:path";
import { Command } from "commander";
import { keyPartNames } from "../lookup";
import { displayPath, examples, plural, table, type Context } from "../output";
import { defaultKeysFile, openProject, resolveTsconfig } from "../project";

/** One row of `tscaching list --json`. */
export interface ListedFunction {
  readonly id: string;
  /** The file relative to the current folder. */
  readonly file: string;
  readonly line: number;
  /** Parameter names, `this.field` parts and `[a, b]` for a destructured parameter. */
  readonly key: string[];
  /** Seconds, or null for the runtime's default ttl. */
  readonly ttl: number | null;
  /** The version its entries are keyed under (a hash of code, result type and key parts, or `version=`). */
  readonly version: string;
  /** Tag options other than ttl and key (`name`). */
  readonly options: Record<string, string>;
}

export function listCommand(ctx: Context): Command {
  return new Command("list")
    .summary("list every cached function")
    .description("List every cached function of the project: id, file:line, key parts, ttl and options.")
    .option("-p, --project <path>", "tsconfig.json, or the folder holding it", "tsconfig.json")
    .option("--json", "print a JSON array instead of a table")
    .addHelpText("after", examples([
      ["tscaching list"],
      ["tscaching list -p server/tsconfig.json"],
      ["tscaching list --json | jq -r '.[].id'", "just the ids"],
    ]))
    .action((options: { project: string; json?: boolean }) => {
      const configPath = resolveTsconfig(ctx.cwd, options.project);
      const project = openProject(ctx.cwd, options.project, [defaultKeysFile(configPath)]);
      const listed: ListedFunction[] = project.functions.map(({ fn, sourceFile }) => ({
        id: fn.id,
        file: displayPath(ctx.cwd, path.resolve(sourceFile.fileName)),
        line: fn.line,
        key: keyPartNames(fn),
        ttl: fn.tag.ttl ?? null,
        version: fn.version,
        options: fn.tag.name !== undefined ? { name: fn.tag.name } : ({} as Record<string, string>),
      }));
      if (options.json) {
        ctx.out(JSON.stringify(listed, null, 2));
        return;
      }
      if (listed.length === 0) {
        ctx.out(`no cached functions in ${displayPath(ctx.cwd, configPath)}`);
        return;
      }
      const rows = listed.map((f) => [
        f.id, `${f.file}:${f.line}`, f.key.length > 0 ? f.key.join(", ") : "-",
        f.ttl === null ? "default" : formatTtl(f.ttl), f.version,
        Object.entries(f.options).map(([k, v]) => `${k}=${v}`).join(" ") || "-",
      ]);
      for (const line of table(["ID", "LOCATION", "KEY", "TTL", "VERSION", "OPTIONS"], rows, ctx.style)) ctx.out(line);
      const errors = project.problems.filter((p) => p.problem.severity === "error").length;
      if (errors > 0) ctx.err(ctx.errStyle.yellow(`note: ${plural(errors, "@cache error")} in the project (see \`tscaching check\`)`));
    });
}

/** `300` → `300s (5m)`; whole units read better than seconds. */
export function formatTtl(seconds: number): string {
  if (seconds === 0) return "0 (no expiry)";
  const units: Array<[string, number]> = [["d", 86_400], ["h", 3_600], ["m", 60]];
  let rest = seconds;
  let text = "";
  for (const [unit, size] of units) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0 || text === "") text += `${rest}s`;
  return seconds < 60 ? `${seconds}s` : `${seconds}s (${text})`;
}
