/**
 * The local tier (`@cache local=2s`): a bounded, process-local copy of a function's entries in
 * front of the shared store, so that a hit costs no round trip. It keeps the stored encoding (the
 * bytes the shared store holds) and decodes a copy per hit, or, with `local.shareValues`, hands
 * every hit one deep-frozen value, exactly as the memory backend does.
 *
 * Consistency:
 * - A write or invalidation made through this process (`cache.set/replace/add/delete/incr/decr`,
 *   `invalidate()`, `flushAll()`) drops the copies it concerns before and after it runs: seen at once.
 * - One made by another process: on Redis at once, within a bus round trip (bus.ts: pub/sub, with
 *   this bound as the fallback while the subscriber is down); on memcached (no pub/sub) once the
 *   copy is `local` seconds old: a copy never outlives its function's `local=` (nor its ttl).
 *   There another process's `invalidate()` may take `invalidationCheck` more: the copy was read
 *   under the group generation this process knew then.
 * - Writes win: a copy is filled only by a call whose flight is still attached when its result is
 *   known (see flights.ts: every write to the key, or its group, detaches the flights under way),
 *   and a computed result only when its CAS store succeeded. So a computation or read begun
 *   before a write never fills the tier after it.
 *
 * On a backend that lives in this process (the memory backend) the tier is off: its own hits are
 * already in-process and synchronous, so `local=` is accepted and changes nothing.
 */
import { LRUCache } from "lru-cache";
import type { Backend } from "./backends/backend";
import { clock } from "./clock";
import type { ResolvedOptions } from "./config";
import { decodeHit } from "./entries";
import { listen } from "./bus";
import { isAttached, type Flight } from "./flights";
import { groupOf } from "./groups";
import type { CachedFunction } from "./registry";
import { deepFreeze } from "./shared-values";

/** What a local lookup gives when there is no usable copy (a cached value may be `undefined`). */
export const NO_COPY: unique symbol = Symbol("tscaching.noLocalCopy");

interface Copy {
  /** The stored encoding, as the shared store holds it. */
  readonly raw: Buffer | string;
  /** When the copy stops being served (ms, runtime clock). */
  readonly expires: number;
  /** With `shareValues`: the one decoded, deep-frozen value (decoded at the first hit). */
  shared?: { value: unknown };
}

/** One process's local tier, for one configuration (a `configure()` starts an empty one). */
export class LocalTier {
  readonly #copies: LRUCache<string, Copy>;
  readonly #shareValues: boolean;
  readonly #defaultTtl: number;

  constructor(options: ResolvedOptions["local"], defaultTtl: number) {
    this.#shareValues = options.shareValues;
    this.#defaultTtl = defaultTtl;
    this.#copies = new LRUCache<string, Copy>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      // Keys count too: a tier of many small entries is bounded by bytes as well.
      sizeCalculation: (copy, key) => Math.max(1, key.length + copy.raw.length),
    });
  }

  /** The value of a live copy of `key` (a fresh decode, or the shared frozen one), or {@link NO_COPY}. */
  get(key: string): unknown {
    const copy = this.#copies.get(key);
    if (copy === undefined) return NO_COPY;
    if (clock.now() >= copy.expires) {
      this.#copies.delete(key);
      return NO_COPY;
    }
    if (!this.#shareValues) return decodeHit(copy.raw);
    if (copy.shared === undefined) {
      const value = decodeHit(copy.raw);
      deepFreeze(value);
      copy.shared = { value };
    }
    return copy.shared.value;
  }

  /**
   * Keep `raw` (the encoding of a current hit of `spec`: callers offer nothing else, so it is not
   * parsed again here) as the copy of the flight's key, unless `flight`
   * was detached by a write since it began. Copies over the byte bound are not kept.
   */
  offer(spec: CachedFunction, flight: Flight, raw: Buffer | string, softExpiry: number | undefined): void {
    if (!isAttached(flight)) return;
    const now = clock.now();
    const ttl = spec.ttl ?? this.#defaultTtl;
    let expires = now + spec.local! * 1000;
    if (ttl > 0) expires = Math.min(expires, now + ttl * 1000);
    if (softExpiry !== undefined) expires = Math.min(expires, softExpiry);
    if (expires <= now) return;
    this.#copies.set(flight.key, { raw, expires });
  }

  /** A write to `key` through this process: its copy goes. */
  drop(key: string): void {
    this.#copies.delete(key);
  }

  /** `invalidate()` of `group` through this process: every copy of the group goes. */
  dropGroup(group: string): void {
    for (const key of [...this.#copies.keys()]) if (groupOf(key) === group) this.#copies.delete(key);
  }

  /** `flushAll()`: every copy goes. */
  clear(): void {
    this.#copies.clear();
  }

  /** Copies held (for tests and diagnostics). */
  get size(): number {
    return this.#copies.size;
  }
}

const tiers = new WeakMap<Backend, LocalTier>();

/**
 * The local tier for the current configuration (identified by its backend), created at first use;
 * `undefined` where the backend is in this process already (`local=` changes nothing there).
 */
export function localTierOf(state: { readonly options: ResolvedOptions; readonly backend: Backend }): LocalTier | undefined {
  if (state.backend.inProcess) return undefined;
  let tier = tiers.get(state.backend);
  if (tier === undefined) {
    tier = new LocalTier(state.options.local, state.options.defaultTtl);
    tiers.set(state.backend, tier);
    listen(state, tier); // Redis: other processes' writes end copies at once (bus.ts)
  }
  return tier;
}

/** The tier of the current configuration if one was created; writes use it to drop copies. */
export function existingLocalTier(backend: Backend): LocalTier | undefined {
  return tiers.get(backend);
}
