import { LRUCache } from "lru-cache";
import type { Backend, CasToken, Versioned } from "./backend";
import {
  assertValidDelta,
  assertValidKey,
  assertValidTtl,
  backendError,
  byteLength,
} from "./hash";

type Value = Buffer | string;

/** An entry: the stored value, and what the runtime derived from it (see {@link MemoryBackend.peekDerived}). */
interface Stored {
  readonly value: Value;
  /** The entry's version: a fresh number at every write (memcached's CAS). */
  readonly cas: number;
  derived?: unknown;
}

/** Versions are unique across every memory backend of the process. */
let versions = 0;

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Most entries held before the least recently used are evicted. Default 10 000. */
  maxEntries?: number;
  /** Most bytes (keys plus values) held before the least recently used are evicted. Default 64 MiB. */
  maxBytes?: number;
  /** Largest value accepted, in bytes. Default 1 MiB. */
  maxValueSize?: number;
  /** Millisecond clock used for expiry; injectable so tests need not sleep. Default `Date.now`. */
  now?: () => number;
}

const UINT64_MAX = (1n << 64n) - 1n;
// memcached parses counters with strtoull: leading whitespace, digits, then the end or whitespace
// (anything after it is ignored). Padding left by an in-place decrement ends in spaces.
const COUNTER = /^[ \t\n\v\f\r]*(\d+)(?:[ \t\n\v\f\r][\s\S]*)?$/;

/**
 * An in-process LRU backend with memcached's semantics (add/replace/append/prepend/incr/touch
 * conditions, counter clamping, wrap-around and padding, size limit), bounded by entry count and
 * by bytes. Values are returned exactly as stored: a string stays a string, a Buffer a Buffer.
 */
export class MemoryBackend implements Backend {
  /** Largest value (bytes) accepted; larger ones are rejected with code `E2BIG`. */
  readonly maxValueSize: number;
  readonly #cache: LRUCache<string, Stored>;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly inProcess = true;

