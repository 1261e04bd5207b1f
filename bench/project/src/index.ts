/** The bench project's entry: the tagged functions, the floors, the peers and the runtime setup. */
import { cache, configure, type CacheError } from "tscaching";

export { getPayload, getUser, getUserLocal, slowReport } from "./tagged";
export { HandWrittenMemjs, lruGetUser, lruJsonGetUser } from "./floor";
export { BentoL1Peer, CacheManagerPeer, MemoizePeer, MemjsCacheClient, TypeCacheablePeer } from "./peers";
export { executions, makePayload, makeUser } from "./values";

/**
 * The Redis floor and peer, loaded on first use: once loaded, @keyv/redis (node-redis) makes every
 * promise in the process slower (measured: a memory-backend hit +0.25 µs), which would tax the
 * contenders of the suites that do not use Redis. Each suite runs in its own process.
 */
export function redisPeers(): typeof import("./redis") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("./redis") as typeof import("./redis");
}

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
