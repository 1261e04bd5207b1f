/**
 * What is stored under a key, and how it is read back.
 *
 * - Unsigned integers are stored as bare decimal text, memcached's own counter format, so that
 *   `cache.incr`/`decr` stay atomic on the server. Only 1-15 digits (and memcached's space padding) make a counter.
 * - Everything else goes through the codec (magic, version, length, payload).
 * - An entry written under a group generation above 0 starts with `\u0002<gen>:` (see groups.ts).
 */
import type { Backend } from "./backends/backend";
import { decodeValue, encodeValue } from "./codec";
import { generationOf, groupOf, learn, splitGeneration, withGeneration } from "./groups";

// memcached pads a counter that shrank with spaces ("12" decremented by 10 reads "2 ").
const COUNTER = /^\d{1,15} *$/;

/** Encode a value written under `generation`. Throws `ValueEncodeError` for what cannot be stored. */
export function encodeEntry(value: unknown, generation: number): string {
  const encoded = typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0) && value < 1e15
    ? String(value)
    : encodeValue(value);
  return withGeneration(encoded, generation);
}

function decodeStored(raw: Buffer | string): { value: unknown } | undefined {
  if (raw.length <= 20) {
    const text = typeof raw === "string" ? raw : raw.toString("latin1");
    if (COUNTER.test(text)) return { value: Number(text.trimEnd()) };
  }
  return decodeValue(raw);
}

/** The outcome of reading a key: `generation` is the one to write a fresh value with. */
export type Entry =
  | { readonly kind: "hit"; readonly value: unknown; readonly generation: number }
  | { readonly kind: "miss" | "stale" | "corrupt"; readonly generation: number };

/**
 * Read and decode an entry, checking its group generation. One backend round trip while the
 * process's knowledge of the generation is fresh; otherwise the generation is re-read in parallel.
 * Rejects when the backend does.
 */
export async function readEntry(backend: Backend, key: string, window: number): Promise<Entry> {
  const group = groupOf(key);
  const known = generationOf(backend, group, window);
  let raw: Buffer | string | undefined;
  let current: number;
  if (typeof known === "number") {
    raw = await backend.get(key);
    current = known;
  } else {
    [raw, current] = await Promise.all([backend.get(key), known]);
  }
  if (raw === undefined) return { kind: "miss", generation: current };
  const { generation, rest } = splitGeneration(raw);
  if (generation < 0) return { kind: "corrupt", generation: current };
  if (generation < current) return { kind: "stale", generation: current };
  // Written under a newer generation than this process knew: another process invalidated.
  if (generation > current) learn(backend, group, generation);
  const decoded = decodeStored(rest);
  return decoded ? { kind: "hit", value: decoded.value, generation } : { kind: "corrupt", generation };
}

/** The generation a write to `key` must carry (read from the cache when not known fresh). */
export async function writeGeneration(backend: Backend, key: string, window: number): Promise<number> {
  return generationOf(backend, groupOf(key), window);
}

export function byteLength(encoded: string): number {
  return Buffer.byteLength(encoded);
}
