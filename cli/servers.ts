/**
 * The servers for `get`, `stats` and `flush`: `--servers`, else TSCACHING_SERVERS; memcached, or
 * Redis for redis:// URLs (or TSCACHING_STORE=redis); never the in-memory backend.
 */
import type { Backend } from "../runtime/backends/backend";
import { MemcachedBackend } from "../runtime/backends/memcached";
import { RedisBackend } from "../runtime/backends/redis";
import type { RedisTarget } from "../runtime/backends/redis-url";
import { parseServers, parseStore, type CacheOptions, type ServerAddress } from "../runtime/config";
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

/** The store the CLI talks to, and the servers as given (for `configure`). */
export interface StoreTarget {
  readonly kind: "memcached" | "redis";
  readonly servers: ServerAddress[];
  readonly redis?: RedisTarget;
  readonly given: string;
}

/** Like {@link resolveServers}, but Redis URLs (or TSCACHING_STORE=redis) select Redis. */
export function resolveTarget(options: ServerOptions, env: NodeJS.ProcessEnv): StoreTarget {
  const given = options.servers ?? env.TSCACHING_SERVERS ?? "";
  let where;
  try {
    where = parseStore(options.servers !== undefined ? "--servers" : "TSCACHING_SERVERS", given,
      (env.TSCACHING_STORE || undefined) as CacheOptions["store"], "TSCACHING_STORE");
  } catch (error) {
    throw new CliError(messageOf(error), { cause: error });
  }
  if (where.store === "redis") return { kind: "redis", servers: [...where.servers], redis: where.redis, given };
  if (where.servers.length === 0) throw new CliError("no memcached servers: pass --servers or set TSCACHING_SERVERS");
  return { kind: "memcached", servers: [...where.servers], given };
}

/** A backend for `target` (only `servers` of it, for memcached), credentials as the runtime reads them. */
export function openBackend(target: StoreTarget, timeout: number, env: NodeJS.ProcessEnv, servers = target.servers): Backend {
  if (target.redis !== undefined) {
    return new RedisBackend({ target: target.redis, timeout, connectTimeout: timeout, username: env.TSCACHING_USERNAME,
      password: env.TSCACHING_PASSWORD });
  }
  return new MemcachedBackend(backendOptions(servers, timeout, env));
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

export const SERVERS_OPTION = ["--servers <list>",
  "memcached servers, host:port,host:port, or a redis:// URL (default: TSCACHING_SERVERS)"] as const;
export const TIMEOUT_OPTION = ["--timeout <ms>", "how long to wait for each server", "2000"] as const;
