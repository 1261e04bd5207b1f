/**
 * The typed cache operations. Every operation takes a `CacheKey<T>`, so the compiler checks the
 * value type: `cache.replace(keys.DB.get("bob"), 42)` does not compile when `DB.get` yields a string.
 * Every operation fails open: a backend failure is reported (`onError` / `error` event) and the
 * operation resolves as if nothing was there (`undefined` / `false`).
 */
import { cachedFunctions } from "./call";
import { CacheError } from "./config";
import { buildKey } from "./keys";
import { backendError, close, events, report, state, type CacheEvents } from "./state";
import { byteLength, decodeStored, encodeStored } from "./values";

declare const valueType: unique symbol;

/**
 * A memcached key whose entries hold values of type `T`. Built by generated `keys.ts` helpers, by
 * `cache.key()` or `cache.keyOf()`; a plain string is not accepted where a `CacheKey` is expected.
 */
export type CacheKey<T> = string & { readonly [valueType]: (value: T) => T };

/** The value type of a key. */
export type ValueOf<K> = K extends CacheKey<infer T> ? T : never;

async function guarded<R>(key: string, fallback: R, op: () => Promise<R>): Promise<R> {
  try {
    return await op();
  } catch (error) {
    report(backendError(error, { key }));
    return fallback;
  }
}

function encodeFor(key: string, value: unknown): string | undefined {
  let encoded: string;
  try {
    encoded = encodeStored(value);
  } catch (error) {
    report(new CacheError("EENCODE", `tscaching: value for ${key} cannot be cached (${(error as Error).message})`, { key, cause: error }));
    return undefined;
  }
  const { backend } = state();
  if (encoded.length > backend.maxValueSize / 3 && byteLength(encoded) > backend.maxValueSize) {
    report(new CacheError("E2BIG", `tscaching: value for ${key} is over the ${backend.maxValueSize}-byte item limit`, { key }));
    return undefined;
  }
  return encoded;
}

function ttlOf(ttl: number | undefined): number {
  if (ttl === undefined) return state().options.defaultTtl;
  if (!Number.isInteger(ttl) || ttl < 0) throw new TypeError(`tscaching: ttl must be a non-negative integer of seconds; got ${ttl}`);
  return ttl;
}

async function write(kind: "set" | "add" | "replace", key: string, value: unknown, ttl?: number): Promise<boolean> {
  const seconds = ttlOf(ttl);
  const encoded = encodeFor(key, value);
  if (encoded === undefined) return false;
  const { backend } = state();
  return guarded(key, false, async () => {
    if (kind === "set") {
      await backend.set(key, encoded, seconds);
      return true;
    }
    return backend[kind](key, encoded, seconds);
  });
}

async function read(key: string): Promise<{ value: unknown } | undefined> {
  const raw = await guarded(key, undefined, () => state().backend.get(key));
  if (raw === undefined) return undefined;
  const decoded = decodeStored(raw);
  if (!decoded) report(new CacheError("EDECODE", `tscaching: unreadable entry at ${key} treated as a miss`, { key }));
  return decoded;
}

async function concat(key: string, text: string, where: "append" | "prepend"): Promise<boolean> {
  // Values carry a header, so bytes cannot be glued on at the server: read, join, write back only
  // where the entry still exists. Not atomic across processes; use a counter (incr) for that.
  const entry = await read(key);
  if (!entry || typeof entry.value !== "string") return false;
  return write("replace", key, where === "append" ? entry.value + text : text + entry.value);
}

/**
 * The cache: typed operations on keys, plus `close()` and events.
 *
 * @example
 * ```ts
 * import { cache } from "tscaching";
 * import { keys } from "./keys";
 * await cache.replace(keys.DB.get(username), email); // only where an entry exists
 * await cache.delete(keys.EmailGetter.render(username));
 * ```
 */
