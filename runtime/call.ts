/**
 * The cached call that transformed code makes: build the key, ask the backend, on a miss run the
 * original function once per key per process (concurrent callers share its promise), store the
 * result, return it. Every cache failure falls back to the original function: the cache can make a
 * call faster, never make it fail.
 *
 * Opt-in per function (tag options, see the README): `stale=` serves a value past its ttl while one
 * background refresh runs, and keeps serving it while refreshes fail (grace); `errors=` caches a
 * rejection for a while; `lock` makes a cold key be computed once across processes.
 */
import { createHash } from "node:crypto";
import { CacheError } from "./config";
import { buildKey, KeyEncodeError, MAX_KEY_LENGTH } from "./keys";
import { backendError, events, report, state } from "./state";
import { byteLength, encodeEntry, encodeRejection, readEntry, type Entry } from "./entries";
import { groupOf } from "./groups";

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

/**
 * A registered cached function with its counters. Its `errors` field is the error counter: the
 * spec's `errors=` seconds are kept in `errorsTtl`.
 */
export interface CachedFunction extends CachedFunctionSpec {
  hits: number;
  misses: number;
  errors: number;
  /** The spec's `errors=`: seconds a rejection is cached (0: never). */
  readonly errorsTtl: number;
  /** Calls answered with a value past its ttl (`stale=`). */
  staleServes: number;
}

const registry = new Map<string, CachedFunction>();
const inflight = new Map<string, Promise<unknown>>();
/** Keys whose stale value is being refreshed by this process (one refresh per key at a time). */
const refreshing = new Set<string>();

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
  const fn: CachedFunction = { ...spec, v: 1, hits: 0, misses: 0, errors: 0, errorsTtl: spec.errors ?? 0, staleServes: 0 };
  registry.set(spec.id, fn);
  return fn;
}

/** Every cached function registered in this process so far. */
export function cachedFunctions(): readonly CachedFunction[] {
  return [...registry.values()];
}

/**
 * Run `fn` through the cache under the key of `spec` and `args`. Always async. Never rejects
 * because of the cache; rejects only when `fn` does, or, with `errors=`, with the reconstruction
 * of a rejection `fn` gave within that many seconds (by default rejections are not cached).
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

type Body<T> = () => T | Uncached<T> | PromiseLike<T | Uncached<T>>;

async function lookup<T>(spec: CachedFunction, key: string, fn: Body<T>): Promise<T | Uncached<T>> {
  const { backend, options } = state();
  let entry: Entry;
  try {
    entry = await readEntry(backend, key, options.invalidationCheck);
  } catch (error) {
    // The server is down or slow: answer from the original function, do not try to store.
    spec.errors++;
    report(backendError(error, { id: spec.id, key }));
    return fn();
  }
  if (entry.kind === "hit") {
    const softExpiry = entry.softExpiry;
    if (softExpiry === undefined) {
      spec.hits++;
      if (events.listenerCount("hit") > 0) events.emit("hit", { id: spec.id, key });
      return entry.value as T;
    }
    const age = Date.now() - softExpiry;
    if (age < 0) {
      spec.hits++;
      if (events.listenerCount("hit") > 0) events.emit("hit", { id: spec.id, key });
      return entry.value as T;
    }
    if (spec.stale) {
      spec.staleServes++;
      if (events.listenerCount("stale") > 0) events.emit("stale", { id: spec.id, key, age });
      refresh(spec, key, fn, entry.generation);
      return entry.value as T;
    }
    // Past its ttl and this function (no longer) allows stale values: a miss.
  } else if (entry.kind === "rejected" && spec.errorsTtl) {
    spec.hits++;
    if (events.listenerCount("hit") > 0) events.emit("hit", { id: spec.id, key });
    throw rejectionOf(entry);
  } else if (entry.kind === "corrupt") {
    spec.errors++;
    report(new CacheError("EDECODE", `tscaching: unreadable entry for "${spec.id}" treated as a miss and overwritten`,
      { id: spec.id, key }));
  }
  spec.misses++;
  if (events.listenerCount("miss") > 0) events.emit("miss", { id: spec.id, key });
  return spec.lock ? computeLocked(spec, key, fn, entry.generation) : compute(spec, key, fn, entry.generation);
}

/** Run the original function and store what it gives (a rejection too, with `errors=`). */
async function compute<T>(spec: CachedFunction, key: string, fn: Body<T>, generation: number): Promise<T | Uncached<T>> {
  let value: T | Uncached<T>;
  try {
    value = await fn();
  } catch (error) {
    if (spec.errorsTtl) await storeRejection(spec, key, error, generation);
    throw error;
  }
  if (value instanceof Uncached) return value;
  await store(spec, key, value, generation);
  return value;
}

/**
 * The error a cached rejection rejects with: a reconstruction carrying the original's `name` and
 * `message` (no stack from the original, no other properties, not an instance of its class).
 */
function rejectionOf(entry: { name: string; message: string }): Error {
  const error = new Error(entry.message);
  if (entry.name !== "Error") error.name = entry.name;
  Object.defineProperty(error, "cached", { value: true, enumerable: false });
  return error;
}

const MAX_REJECTION_MESSAGE = 4096;

