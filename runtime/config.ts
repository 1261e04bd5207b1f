/**
 * Runtime options: validated up front (a mistake is a `TypeError` that names the option, thrown by
 * `configure()`), with the environment as the fallback so that a deployment can point an unchanged
 * build at its memcached servers.
 */

import { isRedisUrl, parseRedisTarget, REDIS_PORT, type RedisTarget } from "./backends/redis-url";

/** A cache failure reported to `onError` / the `error` event. The caller never sees it. */
export class CacheError extends Error {
  /**
   * - `ESERVER`: the backend failed (connection refused, reset, protocol error).
   * - `ETIMEDOUT`: the backend did not answer within `timeout`.
   * - `EKEY`: an argument cannot form a key (a function, a cycle), or an HTTP request's target is one
   *   no URL parser accepts; the call ran uncached.
   * - `EENCODE`: a result cannot be stored (a function inside it, a cycle); it was returned uncached.
   * - `EDECODE`: a stored entry is not readable (foreign, truncated, older format); treated as a miss.
   * - `E2BIG`: a result is larger than the server's item size; it was returned uncached.
   * - `ECIRCUIT`: a server's circuit breaker is open (it failed repeatedly) and calls for its keys
   *   skip the cache. Reported once per opening (for the first call it turns away), not per call.
   * - `EREFRESH`: the background refresh of a stale value (`stale=`) rejected; the stale value is
   *   still served until its grace period ends. `cause` is the function's rejection.
   * - `ECONFIG`: an environment variable (`TSCACHING_*`) holds a value that cannot be used; the
   *   process runs every call uncached. Reported once per configuration, with a process warning.
   */
  readonly code: "ESERVER" | "ETIMEDOUT" | "EKEY" | "EENCODE" | "EDECODE" | "E2BIG" | "ECIRCUIT" | "EREFRESH" | "ECONFIG";
  /** The cached function's id, when the error happened in a cached call. */
  readonly id?: string;
  /** The memcached key involved, when there is one. */
  readonly key?: string;

