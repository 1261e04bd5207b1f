/**
 * The `tscaching` program: every command assembled in one place, and the one place errors are
 * handled. Nothing here exits the process: `run()` resolves the exit status for `bin.ts`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { checkCommand } from "./commands/check";
import { flushCommand } from "./commands/flush";
import { getCommand } from "./commands/get";
import { initCommand } from "./commands/init";
import { keyCommand } from "./commands/key";
import { keysCommand } from "./commands/keys";
import { listCommand } from "./commands/list";
import { statsCommand } from "./commands/stats";
import { CliError, messageOf } from "./errors";
import { examples, processContext, type Context } from "./output";

const COMMANDS = [initCommand, keysCommand, listCommand, keyCommand, getCommand, checkCommand, statsCommand, flushCommand];

function packageVersion(): string {
  // dist/cli/program.js → package.json two folders up (cli/program.ts when run from source).
  for (const candidate of ["../../package.json", "../package.json"]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, candidate), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tscaching" && pkg.version) return pkg.version;
    } catch {
      // try the next one
    }
  }
  return "unknown";
}

/** Build the program for a context. */
export function createProgram(ctx: Context): Command {
  const program = new Command("tscaching")
    .description("Command-line tool of tscaching: the keys registry, cached functions, keys and values in memcached.")
    .version(packageVersion(), "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (text) => ctx.writeOut(text),
      writeErr: (text) => ctx.writeErr(text),
      // Commander's own errors (unknown option, missing argument) in our one-line format.
      outputError: (text, write) => write(`tscaching: ${text.replace(/^error: /, "").replace(/\n\(Did you mean (.*)\)/, " (did you mean $1)").trimEnd()}\n`),
    })
    .addHelpText("after", examples([
      ["tscaching keys", "write src/keys.ts, the typed key helpers"],
      ["tscaching keys --watch & tspc --watch", "keep keys.ts current while developing"],
      ["tscaching keys --check", "in CI: fail when keys.ts is stale"],
      ["tscaching list", "every cached function, its key and ttl"],
      ["tscaching check", "every @cache problem, as tsc prints them"],
      ["tscaching key src/db#DB.get bob", "the memcached key of DB.get(\"bob\")"],
      ["tscaching get src/db#DB.get bob", "its cached value (TSCACHING_SERVERS)"],
      ["tscaching stats", "memcached statistics per server"],
      ["tscaching flush --yes", "flush_all on every server"],
    ]));
  for (const make of COMMANDS) program.addCommand(make(ctx).copyInheritedSettings(program));
  return program;
}

/** Run the CLI with `argv` (without node and the script) and resolve the exit status. */
export async function run(argv: readonly string[], ctx: Context = processContext()): Promise<number> {
  try {
    await createProgram(ctx).parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    return report(ctx, error);
  }
}

/** The one place errors become output and an exit status. */
function report(ctx: Context, error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode; // commander already printed help, version or its error
  if (error instanceof CliError) {
    ctx.err(`${ctx.errStyle.red("tscaching:")} ${error.message}`);
    for (const line of error.details) ctx.err(`  ${line}`);
    return error.exitCode;
  }
  // The runtime's option validation (configure() from the environment) throws TypeErrors that say what to fix.
  if (error instanceof TypeError && error.message.startsWith("tscaching: ")) {
    ctx.err(`${ctx.errStyle.red("tscaching:")} ${messageOf(error)}`);
    return 1;
  }
  ctx.err(`${ctx.errStyle.red("tscaching:")} internal error: ${messageOf(error)} (please report it; TSCACHING_DEBUG=1 shows the stack)`);
  if (ctx.env.TSCACHING_DEBUG && error instanceof Error) ctx.err(error.stack);
  return 70; // EX_SOFTWARE
}
