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
import { CacheError, type ResolvedOptions } from "./config";
import { KeyEncodeError, keyPrefix, keyWithPrefix, MAX_KEY_LENGTH } from "./keys";
import { backendError, events, report, state } from "./state";
import { byteLength, classify, encodeEntry, encodeRejection, parseEntry, readEntry, readEntryThen, type Entry, type ParsedEntry } from "./entries";
import { generationOf, groupOf } from "./groups";
import { MemoryBackend } from "./backends/memory";

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
/**
 * One read-or-compute per key per process: concurrent callers of the same key wait on it. A
 * result the body marked `Uncached` sets `uncached`, and each waiter then runs its own call.
 */
interface Flight {
  readonly promise: Promise<unknown>;
  uncached: boolean;
}
const inflight = new Map<string, Flight>();
/** Keys whose stale value is being refreshed by this process (one refresh per key at a time). */
const refreshing = new Set<string>();
/**
 * Per cached function: its key prefix (its group) under the namespace it was built for, and the
 * keys of its recent single-argument calls by that argument (a number or a string), so that a hot
 * key is not encoded and concatenated again on every call.
 */
interface Prefix {
  readonly namespace: string;
  readonly prefix: string;
  readonly keys: Map<number | string, string>;
}
const prefixes = new WeakMap<CachedFunctionSpec, Prefix>();
/** Most keys remembered per cached function (the memo is emptied when full). */
const KEY_MEMO_SIZE = 4096;

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

function prefixOf(spec: CachedFunctionSpec, namespace: string): Prefix {
  const known = prefixes.get(spec);
  if (known !== undefined && known.namespace === namespace) return known;
  const prefix: Prefix = { namespace, prefix: keyPrefix(namespace, spec.id), keys: new Map() };
  prefixes.set(spec, prefix);
  return prefix;
}

/** The key of one call (the memo serves a single number or string argument; -0 is left out, Maps equate it with 0). */
function keyOf(prefix: Prefix, args: readonly unknown[]): string {
  if (args.length !== 1) return keyWithPrefix(prefix.prefix, args);
  const arg = args[0];
  if (typeof arg !== "string" && (typeof arg !== "number" || Object.is(arg, -0))) return keyWithPrefix(prefix.prefix, args);
  let key = prefix.keys.get(arg);
  if (key === undefined) {
    key = keyWithPrefix(prefix.prefix, args);
    if (prefix.keys.size >= KEY_MEMO_SIZE) prefix.keys.clear();
    prefix.keys.set(arg, key);
  }
  return key;
}

/**
 * Run `fn` through the cache under the key of `spec` and `args`. Always async, and never throws:
 * every outcome is the returned promise. Never rejects because of the cache; rejects only when
 * `fn` does, or, with `errors=`, with the reconstruction of a rejection `fn` gave within that many
 * seconds (by default rejections are not cached).
 */
export function cachedCall<T>(spec: CachedFunctionSpec, args: readonly unknown[],
                              fn: () => T | Uncached<T> | PromiseLike<T | Uncached<T>>): Promise<T> {
  try {
    return cachedCallOrThrow(spec, args, fn);
  } catch (error) {
    // Only a broken setup gets here (say, an invalid TSCACHING_SERVERS): the caller sees it as a rejection.
    return Promise.reject(error);
  }
}

function cachedCallOrThrow<T>(spec: CachedFunctionSpec, args: readonly unknown[], fn: Body<T>): Promise<T> {
  const { options, backend } = state();
  if (!options.enabled) return invoke(fn);
  const fnSpec = (spec as CachedFunction).hits !== undefined ? spec as CachedFunction : defineCached(spec);
  const prefix = prefixOf(fnSpec, options.namespace);
  const group = prefix.prefix;
  let key: string;
  try {
    key = keyOf(prefix, args);
  } catch (error) {
    fnSpec.errors++;
    const path = error instanceof KeyEncodeError ? ` at ${error.path}` : "";
    report(new CacheError("EKEY", `tscaching: "${spec.id}" called with an argument that cannot form a key${path}; ran uncached`,
      { id: spec.id, cause: error }));
    return invoke(fn);
  }
  const pending = inflight.get(key);
  if (pending) return pending.promise.then((result) => (pending.uncached ? invoke(fn) : result as T));
  const memory = backend instanceof MemoryBackend;
  // The memory backend's counters live in this process, so what it knows of them is never out of date.
  const known = generationOf(backend, group, memory ? Infinity : options.invalidationCheck);
  if (memory && typeof known === "number") {
    // The in-process backend answers at once: a fresh hit needs no promise but the one returned.
    const parsed = (backend as MemoryBackend).peekDerived(key, parseFor(options), options.memory.shareValues, true);
    const entry = classify(backend, group, parsed, known);
    if (entry.kind === "hit" && entry.softExpiry === undefined) {
      fnSpec.hits++;
      if (events.listenerCount("hit") > 0) events.emit("hit", { id: spec.id, key });
      return Promise.resolve(entry.value as T);
    }
  }
  const flight: Flight = { promise: undefined as unknown as Promise<unknown>, uncached: false };
  const call = readEntryThen(backend, key, group, known,
    (entry) => answer(fnSpec, key, fn, flight, entry), (error) => failed(fnSpec, key, fn, flight, error));
  (flight as { promise: Promise<unknown> }).promise = call;
  inflight.set(key, flight);
  return call;
}

