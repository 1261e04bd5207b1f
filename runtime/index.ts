/**
 * tscaching's runtime: what transformed code calls, and the typed cache for invalidation.
 *
 * @example
 * ```ts
 * import { cache, configure } from "tscaching";
 * configure({ servers: process.env.TSCACHING_SERVERS, namespace: "shop" });
 * ```
 */
export { cache } from "./cache";
export { keyHelper, type CacheKey, type KeyGroup, type KeyHelper, type ValueOf } from "./key-helpers";
export { cachedCall, cachedFunctions, defineCached, Uncached, type CachedFunction, type CachedFunctionSpec } from "./call";
export { CacheError, type CacheOptions, type ServerAddress } from "./config";
export { configure, type CacheEvents } from "./state";
export { cacheKey, type KeyedInstance } from "./keys";
export { cachedFetch, cachedHandler, requestKeyHelper, requestKeyParts, urlKeyParts, type CachedResponse, type HeaderLookup } from "./http";
export { type CacheTag, type TagSpec } from "./tags";