async function storeRejection(spec: CachedFunction, key: string, error: unknown, generation: number): Promise<void> {
  const { backend } = state();
  const isError = error instanceof Error;
  const name = isError && typeof error.name === "string" ? error.name : "Error";
  let message: string;
  try {
    message = isError ? String(error.message) : String(error);
  } catch {
    message = "(unprintable rejection)";
  }
  if (message.length > MAX_REJECTION_MESSAGE) message = `${message.slice(0, MAX_REJECTION_MESSAGE)}…`;
  try {
    await backend.set(key, encodeRejection(name.slice(0, 200), message, generation), spec.errorsTtl);
  } catch (cause) {
    spec.errors++;
    report(backendError(cause, { id: spec.id, key }));
  }
}

/** The key a `lock` function's cold key is locked under: never a value key, at most 250 bytes. */
export function lockKeyOf(key: string): string {
  // Keys are printable ASCII, so length is bytes. No argument encoding ends in "~lock".
  if (key.length <= MAX_KEY_LENGTH - 5) return `${key}~lock`;
  return `${groupOf(key)}#${createHash("sha256").update(key).digest("base64url")}~lock`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Take the cross-process lock: true when this process holds it (or the cache cannot tell). */
async function takeLock(spec: CachedFunction, lockKey: string): Promise<boolean> {
  try {
    return await state().backend.add(lockKey, String(process.pid), spec.lock as number);
  } catch (error) {
    spec.errors++;
    report(backendError(error, { id: spec.id, key: lockKey }));
    return true;
  }
}

function releaseLock(lockKey: string): void {
  // Not awaited: waiters poll the value first, and the lock expires by itself anyway.
  state().backend.delete(lockKey).catch(() => undefined);
}

/**
 * A cold key of a `lock` function: the process that `add`s the lock key computes and stores; the
 * others poll the value (20 ms doubling to 200 ms) for at most `lock` seconds, then compute
 * themselves. They stop waiting early when the lock disappears without a value (the holder
 * failed, or its result was not cacheable). A holder that dies leaves a lock that expires after
 * `lock` seconds, the longest anyone waits for it.
 */
async function computeLocked<T>(spec: CachedFunction, key: string, fn: Body<T>, generation: number): Promise<T | Uncached<T>> {
  const lockKey = lockKeyOf(key);
  if (await takeLock(spec, lockKey)) {
    try {
      return await compute(spec, key, fn, generation);
    } finally {
      releaseLock(lockKey);
    }
  }
  const { backend, options } = state();
  const deadline = Date.now() + (spec.lock as number) * 1000;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(delay, left));
    let entry: Entry;
    let held: unknown;
    try {
      [entry, held] = await Promise.all([readEntry(backend, key, options.invalidationCheck), backend.get(lockKey)]);
    } catch (error) {
      spec.errors++;
      report(backendError(error, { id: spec.id, key }));
      break;
    }
    if (entry.kind === "hit" && (entry.softExpiry === undefined || entry.softExpiry > Date.now() || spec.stale)) {
      return entry.value as T;
    }
    if (entry.kind === "rejected" && spec.errorsTtl) throw rejectionOf(entry);
    if (held === undefined) break;
  }
  return compute(spec, key, fn, generation);
}

/**
 * Refresh a stale value in the background, once per key per process at a time (and, with `lock`,
 * once across processes). A rejection is reported (`EREFRESH`) and the stale value stays until
 * memcached drops it at ttl + stale: that is the grace period.
 */
function refresh<T>(spec: CachedFunction, key: string, fn: Body<T>, generation: number): void {
  if (refreshing.has(key)) return;
  refreshing.add(key);
  void (async () => {
    let lockKey: string | undefined;
    try {
      if (spec.lock) {
        if (!(await takeLock(spec, lockKeyOf(key)))) return; // another process is refreshing it
        lockKey = lockKeyOf(key);
      }
      let value: T | Uncached<T>;
      try {
        value = await fn();
      } catch (error) {
        spec.errors++;
        const message = error instanceof Error ? error.message : String(error);
        report(new CacheError("EREFRESH", `tscaching: refreshing the stale value of "${spec.id}" failed (${message}); ` +
          "the stale value is served until its grace period ends", { id: spec.id, key, cause: error }));
        return;
      }
      if (!(value instanceof Uncached)) await store(spec, key, value, generation);
    } catch {
      // store() and takeLock() report their own failures; nothing may escape a background task.
    } finally {
      if (lockKey !== undefined) releaseLock(lockKey);
      refreshing.delete(key);
    }
  })();
}

async function store(spec: CachedFunction, key: string, value: unknown, generation: number): Promise<void> {
  const { backend, options } = state();
  const ttl = spec.ttl ?? options.defaultTtl;
  // stale=: memcached keeps the entry for ttl + stale; the envelope says when the ttl ran out.
  const stale = spec.stale && ttl > 0 ? spec.stale : 0;
  let encoded: string;
  try {
    encoded = encodeEntry(value, generation, stale ? Date.now() + ttl * 1000 : undefined);
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
    await backend.set(key, encoded, ttl + stale);
  } catch (error) {
    spec.errors++;
    report(backendError(error, { id: spec.id, key }));
  }
}
