/**
 * The process-wide runtime state: the resolved options, the backend, the events. Created lazily
 * from the environment on first use, so a cached function works with no setup at all.
 */
import { EventEmitter } from "node:events";
import type { Backend } from "./backends/backend";
import { MemcachedBackend, type CircuitChange } from "./backends/memcached";
import { MemoryBackend } from "./backends/memory";
import { RedisBackend } from "./backends/redis";
import { clock } from "./clock";
import { CacheError, resolveOptions, type CacheOptions, type ResolvedOptions } from "./config";
import type { LocalTier } from "./local-tier";

export interface RuntimeState {
  readonly options: ResolvedOptions;
  readonly backend: Backend;
  /** The configuration's local tier once asked for (local-tier.ts; `null`: none, the backend is in this process). */
  localTier?: LocalTier | null;
}

/** Event payloads of `cache.on(...)`. */
export interface CacheEvents {
  /** A cached call was answered from the cache (a cached rejection of `errors=` included). */
  hit: [{ id: string; key: string }];
  /** A cached call ran the original function. */
  miss: [{ id: string; key: string }];
  /**
   * A cached call was answered with a value past its ttl (`stale=`) while one refresh runs in the
   * background; `age` is how many milliseconds ago the ttl ran out.
   */
  stale: [{ id: string; key: string; age: number }];
  /** A cache failure; the call still answered. */
  error: [CacheError];
  /** A memcached or Redis server's circuit breaker opened (the server is skipped) or closed (it answers again). */
  circuit: [CircuitChange];
}

export const events = new EventEmitter<CacheEvents>();

/**
 * Whether anything listens to `hit`, kept as listeners come and go: every hit asks, and
 * `events.listenerCount("hit")` costs a tenth of a local hit. (`events` is internal; nothing may call
 * its `removeAllListeners()`, which would remove these two hooks.)
 */
export const listening = { hit: false };
(events as EventEmitter).on("newListener", (name: string | symbol) => {
  if (name === "hit") listening.hit = true;
});
(events as EventEmitter).on("removeListener", (name: string | symbol) => {
  if (name === "hit") listening.hit = events.listenerCount("hit") > 0;
});
let current: RuntimeState | undefined;

function create(options: ResolvedOptions): RuntimeState {
  const onCircuit = (change: CircuitChange): void => {
    if (events.listenerCount("circuit") > 0) events.emit("circuit", change);
  };
  const backend: Backend = options.redis !== undefined
    ? new RedisBackend({
      target: options.redis, timeout: options.timeout, connectTimeout: options.connectTimeout, username: options.username,
      password: options.password, maxValueSize: options.maxValueSize, breaker: options.breaker, clock, onCircuit,
    })
    : options.servers.length > 0
    ? new MemcachedBackend({
      servers: [...options.servers], timeout: options.timeout, connectTimeout: options.connectTimeout,
      username: options.username, password: options.password, maxValueSize: options.maxValueSize,
      breaker: options.breaker, failover: options.failover, clock, onCircuit,
    })
    : new MemoryBackend({ maxEntries: options.memory.maxEntries, maxBytes: options.memory.maxBytes, maxValueSize: options.maxValueSize,
      // The real clock stays lru-cache's own (it reads it once per millisecond); a moved clock is read on every get.
      now: clock.isSystem ? undefined : clock.now });
  return { options, backend, localTier: undefined };
}

/** The current state, created from the environment on first use. */
export function state(): RuntimeState {
  if (current === undefined) {
    current = create(resolveOptions({}));
    reportEnvProblem(current.options);
  }
  return current;
}

/**
 * A bad `TSCACHING_*` value turned caching off: say so once per configuration, loudly (onError,
 * the `error` event and a process warning, whatever listens), naming the variable.
 */
function reportEnvProblem(options: ResolvedOptions): void {
  const problem = options.envProblem;
  if (problem === undefined) return;
  const error = new CacheError("ECONFIG", `tscaching: environment variable ${problem.variable} cannot be used ` +
    `(${problem.message}); every cached call runs uncached until it is fixed`);
  try {
    options.onError?.(error);
    if (events.listenerCount("error") > 0) events.emit("error", error);
  } catch {
    // A throwing error handler must not break the program either.
  }
  process.emitWarning(error.message, { type: "TscachingWarning", code: `TSCACHING_ECONFIG` });
}

/**
 * Configure the cache. Options left out fall back to the environment (`TSCACHING_SERVERS`,
 * `TSCACHING_NAMESPACE`, ...) and then to defaults; with no servers the in-memory backend serves.
 * Calling it again replaces the backend (the old one is closed). Throws `TypeError` naming a bad option.
 *
 * @example
 * ```ts
 * import { configure } from "tscaching";
 * configure({ servers: "127.0.0.1:11211", namespace: "shop", defaultTtl: 600 });
 * ```
 */
export function configure(options: CacheOptions = {}): void {
  const next = create(resolveOptions(options));
  const previous = current;
  current = next;
  previous?.backend.close().catch(() => undefined);
  reportEnvProblem(next.options);
}

/** Close the backend's connections; the next cache use starts a fresh one from the environment. */
export async function close(): Promise<void> {
  const previous = current;
  current = undefined;
  await previous?.backend.close();
}

const warned = new Set<string>();
/** Backend failure events already reported (requests failing together share one). */
const reportedFailures = new WeakSet<object>();

/**
 * Route a cache failure to `onError`, the `error` event, or (neither present) one warning per code.
 * Calls turned away by an open circuit breaker are reported once per opening (the first one), and
 * of the requests a connection failure fails together only the first is reported, so a dead
 * server costs a handful of reports per outage, not one per call.
 */
export function report(error: CacheError): void {
  const failure = (error.cause as { failure?: object } | undefined)?.failure;
  if (failure !== undefined) {
    if (reportedFailures.has(failure)) return;
    reportedFailures.add(failure);
  }
  if (error.code === "ECIRCUIT") {
    const outage = (error.cause as { outage?: { reported: boolean } } | undefined)?.outage;
    if (outage?.reported) return;
    if (outage) outage.reported = true;
  }
  const { onError } = state().options;
  try {
    if (onError) onError(error);
    if (events.listenerCount("error") > 0) events.emit("error", error);
    else if (!onError && !warned.has(error.code)) {
      warned.add(error.code);
      process.emitWarning(`${error.message} (further ${error.code} errors are not shown; pass onError to configure())`,
        { type: "TscachingWarning", code: `TSCACHING_${error.code}` });
    }
  } catch {
    // A throwing error handler must not break the cached call either.
  }
}

/** Turn a backend rejection into a CacheError. */
export function backendError(cause: unknown, details: { id?: string; key?: string }): CacheError {
  const causeCode = (cause as { code?: string } | undefined)?.code;
  const code = causeCode === "ETIMEDOUT" || causeCode === "E2BIG" || causeCode === "ECIRCUIT" ? causeCode : "ESERVER";
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code === "ECIRCUIT") {
    const server = (cause as { server?: string }).server ?? "a server";
    return new CacheError(code, `tscaching: cache server ${server} is marked down after repeated failures: calls for its keys ` +
      "skip the cache until a probe finds it answering (not reported again for this outage)", { ...details, cause });
  }
  return new CacheError(code, `tscaching: cache backend failed: ${message}`, { ...details, cause });
}
