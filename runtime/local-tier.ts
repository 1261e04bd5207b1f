/**
 * The local tier (`@cache local=2s`): a bounded, process-local copy of a function's entries in
 * front of the shared store, so that a hit costs no round trip. It keeps the stored encoding (the
 * bytes the shared store holds) and decodes a copy per hit, or, with `local.shareValues`, hands
 * every hit one deep-frozen value, exactly as the memory backend does.
 *
 * Consistency:
 * - A write or invalidation made through this process (`cache.set/replace/add/delete/incr/decr`,
 *   `invalidate()`, `flushAll()`) drops the copies it concerns before and after it runs, and an
 *   `invalidateTag()` raises the generations every hit compares with (below): seen at once.
 * - One made by another process: on Redis at once, within a bus round trip (bus.ts: pub/sub, with
 *   the `local` bound as the fallback while the subscriber is down); on memcached (no pub/sub) once
 *   the copy is `local` seconds old: a copy never outlives its function's `local=` (nor its ttl).
 *   There another process's `invalidate()` or `invalidateTag()` may take `invalidationCheck` more
 *   (the copy may be read under a generation this process still trusted), and ends as soon as this
 *   process learns the new generation: a copy keeps the group generation and tag stamp it was
 *   stored with, and each hit compares them with the generations known now.
 * - Writes win: a copy is filled only by a call whose flight is still attached when its result is
 *   known (see flights.ts: every write to the key, or its group, detaches the flights under way),
 *   and a computed result only when its CAS store succeeded. So a computation or read begun
 *   before a write never fills the tier after it.
 * - A hit checks its copy's end against `recentNow()` (clock.ts), not a fresh clock read, which
 *   would cost as much as the rest of the hit: on the real clock one reading serves until the
 *   event loop's turn ends, for 16 hits at most (lru-cache itself reads its clock once a
 *   millisecond). So a copy may be served that long past its end, never before it.
 *
 * On a backend that lives in this process (the memory backend) the tier is off: its own hits are
 * already in-process and synchronous, so `local=` is accepted and changes nothing.
 */
import { LRUCache } from "lru-cache";
import type { Backend } from "./backends/backend";
import { clock, recentNow } from "./clock";
import type { ResolvedOptions } from "./config";
import { decodeHit, entryStamps, type Stamp } from "./entries";
import { listen } from "./bus";
import { isAttached, type Flight } from "./flights";
import { groupOf, knownGeneration } from "./groups";
import type { CachedFunction } from "./registry";
import { deepFreeze } from "./shared-values";

/** What a local lookup gives when there is no usable copy (a cached value may be `undefined`). */
export const NO_COPY: unique symbol = Symbol("tscaching.noLocalCopy");

interface Copy {
  /** The stored encoding, as the shared store holds it. */
  readonly raw: Buffer | string;
  /** When the copy stops being served (ms, runtime clock). */
  readonly expires: number;
  /** Its group, and the group generation and tag stamp it was written under. */
  readonly group: string;
  readonly generation: number;
  readonly stamp: Stamp | undefined;
  /** With `shareValues`: the one decoded, deep-frozen value (decoded at the first hit). */
  shared?: { value: unknown };
}

/** One process's local tier, for one configuration (a `configure()` starts an empty one). */
export class LocalTier {
  readonly #copies: LRUCache<string, Copy>;
  readonly #shareValues: boolean;
  readonly #defaultTtl: number;
  readonly #backend: Backend;

  constructor(options: ResolvedOptions["local"], defaultTtl: number, backend: Backend) {
    this.#backend = backend;
    this.#shareValues = options.shareValues;
    this.#defaultTtl = defaultTtl;
    this.#copies = new LRUCache<string, Copy>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      // Keys count too: a tier of many small entries is bounded by bytes as well.
      sizeCalculation: (copy, key) => Math.max(1, key.length + copy.raw.length),
    });
  }

  /**
   * The value of a live copy of `key` (a fresh decode, or the shared frozen one), or {@link NO_COPY}.
   * A tagged call gives its tag counters (`bases`): a copy stamped before a generation this process
   * now knows for one of them, or for its group, is no copy.
   */
  get(key: string, bases?: readonly string[]): unknown {
    const copy = this.#copies.get(key);
    if (copy === undefined) return NO_COPY;
    if (recentNow() >= copy.expires || this.#isOutdated(copy, bases)) {
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

  #isOutdated(copy: Copy, bases: readonly string[] | undefined): boolean {
    if (copy.generation < knownGeneration(this.#backend, copy.group)) return true;
    if (bases === undefined) return false;
    for (let i = 0; i < bases.length; i++) if ((copy.stamp?.[i] ?? 0) < knownGeneration(this.#backend, bases[i])) return true;
    return false;
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
    const { generation, stamp } = entryStamps(raw);
    if (generation < 0) return;
    this.#copies.set(flight.key, { raw, expires, group: groupOf(flight.key), generation, stamp });
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
export function localTierOf(state: TierHolder): LocalTier | undefined {
  // Kept on the state as well: one property read on every call with `local=` (the WeakMap serves writes).
  const known = state.localTier;
  if (known !== undefined) return known ?? undefined;
  let tier: LocalTier | undefined;
  if (!state.backend.inProcess) {
    tier = tiers.get(state.backend);
    if (tier === undefined) {
      tier = new LocalTier(state.options.local, state.options.defaultTtl, state.backend);
      tiers.set(state.backend, tier);
      listen(state, tier); // Redis: other processes' writes end copies at once (bus.ts)
    }
  }
  state.localTier = tier ?? null;
  return tier;
}

/** A configuration's state, where its tier is remembered once known (`null`: it has none). */
interface TierHolder {
  readonly options: ResolvedOptions;
  readonly backend: Backend;
  localTier?: LocalTier | null;
}

/** The tier of the current configuration if one was created; writes use it to drop copies. */
export function existingLocalTier(backend: Backend): LocalTier | undefined {
  return tiers.get(backend);
}
