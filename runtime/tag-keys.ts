/**
 * Which tag values a key's entries carry, so that a write through `cache.set/replace/add` can stamp
 * them (tags.ts, entries.ts) and `cache.get` can check them. A key is a digest of its arguments, so
 * its tag values cannot be read back from it; this process learns them
 *
 * - from every tagged call (the call knows its tag values), and
 * - from the keys.ts helpers and `cache.keyOf` when the function's spec says which key part each tag
 *   value is (`tagKeys`, emitted by the transformer when every tag argument is a key part); keys.ts
 *   passes the same to its helpers, for processes that never load the function's module.
 *
 * Remembered in a bounded map (past it the least recently used key is forgotten). A key this
 * process never learnt is written without a stamp: that reads as every generation 0, so stale as
 * soon as one of its tag values was ever invalidated — at worst a recomputation, never a wrong value.
 */
import { LRUCache } from "lru-cache";
import type { CachedFunctionSpec } from "./registry";
import { callTagBases } from "./tags";

/** Most keys whose tag values are remembered. */
const MAX_KEYS = 100_000;
/** Most single-value tag bases memoized per function (emptied when full, as the key memo). */
const MEMO_SIZE = 4096;

const keyTags = new LRUCache<string, readonly string[]>({ max: MAX_KEYS });

interface Memo {
  readonly namespace: string;
  readonly byValue: Map<number | string, readonly string[]>;
}
const memos = new WeakMap<CachedFunctionSpec, Memo>();

/**
 * The counter bases of a call's tag values (`spec.tags` must be set). A single string or number tag
 * value (the common `tags=user(id)`) is served from a memo, so a hot key costs no encoding and
 * keeps one array, which {@link rememberKeyTags} then sees as unchanged.
 * @throws KeyEncodeError when a tag value cannot form a key.
 */
export function tagBasesOf(spec: CachedFunctionSpec, namespace: string, values: readonly unknown[]): readonly string[] {
  const value = values[0];
  if (values.length !== 1 || (typeof value !== "string" && (typeof value !== "number" || Object.is(value, -0)))) {
    return callTagBases(namespace, spec.tags!, values);
  }
  let memo = memos.get(spec);
  if (memo === undefined || memo.namespace !== namespace) memos.set(spec, memo = { namespace, byValue: new Map() });
  let bases = memo.byValue.get(value);
  if (bases === undefined) {
    bases = callTagBases(namespace, spec.tags!, values);
    if (memo.byValue.size >= MEMO_SIZE) memo.byValue.clear();
    memo.byValue.set(value, bases);
  }
  return bases;
}

/** Remember that `key`'s entries carry the tag values `bases`. */
export function rememberKeyTags(key: string, bases: readonly string[]): void {
  const known = keyTags.peek(key);
  // A hot key's calls give the same bases again and again: no write (and no allocation) then.
  if (known === bases || (known !== undefined && known.length === bases.length && known.every((b, i) => b === bases[i]))) return;
  keyTags.set(key, bases);
}

/** The tag values `key`'s entries carry, when this process knows them. */
export function keyTagsOf(key: string): readonly string[] | undefined {
  return keyTags.get(key);
}

/**
 * Learn the tag values of the key of `spec` and `args` (a keys.ts helper or `cache.keyOf`), when
 * its spec says which key part each tag value is. A tag value that cannot form a key teaches nothing.
 */
export function learnKeyTags(spec: CachedFunctionSpec | undefined, namespace: string, key: string, args: readonly unknown[]): void {
  if (spec?.tags === undefined || spec.tags.length === 0 || spec.tagKeys === undefined) return;
  try {
    rememberKeyTags(key, tagBasesOf(spec, namespace, spec.tagKeys.map((i) => args[i])));
  } catch {
    // The call itself runs uncached (EKEY): there is no entry to stamp.
  }
}
