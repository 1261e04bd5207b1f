/** The bench project's entry: the tagged functions, the floors, the peers and the runtime setup. */
import { cache, configure, type CacheError } from "tscaching";

export { getPayload, getUser, getUserLocal, slowReport } from "./tagged";
export { HandWrittenMemjs, lruGetUser, lruJsonGetUser } from "./floor";
export { CacheManagerRedisPeer, HandWrittenIoredis } from "./redis";
export { BentoL1Peer, CacheManagerPeer, MemoizePeer, MemjsCacheClient, TypeCacheablePeer } from "./peers";
export { executions, makePayload, makeUser } from "./values";

/** Cache failures seen by tscaching (a timeout would turn a hit into a call of the original). */
export const cacheErrors: CacheError[] = [];

/** `servers` empty: the in-memory backend; `shareValues`: its shared-value mode. */
export function configureTscaching(servers: string, namespace: string, options: { shareValues?: boolean; localMaxEntries?: number } = {}): void {
  const shareValues = options.shareValues ?? false;
  configure({ servers, namespace, onError: (error) => void cacheErrors.push(error), memory: { shareValues },
    local: { shareValues, maxEntries: options.localMaxEntries } });
}

export function tscachingStats(): { hits: number; misses: number; errors: number; localHits: number } {
  const { hits, misses, errors, functions } = cache.stats();
  const localHits = Object.values(functions).reduce((sum, f) => sum + ((f as { localHits?: number }).localHits ?? 0), 0);
  return { hits, misses, errors, localHits };
}

export function closeTscaching(): Promise<void> {
  return cache.close();
}
