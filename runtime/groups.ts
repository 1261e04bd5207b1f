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
 */
import type { Backend } from "./backends/backend";

interface Generation {
  value: number;
  /** When `value` was last read from (or written to) the cache, in ms. */
  checkedAt: number;
  reading?: Promise<number>;
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

function read(backend: Backend, group: string, entry: Generation): Promise<number> {
  entry.reading ??= backend.get(generationKey(group)).then((raw) => {
    const value = raw === undefined ? 0 : Number(raw.toString());
    if (Number.isSafeInteger(value)) learn(backend, group, value);
    return entry.value;
  }).finally(() => {
    entry.reading = undefined;
  });
  return entry.reading;
}

/**
 * The generation to read and write `group` with. Resolves at once from what this process knows
 * while it is fresh; otherwise reads it (concurrent callers share the read). Rejects when the
 * backend does: the caller treats that like any backend failure.
 */
export function generationOf(backend: Backend, group: string, window: number, now = Date.now()): number | Promise<number> {
  const groups = table(backend);
  let entry = groups.get(group);
  if (entry === undefined) {
    entry = { value: 0, checkedAt: -Infinity };
    groups.set(group, entry);
  }
  if (now - entry.checkedAt < window) return entry.value;
  return read(backend, group, entry);
}

/** Record a generation seen in the cache (never goes backwards). */
export function learn(backend: Backend, group: string, value: number, now = Date.now()): void {
  const groups = table(backend);
  const entry = groups.get(group);
  if (entry === undefined) groups.set(group, { value, checkedAt: now });
  else {
    if (value > entry.value) entry.value = value;
    entry.checkedAt = now;
  }
}

/** Move a group to a new generation: every entry written before reads as a miss, in every process. */
export async function bumpGeneration(backend: Backend, group: string): Promise<number> {
  const key = generationKey(group);
  for (let attempt = 0; attempt < 3; attempt++) {
    const next = await backend.incr(key, 1);
    if (next !== undefined) {
      learn(backend, group, next);
      return next;
    }
    // No counter yet: create it. Losing that race to another process means its incr won: retry.
    if (await backend.add(key, "1", 0)) {
      learn(backend, group, 1);
      return 1;
    }
  }
  throw new Error(`could not move ${group} to a new generation`);
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