  constructor(code: CacheError["code"], message: string, details: { id?: string; key?: string; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.name = "CacheError";
    this.code = code;
    this.id = details.id;
    this.key = details.key;
  }
}

/** A memcached server address. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
}

/** Options of {@link configure}. Every option has an environment fallback where it makes sense. */
export interface CacheOptions {
  /**
   * Memcached servers: `"host:port,host:port"`, an array of such strings or of `{ host, port }`.
   * None (the default) selects the in-memory backend. Redis URLs (`redis://[user:password@]host:6379[/db]`,
   * `rediss://` for TLS, `redis+cluster://` or several URLs for a Redis Cluster) select the Redis backend.
   * @default process.env.TSCACHING_SERVERS
   * @example configure({ servers: "cache1:11211,cache2:11211" })
   * @example configure({ servers: "redis://cache:6379" })
   */
  servers?: string | ReadonlyArray<string | ServerAddress>;
  /**
   * Which store serves: `"memcached"`, `"redis"` or `"memory"`. Left out, the servers decide: Redis
   * URLs select Redis, `host:port` entries memcached, none the in-memory store. With `"redis"`,
   * plain `host:port` entries are Redis servers (port 6379 by default), and no servers means
   * `127.0.0.1:6379`.
   * @default process.env.TSCACHING_STORE
   */
  store?: "memcached" | "redis" | "memory";
  /**
   * Prefix of every key, so that applications sharing a server stay apart.
   * @default process.env.TSCACHING_NAMESPACE ?? "tscaching"
   */
  namespace?: string;
  /** Seconds an entry lives when its tag gives no ttl; 0 means no expiry. @default 300 */
  defaultTtl?: number;
  /** Milliseconds one memcached operation may take before the call goes to the original function. @default 250 */
  timeout?: number;
  /** Milliseconds to wait for a connection to a server. @default 1000 */
  connectTimeout?: number;
  /**
   * Milliseconds a process trusts what it knows of a function's invalidation generation. An
   * `invalidate()` in another process is seen within this time; hits cost one round trip meanwhile.
   * 0 re-reads the generation (in parallel with the entry) on every call. @default 1000
   */
  invalidationCheck?: number;
  /**
   * Milliseconds a call waits for another caller's computation of the same key in this process
   * before it runs the function itself (a function's `timeout=` tag option overrides it). A hung
   * computation thus never blocks its key for longer. @default 30000 (TSCACHING_FLIGHT_TIMEOUT)
   */
  flightTimeout?: number;
  /** Largest encoded value stored, in bytes; larger results are returned uncached. @default 1 MiB - 1 KiB */
  maxValueSize?: number;
  /** SASL credentials passed to memcached. @default process.env.TSCACHING_USERNAME / TSCACHING_PASSWORD */
  username?: string;
  password?: string;
  /**
   * The in-memory backend (used when no servers are configured): its bounds, and `shareValues`.
   *
   * By default every hit decodes its own copy of the stored value, as memcached hits do, so a
   * caller may change what it got without affecting anyone else. `shareValues: true` decodes each
   * stored value once and hands every hit of a cached function that same object, deep-frozen
   * (plain objects and arrays are frozen; the contents of Maps and Sets too, but a Map, Set, Date
   * or byte array itself can still be changed, and such a change would be seen by later hits).
   * That skips the decode on every hit, for code that treats cached values as read-only.
   * `cache.get()` still returns a copy.
   * @default { maxEntries: 10000, maxBytes: 64 MiB, shareValues: false }
   */
  memory?: { maxEntries?: number; maxBytes?: number; shareValues?: boolean };
  /**
   * The local tier of functions tagged `local=` (memcached only; see local-tier.ts): at most
   * `maxEntries` copies and `maxBytes` bytes (keys plus stored encodings) in this process, least
   * recently used first out. By default each local hit decodes its own copy; `shareValues: true`
   * hands every hit of a key one deep-frozen value, as `memory.shareValues` does.
   * @default { maxEntries: 10000, maxBytes: 16 MiB, shareValues: false }
   * @example configure({ servers: "cache1:11211", local: { maxEntries: 50_000, maxBytes: 64 * 1024 * 1024 } })
   */
  local?: { maxEntries?: number; maxBytes?: number; shareValues?: boolean };
  /** `false` turns caching off: every call runs the original function. @default TSCACHING_DISABLED unset */
  enabled?: boolean;
  /**
   * Per-server circuit breaker (memcached only): after `failures` consecutive failures (connection
   * errors, timeouts; requests failing together count once) the server is skipped at once for
   * `cooldown` ms, then one background probe decides; each failed probe doubles the cool-down up to
   * `maxCooldown`. `false` turns it off (every call then waits for its own failure).
   * @default { failures: 5, cooldown: 500, maxCooldown: 3000 }
   */
  breaker?: false | { failures?: number; cooldown?: number; maxCooldown?: number };
  /**
   * While a server is marked down, send its keys to the next server in rendezvous order instead of
   * running uncached. Off by default: those copies are not updated once the owner is back, and would
   * be served again (stale) if it failed a second time within their ttl.
   * @default TSCACHING_FAILOVER=1, else false
   */
  failover?: boolean;
  /** Called with every cache failure (the call itself still answers). */
  onError?: (error: CacheError) => void;
  /**
   * Cached HTTP handlers. `privateHeaders`: request headers that carry credentials, besides
   * `Authorization`, `Cookie` and `Proxy-Authorization` (always private): a request carrying one
   * runs the handler and is never answered from, or stored into, a shared entry (unless the tag
   * says `shared`). Replaces the default list.
   * @default { privateHeaders: ["x-api-key"] }
   * @example configure({ http: { privateHeaders: ["x-api-key", "x-session-token"] } })
   */
  http?: { privateHeaders?: readonly string[] };
}

/** Options after validation and defaults. */
export interface ResolvedOptions {
  /** The servers of the store (memcached's, or Redis's nodes); empty for the in-memory store. */
  readonly servers: readonly ServerAddress[];
  /** The store that serves. */
  readonly store: "memcached" | "redis" | "memory";
  /** Where the Redis backend connects (store "redis" only). */
  readonly redis?: RedisTarget;
  readonly namespace: string;
  readonly defaultTtl: number;
  readonly timeout: number;
  readonly connectTimeout: number;
  readonly maxValueSize: number;
  readonly invalidationCheck: number;
  readonly flightTimeout: number;
  readonly username?: string;
  readonly password?: string;
  readonly memory: { readonly maxEntries: number; readonly maxBytes: number; readonly shareValues: boolean };
  readonly local: { readonly maxEntries: number; readonly maxBytes: number; readonly shareValues: boolean };
  readonly enabled: boolean;
  readonly breaker: false | { readonly failures: number; readonly cooldown: number; readonly maxCooldown: number };
  readonly failover: boolean;
  readonly onError?: (error: CacheError) => void;
  /**
   * A `TSCACHING_*` variable that could not be used (its name and why). Caching is then off
   * (`enabled: false`): a deployment's typo must not make every cached call fail.
   */
  readonly envProblem?: { readonly variable: string; readonly message: string };
  readonly http: { readonly privateHeaders: readonly string[] };
}

const NAMESPACE = /^[A-Za-z0-9_.$/@+-]{1,60}$/;

function fail(option: string, expected: string, got: unknown): never {
  throw new TypeError(`tscaching: option "${option}" must be ${expected}; got ${JSON.stringify(got) ?? String(got)}`);
}

function integer(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    fail(option, `an integer between ${min} and ${max}`, value);
  }
  return n;
}