/** The memory backend's parse: a copy per hit, or with `shareValues` one frozen value per entry. */
function parseFor(options: ResolvedOptions): (raw: Buffer | string) => ParsedEntry {
  return options.memory.shareValues ? parseShared : parseEntry;
}

function parseShared(raw: Buffer | string): ParsedEntry {
  const parsed = parseEntry(raw);
  if (parsed.body.kind === "hit") deepFreeze(parsed.body.value);
  return parsed;
}

/** Freeze plain objects and arrays all the way down (Maps, Sets, Dates and byte arrays cannot be frozen). */
function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k);
      deepFreeze(v);
    }
    return;
  }
  if (value instanceof Set) {
    for (const v of value) deepFreeze(v);
    return;
  }
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}

function invoke<T>(fn: Body<T>): Promise<T> {
  try {
    const result = fn();
    if (result instanceof Uncached) return Promise.resolve(result.value);
    if (result === null || (typeof result !== "object" && typeof result !== "function")) return Promise.resolve(result);
    return Promise.resolve(result).then(unwrap);
  } catch (error) {
    return Promise.reject(error);
  }
}

type Body<T> = () => T | Uncached<T> | PromiseLike<T | Uncached<T>>;

/** Ends a flight once `result` settles (at once when it is a plain value). */
function land<T>(key: string, flight: Flight, result: T | Uncached<T> | Promise<T | Uncached<T>>): T | Promise<T> {
  const settle = (value: T | Uncached<T>): T => {
    inflight.delete(key);
    if (value instanceof Uncached) {
      flight.uncached = true;
      return value.value;
    }
    return value;
  };
  if (!(result instanceof Promise)) return settle(result);
  return result.then(settle, (error: unknown) => {
    inflight.delete(key);
    throw error;
  });
}

/** The backend failed: the server is down or slow. Answer from the original function, do not try to store. */
function failed<T>(spec: CachedFunction, key: string, fn: Body<T>, flight: Flight, error: unknown): T | Promise<T> {
  spec.errors++;
  report(backendError(error, { id: spec.id, key }));
  let result: Promise<T | Uncached<T>>;
  try {
    result = Promise.resolve(fn());
  } catch (thrown) {
    result = Promise.reject(thrown);
  }
  return land(key, flight, result);
}

/** What a read of the key means for this call: the cached value, or a computation. */
function answer<T>(spec: CachedFunction, key: string, fn: Body<T>, flight: Flight, entry: Entry): T | Promise<T> {
  try {
    if (entry.kind === "hit") {
      const softExpiry = entry.softExpiry;
      if (softExpiry === undefined || Date.now() < softExpiry) {
        inflight.delete(key);
        spec.hits++;
        if (events.listenerCount("hit") > 0) events.emit("hit", { id: spec.id, key });
        return entry.value as T;
      }
      if (spec.stale) {
        inflight.delete(key);
        const age = Date.now() - softExpiry;
        spec.staleServes++;
        if (events.listenerCount("stale") > 0) events.emit("stale", { id: spec.id, key, age });
        refresh(spec, key, fn, entry.generation);
        return entry.value as T;
      }
      // Past its ttl and this function (no longer) allows stale values: a miss.
    } else if (entry.kind === "rejected" && spec.errorsTtl) {
      inflight.delete(key);
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
  } catch (error) {
    inflight.delete(key);
    throw error;
  }
  return land(key, flight, spec.lock ? computeLocked(spec, key, fn, entry.generation) : compute(spec, key, fn, entry.generation));
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
