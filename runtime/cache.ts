/**
 * The typed cache operations. Every operation takes a `CacheKey<T>`, so the compiler checks the
 * value type: `cache.replace(keys.DB.get("bob"), 42)` does not compile when `DB.get` yields a string.
 * Every operation fails open: a backend failure is reported (`onError` / `error` event) and the
 * operation resolves as if nothing was there (`undefined` / `false`).
 */
import { announceFlush, announceGroup, announceKey, announceTags } from "./bus";
import { concat, guarded, read, ttlOf, write, written } from "./cache-entries";
import { detachGroup } from "./flights";
import { bumpGeneration } from "./groups";
import { keyOfCall, type CacheKey, type KeyGroup, type ValueOf } from "./key-helpers";
import { buildKey } from "./keys";
import { existingLocalTier } from "./local-tier";
import { cachedFunctions, registeredVersion } from "./registry";
import { close, events, state, type CacheEvents } from "./state";
import { bumpTags, makeTag, type CacheTag } from "./tags";
import { checkRegistered, markOwnGroup } from "./untransformed";

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
