/**
 * `lock`: a cold key computed once across processes. The process that `add`s the lock key computes
 * and stores; the others poll the value (20 ms doubling to 200 ms, on the runtime clock) for at
 * most `lock` seconds, then compute themselves. They stop waiting early when the lock disappears
 * without a value (the holder failed, or its result was not cacheable). A holder that dies leaves a
 * lock that expires after `lock` seconds, the longest anyone waits for it.
 */
import { createHash } from "node:crypto";
import type { CasToken } from "./backends/backend";
import { clock, sleep } from "./clock";
import { readEntryThen, type Entry, type Read, type TagRead } from "./entries";
import { generationOf, groupOf } from "./groups";
import { MAX_KEY_LENGTH } from "./keys";
import type { CachedFunction } from "./registry";
import { backendError, report, state } from "./state";

/** The key a `lock` function's cold key is locked under: never a value key, at most 250 bytes. */
export function lockKeyOf(key: string): string {
  // Keys are printable ASCII, so length is bytes. No argument encoding ends in "~lock".
  if (key.length <= MAX_KEY_LENGTH - 5) return `${key}~lock`;
  return `${groupOf(key)}#${createHash("sha256").update(key).digest("base64url")}~lock`;
}

/** Take the cross-process lock: true when this process holds it (or the cache cannot tell). */
export async function takeLock(spec: CachedFunction, lockKey: string): Promise<boolean> {
  try {
    return await state().backend.add(lockKey, String(process.pid), spec.lock as number);
  } catch (error) {
    spec.errors++;
    report(backendError(error, { id: spec.id, key: lockKey }));
    return true;
  }
}

export function releaseLock(lockKey: string): void {
  // Not awaited: waiters poll the value first, and the lock expires by itself anyway.
  state().backend.delete(lockKey).catch(() => undefined);
}

/** What waiting for the lock holder gave: its entry (with what was read), or the version to compute over. */
export type LockWait =
  | { readonly kind: "entry"; readonly entry: Entry; readonly read: Read }
  | { readonly kind: "compute"; readonly cas: CasToken | undefined };

/**
 * Wait for another process's computation of `key` (this one did not get the lock), checking what it
 * reads against the group generation and, for a tagged call, the tag generations (`tags`). Resolves with
 * the entry it stored, or with the version of the key last seen, to compute over it.
 */
export async function awaitHolder(spec: CachedFunction, key: string, lockKey: string, cas: CasToken | undefined,
                                  tags?: TagRead): Promise<LockWait> {
  const { backend, options } = state();
  const group = groupOf(key);
  const deadline = clock.now() + (spec.lock as number) * 1000;
  /** One read of the entry, and of the lock with `withLock`; `undefined` when the cache failed (reported). */
  const poll = async (withLock: boolean): Promise<readonly [Entry, Read, unknown] | undefined> => {
    try {
      const known = generationOf(backend, group, options.invalidationCheck);
      const [[entry, read], held] = await Promise.all([
        readEntryThen(backend, key, group, known, (e, r) => [e, r] as const, undefined, tags), withLock ? backend.get(lockKey) : undefined]);
      return [entry, read, held];
    } catch (error) {
      spec.errors++;
      report(backendError(error, { id: spec.id, key }));
      return undefined;
    }
  };
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const left = deadline - clock.now();
    if (left <= 0) break;
    await sleep(Math.min(delay, left));
    let polled = await poll(true);
    if (polled === undefined) break;
    cas = polled[1]?.cas;
    if (usable(spec, polled[0])) return { kind: "entry", entry: polled[0], read: polled[1] };
    if (polled[2] !== undefined) continue;
    // The lock is gone, but the entry may have been read before the holder stored it (a holder
    // stores, then releases; the two keys may live on different servers, so the two reads above
    // have no order). Read after the lock was seen gone, the entry holds the holder's result if any.
    polled = await poll(false);
    if (polled === undefined) break;
    cas = polled[1]?.cas;
    if (usable(spec, polled[0])) return { kind: "entry", entry: polled[0], read: polled[1] };
    break;
  }
  return { kind: "compute", cas };
}

/** Whether a waiter takes `entry`: a hit still fresh (or servable stale), or a cached rejection. */
function usable(spec: CachedFunction, entry: Entry): boolean {
  if (entry.kind === "hit") return entry.softExpiry === undefined || entry.softExpiry > clock.now() || !!spec.stale;
  return entry.kind === "rejected" && !!spec.errorsTtl;
}
