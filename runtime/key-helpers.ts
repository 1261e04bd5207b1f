/**
 * Typed keys: `CacheKey<T>` (a key whose entries hold a `T`), the groups `cache.invalidate()` takes,
 * and `keyHelper`, of which generated `keys.ts` files are made. A helper builds its keys with the
 * function cached calls use (keys.ts), so both always agree.
 */
import { buildKey, VERSION_RE } from "./keys";
import { registeredSpec, registeredVersion, type CachedFunctionSpec } from "./registry";
import { state } from "./state";
import { learnKeyTags } from "./tag-keys";
import { checkTagSpecs, type TagSpec } from "./tags";
import { checkRegistered } from "./untransformed";

declare const valueType: unique symbol;

/**
 * A memcached key whose entries hold values of type `T`. Built by generated `keys.ts` helpers, by
 * `cache.key()` or `cache.keyOf()`; a plain string is not accepted where a `CacheKey` is expected.
 */
export type CacheKey<T> = string & { readonly [valueType]: (value: T) => T };

/** The value type of a key. */
export type ValueOf<K> = K extends CacheKey<infer T> ? T : never;

/**
 * Every entry of one cached function (or of one `cache.key()` name): what `cache.invalidate()`
 * takes. A generated `keys.ts` helper is both: call it for one key, pass it for the group.
 */
export interface KeyGroup<T> {
  /** The function's id (`src/db#DB.get`, or `name=`). */
  readonly id: string;
  /** Type-level only: the value type of the group's entries. */
  readonly __value?: (value: T) => T;
}

/** A generated key helper: `keys.DB.get("bob")` is a key, `keys.DB.get` the group of all its keys. */
export interface KeyHelper<A extends readonly unknown[], T> extends KeyGroup<T> {
  (...args: A): CacheKey<T>;
}

/**
 * What keys.ts passes a helper of a tagged function whose tag arguments are all key parts: its
 * spec's `tags` and `tagKeys`, so that writes through the helper stamp the key's tag generations
 * even in a process that never loaded the function's module (see tag-keys.ts).
 */
export interface KeyTags {
  readonly tags: readonly TagSpec[];
  readonly tagKeys: readonly number[];
}

/**
 * Make a key helper for a cached function's id (and the version it was built with, which keys.ts
 * passes so that its keys are the ones the built function uses; and, for a tagged function, which
 * key part each tag value is). Generated `keys.ts` files are made of these; the
 * key is built by the same function cached calls use, so both always agree.
 *
 * @example
 * ```ts
 * const byName = keyHelper<[name: string], User>("users.byName");
 * await cache.delete(byName("bob"));
 * await cache.invalidate(byName);
 * ```
 */
export function keyHelper<A extends readonly unknown[], T>(id: string, version?: string, tagged?: KeyTags): KeyHelper<A, T> {
  if (typeof id !== "string" || id === "") throw new TypeError("tscaching: keyHelper needs a non-empty id");
  if (version !== undefined && (typeof version !== "string" || !VERSION_RE.test(version))) {
    throw new TypeError(`tscaching: keyHelper version must be 1-32 characters of A-Z a-z 0-9 _ . -; got ${JSON.stringify(version)}`);
  }
  let fallback: CachedFunctionSpec | undefined;
  if (tagged !== undefined) {
    if (tagged === null || typeof tagged !== "object" || tagged.tags === undefined) {
      throw new TypeError(`tscaching: keyHelper "${id}": tags must be { tags, tagKeys }`);
    }
    checkTagSpecs(id, tagged.tags, tagged.tagKeys);
    fallback = { v: 1, id, tags: tagged.tags, tagKeys: tagged.tagKeys };
  }
  // The version this process loaded the function with wins over the one keys.ts was generated with:
  // where they differ (a bundler build whose versions come from the syntax while keys.ts was
  // generated with the checker, or a keys.ts older than the build), the key is the one calls use.
  const helper = (...args: A) => {
    checkRegistered(id);
    return keyOfCall(id, args, registeredVersion(id) ?? version, fallback) as CacheKey<T>;
  };
  Object.defineProperty(helper, "id", { value: id, enumerable: true });
  Object.defineProperty(helper, "name", { value: id });
  return helper as unknown as KeyHelper<A, T>;
}

/**
 * The key of a call of `id` built with `version`; when its spec (the loaded module's, else what
 * keys.ts said: `fallback`) tells which key part each tag value is, this process learns the key's
 * tag values, so writes to it stamp them.
 */
export function keyOfCall(id: string, args: readonly unknown[], version: string | undefined, fallback?: CachedFunctionSpec): string {
  const { namespace } = state().options;
  const key = buildKey(namespace, id, args, version);
  learnKeyTags(registeredSpec(id, version) ?? fallback, namespace, key, args);
  return key;
}
