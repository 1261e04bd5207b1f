/**
 * `stale=`: a value past its ttl is served while one background refresh runs (once per key per
 * process at a time, and with `lock` once across processes). A rejection is reported (`EREFRESH`)
 * and the stale value stays until memcached drops it at ttl + stale: that is the grace period. The
 * refresh stores over the version of the stale entry it read, so a write meanwhile wins.
 */
import type { CasToken } from "./backends/backend";
import { CacheError } from "./config";
import type { Stamp } from "./entries";
import { lockKeyOf, releaseLock, takeLock } from "./lock";
import { Uncached, type CachedFunction } from "./registry";
import { encodeResult, storeOver, storeTtl } from "./store";
import { report } from "./state";

/** Keys whose stale value is being refreshed by this process. */
const refreshing = new Set<string>();

/** Refresh the stale entry of `key` (read as version `cas`) in the background. */
export function refresh<T>(spec: CachedFunction, key: string, fn: () => T | Uncached<T> | PromiseLike<T | Uncached<T>>,
                           generation: number, cas: CasToken | undefined, stamp?: Stamp): void {
  if (refreshing.has(key)) return;
  refreshing.add(key);
  void (async () => {
    let lockKey: string | undefined;
    try {
      if (spec.lock) {
        if (!(await takeLock(spec, lockKeyOf(key)))) return; // another process is refreshing it
        lockKey = lockKeyOf(key);
      }
      let value: T | Uncached<T>;
      try {
        value = await fn();
      } catch (error) {
        spec.errors++;
        const message = error instanceof Error ? error.message : String(error);
        report(new CacheError("EREFRESH", `tscaching: refreshing the stale value of "${spec.id}" failed (${message}); ` +
          "the stale value is served until its grace period ends", { id: spec.id, key, cause: error }));
        return;
      }
      if (value instanceof Uncached) return;
      const encoded = encodeResult(spec, key, value, generation, stamp);
      if (encoded !== undefined) await storeOver(spec, key, encoded, storeTtl(spec), cas);
    } catch {
      // The store and the lock report their own failures; nothing may escape a background task.
    } finally {
      if (lockKey !== undefined) releaseLock(lockKey);
      refreshing.delete(key);
    }
  })();
}
