/**
 * The storage contract every backend fulfils. Values are the codec's encoded bytes (a string for the
 * memory backend, a Buffer from memcached); the backend never interprets them.
 *
 * Every method may reject (server down, timeout); callers in the runtime turn a rejection into a
 * miss or an uncached call. A backend never hangs: each call settles within the configured timeout.
 */
export interface Backend {
  /** The raw stored value, or `undefined` on a miss. */
  get(key: string): Promise<Buffer | string | undefined>;
  /** Store unconditionally. `ttl` is in seconds, 0 means no expiry. */
  set(key: string, value: Buffer | string, ttl: number): Promise<void>;
  /** Store only where no entry exists; resolves `false` when one did. */
  add(key: string, value: Buffer | string, ttl: number): Promise<boolean>;
  /** Store only where an entry exists; resolves `false` when none did. */
  replace(key: string, value: Buffer | string, ttl: number): Promise<boolean>;
  /** Append bytes to an existing entry; `false` when there is none. */
  append(key: string, value: Buffer | string): Promise<boolean>;
  /** Prepend bytes to an existing entry; `false` when there is none. */
  prepend(key: string, value: Buffer | string): Promise<boolean>;
  /** Remove an entry; `false` when there was none. */
  delete(key: string): Promise<boolean>;
  /**
   * Add `delta` (may be negative: decrement, clamped at 0 as memcached does) to an entry holding an
   * unsigned decimal integer; resolves the new value, or `undefined` when no entry exists.
   */
  incr(key: string, delta: number): Promise<number | undefined>;
  /** Set a new ttl on an existing entry; `false` when there is none. */
  touch(key: string, ttl: number): Promise<boolean>;
  /** Remove every entry. */
  flush(): Promise<void>;
  /** Per-server statistics (memcached `stats`), keyed by "host:port" (memory: "memory"). */
  stats(): Promise<Record<string, Record<string, string>>>;
  /** Largest value (bytes) the backend accepts; larger values are not stored. */
  readonly maxValueSize: number;
  /** Release sockets and timers. The backend must not be used afterwards. */
  close(): Promise<void>;
}
