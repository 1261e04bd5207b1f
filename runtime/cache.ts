/**
 * The typed cache operations. Every operation takes a `CacheKey<T>`, so the compiler checks the
 * value type: `cache.replace(keys.DB.get("bob"), 42)` does not compile when `DB.get` yields a string.
 * Every operation fails open: a backend failure is reported (`onError` / `error` event) and the
 * operation resolves as if nothing was there (`undefined` / `false`).
 */
import { cachedFunctions } from "./registry";
import { detachGroup, detachKey } from "./flights";
import { CacheError } from "./config";
import { buildKey, VERSION_RE } from "./keys";
import { backendError, close, events, report, state, type CacheEvents } from "./state";
import { byteLength, classify, encodeEntry, parseEntry, readEntry, writeGeneration, type Stamp, type TagRead } from "./entries";
import { bumpGeneration, groupOf, trustWindow } from "./groups";
import { announceFlush, announceGroup, announceKey, announceTags } from "./bus";
import { existingLocalTier } from "./local-tier";
import { checkRegistered, markOwnGroup } from "./untransformed";
import { bumpTags, checkTagSpecs, makeTag, tagGenerations, type CacheTag, type TagSpec } from "./tags";
import { keyTagsOf, learnKeyTags } from "./tag-keys";
import { registeredSpec, registeredVersion, type CachedFunctionSpec } from "./registry";

declare const valueType: unique symbol;

/**
 * A memcached key whose entries hold values of type `T`. Built by generated `keys.ts` helpers, by
 * `cache.key()` or `cache.keyOf()`; a plain string is not accepted where a `CacheKey` is expected.
 */
export type CacheKey<T> = string & { readonly [valueType]: (value: T) => T };

/** The value type of a key. */
export type ValueOf<K> = K extends CacheKey<infer T> ? T : never;

/**
 * Every entry of one cached function (or of one `cache.key()` name): what `cache.invalidate()`
 * takes. A generated `keys.ts` helper is both: call it for one key, pass it for the group.
 */
export interface KeyGroup<T> {
  /** The function's id (`src/db#DB.get`, or `name=`). */
  readonly id: string;
  /** Type-level only: the value type of the group's entries. */
  readonly __value?: (value: T) => T;
}

/** A generated key helper: `keys.DB.get("bob")` is a key, `keys.DB.get` the group of all its keys. */
export interface KeyHelper<A extends readonly unknown[], T> extends KeyGroup<T> {
  (...args: A): CacheKey<T>;
}

/**
 * What keys.ts passes a helper of a tagged function whose tag arguments are all key parts: its
 * spec's `tags` and `tagKeys`, so that writes through the helper stamp the key's tag generations
 * even in a process that never loaded the function's module (see tag-keys.ts).
 */
export interface KeyTags {
  readonly tags: readonly TagSpec[];
  readonly tagKeys: readonly number[];
}

/**
 * Make a key helper for a cached function's id (and the version it was built with, which keys.ts
 * passes so that its keys are the ones the built function uses; and, for a tagged function, which
 * key part each tag value is). Generated `keys.ts` files are made of these; the
 * key is built by the same function cached calls use, so both always agree.
 *
 * @example
 * ```ts
 * const byName = keyHelper<[name: string], User>("users.byName");
 * await cache.delete(byName("bob"));
 * await cache.invalidate(byName);
 * ```
 */
