/**
 * The cached call that transformed code makes: build the key, ask the backend, on a miss run the
 * original function once per key per process (concurrent callers share its promise), store the
 * result, return it. Every cache failure falls back to the original function: the cache can make a
 * call faster, never make it fail.
 */
import { CacheError } from "./config";
import { buildKey, KeyEncodeError } from "./keys";
import { backendError, events, report, state } from "./state";
import { byteLength, encodeEntry, readEntry } from "./entries";

/** What the transformer emits for each cached function (`defineCached({ v: 1, id, ttl })`). */
export interface CachedFunctionSpec {
  /** Spec format version. */
  readonly v: 1;
  /** Stable id: `name=` from the tag, or `<module path>#<qualified name>`. */
  readonly id: string;
  /** Seconds; absent means the configured `defaultTtl`. */
  readonly ttl?: number;
  /** `stale=`: seconds an expired value may still be served while one refresh runs. */
  readonly stale?: number;
  /** `errors=`: seconds a rejection is cached. */
  readonly errors?: number;
  /** `lock`: longest wait in seconds for another process computing the same cold key. */
  readonly lock?: number;
  /** HTTP handlers: their kind and response-caching options. */
  readonly http?: "node" | "fetch";
  readonly ignoreQuery?: readonly string[];
  readonly vary?: readonly string[];
  readonly status?: readonly number[];
  readonly shared?: boolean;
}

/**
 * What a cached body returns to answer its caller without caching the answer. Concurrent callers
 * waiting on the same key do not share it: each runs its own call (an HTTP response that sets a
 * cookie, say, must reach only its own request).
 */
export class Uncached<T> {
  constructor(readonly value: T) {}
}

const unwrap = <T>(result: T | Uncached<T>): T => (result instanceof Uncached ? result.value : result);

/** A registered cached function with its counters. */
export interface CachedFunction extends CachedFunctionSpec {
  hits: number;
  misses: number;
  errors: number;
}

const registry = new Map<string, CachedFunction>();
const inflight = new Map<string, Promise<unknown>>();

/**
 * Register a cached function. Called once per function at module load by transformed code; also
 * usable by hand where the transformer cannot run.
 *
 * @example
 * ```ts
 * const spec = defineCached({ v: 1, id: "users#byId", ttl: 60 });
 * const byId = (id: string) => cachedCall(spec, [id], () => db.users.find(id));
 * ```
 */
export function defineCached(spec: CachedFunctionSpec): CachedFunction {
  if (spec === null || typeof spec !== "object" || spec.v !== 1 || typeof spec.id !== "string" || spec.id === "") {
    throw new TypeError(`tscaching: unsupported cached-function spec ${JSON.stringify(spec)}; ` +
      "the code was compiled by a newer tscaching transformer than the runtime it runs with");
  }
  for (const field of ["ttl", "stale", "errors", "lock"] as const) {
    const value = spec[field];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new TypeError(`tscaching: spec "${spec.id}": ${field} must be a non-negative integer`);
    }
  }
  const existing = registry.get(spec.id);
  if (existing) return existing;
  const fn: CachedFunction = { ...spec, v: 1, hits: 0, misses: 0, errors: 0 };
  registry.set(spec.id, fn);
  return fn;
}

/** Every cached function registered in this process so far. */
export function cachedFunctions(): readonly CachedFunction[] {
  return [...registry.values()];
}

/**
 * Run `fn` through the cache under the key of `spec` and `args`. Always async. Never rejects
 * because of the cache; rejects only when `fn` does (rejections are not cached).
 */
export function cachedCall<T>(spec: CachedFunctionSpec, args: readonly unknown[],
                              fn: () => T | Uncached<T> | PromiseLike<T | Uncached<T>>): Promise<T> {
  const { options } = state();
  if (!options.enabled) return invoke(fn);
  const fnSpec = (spec as CachedFunction).hits !== undefined ? spec as CachedFunction : defineCached(spec);
  let key: string;
  try {
    key = buildKey(options.namespace, spec.id, args);
  } catch (error) {
    fnSpec.errors++;
    const path = error instanceof KeyEncodeError ? ` at ${error.path}` : "";
    report(new CacheError("EKEY", `tscaching: "${spec.id}" called with an argument that cannot form a key${path}; ran uncached`,
      { id: spec.id, cause: error }));
    return invoke(fn);
  }
  const pending = inflight.get(key) as Promise<T | Uncached<T>> | undefined;
  if (pending) return pending.then((result) => (result instanceof Uncached ? invoke(fn) : result));
  const call = lookup(fnSpec, key, fn);
  inflight.set(key, call);
  // Clean up without creating an unhandled rejection of our own: the caller handles `call`'s.
  call.then(() => inflight.delete(key), () => inflight.delete(key));
  return call.then(unwrap);
}

async function invoke<T>(fn: () => T | Uncached<T> | PromiseLike<T | Uncached<T>>): Promise<T> {
  return unwrap(await fn());
}

async function lookup<T>(spec: CachedFunction, key: string, fn: () => T | Uncached<T> | PromiseLike<T | Uncached<T>>):
    Promise<T | Uncached<T>> {
  const { backend, options } = state();
  let entry;
  try {
    entry = await readEntry(backend, key, options.invalidationCheck);
  } catch (error) {
    // The server is down or slow: answer from the original function, do not try to store.
    spec.errors++;
    report(backendError(error, { id: spec.id, key }));
    return fn();
  }
  if (entry.kind === "hit") {
    spec.hits++;
    if (events.listenerCount("hit") > 0) events.emit("hit", { id: spec.id, key });
    return entry.value as T;
  }
  if (entry.kind === "corrupt") {
    spec.errors++;
    report(new CacheError("EDECODE", `tscaching: unreadable entry for "${spec.id}" treated as a miss and overwritten`,
      { id: spec.id, key }));
  }
  spec.misses++;
  if (events.listenerCount("miss") > 0) events.emit("miss", { id: spec.id, key });
  const value = await fn();
  if (value instanceof Uncached) return value;
  await store(spec, key, value, spec.ttl ?? options.defaultTtl, entry.generation);
  return value;
}

async function store(spec: CachedFunction, key: string, value: unknown, ttl: number, generation: number): Promise<void> {
  const { backend } = state();
  let encoded: string;
  try {
    encoded = encodeEntry(value, generation);
  } catch (error) {
    spec.errors++;
    report(new CacheError("EENCODE", `tscaching: the result of "${spec.id}" cannot be cached (${(error as Error).message}); returned uncached`,
      { id: spec.id, key, cause: error }));
    return;
  }
  if (encoded.length > backend.maxValueSize / 3 && byteLength(encoded) > backend.maxValueSize) {
    spec.errors++;
    report(new CacheError("E2BIG", `tscaching: the result of "${spec.id}" is ${byteLength(encoded)} bytes, over the ` +
      `${backend.maxValueSize}-byte item limit; returned uncached`, { id: spec.id, key }));
    return;
  }
  try {
    await backend.set(key, encoded, ttl);
  } catch (error) {
    spec.errors++;
    report(backendError(error, { id: spec.id, key }));
  }
}
