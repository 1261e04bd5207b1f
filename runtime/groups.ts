/**
 * Group invalidation across processes, without clocks: each cached function (each key prefix
 * `namespace:id:`) has a generation counter in the cache, under `namespace:id:~gen` (no argument
 * encoding starts with `~`, so it never meets an entry). `invalidate()` increments it atomically;
 * every entry is written with the generation its writer knew, and an entry from an older generation
 * reads as a miss.
 *
 * Consistency: a process trusts the generation it knows for `invalidationCheck` ms (default 1000).
 * Within that time a hit costs one round trip; after it, the next hit also re-reads the generation,
 * in parallel, so still one round trip of waiting. An `invalidate()` is seen at once by the process
 * that made it and by every other process within `invalidationCheck` ms. Entries written with an
 * outdated generation in that window are themselves treated as misses once the new one is known.
 *
 * Server failures: with several memcached servers the counter is kept on two of them (`~gen` and
 * the first `~gen<n>` that rendezvous hashing puts on another server); the generation is the
 * highest of the copies that answer and `invalidate()` raises every copy it reaches. So one dead
 * server never stops a function's hits on the live ones, and a copy lost in a restart can only
 * come back lower, never win. When no copy answers, a process keeps the generation it knew (no
 * `invalidate()` can reach them either); one that never knew it treats the call as a cache failure.
 */
import type { Backend } from "./backends/backend";
import { clock } from "./clock";

interface Generation {
  value: number;
  /** When `value` was last read from (or written to) the cache, in ms. */
  checkedAt: number;
  reading?: Promise<number>;
  /** The counter's keys (one, or two on distinct servers). */
  keys?: readonly string[];
}

const known = new Map<string, Generation>();
let knownBackend: Backend | undefined;

/** The key prefix (`namespace:idPart:`) of a full key: its group. */
export function groupOf(key: string): string {
  const first = key.indexOf(":");
  return key.slice(0, key.indexOf(":", first + 1) + 1);
}

function generationKey(group: string): string {
  return `${group}~gen`;
}

function table(backend: Backend): Map<string, Generation> {
  // What was learnt from one backend says nothing about another (after configure()).
  if (knownBackend !== backend) {
    known.clear();
    knownBackend = backend;
  }
  return known;
}

/** The keys of a group's counter: `~gen`, plus a copy on another server when there is one. */
function counterKeys(backend: Backend, group: string, entry: Generation): readonly string[] {
  if (entry.keys) return entry.keys;
  const first = generationKey(group);
  let keys: readonly string[] = [first];
  if (backend.ownerOf !== undefined) {
    const home = backend.ownerOf(first);
    for (let i = 2; i < 64; i++) {
      if (backend.ownerOf(`${first}${i}`) !== home) {
        keys = [first, `${first}${i}`];
        break;
      }
    }
  }
  return (entry.keys = keys);
}

/**
 * Most counters remembered: tag values (`user(42)`) have counters too, one per value, so the table
 * must not grow with the users a process has served. Past it the oldest is forgotten, which only
 * costs a re-read of that counter (its copies in the cache hold its value).
 */
const MAX_KNOWN = 100_000;

function entryOf(backend: Backend, group: string): Generation {
  const groups = table(backend);
  let entry = groups.get(group);
  if (entry === undefined) {
    if (groups.size >= MAX_KNOWN) groups.delete(groups.keys().next().value!);
    entry = { value: 0, checkedAt: -Infinity };
    groups.set(group, entry);
  }
  return entry;
}

function read(backend: Backend, group: string, entry: Generation): Promise<number> {
  entry.reading ??= Promise.allSettled(counterKeys(backend, group, entry).map((key) => backend.get(key))).then((copies) => {
    let highest = -1;
    let failure: unknown;
    for (const copy of copies) {
      if (copy.status === "rejected") {
        failure ??= copy.reason;
        continue;
      }
      const value = copy.value === undefined ? 0 : Number(copy.value.toString());
      if (Number.isSafeInteger(value) && value > highest) highest = value;
    }
    if (highest >= 0) learn(backend, group, highest);
    else if (entry.checkedAt === -Infinity) throw failure;
    // Nothing answered: keep what this process knew, and ask again after the window.
    else entry.checkedAt = clock.now();
    return entry.value;
  }).finally(() => {
    entry.reading = undefined;
  });
  return entry.reading;
}

/**
 * How long (ms) this process trusts the generations it knows on `backend`: `invalidationCheck`,
 * or for ever on an in-process backend, whose counters live here (never out of date).
 */
export function trustWindow(backend: Backend, invalidationCheck: number): number {
  return backend.inProcess ? Infinity : invalidationCheck;
}

