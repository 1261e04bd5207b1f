/**
 * `tscaching get <id> [args...]`: the value cached for a call, read exactly as the runtime reads it
 * (its cache, its key, its codec, its group generations), printed with util.inspect.
 */
import { inspect } from "node:util";
import { Command } from "commander";
import { MemcachedBackend } from "../../runtime/backends/memcached";
import type { ServerAddress } from "../../runtime/config";
import { cache, configure, type CacheError, type CacheKey } from "../../runtime/index";
import { buildKey } from "../../runtime/keys";
import { state } from "../../runtime/state";
import { CliError, messageOf } from "../errors";
import { parseArg, resolveNamespace } from "../lookup";
import { examples, type Context } from "../output";
import { address, backendOptions, resolveServers, resolveTimeout, SERVERS_OPTION, TIMEOUT_OPTION, type ServerOptions } from "../servers";
import { verifyCall, type IdOptions } from "./key";

export function getCommand(ctx: Context): Command {
  return new Command("get")
    .summary("print the cached value of a call")
    .description("Print the value a cached call with these arguments would be answered with, or (miss).\n" +
      "Arguments are read as for `tscaching key`: JSON when valid, else a string.")
    .argument("<id>", "the function's id (see `tscaching list`)")
    .argument("[args...]", "the key's arguments, in order")
    .option("-p, --project <path>", "tsconfig.json, or the folder holding it", "tsconfig.json")
    .option("-n, --namespace <name>", "key namespace (default: TSCACHING_NAMESPACE, else \"tscaching\")")
    .option(...SERVERS_OPTION)
    .option(...TIMEOUT_OPTION)
    .option("--no-verify", "do not look the id up in the project (no tsconfig needed)")
    .addHelpText("after", examples([
      ["tscaching get src/db#DB.get bob --servers 127.0.0.1:11211"],
      ["TSCACHING_SERVERS=cache1:11211 tscaching get users.byId 42"],
      ["tscaching get src/reports#Reports.daily 2024-01-02 --no-verify", "without the sources at hand"],
    ]))
    .action(async (id: string, rawArgs: string[], options: IdOptions & ServerOptions) => {
      const namespace = resolveNamespace(options.namespace, ctx.env);
      const servers = resolveServers(options, ctx.env);
      const timeout = resolveTimeout(options);
      const args = rawArgs.map(parseArg);
      verifyCall(ctx, id, args, options);
      // The runtime fails open (a dead server reads as a miss); the CLI must tell the user instead.
      const failures: CacheError[] = [];
      configure({ servers, namespace, timeout, connectTimeout: timeout, onError: (error) => failures.push(error) });
      try {
        let key: CacheKey<unknown>;
        try {
          // cache.keyOf's key, without its "no such function in this process" warning: the CLI reads other processes' entries.
          key = buildKey(state().options.namespace, id, args) as CacheKey<unknown>;
        } catch (error) {
          throw new CliError(messageOf(error), { cause: error });
        }
        // getMulti reads through the same path as get() but tells a cached `undefined` from a miss.
        const found = await cache.getMulti([key]);
        if (failures.length > 0) {
          const cause = messageOf(failures[0].cause ?? failures[0]).replace(/^memcached \S+:? /, "");
          throw new CliError(`cannot read from memcached ${servers.map(address).join(", ")}: ${cause}`, { cause: failures[0] });
        }
        if (!found.has(key)) {
          await confirmMiss(servers, timeout, ctx.env, key);
          ctx.out("(miss)");
          return;
        }
        ctx.out(inspect(found.get(key), { depth: null, colors: ctx.color, maxArrayLength: null, maxStringLength: null }));
      } finally {
        await cache.close();
      }
    });
}

/**
 * A miss is only a miss when the key's server answered. The runtime reports failures through
 * onError, but it may fold one outage into a single report (or none, for a request that failed
 * alongside another): ask the server that holds the key directly, without failing open.
 */
async function confirmMiss(servers: ServerAddress[], timeout: number, env: NodeJS.ProcessEnv, key: string): Promise<void> {
  const backend = new MemcachedBackend(backendOptions(servers, timeout, env));
  try {
    await backend.get(key);
  } catch (error) {
    throw new CliError(`cannot read from memcached ${backend.serverFor(key)}: ${messageOf(error).replace(/^memcached \S+:? /, "")}`, { cause: error });
  } finally {
    await backend.close();
  }
}
