/**
 * What is stored under a key. Unsigned integers are stored as bare decimal text, memcached's own
 * counter format, so that `cache.incr`/`decr` stay atomic on the server; everything else goes
 * through the codec (header, version, length). Only a whole string of 1-15 digits counts as a counter.
 */
import { decodeValue, encodeValue } from "./codec";

const COUNTER = /^\d{1,15}$/;

export function encodeStored(value: unknown): string {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0) && value < 1e15) {
    return String(value);
  }
  return encodeValue(value);
}

export function decodeStored(raw: Buffer | string): { value: unknown } | undefined {
  if (raw.length <= 15) {
    const text = typeof raw === "string" ? raw : raw.toString("latin1");
    if (COUNTER.test(text)) return { value: Number(text) };
  }
  return decodeValue(raw);
}

export function byteLength(encoded: string): number {
  return Buffer.byteLength(encoded);
}
