/**
 * One Redis connection as the backend drives it: an ioredis client (or ioredis Cluster) set up to
 * fail fast instead of retrying, with the backend's Lua scripts defined, and a socket that keeps
 * the process alive only while requests are in flight.
 */
import type * as IORedis from "ioredis";
import type { Cluster, Redis, RedisOptions } from "ioredis";
import { SCRIPTS, type ScriptName } from "./redis-scripts";
import type { RedisTarget } from "./redis-url";

type ScriptReply = number | string | null;

/** A client with the scripts of {@link SCRIPTS} as commands. */
export type ScriptedClient = (Redis | Cluster) & {
  [name in ScriptName]: (key: string, ...args: Array<string | Buffer | number>) => Promise<ScriptReply>;
};

/** Connection settings. */
export interface ClientSettings {
  readonly connectTimeout: number;
  readonly keepAlive: boolean;
  /** Used where the URL gives none. */
  readonly username?: string;
  readonly password?: string;
}

const ignore = (): void => {};

let loaded: typeof IORedis | undefined;

/**
 * ioredis, loaded when the first Redis client is made: programs that never select Redis never load
 * it. Kept once loaded: `holdProcess` asks for it on every request that starts or ends a busy spell.
 */
export function ioredis(): typeof IORedis {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= require("ioredis") as typeof IORedis);
}

/** The last connection error of each client: ioredis fails queued requests with a bare "Connection is closed.". */
const lastErrors = new WeakMap<object, Error>();

/** The error that closed `client`'s connection last (ECONNREFUSED, ...), if any. */
export function lastError(client: Redis | Cluster): Error | undefined {
  return lastErrors.get(client);
}

/**
 * A client for `target`. No retries anywhere: a request fails with its connection (the backend's
 * breaker decides when to try again), and a closed client is replaced by a new one on the next
 * request (see {@link usable}), so no reconnect timer runs while the process is idle.
 */
export function createClient(target: RedisTarget, settings: ClientSettings): ScriptedClient {
  const options: RedisOptions = {
    username: target.username ?? settings.username,
    password: target.password ?? settings.password,
    db: target.db,
    tls: target.tls ? {} : undefined,
    // Connect on the first request; it waits in the offline queue until the connection is ready
    // (bounded by the backend's deadline) and fails with the first failed attempt.
    lazyConnect: true,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: null,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    connectTimeout: settings.connectTimeout,
    // No INFO round trip before the first request: a reconnect is one TCP (and AUTH) exchange.
    enableReadyCheck: false,
    // No commandTimeout: the backend's own deadline (memcached-deadlines.ts) covers every request
    // and judges it only after the sockets were read; ioredis's timer would fail, before it is
    // read, an answer that arrived while the process was busy.
    keepAlive: settings.keepAlive ? 30_000 : undefined,
    // Cluster nodes report addresses the seeds may not resolve the same way; keep ioredis's default.
  };
  let client: Redis | Cluster;
  if (target.cluster) {
    client = new (ioredis().Cluster)(target.nodes.map((n) => ({ host: n.host, port: n.port })), {
      lazyConnect: true,
      enableOfflineQueue: true,
      maxRedirections: 4,
      retryDelayOnFailover: 20,
      retryDelayOnClusterDown: 20,
      retryDelayOnTryAgain: 20,
      clusterRetryStrategy: () => null,
      slotsRefreshTimeout: settings.connectTimeout,
      redisOptions: { ...options, retryStrategy: undefined } as Cluster["options"]["redisOptions"],
    });
  } else {
    const [node] = target.nodes;
    client = new (ioredis().Redis)({ ...options, host: node?.host, port: node?.port });
  }
  // Failures reach the requests that meet them; ioredis would otherwise log each one.
  client.on("error", (error: Error) => lastErrors.set(client, error));
  client.on("node error", ignore);
  for (const [name, script] of Object.entries(SCRIPTS)) client.defineCommand(name, script);
  return client as ScriptedClient;
}

/** Whether the client can still be used (a closed ioredis client stays closed). */
export function usable(client: Redis | Cluster): boolean {
  return client.status !== "end" && client.status !== "close";
}

/**
 * Keep the client's sockets ref'd only while requests are in flight, so that an idle connection
 * never keeps the process alive (a short script exits by itself).
 */
export function holdProcess(client: Redis | Cluster, busy: boolean): void {
  const clients = client instanceof ioredis().Cluster ? (client as Cluster).nodes() : [client];
  for (const one of clients) {
    const stream = (one as unknown as { stream?: { ref?(): void; unref?(): void } }).stream;
    if (busy) stream?.ref?.();
    else stream?.unref?.();
  }
}
