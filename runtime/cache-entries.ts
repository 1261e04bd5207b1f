/**
 * The entry operations behind `cache` (cache.ts): typed reads and writes of one key, made the way
 * cached calls make them — with the group generation and tag stamp of the key, detaching flights
 * begun before a write, dropping local copies and announcing the write on the bus — and failing
 * open (a backend failure is reported and the operation resolves as if nothing was there).
 */
import { announceKey } from "./bus";
import { CacheError } from "./config";
import { byteLength, classify, encodeEntry, parseEntry, readEntry, writeGeneration, type Stamp, type TagRead } from "./entries";
import { detachKey } from "./flights";
import { groupOf, trustWindow } from "./groups";
import { existingLocalTier } from "./local-tier";
import { backendError, report, state } from "./state";
import { keyTagsOf } from "./tag-keys";
import { tagGenerations } from "./tags";

export async function guarded<R>(key: string, fallback: R, op: () => Promise<R>): Promise<R> {
  try {
    return await op();
  } catch (error) {
    report(backendError(error, { key }));
    return fallback;
  }
}

function encodeFor(key: string, value: unknown, generation: number, stamp: Stamp | undefined): string | undefined {
  let encoded: string;
  try {
    encoded = encodeEntry(value, generation, undefined, stamp);
  } catch (error) {
    report(new CacheError("EENCODE", `tscaching: value for ${key} cannot be cached (${(error as Error).message})`, { key, cause: error }));
    return undefined;
  }
  const { backend } = state();
  if (encoded.length > backend.maxValueSize / 3 && byteLength(encoded) > backend.maxValueSize) {
    report(new CacheError("E2BIG", `tscaching: value for ${key} is over the ${backend.maxValueSize}-byte item limit`, { key }));
    return undefined;
  }
  return encoded;
}

export function ttlOf(ttl: number | undefined): number {
  if (ttl === undefined) return state().options.defaultTtl;
  if (!Number.isInteger(ttl) || ttl < 0) throw new TypeError(`tscaching: ttl must be a non-negative integer of seconds; got ${ttl}`);
  return ttl;
}

/**
 * A write of `key`: flights of the key begun before it are detached when it starts and again when
 * it resolves, so that no call made after the write joins a computation begun before it. (Across
 * processes the write wins by replacing or removing the computation's lease: see store.ts.)
 */
export async function written<R>(key: string, op: () => Promise<R>): Promise<R> {
  // This process's local copy (`local=`) goes too, before and after: a read begun during the write
  // may have refilled it from the old entry.
  const tier = existingLocalTier(state().backend);
  detachKey(key);
  tier?.drop(key);
  try {
    return await op();
  } finally {
    detachKey(key);
    tier?.drop(key);
    announceKey(key); // other processes' copies (Redis: bus.ts)
  }
}

/**
 * The tag values of `key` this process knows (tag-keys.ts) and their generations (read in parallel
 * when not known fresh); `undefined` for an untagged key or one whose tag values it never learnt.
 */
function tagReadOf(key: string): TagRead | undefined {
  const bases = keyTagsOf(key);
  if (bases === undefined) return undefined;
  const { backend, options } = state();
  return { bases, known: tagGenerations(backend, bases, trustWindow(backend, options.invalidationCheck)), learnable: false };
}

export async function write(kind: "set" | "add" | "replace", key: string, value: unknown, ttl?: number): Promise<boolean> {
  const seconds = ttlOf(ttl);
  const { backend, options } = state();
  return written(key, () => guarded(key, false, async () => {
    // A tagged function's key: stamp the generations of its tag values, so the next call reads the
    // write (unknown tag values: no stamp, stale once one of them was invalidated; see tag-keys.ts).
    const tags = tagReadOf(key);
    const [generation, stamp] = await Promise.all([writeGeneration(backend, key, options.invalidationCheck), tags?.known]);
    const encoded = encodeFor(key, value, generation, stamp);
    if (encoded === undefined) return false;
    if (kind === "set") {
      await backend.set(key, encoded, seconds);
      return true;
    }
    if (kind === "replace") return backend.replace(key, encoded, seconds); // a lease is replaced too: the write wins
    if (await backend.add(key, encoded, seconds)) return true;
    // Only a computation's lease, or an entry an invalidation made stale, is there: an add finds no
    // entry, and wins over the computation.
    const found = await backend.gets(key);
    return found !== undefined && isAbsent(key, found.value, generation, tags?.bases, stamp) &&
      backend.cas(key, encoded, seconds, found.cas);
  }));
}

/** Whether a stored value reads as no entry: a lease, or an entry of an older group or tag generation. */
function isAbsent(key: string, raw: Buffer | string, generation: number, bases: readonly string[] | undefined,
                  stamp: Stamp | undefined): boolean {
  const tags = bases && stamp && { bases, known: stamp, learnable: false };
  const kind = classify(state().backend, groupOf(key), parseEntry(raw), generation, tags).kind;
  return kind === "lease" || kind === "stale";
}

export async function read(key: string): Promise<{ value: unknown } | undefined> {
  const { backend, options } = state();
  const entry = await guarded(key, undefined, () => readEntry(backend, key, options.invalidationCheck, tagReadOf(key)));
  if (entry?.kind === "corrupt") report(new CacheError("EDECODE", `tscaching: unreadable entry at ${key} treated as a miss`, { key }));
  return entry?.kind === "hit" ? { value: entry.value } : undefined;
}

export async function concat(key: string, text: string, where: "append" | "prepend"): Promise<boolean> {
  // Values carry a header, so bytes cannot be glued on at the server: read, join, write back only
  // where the entry still exists. Not atomic across processes; use a counter (incr) for that.
  const entry = await read(key);
  if (!entry || typeof entry.value !== "string") return false;
  return write("replace", key, where === "append" ? entry.value + text : text + entry.value);
}
