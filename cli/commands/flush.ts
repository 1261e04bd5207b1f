/** `tscaching flush`: memcached's flush_all on every server, after confirmation. */
import { Command } from "commander";
import { announceFlushOn } from "../../runtime/bus";
import { CliError, messageOf } from "../errors";
import { examples, type Context } from "../output";
import { address, openBackend, resolveTarget, resolveTimeout, SERVERS_OPTION, TIMEOUT_OPTION, type ServerOptions } from "../servers";

export function flushCommand(ctx: Context): Command {
  return new Command("flush")
    .summary("remove every entry on every memcached server (Redis: FLUSHDB)")
    .description("Remove every entry on every server (memcached flush_all; Redis FLUSHDB of the URL's database): all namespaces, not only tscaching's.\n" +
      "Asks for confirmation on a terminal; elsewhere --yes is required.")
    .option(...SERVERS_OPTION)
    .option(...TIMEOUT_OPTION)
    .option("-y, --yes", "do not ask for confirmation")
    .addHelpText("after", examples([
      ["tscaching flush", "asks first"],
      ["tscaching flush --yes --servers 127.0.0.1:11211", "in scripts"],
    ]))
    .action(async (options: ServerOptions & { yes?: boolean }) => {
      const target = resolveTarget(options, ctx.env);
      const timeout = resolveTimeout(options);
      // Redis: one FLUSHDB through the one connection (every master of a cluster).
      const groups = target.kind === "redis" ? [target.servers] : target.servers.map((server) => [server]);
      const names = groups.map((group) => group.map(address).join(","));
      if (!options.yes) {
        if (!ctx.stdinIsTTY) throw new CliError("refusing to flush without --yes (stdin is not a terminal)");
        const answer = await ctx.ask(`Remove every entry on ${names.join(", ")} (all namespaces)? [y/N] `);
        if (!/^y(es)?$/i.test(answer.trim())) throw new CliError("flush cancelled");
      }
      const results = await Promise.all(groups.map(async (group) => {
        const backend = openBackend(target, timeout, ctx.env, group);
        try {
          await backend.flush();
          await announceFlushOn(backend); // Redis: processes holding local copies drop them (the bus)
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
        throw new CliError(`cannot flush ${target.kind} ${failed[0][0]}: ${failed[0][1]!.replace(/^(memcached|redis) \S+:? /, "")}${more}`);
      }
    });
}