export function keyHelper<A extends readonly unknown[], T>(id: string, version?: string, tagged?: KeyTags): KeyHelper<A, T> {
  if (typeof id !== "string" || id === "") throw new TypeError("tscaching: keyHelper needs a non-empty id");
  if (version !== undefined && (typeof version !== "string" || !VERSION_RE.test(version))) {
    throw new TypeError(`tscaching: keyHelper version must be 1-32 characters of A-Z a-z 0-9 _ . -; got ${JSON.stringify(version)}`);
  }
  let fallback: CachedFunctionSpec | undefined;
  if (tagged !== undefined) {
    if (tagged === null || typeof tagged !== "object" || tagged.tags === undefined) {
      throw new TypeError(`tscaching: keyHelper "${id}": tags must be { tags, tagKeys }`);
    }
    checkTagSpecs(id, tagged.tags, tagged.tagKeys);
    fallback = { v: 1, id, tags: tagged.tags, tagKeys: tagged.tagKeys };
  }
  // The version this process loaded the function with wins over the one keys.ts was generated with:
  // where they differ (a bundler build whose versions come from the syntax while keys.ts was
  // generated with the checker, or a keys.ts older than the build), the key is the one calls use.
  const helper = (...args: A) => {
    checkRegistered(id);
    return keyOfCall(id, args, registeredVersion(id) ?? version, fallback) as CacheKey<T>;
  };
  Object.defineProperty(helper, "id", { value: id, enumerable: true });
  Object.defineProperty(helper, "name", { value: id });
  return helper as unknown as KeyHelper<A, T>;
}

/**
 * The key of a call of `id` built with `version`; when its spec (the loaded module's, else what
 * keys.ts said: `fallback`) tells which key part each tag value is, this process learns the key's
 * tag values, so writes to it stamp them.
 */
function keyOfCall(id: string, args: readonly unknown[], version: string | undefined, fallback?: CachedFunctionSpec): string {
  const { namespace } = state().options;
  const key = buildKey(namespace, id, args, version);
  learnKeyTags(registeredSpec(id, version) ?? fallback, namespace, key, args);
  return key;
}

async function guarded<R>(key: string, fallback: R, op: () => Promise<R>): Promise<R> {
  try {
    return await op();
  } catch (error) {
    report(backendError(error, { key }));
    return fallback;
  }
}