export const cache = {
  /** A key of your own: `cache.key<number>("visits", page)`; namespaced and made memcached-safe like every key. */
  key<T>(name: string, ...parts: unknown[]): CacheKey<T> {
    return buildKey(state().options.namespace, name, parts) as CacheKey<T>;
  },
  /** The key a cached function's call uses: `cache.keyOf<string>("src/db#DB.get", ["bob"])`. */
  keyOf<T>(id: string, args: readonly unknown[]): CacheKey<T> {
    return buildKey(state().options.namespace, id, args) as CacheKey<T>;
  },
  /** The value, or `undefined` on a miss (a cached `undefined` also reads as `undefined`). */
  async get<K extends CacheKey<any>>(key: K): Promise<ValueOf<K> | undefined> {
    return (await read(key))?.value as ValueOf<K> | undefined;
  },
  /** Store unconditionally; resolves `false` when the value could not be stored. ttl in seconds. */
  set<K extends CacheKey<any>>(key: K, value: ValueOf<K>, ttl?: number): Promise<boolean> {
    return write("set", key, value, ttl);
  },
  /** Store only where no entry exists (memcached `add`). */
  add<K extends CacheKey<any>>(key: K, value: ValueOf<K>, ttl?: number): Promise<boolean> {
    return write("add", key, value, ttl);
  },
  /** Store only where an entry exists (memcached `replace`). */
  replace<K extends CacheKey<any>>(key: K, value: ValueOf<K>, ttl?: number): Promise<boolean> {
    return write("replace", key, value, ttl);
  },
  /** Append text to an existing string entry. */
  append<K extends CacheKey<string>>(key: K, text: string): Promise<boolean> {
    return concat(key, text, "append");
  },
  /** Prepend text to an existing string entry. */
  prepend<K extends CacheKey<string>>(key: K, text: string): Promise<boolean> {
    return concat(key, text, "prepend");
  },
  /** Remove an entry; `false` when there was none. */
  delete(key: CacheKey<any>): Promise<boolean> {
    return guarded(key, false, () => state().backend.delete(key));
  },
  /** Atomically add to a counter (an entry holding an unsigned integer); `undefined` when none exists. */
  incr<K extends CacheKey<number>>(key: K, delta = 1): Promise<number | undefined> {
    return guarded(key, undefined, () => state().backend.incr(key, delta));
  },
  /** Atomically subtract from a counter, stopping at 0 as memcached does. */
  decr<K extends CacheKey<number>>(key: K, delta = 1): Promise<number | undefined> {
    return guarded(key, undefined, () => state().backend.incr(key, -delta));
  },
  /** Give an existing entry a new ttl (seconds). */
  touch(key: CacheKey<any>, ttl: number): Promise<boolean> {
    const seconds = ttlOf(ttl);
    return guarded(key, false, () => state().backend.touch(key, seconds));
  },
  /** Remove every entry on every server (all namespaces: memcached's flush_all). */
  flushAll(): Promise<boolean> {
    return guarded("*", false, async () => {
      await state().backend.flush();
      return true;
    });
  },
  /** Server statistics by server (`memory` for the in-memory backend). */
  serverStats(): Promise<Record<string, Record<string, string>>> {
    return guarded("*", {}, () => state().backend.stats());
  },
  /** Hits, misses and errors of this process, in all and per cached function id. */
  stats() {
    const functions = Object.fromEntries(cachedFunctions().map((f) => [f.id, { hits: f.hits, misses: f.misses, errors: f.errors }]));
    const total = { hits: 0, misses: 0, errors: 0 };
    for (const f of Object.values(functions)) {
      total.hits += f.hits;
      total.misses += f.misses;
      total.errors += f.errors;
    }
    return { ...total, functions };
  },
  /** Listen to `hit`, `miss` and `error`. */
  on<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): void {
    events.on(event, listener as never);
  },
  off<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): void {
    events.off(event, listener as never);
  },
  /** Close connections so the process can end at once; the cache reopens on next use. */
  close,
};
