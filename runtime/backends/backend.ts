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
  /**
   * The raw stored value with its version (memcached's CAS token), or `undefined` on a miss. The
   * same one round trip as `get`.
   */
  gets(key: string): Promise<Versioned | undefined>;
  /**
   * `add` that resolves the new entry's version, or `undefined` when an entry exists: how a miss
   * takes a lease on its key before computing (see `cas`).
   */
  addGets(key: string, value: Buffer | string, ttl: number): Promise<CasToken | undefined>;
  /**
   * Store only while the entry is still the version `cas` names; `false` when anything wrote,
   * replaced, deleted or expired it since. This is how a computation that started before a write
   * can never store its result over that write.
   */
  cas(key: string, value: Buffer | string, ttl: number, cas: CasToken): Promise<boolean>;
  /** Remove the entry only while it is still the version `cas` names (a lease given up); `false` otherwise. */
  deleteVersion(key: string, cas: CasToken): Promise<boolean>;
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
  /**
   * Whether the store lives in this process: nothing another process does can change it, so what
   * this process knows of its group generations is never out of date.
   */
  readonly inProcess: boolean;
  /**
   * Synchronous read for the hit path of an in-process backend: `derive(value)` of the entry under
   * `key`, or `undefined`. With `remember`, the derived result is kept with the entry until it is
   * written or dropped (`derive` must be a pure function of the stored bytes). Absent on backends
   * that cannot answer without I/O.
   */
  peekDerived?<D>(key: string, derive: (value: Buffer | string) => D, remember: boolean, trustedKey?: boolean): D | undefined;
  /** The server ("host:port") that owns `key`, for backends that spread keys over servers. */
  ownerOf?(key: string): string;
  /**
   * Publish/subscribe between the processes sharing the store (Redis), through which local-tier
   * copies learn of other processes' writes at once (see bus.ts). Absent where the store has none
   * (memcached: copies are then bounded by `local=` alone).
   */
  readonly bus?: BusTransport;
}

/** A backend's pub/sub, as bus.ts drives it. */
export interface BusTransport {
  /**
   * Send `message` to every process listening on `topic`: queued on the command connection, after
   * the writes sent before it. Same deadline and circuit breaker as every request; may reject.
   */
  publish(topic: string, message: string): Promise<void>;
  /**
   * Listen on `topics` over a dedicated connection, at most once per backend (later calls do
   * nothing). It never holds the process open, reconnects by itself while the backend is open, and
   * says when it is subscribed (`up`) and when it lost its connection, and why an attempt to
   * subscribe failed (`onFailure`, once per failed attempt); `close()` ends it.
   */
  listen(topics: readonly string[], onMessage: (topic: string, message: Buffer) => void, onState: (up: boolean) => void,
    onFailure?: (error: Error) => void): void;
}

/** One version of an entry (memcached's 64-bit CAS value; the memory backend counts writes). */
export type CasToken = bigint | number;

/** A stored value and its version. */
export interface Versioned {
  readonly value: Buffer | string;
  readonly cas: CasToken;
}