/** Parse `host:port` lists; `[::1]:11211` for IPv6. */
export function parseServers(option: string, value: CacheOptions["servers"], defaultPort = 11211): ServerAddress[] {
  if (value === undefined || value === "") return [];
  const list = serverList(option, value);
  return list.map((entry) => {
    if (typeof entry === "object" && entry !== null) {
      const { host, port } = entry as ServerAddress;
      if (typeof host !== "string" || host === "") fail(option, "servers with a host", entry);
      return { host, port: integer(option, port, 1, 65535) };
    }
    const m = typeof entry === "string" ? /^(?:\[([^\]]+)\]|([^:\s]+))(?::(\d+))?$/.exec(entry) : null;
    if (!m) fail(option, 'entries like "host:port"', entry);
    return { host: m[1] ?? m[2], port: m[3] ? integer(option, m[3], 1, 65535) : defaultPort };
  });
}

function serverList(option: string, value: NonNullable<CacheOptions["servers"]>): ReadonlyArray<string | ServerAddress> {
  const list = typeof value === "string" ? value.split(",").map((s) => s.trim()).filter(Boolean) : value;
  if (!Array.isArray(list)) fail(option, 'a "host:port,host:port" string or an array', value);
  return list;
}

const STORES = ["memcached", "redis", "memory"] as const;

/**
 * The store and its servers: Redis URLs (or `store: "redis"`) select Redis, other entries
 * memcached, none the in-memory store. Throws a `TypeError` naming `option`; a password in a URL
 * is never repeated in it.
 */
export function parseStore(option: string, value: CacheOptions["servers"], store: CacheOptions["store"],
  storeOption = "store"): Pick<ResolvedOptions, "store" | "servers" | "redis"> {
  if (store !== undefined && !STORES.includes(store)) fail(storeOption, 'one of "memcached", "redis", "memory"', store);
  if (store === "memory") return { store, servers: [] };
  const list = value === undefined || value === "" ? [] : serverList(option, value);
  if (store !== "redis" && !list.some(isRedisUrl)) {
    const servers = parseServers(option, value);
    return { store: servers.length > 0 ? "memcached" : "memory", servers };
  }
  if (store === "memcached") fail(option, "memcached servers (host:port) with store \"memcached\"", redact(value));
  let redis: RedisTarget;
  try {
    redis = parseRedisTarget(list.length > 0 ? list : ["127.0.0.1:6379"], (entry) => {
      if (typeof entry === "string" && /^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) throw new Error("Redis URLs (redis://, rediss://, redis+cluster://), not mixed with other servers");
      return parseServers(option, [entry], REDIS_PORT)[0] as ServerAddress;
    });
  } catch (error) {
    if (error instanceof TypeError) throw error;
    return fail(option, (error as Error).message, redact(value));
  }
  return { store: "redis", servers: redis.nodes, redis };
}