function encodeFor(key: string, value: unknown, generation: number, stamp: Stamp | undefined): string | undefined {
  let encoded: string;
  try {
    encoded = encodeEntry(value, generation, undefined, stamp);
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

/**
 * A write of `key`: flights of the key begun before it are detached when it starts and again when
 * it resolves, so that no call made after the write joins a computation begun before it. (Across
 * processes the write wins by replacing or removing the computation's lease: see store.ts.)
 */
async function written<R>(key: string, op: () => Promise<R>): Promise<R> {
  // This process's local copy (`local=`) goes too, before and after: a read begun during the write
  // may have refilled it from the old entry.
  const tier = existingLocalTier(state().backend);
  detachKey(key);
  tier?.drop(key);
  try {
    return await op();
  } finally {
    detachKey(key);
    tier?.drop(key);
    announceKey(key); // other processes' copies (Redis: bus.ts)
  }
}

/**
 * The tag values of `key` this process knows (tag-keys.ts) and their generations (read in parallel
 * when not known fresh); `undefined` for an untagged key or one whose tag values it never learnt.
 */
function tagReadOf(key: string): TagRead | undefined {
  const bases = keyTagsOf(key);
  if (bases === undefined) return undefined;
  const { backend, options } = state();
  return { bases, known: tagGenerations(backend, bases, trustWindow(backend, options.invalidationCheck)), learnable: false };
}

async function write(kind: "set" | "add" | "replace", key: string, value: unknown, ttl?: number): Promise<boolean> {
  const seconds = ttlOf(ttl);
  const { backend, options } = state();
  return written(key, () => guarded(key, false, async () => {
    // A tagged function's key: stamp the generations of its tag values, so the next call reads the
    // write (unknown tag values: no stamp, stale once one of them was invalidated; see tag-keys.ts).
    const tags = tagReadOf(key);
    const [generation, stamp] = await Promise.all([writeGeneration(backend, key, options.invalidationCheck), tags?.known]);
    const encoded = encodeFor(key, value, generation, stamp);
    if (encoded === undefined) return false;
    if (kind === "set") {
      await backend.set(key, encoded, seconds);
      return true;
    }
    if (kind === "replace") return backend.replace(key, encoded, seconds); // a lease is replaced too: the write wins
    if (await backend.add(key, encoded, seconds)) return true;
    // Only a computation's lease, or an entry an invalidation made stale, is there: an add finds no
    // entry, and wins over the computation.
    const found = await backend.gets(key);
    return found !== undefined && isAbsent(key, found.value, generation, tags?.bases, stamp) &&
      backend.cas(key, encoded, seconds, found.cas);
  }));
}

/** Whether a stored value reads as no entry: a lease, or an entry of an older group or tag generation. */
function isAbsent(key: string, raw: Buffer | string, generation: number, bases: readonly string[] | undefined,
                  stamp: Stamp | undefined): boolean {
  const tags = bases && stamp && { bases, known: stamp, learnable: false };
  const kind = classify(state().backend, groupOf(key), parseEntry(raw), generation, tags).kind;
  return kind === "lease" || kind === "stale";
}

async function read(key: string): Promise<{ value: unknown } | undefined> {
  const { backend, options } = state();
  const entry = await guarded(key, undefined, () => readEntry(backend, key, options.invalidationCheck, tagReadOf(key)));
  if (entry?.kind === "corrupt") report(new CacheError("EDECODE", `tscaching: unreadable entry at ${key} treated as a miss`, { key }));
  return entry?.kind === "hit" ? { value: entry.value } : undefined;
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
  /**
   * The key a cached function's call uses: `cache.keyOf<string>("src/db#DB.get", ["bob"])`. Its
   * version is the one this process registered for `id` (its module has loaded); before that, or
   * with two versions loaded, the key is unversioned and finds no function's entry: keys.ts helpers
   * carry their version and need no loaded module.
   */
  keyOf<T>(id: string, args: readonly unknown[]): CacheKey<T> {
    checkRegistered(id);
    return keyOfCall(id, args, registeredVersion(id)) as CacheKey<T>;
  },
  /** The value, or `undefined` on a miss (a cached `undefined` also reads as `undefined`). */
  async get<K extends CacheKey<any>>(key: K): Promise<ValueOf<K> | undefined> {
    return (await read(key))?.value as ValueOf<K> | undefined;
  },
  /** Several values at once (fetched in parallel); misses are absent from the map. */
  async getMulti<K extends CacheKey<any>>(keys: readonly K[]): Promise<Map<K, ValueOf<K>>> {
    const entries = await Promise.all(keys.map(async (key) => [key, await read(key)] as const));
    return new Map(entries.filter(([, e]) => e !== undefined).map(([k, e]) => [k, e!.value as ValueOf<K>]));
  },
  /**
   * Invalidate every entry of a cached function, in every process (see the consistency note on
   * `invalidationCheck`): `cache.invalidate(keys.DB.get)`. Resolves `false` when the cache failed.
   */
  invalidate(group: KeyGroup<any>): Promise<boolean> {
    if (!group || typeof group.id !== "string") throw new TypeError("tscaching: invalidate() takes a key helper such as keys.DB.get");
    checkRegistered(group.id, group);
    const { backend, options } = state();
    const prefix = buildKey(options.namespace, group.id, []);
    const tier = existingLocalTier(backend);
    detachGroup(prefix);
    tier?.dropGroup(prefix);
    return guarded(prefix, false, async () => {
      await bumpGeneration(backend, prefix);
      return true;
    }).finally(() => {
      detachGroup(prefix);
      tier?.dropGroup(prefix);
      announceGroup(prefix);
    });
  },
  /**
   * Invalidate every entry of every cached function carrying one of `tags` (`tags=user(id)`):
   * `await cache.invalidateTag(tags.user(42), tags.team("a"))`. Seen at once in this process and
   * within `invalidationCheck` ms in every other; one round trip per server whatever the number of
   * entries. Resolves `false` when the cache failed.
   */
  invalidateTag(...tags: CacheTag[]): Promise<boolean> {
    for (const tag of tags) {
      if (!tag || typeof tag.name !== "string" || !Array.isArray(tag.args)) {
        throw new TypeError("tscaching: invalidateTag() takes tags such as tags.user(42) (from keys.ts) or cache.tag(\"user\", 42)");
      }
    }
    const { backend, options } = state();
    return guarded(`${options.namespace}:~tag`, false, async () => {
      await bumpTags(backend, options.namespace, tags);
      return true;
    }).finally(() => announceTags(tags));
  },
  /** A tag value by hand, for `invalidateTag`: `cache.tag("user", 42)` is what keys.ts's `tags.user(42)` gives. */
  tag(name: string, ...args: unknown[]): CacheTag {
    return makeTag(name, args);
  },
  /** The group of a `cache.key(name, ...)` family, for `invalidate`. */
  group<T>(name: string): KeyGroup<T> {
    return markOwnGroup({ id: name });
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
    return written(key, () => guarded(key, false, () => state().backend.delete(key)));
  },
  /** Atomically add to a counter (an entry holding an unsigned integer); `undefined` when none exists. */
  incr<K extends CacheKey<number>>(key: K, delta = 1): Promise<number | undefined> {
    return written(key, () => guarded(key, undefined, () => state().backend.incr(key, delta)));
  },
  /** Atomically subtract from a counter, stopping at 0 as memcached does. */
  decr<K extends CacheKey<number>>(key: K, delta = 1): Promise<number | undefined> {
    return written(key, () => guarded(key, undefined, () => state().backend.incr(key, -delta)));
  },
  /** Give an existing entry a new ttl (seconds). */
  touch(key: CacheKey<any>, ttl: number): Promise<boolean> {
    const seconds = ttlOf(ttl);
    return guarded(key, false, () => state().backend.touch(key, seconds)).finally(() => announceKey(key));
  },
  /** Remove every entry on every server (all namespaces: memcached's flush_all). */
  flushAll(): Promise<boolean> {
    existingLocalTier(state().backend)?.clear();
    return guarded("*", false, async () => {
      await state().backend.flush();
      return true;
    }).finally(announceFlush);
  },
  /** Server statistics by server (`memory` for the in-memory backend). */
  serverStats(): Promise<Record<string, Record<string, string>>> {
    return guarded("*", {}, () => state().backend.stats());
  },
  /**
   * Hits, misses, errors and stale serves (`staleServes`: calls answered with a value past its ttl)
   * of this process, in all and per cached function id. A function's `staleServes` is present only
   * when its tag has `stale=` (no other function can serve a stale value); its `localHits` (hits
   * answered by the local tier, counted in `hits` too) only when its tag has `local=`.
   */
  stats() {
    const entries: Array<[string, { hits: number; misses: number; errors: number; staleServes?: number; localHits?: number }]> = [];
    const total = { hits: 0, misses: 0, errors: 0, staleServes: 0 };
    for (const f of cachedFunctions()) {
      const counts: { hits: number; misses: number; errors: number; staleServes?: number; localHits?: number } = f.stale
        ? { hits: f.hits, misses: f.misses, errors: f.errors, staleServes: f.staleServes }
        : { hits: f.hits, misses: f.misses, errors: f.errors };
      if (f.local !== undefined) counts.localHits = f.localHits;
      entries.push([f.id, counts]);
      total.hits += f.hits;
      total.misses += f.misses;
      total.errors += f.errors;
      total.staleServes += f.staleServes;
    }
    return { ...total, functions: Object.fromEntries(entries) };
  },
  /** Listen to `hit`, `miss`, `stale`, `error` and `circuit` (payloads: see {@link CacheEvents}). */
  on<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): void {
    events.on(event, listener as never);
  },
  off<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): void {
    events.off(event, listener as never);
  },
  /** Close connections so the process can end at once; the cache reopens on next use. */
  close,
};
