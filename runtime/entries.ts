/**
 * What is stored under a key, and how it is read back.
 *
 * - Unsigned integers are stored as bare decimal text, memcached's own counter format, so that
 *   `cache.incr`/`decr` stay atomic on the server. Only 1-15 digits (and memcached's space padding) make a counter.
 * - Everything else goes through the codec (magic, version, length, payload).
 * - An entry written under a group generation above 0 starts with `\u0002<gen>:` (see groups.ts).
 * - After that, an entry of a tagged function (`tags=`) carries its tag stamp `\u0006<g1>.<g2>:`: the
 *   generations its writer knew for the function's tag values, in the order of the spec's tags (see
 *   tags.ts). No stamp means every generation 0, so entries written before any invalidation cost nothing.
 * - After that, an entry of a function tagged `stale=` starts with `\u0003<soft expiry>:`: the time
 *   (ms since the epoch, the writer's clock) its ttl runs out. memcached itself keeps it for ttl +
 *   stale seconds. Functions without `stale=` store no envelope, so their entries cost nothing more.
 * - A cached rejection (`errors=`) is `\u0004` followed by the codec's encoding of `[name, message]`.
 * - A lease is `\u0005lease`: what a miss stores while it computes (see flights.ts and store.ts);
 *   it reads as a miss, and the computation's store succeeds only over that very version of it.
 *
 * Anything else (a foreign value, a truncated one, another format version) reads as `corrupt`: a
 * miss, never a wrong value. The one format without a header is the counter (bare digits), which
 * memcached's own incr/decr need; only a non-memcached writer could truncate one.
 */
import type { Backend, Versioned } from "./backends/backend";
import { decodeValue, encodeValue } from "./codec";
import { generationOf, groupOf, learn, splitGeneration, withGeneration } from "./groups";
import { at, isOutdated, splitStamp, TAG_STAMP, withStamp, type Stamp, type TagCheck } from "./tag-stamps";

export type { Stamp, TagCheck } from "./tag-stamps";

// memcached pads a counter that shrank with spaces ("12" decremented by 10 reads "2 ").
const COUNTER = /^\d{1,15} *$/;
const SOFT_EXPIRY = 3;
const REJECTION = 4;
const LEASE = 5;
/** The placeholder a miss stores while computing. Never an entry's encoding (see above). */
export const LEASE_VALUE = "\u0005lease";

/**
 * Encode a value written under `generation`; with `softExpiry` (ms since the epoch) wrapped in the
 * stale envelope. Throws `ValueEncodeError` for what cannot be stored.
 */
export function encodeEntry(value: unknown, generation: number, softExpiry?: number, stamp?: Stamp): string {
  const encoded = typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0) && value < 1e15
    ? String(value)
    : encodeValue(value);
  return withGeneration(withStamp(softExpiry === undefined ? encoded : `\u0003${Math.floor(softExpiry)}:${encoded}`, stamp), generation);
}

/** Encode a cached rejection: its name and message only, never the error object itself. */
export function encodeRejection(name: string, message: string, generation: number, stamp?: Stamp): string {
  return withGeneration(withStamp(`\u0004${encodeValue([name, message])}`, stamp), generation);
}

function decodeStored(raw: Buffer | string): { value: unknown } | undefined {
  if (raw.length <= 20) {
    const text = typeof raw === "string" ? raw : raw.toString("latin1");
    if (COUNTER.test(text)) return { value: Number(text.trimEnd()) };
  }
  return decodeValue(raw);
}

/**
 * The outcome of reading a key: `generation` is the one to write a fresh value with. `stale` here
 * means written under an older group generation (invalidated); a value past its ttl inside its
 * `stale=` window is a `hit` whose `softExpiry` has passed.
 */
export type Entry =
  | { readonly kind: "hit"; readonly value: unknown; readonly generation: number; readonly softExpiry: number | undefined }
  | { readonly kind: "rejected"; readonly name: string; readonly message: string; readonly generation: number }
  | { readonly kind: "miss" | "stale" | "corrupt" | "lease"; readonly generation: number };

const from = (raw: Buffer | string, i: number): Buffer | string => (typeof raw === "string" ? raw.slice(i) : raw.subarray(i));

