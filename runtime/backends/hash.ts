/**
 * Key handling shared by the backends: the 32-bit hash behind server selection, key validation and
 * the coded errors both backends reject with, so that callers see the same failures whichever
 * backend is configured.
 */

/** Longest key memcached accepts, in bytes. */
export const MAX_KEY_BYTES = 250;

/** An `Error` carrying a machine-readable `code`, like Node's system errors. */
export interface BackendError extends Error {
  code: string;
}

/**
 * Error codes used by the backends: `E2BIG` value over the size limit, `EBADKEY` key memcached
 * cannot take, `EINVAL` bad ttl or delta, `ENONNUMERIC` incr/decr on a non-number, `ETIMEDOUT` no
 * answer in time, `ECONNRESET` server closed the connection with the request in flight, `ECLOSED`
 * backend already closed, `ECIRCUIT` the server's circuit breaker is open (it failed repeatedly; the
 * request was not sent), `EMEMCACHED` any other failure reported by memcached or memjs, `EREDIS`
 * any other failure reported by Redis or ioredis.
 */
export type BackendErrorCode =
  | "E2BIG"
  | "EBADKEY"
  | "EINVAL"
  | "ENONNUMERIC"
  | "ETIMEDOUT"
  | "ECONNRESET"
  | "ECLOSED"
  | "ECIRCUIT"
  | "EMEMCACHED"
  | "EREDIS";

/** Builds an `Error` with a `code` property. */
export function backendError(message: string, code: BackendErrorCode): BackendError {
  return Object.assign(new Error(message), { code });
}

// Spaces and control characters split text-protocol commands, so memcached tooling and the text
// protocol cannot address such keys even though the binary protocol would store them.
const FORBIDDEN_KEY_CHARS = /[\s\x00-\x1f\x7f-\x9f]/u;

/**
 * Whether `key` is a key memcached can hold: non-empty, at most 250 UTF-8 bytes, and free of
 * whitespace and control characters. The one rule for keys: stores check it (assertValidKey) and
 * so does every key that arrives from outside (bus messages).
 */
export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_BYTES) return false;
  // Fast path: the runtime's own keys are printable ASCII (one byte per char).
  let i = 0;
  for (; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) break;
  }
  return i === key.length || (Buffer.byteLength(key, "utf8") <= MAX_KEY_BYTES && !FORBIDDEN_KEY_CHARS.test(key));
}

/**
 * Rejects (throws `EBADKEY`) a key that is not {@link isValidKey}, saying why. Checked before
 * sending because memcached closes the connection on an over-long key, failing every request in
 * flight on it.
 */
export function assertValidKey(key: string): void {
  if (typeof key === "string" && isValidKey(key)) return;
  if (typeof key !== "string" || key.length === 0) {
    throw backendError("cache key must be a non-empty string", "EBADKEY");
  }
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw backendError(`cache key is longer than ${MAX_KEY_BYTES} bytes: ${key.slice(0, 40)}…`, "EBADKEY");
  }
  if (FORBIDDEN_KEY_CHARS.test(key)) {
    throw backendError(`cache key contains whitespace or control characters: ${JSON.stringify(key)}`, "EBADKEY");
  }
}

/** Throws `EINVAL` unless `ttl` is a finite number of seconds ≥ 0. */
export function assertValidTtl(ttl: number): void {
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw backendError(`ttl must be a finite number of seconds >= 0, got ${String(ttl)}`, "EINVAL");
  }
}

/** Throws `EINVAL` unless `delta` is a safe integer (memcached deltas are unsigned 64-bit). */
export function assertValidDelta(delta: number): void {
  if (!Number.isSafeInteger(delta)) {
    throw backendError(`incr delta must be a safe integer, got ${String(delta)}`, "EINVAL");
  }
}

/** Byte length of a value as memcached counts it. */
export function byteLength(value: Buffer | string): number {
  return typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-8 bytes of `text`, as an unsigned 32-bit integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, "utf8")) {
    hash = Math.imul(hash ^ byte, FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * murmur3's 32-bit finalizer. FNV-1a alone diffuses poorly (a multiply only carries differences
 * towards the high bits), and rendezvous hashing needs every bit of a score to depend on both the
 * key and the server.
 */
export function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Rendezvous (highest-random-weight) choice: the index of the server whose score for `key` is
 * highest. `serverSeeds[i]` is `fnv1a32("host:port")` of server `i`. Unlike `hash % n`, adding a
 * server moves only the keys the new server wins (about 1/(n+1) of them) and removing one moves
 * only that server's keys.
 */
export function pickServer(key: string, serverSeeds: readonly number[]): number {
  if (serverSeeds.length === 1) return 0;
  const keyHash = fnv1a32(key);
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < serverSeeds.length; i++) {
    const score = mix32(keyHash ^ (serverSeeds[i] as number));
    // Ties (1 in 2^32) go to the server listed first so that every client agrees.
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

/**
 * {@link pickServer} restricted to the servers whose `down[i]` is false: the next-best rendezvous
 * choice when the owner is down. Every client that sees the same servers down agrees on it, and a
 * key owned by a live server never moves. Returns -1 when every server is down.
 */
export function pickServerAmong(key: string, serverSeeds: readonly number[], down: readonly boolean[]): number {
  const keyHash = fnv1a32(key);
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < serverSeeds.length; i++) {
    if (down[i]) continue;
    const score = mix32(keyHash ^ (serverSeeds[i] as number));
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}
