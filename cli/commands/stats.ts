/** `tscaching stats`: memcached's own statistics (Redis: INFO), per server. */
import { Command } from "commander";
import { CliError } from "../errors";
import { examples, table, type Context } from "../output";
import { address, openBackend, resolveTarget, resolveTimeout, SERVERS_OPTION, TIMEOUT_OPTION, type ServerOptions } from "../servers";

const FIELDS = ["uptime", "curr_items", "bytes", "limit_maxbytes", "get_hits", "get_misses", "evictions"] as const;

/** Ask every server for its stats; a server that does not answer gets `{ error }`. */
export async function serverStats(options: ServerOptions, env: NodeJS.ProcessEnv): Promise<Record<string, Record<string, string>>> {
  const target = resolveTarget(options, env);
  const servers = target.servers;
  const timeout = resolveTimeout(options);
  const backend = openBackend(target, timeout, env);
  try {
    const stats = await backend.stats();
    // Redis: every server INFO names (a cluster's masters, whichever seeds were given).
    if (target.kind === "redis") return stats;
    // Keyed by the backend's "host:port"; keep the order the user gave.
    return Object.fromEntries(servers.map((s) => [address(s), stats[`${s.host}:${s.port}`] ?? { error: "no answer" }]));
  } finally {
    await backend.close();
  }
}

export function statsCommand(ctx: Context): Command {
  return new Command("stats")
    .summary("show memcached statistics per server")
    .description(`Show memcached statistics of every server: ${FIELDS.join(", ")} and the hit rate (--json: every field).`)
    .option(...SERVERS_OPTION)
    .option(...TIMEOUT_OPTION)
    .option("--json", "print every statistic of every server as JSON")
    .addHelpText("after", examples([
      ["tscaching stats", "servers from TSCACHING_SERVERS"],
      ["tscaching stats --servers cache1:11211,cache2:11211"],
      ["tscaching stats --json | jq '.[\"cache1:11211\"].curr_connections'"],
    ]))
    .action(async (options: ServerOptions & { json?: boolean }) => {
      const stats = await serverStats(options, ctx.env);
      const failed = Object.entries(stats).filter(([, s]) => s.error !== undefined);
      const answered = Object.entries(stats).filter(([, s]) => s.error === undefined);
      if (options.json) ctx.out(JSON.stringify(Object.fromEntries(answered), null, 2));
      else if (answered.length > 0) {
        const rows = answered.map(([server, s]) => [server, ...FIELDS.map((f) => formatField(f, s[f])), hitRate(s)]);
        for (const line of table(["SERVER", ...FIELDS.map((f) => f.toUpperCase()), "HIT_RATE"], rows, ctx.style)) ctx.out(line);
      }
      if (failed.length > 0) {
        const [server, s] = failed[0];
        const more = failed.length > 1 ? ` (and ${failed.length - 1} more servers)` : "";
        const kind = resolveTarget(options, ctx.env).kind;
        throw new CliError(`cannot reach ${kind} ${server}: ${s.error.replace(/^(memcached|redis) \S+:? /, "")}${more}`);
      }
    });
}

function formatField(field: string, value: string | undefined): string {
  if (value === undefined) return "-";
  if (field === "uptime") {
    const s = Number(value);
    return s >= 86_400 ? `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`
      : s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : `${s}s`;
  }
  return value;
}

function hitRate(s: Record<string, string>): string {
  const hits = Number(s.get_hits);
  const total = hits + Number(s.get_misses);
  return total > 0 ? `${((hits / total) * 100).toFixed(1)}%` : "-";
}