/** Decode what follows the generation prefix. */
function decodeBody(rest: Buffer | string, generation: number): Entry {
  const first = at(rest, 0);
  if (first === SOFT_EXPIRY) {
    // `\u0003` + 1-16 digits + ":"; anything else (a truncated envelope) is corrupt.
    let softExpiry = 0;
    let i = 1;
    for (; i < 18; i++) {
      const c = at(rest, i);
      if (!(c >= 0x30 && c <= 0x39)) break;
      softExpiry = softExpiry * 10 + c - 0x30;
    }
    if (i === 1 || i === 18 || at(rest, i) !== 0x3a) return { kind: "corrupt", generation };
    const decoded = decodeStored(from(rest, i + 1));
    return decoded ? { kind: "hit", value: decoded.value, generation, softExpiry } : { kind: "corrupt", generation };
  }
  if (first === REJECTION) {
    const decoded = decodeValue(from(rest, 1))?.value;
    if (Array.isArray(decoded) && decoded.length === 2 && typeof decoded[0] === "string" && typeof decoded[1] === "string") {
      return { kind: "rejected", name: decoded[0], message: decoded[1], generation };
    }
    return { kind: "corrupt", generation };
  }
  const decoded = decodeStored(rest);
  return decoded ? { kind: "hit", value: decoded.value, generation, softExpiry: undefined } : { kind: "corrupt", generation };
}

/**
 * What a stored entry holds, read without knowing the current generation: a pure function of the
 * stored bytes, so a backend that keeps values in process may remember it (`shareValues`).
 * `generation` is -1 for an unreadable prefix.
 */
export interface ParsedEntry {
  readonly generation: number;
  /** The tag stamp, when the entry has one (none reads as every generation 0). */
  readonly stamp?: Stamp;
  readonly body: Entry;
}

const UNREADABLE: ParsedEntry = { generation: -1, body: { kind: "corrupt", generation: -1 } };
const LEASED: ParsedEntry = { generation: -2, body: { kind: "lease", generation: -2 } };

/** Parse a stored entry (see {@link ParsedEntry}). */
export function parseEntry(raw: Buffer | string): ParsedEntry {
  const first = typeof raw === "string" ? raw.charCodeAt(0) : raw[0];
  if (first === LEASE) return LEASED;
  // Generation 0 (never invalidated) and no tag stamp: nothing to split.
  if (first !== 2 && first !== TAG_STAMP) return { generation: 0, body: decodeBody(raw, 0) };
  const { generation, rest } = first === 2 ? splitGeneration(raw) : { generation: 0, rest: raw };
  if (generation < 0) return UNREADABLE;
  if (at(rest, 0) !== TAG_STAMP) return { generation, body: decodeBody(rest, generation) };
  const split = splitStamp(rest);
  if (split === undefined) return UNREADABLE;
  return { generation, stamp: split.stamp, body: decodeBody(from(rest, split.at), generation) };
}

/**
 * The group generation and tag stamp of a stored entry, without decoding its value (what the local
 * tier keeps beside a copy); generation -1 for an unreadable prefix.
 */
export function entryStamps(raw: Buffer | string): { generation: number; stamp: Stamp | undefined } {
  const first = at(raw, 0);
  if (first !== 2 && first !== TAG_STAMP) return { generation: 0, stamp: undefined };
  const { generation, rest } = first === 2 ? splitGeneration(raw) : { generation: 0, rest: raw };
  if (generation < 0 || at(rest, 0) !== TAG_STAMP) return { generation, stamp: undefined };
  const split = splitStamp(rest);
  return split === undefined ? { generation: -1, stamp: undefined } : { generation, stamp: split.stamp };
}

/**
 * Classify a parsed entry against the generation this process knows for its group (`current`) and,
 * for a tagged call, for its tag values (`tags`). An entry written under a newer generation teaches
 * this process that another one invalidated; one written under an older one is `stale`.
 */