  constructor(options: MemoryBackendOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    // A value bigger than the whole cache would be dropped silently by lru-cache; refuse it instead.
    this.maxValueSize = Math.min(options.maxValueSize ?? 1024 * 1024, this.#maxBytes);
    const now = options.now ?? Date.now;
    this.#cache = new LRUCache<string, Stored>({
      max: this.#maxEntries,
      maxSize: this.#maxBytes,
      // lru-cache rejects a size of 0, and an empty value under a one-byte key still costs memory.
      sizeCalculation: (stored, key) => Math.max(1, byteLength(key) + byteLength(stored.value)),
      // lru-cache reads a start time of 0 as "no ttl"; the offset keeps a clock starting at 0 usable.
      perf: { now: () => now() + 1 },
      // The default (1 ms) caches the clock for a millisecond: good for the real clock (one clock read
      // per millisecond, not per get), but it would hide an injected clock's jumps.
      ttlResolution: options.now === undefined ? 1 : 0,
    });
  }

  async get(key: string): Promise<Value | undefined> {
    assertValidKey(key);
    return this.#cache.get(key)?.value;
  }

  async gets(key: string): Promise<Versioned | undefined> {
    assertValidKey(key);
    return this.#cache.get(key);
  }

  async addGets(key: string, value: Value, ttl: number): Promise<CasToken | undefined> {
    this.#checkWrite(key, value, ttl);
    if (this.#cache.has(key)) return undefined;
    return this.#store(key, value, ttl);
  }

  async cas(key: string, value: Value, ttl: number, cas: CasToken): Promise<boolean> {
    this.#checkWrite(key, value, ttl);
    if (this.#cache.get(key)?.cas !== cas) return false;
    this.#store(key, value, ttl);
    return true;
  }

  /**
   * Synchronous `get` for the runtime's hit path: `derive(value)` of the entry under `key`, or
   * `undefined` when there is none. With `remember`, the result is kept with the entry and returned
   * again (without calling `derive`) until the entry is written or dropped: `derive` must be a pure
   * function of the stored value. Throws `EBADKEY` for a key `get` would reject (unchecked with
   * `trustedKey`, for keys the runtime built itself).
   */
  peekDerived<D>(key: string, derive: (value: Value) => D, remember: boolean, trustedKey = false): D | undefined {
    if (!trustedKey) assertValidKey(key);
    const stored = this.#cache.get(key);
    if (stored === undefined) return undefined;
    if (!remember) return derive(stored.value);
    if (stored.derived === undefined) stored.derived = derive(stored.value);
    return stored.derived as D;
  }

  async set(key: string, value: Value, ttl: number): Promise<void> {
    this.#checkWrite(key, value, ttl);
    this.#store(key, value, ttl);
  }

  async add(key: string, value: Value, ttl: number): Promise<boolean> {
    this.#checkWrite(key, value, ttl);
    if (this.#cache.has(key)) return false;
    this.#store(key, value, ttl);
    return true;
  }

  async replace(key: string, value: Value, ttl: number): Promise<boolean> {
    this.#checkWrite(key, value, ttl);
    if (!this.#cache.has(key)) return false;
    this.#store(key, value, ttl);
    return true;
  }

  async deleteVersion(key: string, cas: CasToken): Promise<boolean> {
    assertValidKey(key);
    if (this.#cache.get(key)?.cas !== cas) return false;
    this.#cache.delete(key);
    return true;
  }

  async append(key: string, value: Value): Promise<boolean> {
    return this.#concat(key, value, false);
  }

  async prepend(key: string, value: Value): Promise<boolean> {
    return this.#concat(key, value, true);
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key);
    // lru-cache's delete also reports expired-but-unpurged entries as deleted; memcached does not.
    const existed = this.#cache.has(key);
    this.#cache.delete(key);
    return existed;
  }

  async incr(key: string, delta: number): Promise<number | undefined> {
    assertValidKey(key);
    assertValidDelta(delta);
    const stored = this.#cache.get(key)?.value;
    if (stored === undefined) return undefined;
    const text = typeof stored === "string" ? stored : stored.toString("latin1");
    const digits = COUNTER.exec(text)?.[1];
    if (digits === undefined || BigInt(digits) > UINT64_MAX) {
      throw backendError(`cannot increment or decrement non-numeric value of ${key}`, "ENONNUMERIC");
    }
    const current = BigInt(digits);
    const next =
      delta >= 0 ? (current + BigInt(delta)) & UINT64_MAX : current > BigInt(-delta) ? current + BigInt(delta) : 0n;
    let result = next.toString();
    // memcached rewrites a counter in place when the new digits fit, space-padding the rest, so a
    // decrement from "10" reads back as "9 "; mirror it so both backends return the same bytes.
    if (result.length < text.length) result = result.padEnd(text.length, " ");
    this.#cache.set(key, { value: typeof stored === "string" ? result : Buffer.from(result, "latin1"), cas: ++versions }, {
      noUpdateTTL: true,
    });
    return Number(next);
  }

  async touch(key: string, ttl: number): Promise<boolean> {
    assertValidKey(key);
    assertValidTtl(ttl);
    const stored = this.#cache.get(key);
    if (stored === undefined) return false;
    // Same value and version (memcached's touch keeps the CAS): what was derived from it still holds.
    this.#cache.set(key, stored, { ttl: Math.ceil(ttl * 1000) });
    return true;
  }

  async flush(): Promise<void> {
    this.#cache.clear();
  }

  async stats(): Promise<Record<string, Record<string, string>>> {
    // Named after memcached's stats so dashboards and tests can read either backend.
    return {
      memory: {
        curr_items: String(this.#cache.size),
        bytes: String(this.#cache.calculatedSize),
        limit_maxbytes: String(this.#maxBytes),
        max_entries: String(this.#maxEntries),
        item_size_max: String(this.maxValueSize),
      },
    };
  }

  async close(): Promise<void> {
    this.#cache.clear();
  }

  #checkWrite(key: string, value: Value, ttl: number): void {
    assertValidKey(key);
    assertValidTtl(ttl);
    const size = byteLength(value);
    if (size > this.maxValueSize) {
      throw backendError(`value of ${size} bytes exceeds the ${this.maxValueSize}-byte limit`, "E2BIG");
    }
  }

  /** Store a new version of `key`; returns its version. */
  #store(key: string, value: Value, ttl: number): number {
    const cas = ++versions;
    // lru-cache wants whole milliseconds; rounding up never expires an entry early.
    this.#cache.set(key, { value, cas }, { ttl: Math.ceil(ttl * 1000) });
    return cas;
  }

  async #concat(key: string, value: Value, before: boolean): Promise<boolean> {
    assertValidKey(key);
    if (byteLength(value) > this.maxValueSize) {
      throw backendError(`value of ${byteLength(value)} bytes exceeds the ${this.maxValueSize}-byte limit`, "E2BIG");
    }
    const stored = this.#cache.get(key)?.value;
    if (stored === undefined) return false;
    let combined: Value;
    if (typeof stored === "string") {
      const text = typeof value === "string" ? value : value.toString("utf8");
      combined = before ? text + stored : stored + text;
    } else {
      const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
      combined = Buffer.concat(before ? [bytes, stored] : [stored, bytes]);
    }
    // memcached answers NOT_STORED (indistinguishable from a missing key in the binary protocol)
    // when the result outgrows the item size limit, and leaves the entry as it was.
    if (byteLength(combined) > this.maxValueSize) return false;
    this.#cache.set(key, { value: combined, cas: ++versions }, { noUpdateTTL: true });
    return true;
  }
}