/**
 * The generation to read and write `group` with. Resolves at once from what this process knows
 * while it is fresh; otherwise reads it (concurrent callers share the read). Rejects when the
 * backend does: the caller treats that like any backend failure.
 */
export function generationOf(backend: Backend, group: string, window: number, now?: number): number | Promise<number> {
  const entry = entryOf(backend, group);
  // An endless window (an in-process backend's) needs no clock read: on a memory hit it would be the costliest step.
  const fresh = entry.checkedAt !== -Infinity && (window === Infinity || (now ?? clock.now()) - entry.checkedAt < window);
  return fresh ? entry.value : read(backend, group, entry);
}

/**
 * The generation this process knows for `group` (0 when it knows none), fresh or not, without any
 * read: what the local tier and flights compare with, so that a `learn()` (an entry with a newer
 * generation, an `invalidate()` here, a message from another process) takes effect at once.
 */
export function knownGeneration(backend: Backend, group: string): number {
  return knownBackend === backend ? known.get(group)?.value ?? 0 : 0;
}

/** How many counters this process remembers; for tests. */
export function knownCount(): number {
  return known.size;
}

/** Record a generation seen in the cache (never goes backwards). */
export function learn(backend: Backend, group: string, value: number, now = clock.now()): void {
  const entry = entryOf(backend, group);
  if (value > entry.value) entry.value = value;
  entry.checkedAt = now;
}

/**
 * Another process says `group`'s counter moved (bus.ts): what this process knows of it is out of
 * date now, not after the window. Re-read it from the store at once (after a read under way, which
 * may have left before the move); callers meanwhile wait for that read. Only the store's value is
 * learnt, never the message's. Nothing to do for a counter this process never read.
 */
export function recheck(backend: Backend, group: string): void {
  const entry = knownBackend === backend ? known.get(group) : undefined;
  if (entry === undefined) return;
  const again = (): Promise<number> => {
    // Finite: a failed re-read keeps the generation known, as after any window (see read()).
    if (entry.checkedAt !== -Infinity) entry.checkedAt = Number.MIN_SAFE_INTEGER;
    return read(backend, group, entry);
  };
  if (entry.checkedAt !== -Infinity) entry.checkedAt = Number.MIN_SAFE_INTEGER;
  const earlier = entry.reading;
  (earlier === undefined ? again() : (entry.reading = earlier.then(again, again))).catch(() => undefined);
}

/**
 * Move a group to a new generation: every entry written before reads as a miss, in every process.
 * Raises every copy of the counter it reaches (at least one must answer) above both what the
 * copies held and what this process knew, so a copy that a restart emptied cannot bring an old
 * generation back.
 */
export async function bumpGeneration(backend: Backend, group: string): Promise<number> {
  const entry = entryOf(backend, group);
  const keys = counterKeys(backend, group, entry);
  const copies = await Promise.allSettled(keys.map((key) => backend.incr(key, 1)));
  const reached = copies.filter((c) => c.status === "fulfilled");
  if (reached.length === 0) throw (copies[0] as PromiseRejectedResult).reason;
  let target = entry.value + 1;
  for (const copy of reached) if (copy.value !== undefined && copy.value > target) target = copy.value;
  await Promise.all(keys.map(async (key, i) => {
    const copy = copies[i] as PromiseSettledResult<number | undefined>;
    if (copy.status === "rejected") return;
    if (copy.value === undefined) {
      // No counter there (the first invalidation, or its server restarted empty): create it.
      // Losing that race to another process means its counter exists now: move it on.
      if (!(await backend.add(key, String(target), 0))) {
        const moved = await backend.incr(key, 1);
        if (moved !== undefined && moved > target) target = moved;
      }
    } else if (copy.value < target) {
      await backend.incr(key, target - copy.value);
    }
  }).map((raising) => raising.catch(() => undefined))); // a copy that fails now was raised by its incr, or is read lower
  learn(backend, group, target);
  return target;
}

/** Entries carry their generation in a short prefix: `\u0002<gen>:` (none for generation 0). */
export function withGeneration(encoded: string, generation: number): string {
  return generation === 0 ? encoded : `\u0002${generation}:${encoded}`;
}

/** Split a stored entry into its generation and the encoded value. */
export function splitGeneration(raw: Buffer | string): { generation: number; rest: Buffer | string } {
  const first = typeof raw === "string" ? raw.charCodeAt(0) : raw[0];
  if (first !== 2) return { generation: 0, rest: raw };
  const colon = raw.indexOf(":");
  if (colon < 2 || colon > 17) return { generation: -1, rest: raw };
  const text = typeof raw === "string" ? raw.slice(1, colon) : raw.toString("latin1", 1, colon);
  const generation = /^\d+$/.test(text) ? Number(text) : -1;
  return { generation, rest: typeof raw === "string" ? raw.slice(colon + 1) : raw.subarray(colon + 1) };
}