export function classify(backend: Backend, group: string, parsed: ParsedEntry | undefined, current: number, tags?: TagCheck): Entry {
  if (parsed === undefined) return { kind: "miss", generation: current };
  const { generation } = parsed;
  if (generation < 0) return { kind: generation === -2 ? "lease" : "corrupt", generation: current };
  if (generation < current) return { kind: "stale", generation: current };
  if (tags !== undefined) {
    const stamp = parsed.stamp;
    if (isOutdated(stamp, tags.known)) return { kind: "stale", generation: current };
    if (stamp !== undefined && tags.learnable) {
      for (let i = 0; i < tags.known.length; i++) if (stamp[i] > tags.known[i]) learn(backend, tags.bases[i], stamp[i]);
    }
  }
  if (generation > current) learn(backend, group, generation);
  return parsed.body;
}

/**
 * What one read found besides the entry: the stored bytes (to decode a copy per caller) and their
 * version; `undefined` when the key held nothing.
 */
export type Read = Versioned | undefined;

/**
 * A tagged read: the counters of its tag values and their generations, known (an array) or being
 * read (a promise, made in parallel with the entry's read; see tags.ts `tagGenerations`).
 */
export interface TagRead {
  readonly bases: readonly string[];
  readonly known: Stamp | Promise<Stamp>;
  readonly learnable: boolean;
}

/**
 * Read `key` of `group` against its generation `known` (a number: what this process knows; a
 * promise: a re-read of the counter, made in parallel) and, for a tagged call, its tags' generations
 * (`tags`, read in parallel too), and hand the entry, with what was read and the tag generations it
 * was checked against (what a computed value is stamped with), to `onEntry`. Backend failures go to
 * `onError` when given, else reject. One promise beyond the backend's.
 */
export function readEntryThen<R>(backend: Backend, key: string, group: string, known: number | Promise<number>,
                                 onEntry: (entry: Entry, read: Read, stamp: Stamp | undefined) => R | PromiseLike<R>,
                                 onError?: (error: unknown) => R | PromiseLike<R>, tags?: TagRead): Promise<R> {
  if (tags === undefined) {
    return typeof known === "number"
      ? backend.gets(key).then((found) => onEntry(entryFrom(backend, group, found?.value, known, undefined), found, undefined), onError)
      : Promise.all([backend.gets(key), known])
        .then(([found, current]) => onEntry(entryFrom(backend, group, found?.value, current, undefined), found, undefined), onError);
  }
  const { bases, learnable } = tags;
  const stamp = tags.known;
  if (typeof known === "number" && !(stamp instanceof Promise)) {
    return backend.gets(key).then((found) =>
      onEntry(entryFrom(backend, group, found?.value, known, tags as TagCheck), found, stamp), onError);
  }
  return Promise.all([backend.gets(key), known, stamp]).then(([found, current, generations]) =>
    onEntry(entryFrom(backend, group, found?.value, current, { bases, known: generations, learnable }), found, generations), onError);
}

function entryFrom(backend: Backend, group: string, raw: Buffer | string | undefined, current: number,
                   tags: TagCheck | undefined): Entry {
  return classify(backend, group, raw === undefined ? undefined : parseEntry(raw), current, tags);
}

/** Decode the value of a stored hit again: a copy for another caller. */
export function decodeHit(raw: Buffer | string): unknown {
  const parsed = parseEntry(raw);
  return parsed.body.kind === "hit" ? parsed.body.value : undefined;
}

/**
 * Read and decode an entry, checking its group generation. One backend round trip while the
 * process's knowledge of the generation is fresh; otherwise the generation is re-read in parallel.
 * Rejects when the backend does.
 */
export function readEntry(backend: Backend, key: string, window: number, tags?: TagRead): Promise<Entry> {
  const group = groupOf(key);
  let known: number | Promise<number>;
  try {
    known = generationOf(backend, group, window);
  } catch (error) {
    return Promise.reject(error);
  }
  return readEntryThen(backend, key, group, known, (entry) => entry, undefined, tags);
}

/** The generation a write to `key` must carry (read from the cache when not known fresh). */
export async function writeGeneration(backend: Backend, key: string, window: number): Promise<number> {
  return generationOf(backend, groupOf(key), window);
}

export function byteLength(encoded: string): number {
  return Buffer.byteLength(encoded);
}
