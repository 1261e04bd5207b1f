/**
 * `memory.shareValues`: the in-memory backend decodes a stored value once and hands every hit the
 * same deep-frozen object; by default each hit decodes its own copy, as memcached hits do.
 */
import type { ResolvedOptions } from "./config";
import { parseEntry, type ParsedEntry } from "./entries";

/** The memory backend's parse: a copy per hit, or with `shareValues` one frozen value per entry. */
export function parseFor(options: ResolvedOptions): (raw: Buffer | string) => ParsedEntry {
  return options.memory.shareValues ? parseShared : parseEntry;
}

function parseShared(raw: Buffer | string): ParsedEntry {
  const parsed = parseEntry(raw);
  if (parsed.body.kind === "hit") deepFreeze(parsed.body.value);
  return parsed;
}

/** Freeze plain objects and arrays all the way down (Maps, Sets, Dates and byte arrays cannot be frozen). */
export function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return;
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k);
      deepFreeze(v);
    }
    return;
  }
  if (value instanceof Set) {
    for (const v of value) deepFreeze(v);
    return;
  }
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}
