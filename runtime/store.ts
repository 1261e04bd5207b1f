/**
 * Writing a computed result so that writes win: a miss takes a lease on its key before it runs
 * the function (memcached `add` of a placeholder, remembering the version the server gave it), and
 * stores the result with a CAS on that version. A `cache.set/replace/add/delete` or any other
 * write of the key in between (in any process) changes or removes the version, so the store fails
 * and the stale result is only returned to its own caller. Where the read found an entry (a lease,
 * an expired or invalidated value), that entry's version is the lease: no extra round trip.
 */
import type { CasToken } from "./backends/backend";
import { CacheError } from "./config";
import { byteLength, encodeEntry, LEASE_VALUE, type Stamp } from "./entries";
import type { CachedFunction } from "./registry";
import { clock } from "./clock";
import { backendError, report, state } from "./state";

/** Seconds a lease lives: long enough for a computation within its bound, and never 0 (no expiry). */
export function leaseTtl(bound: number): number {
  return Math.max(2, Math.ceil((bound * 2) / 1000));
}

/**
 * Take a lease on a key that held nothing: its version, or `undefined` when another writer got
 * there first or the backend failed (then the result is not stored).
 */
export async function takeLease(spec: CachedFunction, key: string, bound: number): Promise<CasToken | undefined> {
  try {
    return await state().backend.addGets(key, LEASE_VALUE, leaseTtl(bound));
  } catch (error) {
    spec.errors++;
    report(backendError(error, { id: spec.id, key }));
    return undefined;
  }
}

/**
 * Give up a lease that will not be filled (the result was not cacheable, or the function
 * rejected): removed only while it is still ours. Not awaited by callers.
 */
export function releaseLease(key: string, cas: CasToken | undefined): void {
  if (cas === undefined) return;
  state().backend.deleteVersion(key, cas).catch(() => undefined);
}

/**
 * Encode a result for `spec` (with the stale envelope when the function has `stale=`, and the tag
 * stamp `stamp` of a tagged function); reports
 * `EENCODE` and gives `undefined` for what cannot be stored.
 */
export function encodeResult(spec: CachedFunction, key: string, value: unknown, generation: number,
                             stamp?: Stamp): string | undefined {
  const { options } = state();
  const ttl = spec.ttl ?? options.defaultTtl;
  const stale = spec.stale && ttl > 0 ? spec.stale : 0;
  try {
    // stale=: memcached keeps the entry for ttl + stale; the envelope says when the ttl ran out.
    return encodeEntry(value, generation, stale ? clock.now() + ttl * 1000 : undefined, stamp);
  } catch (error) {
    spec.errors++;
    report(new CacheError("EENCODE", `tscaching: the result of "${spec.id}" cannot be cached (${(error as Error).message}); returned uncached`,
      { id: spec.id, key, cause: error }));
    return undefined;
  }
}

/** The ttl an entry of `spec` is stored with (its ttl, plus its `stale=` window). */
export function storeTtl(spec: CachedFunction): number {
  const ttl = spec.ttl ?? state().options.defaultTtl;
  return ttl + (spec.stale && ttl > 0 ? spec.stale : 0);
}

/**
 * Store `encoded` over the version `cas` (nothing when `cas` is `undefined`: no lease was taken).
 * A lost CAS is not a failure: a write won, as it must. Resolves whether the value was stored.
 */
export async function storeOver(spec: CachedFunction, key: string, encoded: string, ttl: number,
                                cas: CasToken | undefined): Promise<boolean> {
  if (cas === undefined) return false;
  const { backend } = state();
  if (encoded.length > backend.maxValueSize / 3 && byteLength(encoded) > backend.maxValueSize) {
    releaseLease(key, cas);
    spec.errors++;
    report(new CacheError("E2BIG", `tscaching: the result of "${spec.id}" is ${byteLength(encoded)} bytes, over the ` +
      `${backend.maxValueSize}-byte item limit; returned uncached`, { id: spec.id, key }));
    return false;
  }
  try {
    return await backend.cas(key, encoded, ttl, cas);
  } catch (error) {
    // The server refused the value (over its item size, say): the lease must not linger.
    releaseLease(key, cas);
    spec.errors++;
    report(backendError(error, { id: spec.id, key }));
    return false;
  }
}
