/** The bench project's entry: the tagged functions, the floors, the peers and the runtime setup. */
import { cache, configure, type CacheError } from "tscaching";

export { getPayload, getUser, slowReport } from "./tagged";
export { HandWrittenMemjs, lruGetUser, lruJsonGetUser } from "./floor";
export { CacheManagerRedisPeer, HandWrittenIoredis } from "./redis";
export { CacheManagerPeer, MemoizePeer, MemjsCacheClient, TypeCacheablePeer } from "./peers";
export { executions, makePayload, makeUser } from "./values";

/** Cache failures seen by tscaching (a timeout would turn a hit into a call of the original). */
export const cacheErrors: CacheError[] = [];

/** `servers` empty: the in-memory backend; `shareValues`: its shared-value mode. */
export function configureTscaching(servers: string, namespace: string, options: { shareValues?: boolean } = {}): void {
  configure({ servers, namespace, onError: (error) => void cacheErrors.push(error), memory: { shareValues: options.shareValues ?? false } });
}

export function tscachingStats(): { hits: number; misses: number; errors: number } {
  const { hits, misses, errors } = cache.stats();
  return { hits, misses, errors };
}

export function closeTscaching(): Promise<void> {
  return cache.close();
}
