/** `tscaching flush`: memcached's flush_all on every server, after confirmation. */
import { Command } from "commander";
import { MemcachedBackend } from "../../runtime/backends/memcached";
import { CliError, messageOf } from "../errors";
import { examples, type Context } from "../output";
import { address, backendOptions, resolveServers, resolveTimeout, SERVERS_OPTION, TIMEOUT_OPTION, type ServerOptions } from "../servers";

export function flushCommand(ctx: Context): Command {
  return new Command("flush")
    .summary("remove every entry on every memcached server")
    .description("Remove every entry on every server (memcached flush_all): all namespaces, not only tscaching's.\n" +
      "Asks for confirmation on a terminal; elsewhere --yes is required.")
    .option(...SERVERS_OPTION)
    .option(...TIMEOUT_OPTION)
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText("after", examples([
      ["tscaching flush", "asks first"],
      ["tscaching flush --yes --servers 127.0.0.1:11211", "in scripts"],
    ]))
    .action(async (options: ServerOptions & { yes?: boolean }) => {
      const servers = resolveServers(options, ctx.env);
      const timeout = resolveTimeout(options);
      const names = servers.map(address);
      if (!options.yes) {
        if (!ctx.stdinIsTTY) throw new CliError("refusing to flush without --yes (stdin is not a terminal)");
        const answer = await ctx.ask(`Remove every entry on ${names.join(", ")} (all namespaces)? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new CliError("flush cancelled");
      }
      const results = await Promise.all(servers.map(async (server) => {
        const backend = new MemcachedBackend(backendOptions([server], timeout, ctx.env));
        try {
          await backend.flush();
          return undefined;
        } catch (error) {
          return messageOf(error);
        } finally {
          await backend.close();
        }
      }));
      results.forEach((error, i) => {
        if (error === undefined) ctx.out(`flushed ${names[i]}`);
      });
      const failed = results.map((error, i) => [names[i], error] as const).filter(([, error]) => error !== undefined);
      if (failed.length > 0) {
        const more = failed.length > 1 ? ` (and ${failed.length - 1} more servers)` : "";
        throw new CliError(`cannot flush memcached ${failed[0][0]}: ${failed[0][1]!.replace(/^memcached \S+:? /, "")}${more}`);
      }
    });
}