/** The servers as given, with any password in a URL replaced by "***". */
function redact(value: unknown): unknown {
  const hide = (entry: unknown) => typeof entry === "string" ? entry.replace(/(\/\/[^/@:]*):[^/@]*@/, "$1:***@") : entry;
  return Array.isArray(value) ? value.map(hide) : typeof value === "string" ? value.split(",").map(hide).join(",") : value;
}

const TRUE_WORDS = ["1", "true", "yes", "on"];
const FALSE_WORDS = ["0", "false", "no", "off", ""];

/** A yes/no variable (`1/true/yes/on`, `0/false/no/off`, any case); `undefined` when unset. */
function flag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  return fail(name, "one of 1/true/yes/on or 0/false/no/off", value);
}

/**
 * Validate options, filling gaps from `env` and defaults. Throws `TypeError` naming the bad option.
 * A bad environment value does not throw: it is returned as `envProblem`, with caching off, so
 * that the runtime can report it once and run uncached (fail open).
 */
export function resolveOptions(options: CacheOptions, env: NodeJS.ProcessEnv = process.env): ResolvedOptions {
  // Options first: a mistake in code is a TypeError at configure() time.
  resolveStrict(options, {});
  try {
    return resolveStrict(options, env);
  } catch (error) {
    const message = (error as Error).message;
    const variable = /"(TSCACHING_[A-Z_]+)"/.exec(message)?.[1] ?? "TSCACHING_*";
    return { ...resolveStrict(options, {}), enabled: false, envProblem: { variable, message } };
  }
}

