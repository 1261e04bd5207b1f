/** `tscaching key <id> [args...]`: the memcached key a call would use, built by the runtime's own key functions. */
import { Command } from "commander";
import { cache, configure } from "../../runtime/index";
import type { CachedFunction } from "../../transformer/model";
import { CliError, messageOf } from "../errors";
import { callKey, findFunction, isRequestKeyed, keyPartNames, parseArg, resolveNamespace } from "../lookup";
import { examples, plural, type Context } from "../output";
import { defaultKeysFile, openProject, resolveTsconfig } from "../project";

export interface IdOptions {
  project: string;
  namespace?: string;
  verify: boolean;
}

/**
 * Check the id against the project (unless `--no-verify`) and note an argument count that differs
 * from the key's. The function found, if any, decides how the arguments make a key (`callKey`).
 */
export function verifyCall(ctx: Context, id: string, args: readonly unknown[], options: IdOptions): CachedFunction | undefined {
  if (!options.verify) return undefined;
  const configPath = resolveTsconfig(ctx.cwd, options.project);
  const { fn } = findFunction(openProject(ctx.cwd, options.project, [defaultKeysFile(configPath)]).functions, id);
  // A request-keyed handler takes a URL and headers; callKey says so when they do not fit.
  if (isRequestKeyed(fn)) return fn;
  const parts = keyPartNames(fn);
  if (parts.length !== args.length) {
    ctx.err(ctx.errStyle.yellow(`note: the key of ${id} has ${plural(parts.length, "part")}` +
      `${parts.length > 0 ? ` (${parts.join(", ")})` : ""}; ${args.length} given`));
  }
  return fn;
}

export function keyCommand(ctx: Context): Command {
  return new Command("key")
    .summary("print the memcached key of a call")
    .description("Print the memcached key a cached call with these arguments uses.\n" +
      "Each argument is read as JSON when it is valid JSON, else as a string: bob and '\"bob\"' are the string bob, 42 a number.")
    .argument("<id>", "the function's id (see `tscaching list`)")
    .argument("[args...]", "the key's arguments, in order")
    .option("-p, --project <path>", "tsconfig.json, or the folder holding it", "tsconfig.json")
    .option("-n, --namespace <name>", "key namespace (default: TSCACHING_NAMESPACE, else \"tscaching\")")
    .option("--no-verify", "do not look the id up in the project (no tsconfig needed; the key then has no version, see README Versions)")
    .addHelpText("after", examples([
      ["tscaching key src/db#DB.get bob", "→ tscaching:src/db#DB.get:\"bob\""],
      ["tscaching key src/db#DB.get '\"bob\"'", "the same key"],
      ["tscaching key users.byId 42 --namespace shop"],
      ["tscaching key src/search#search '[\"books\",10]'", "a destructured parameter is an array"],
      ["tscaching key src/pages#user '/user?id=1' '{\"accept-language\":\"en\"}'", "an HTTP handler: its URL and headers"],
    ]))
    .action(async (id: string, rawArgs: string[], options: IdOptions) => {
      const namespace = resolveNamespace(options.namespace, ctx.env);
      const args = rawArgs.map(parseArg);
      const fn = verifyCall(ctx, id, args, options);
      // The runtime's own key functions, in the namespace asked for (no server is contacted).
      configure({ servers: [], namespace });
      try {
        ctx.out(callKey(fn, id, args));
      } catch (error) {
        throw error instanceof CliError ? error : new CliError(messageOf(error), { cause: error });
      } finally {
        await cache.close();
      }
    });
}
