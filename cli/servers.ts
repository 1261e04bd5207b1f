/** Memcached servers for `get`, `stats` and `flush`: `--servers`, else TSCACHING_SERVERS; never the in-memory backend. */
import { parseServers, type ServerAddress } from "../runtime/config";
import { CliError, messageOf } from "./errors";

/** Options shared by the commands that talk to memcached. */
export interface ServerOptions {
  servers?: string;
  timeout: string;
}

export function resolveServers(options: ServerOptions, env: NodeJS.ProcessEnv): ServerAddress[] {
  const given = options.servers ?? env.TSCACHING_SERVERS;
  let servers: ServerAddress[];
  try {
    servers = parseServers(options.servers !== undefined ? "--servers" : "TSCACHING_SERVERS", given);
  } catch (error) {
    throw new CliError(messageOf(error), { cause: error });
  }
  if (servers.length === 0) throw new CliError("no memcached servers: pass --servers or set TSCACHING_SERVERS");
  return servers;
}

/** `--timeout` in ms. */
export function resolveTimeout(options: ServerOptions): number {
  const ms = Number(options.timeout);
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) throw new CliError(`--timeout must be milliseconds between 1 and 60000; got '${options.timeout}'`);
  return ms;
}

/** What a MemcachedBackend for `servers` needs, SASL credentials included (as the runtime reads them). */
export function backendOptions(servers: ServerAddress[], timeout: number, env: NodeJS.ProcessEnv) {
  return { servers, timeout, connectTimeout: timeout, username: env.TSCACHING_USERNAME, password: env.TSCACHING_PASSWORD };
}

export const address = (server: ServerAddress) => (server.host.includes(":") ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`);

export const SERVERS_OPTION = ["--servers <list>", "memcached servers, host:port,host:port (default: TSCACHING_SERVERS)"] as const;
export const TIMEOUT_OPTION = ["--timeout <ms>", "how long to wait for each server", "2000"] as const;