function resolveStrict(options: CacheOptions, env: NodeJS.ProcessEnv): ResolvedOptions {
  if (typeof options !== "object" || options === null) fail("options", "an object", options);
  const known = ["servers", "store", "namespace", "defaultTtl", "timeout", "connectTimeout", "maxValueSize", "invalidationCheck", "flightTimeout", "username",
    "password", "memory", "enabled", "onError", "breaker", "failover", "http", "local"];
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) throw new TypeError(`tscaching: unknown option "${name}" (known: ${known.join(", ")})`);
  }
  const where = parseStore(options.servers !== undefined ? "servers" : "TSCACHING_SERVERS", options.servers ?? env.TSCACHING_SERVERS,
    options.store ?? ((env.TSCACHING_STORE || undefined) as CacheOptions["store"]), options.store !== undefined ? "store" : "TSCACHING_STORE");
  const namespace = options.namespace ?? env.TSCACHING_NAMESPACE ?? "tscaching";
  if (typeof namespace !== "string" || !NAMESPACE.test(namespace)) {
    fail(options.namespace !== undefined ? "namespace" : "TSCACHING_NAMESPACE",
      "1-60 characters of letters, digits and _ . $ / @ + -", namespace);
  }
  const pick = (name: keyof CacheOptions, envName: string, fallback: number, min: number, max?: number) =>
    options[name] !== undefined ? integer(name, options[name], min, max)
      : env[envName] !== undefined && env[envName] !== "" ? integer(envName, env[envName], min, max) : fallback;
  const memory = options.memory ?? {};
  if (typeof memory !== "object" || memory === null) fail("memory", "an object", memory);
  for (const name of Object.keys(memory)) {
    if (!["maxEntries", "maxBytes", "shareValues"].includes(name)) {
      throw new TypeError(`tscaching: unknown option "memory.${name}" (known: maxEntries, maxBytes, shareValues)`);
    }
  }
  if (memory.shareValues !== undefined && typeof memory.shareValues !== "boolean") {
    fail("memory.shareValues", "a boolean", memory.shareValues);
  }
  const local = options.local ?? {};
  if (typeof local !== "object" || local === null || Array.isArray(local)) fail("local", "an object", local);
  for (const name of Object.keys(local)) {
    if (!["maxEntries", "maxBytes", "shareValues"].includes(name)) {
      throw new TypeError(`tscaching: unknown option "local.${name}" (known: maxEntries, maxBytes, shareValues)`);
    }
  }
  if (local.shareValues !== undefined && typeof local.shareValues !== "boolean") fail("local.shareValues", "a boolean", local.shareValues);
  if (options.onError !== undefined && typeof options.onError !== "function") fail("onError", "a function", options.onError);
  if (options.enabled !== undefined && typeof options.enabled !== "boolean") fail("enabled", "a boolean", options.enabled);
  if (options.failover !== undefined && typeof options.failover !== "boolean") fail("failover", "a boolean", options.failover);
  const breaker = options.breaker ?? {};
  if (breaker !== false && (typeof breaker !== "object" || breaker === null)) fail("breaker", "an object or false", breaker);
  for (const name of ["username", "password"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "string") fail(name, "a string", options[name]);
  }
  return {
    ...where,
    namespace,
    defaultTtl: pick("defaultTtl", "TSCACHING_DEFAULT_TTL", 300, 0, 10 * 365 * 86_400),
    timeout: pick("timeout", "TSCACHING_TIMEOUT", 250, 1, 60_000),
    connectTimeout: pick("connectTimeout", "TSCACHING_CONNECT_TIMEOUT", 1000, 1, 60_000),
    maxValueSize: pick("maxValueSize", "TSCACHING_MAX_VALUE_SIZE", 1024 * 1024 - 1024, 1, 1024 * 1024 * 1024),
    invalidationCheck: pick("invalidationCheck", "TSCACHING_INVALIDATION_CHECK", 1000, 0, 3_600_000),
    flightTimeout: pick("flightTimeout", "TSCACHING_FLIGHT_TIMEOUT", 30_000, 1, 86_400_000),
    username: options.username ?? env.TSCACHING_USERNAME,
    password: options.password ?? env.TSCACHING_PASSWORD,
    memory: {
      maxEntries: memory.maxEntries === undefined ? 10_000 : integer("memory.maxEntries", memory.maxEntries, 1),
      maxBytes: memory.maxBytes === undefined ? 64 * 1024 * 1024 : integer("memory.maxBytes", memory.maxBytes, 1),
      shareValues: memory.shareValues ?? false,
    },
    local: {
      maxEntries: local.maxEntries === undefined ? 10_000 : integer("local.maxEntries", local.maxEntries, 1),
      maxBytes: local.maxBytes === undefined ? 16 * 1024 * 1024 : integer("local.maxBytes", local.maxBytes, 1),
      shareValues: local.shareValues ?? false,
    },
    enabled: options.enabled ?? !flag("TSCACHING_DISABLED", env.TSCACHING_DISABLED),
    breaker: breaker === false ? false : {
      failures: breaker.failures === undefined ? 5 : integer("breaker.failures", breaker.failures, 1, 1_000_000),
      cooldown: breaker.cooldown === undefined ? 500 : integer("breaker.cooldown", breaker.cooldown, 1, 3_600_000),
      maxCooldown: breaker.maxCooldown === undefined ? Math.max(3_000, breaker.cooldown ?? 0)
        : integer("breaker.maxCooldown", breaker.maxCooldown, breaker.cooldown ?? 1, 3_600_000),
    },
    failover: options.failover ?? flag("TSCACHING_FAILOVER", env.TSCACHING_FAILOVER) ?? false,
    onError: options.onError,
    http: resolveHttp(options.http),
  };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function resolveHttp(http: CacheOptions["http"]): ResolvedOptions["http"] {
  if (http === undefined) return { privateHeaders: ["x-api-key"] };
  if (typeof http !== "object" || http === null) fail("http", "an object", http);
  for (const name of Object.keys(http)) {
    if (name !== "privateHeaders") throw new TypeError(`tscaching: unknown option "http.${name}" (known: privateHeaders)`);
  }
  const list = http.privateHeaders ?? ["x-api-key"];
  if (!Array.isArray(list) || !list.every((name) => typeof name === "string" && HEADER_NAME.test(name))) {
    fail("http.privateHeaders", "an array of header names", list);
  }
  return { privateHeaders: list.map((name: string) => name.toLowerCase()) };
}
