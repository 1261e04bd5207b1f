/**
 * memcached's binary protocol as this backend speaks it: opcodes, status codes, the framing of a
 * request (memjs's, plus the CAS field memjs leaves at 0), and per operation a table of what each
 * expected status means. Any status not in an operation's table is a failure of that operation.
 */
import { Utils, type Response } from "memjs";
import type { CasToken, Versioned } from "./backend";
import { assertValidDelta, assertValidTtl, backendError, type BackendError } from "./hash";

export const OP = { get: 0x00, set: 0x01, add: 0x02, replace: 0x03, delete: 0x04, incr: 0x05, decr: 0x06,
  flush: 0x08, noop: 0x0a, append: 0x0e, prepend: 0x0f, touch: 0x1c } as const;
export const [OK, NOT_FOUND, EXISTS, TOO_LARGE, NOT_STORED, NON_NUMERIC] = [0x00, 0x01, 0x02, 0x03, 0x05, 0x06];
/** memcached reads a larger expiration as an absolute unix time. */
const MAX_RELATIVE_TTL = 60 * 60 * 24 * 30;
/** incr/decr expiration telling memcached not to create a missing counter. */
const NO_CREATE = 0xffffffff;

/** What each expected status of one operation means. */
export type Outcomes<T> = Partial<Record<number, (response: Response) => T>>;

// Outcome tables: built once, not per call.
// get hands out memjs's slice of its receive buffer, uncopied: memjs never writes into a buffer it
// has parsed (it concatenates into new ones), and every reader (the runtime, the CLI) decodes the
// value at once and keeps nothing of it, so the slice pins nothing for long.
export const GET: Outcomes<Buffer | undefined> = { [OK]: (r) => r.val, [NOT_FOUND]: () => undefined };
// The response header carries the item's CAS value (8 bytes, big-endian) after a get or a store.
const casOf = (r: Response): bigint => (r.header.cas as unknown as Buffer).readBigUInt64BE(0);
export const GETS: Outcomes<Versioned | undefined> = { [OK]: (r) => ({ value: r.val, cas: casOf(r) }), [NOT_FOUND]: () => undefined };
export const ADDED_GETS: Outcomes<CasToken | undefined> = { [OK]: casOf, [EXISTS]: () => undefined };
// A store or delete with a CAS value answers EXISTS when the item changed since, NOT_FOUND when it is gone.
export const SWAPPED: Outcomes<boolean> = { [OK]: () => true, [EXISTS]: () => false, [NOT_FOUND]: () => false };
export const STORED: Outcomes<void> = { [OK]: () => undefined };
export const ADDED: Outcomes<boolean> = { [OK]: () => true, [EXISTS]: () => false };
export const FOUND: Outcomes<boolean> = { [OK]: () => true, [NOT_FOUND]: () => false };
// The binary protocol answers NOT_STORED both for a missing key and for a result over the item
// size limit; either way nothing changed.
export const CONCATENATED: Outcomes<boolean> = { [OK]: () => true, [NOT_FOUND]: () => false, [NOT_STORED]: () => false };
export const COUNTED: Outcomes<number | undefined> = { [OK]: (r) => Number(r.val.readBigUInt64BE(0)), [NOT_FOUND]: () => undefined };

/** One request's bytes: memjs's framing, with the CAS field (bytes 16-23) set when given (0: any version). */
export function frame(opcode: number, key: string, extras: Buffer | string, value: Buffer | string, seq: number,
                      cas?: bigint): Buffer {
  const request = Utils.makeRequestBuffer(opcode, key, extras, value, seq);
  if (cas !== undefined) request.writeBigUInt64BE(cas, 16);
  return request;
}

/** The error for an answer outside the operation's table: a failure of the operation, not of the server. */
export function refusal(response: Response, address: string, op: string, key: string): BackendError {
  const status = response.header.status;
  const detail = response.val.toString() || `status 0x${status.toString(16)}`;
  const code = status === TOO_LARGE ? "E2BIG" : status === NON_NUMERIC ? "ENONNUMERIC" : "EMEMCACHED";
  return backendError(`memcached ${address} ${op} ${key}: ${detail}`, code);
}

/** memcached's expiration field for a ttl in seconds (0: never). */
export function expiration(ttl: number): number {
  assertValidTtl(ttl);
  const seconds = Math.ceil(ttl);
  if (seconds <= MAX_RELATIVE_TTL) return seconds;
  // memcached's own clock is the wall clock: this one stays Date.now, whatever clock the runtime uses.
  const absolute = Math.floor(Date.now() / 1000) + seconds;
  if (absolute >= NO_CREATE) throw backendError(`ttl ${ttl} s reaches past 2106`, "EINVAL");
  return absolute;
}

/** Flags (always 0) and expiration, the extras of set/add/replace. */
export function storeExtras(ttl: number): Buffer {
  const extras = Buffer.alloc(8);
  extras.writeUInt32BE(expiration(ttl), 4);
  return extras;
}

/**
 * incr/decr extras, built by hand: memjs's increment() writes the amount as 32 bits, misreads
 * 64-bit results and creates missing counters unless given NO_CREATE.
 */
export function counterExtras(delta: number): Buffer {
  assertValidDelta(delta);
  const buffer = Buffer.alloc(20);
  buffer.writeBigUInt64BE(BigInt(Math.abs(delta)), 0);
  buffer.writeUInt32BE(NO_CREATE, 16);
  return buffer;
}

/** touch extras: the new expiration. */
export function touchExtras(ttl: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(expiration(ttl), 0);
  return buffer;
}

/** Gives memjs's bare errors (one of them a plain string) a `code` and the server's address. */
export function normalize(err: unknown, address: string): Error {
  if (err instanceof Error && typeof (err as { code?: unknown }).code === "string") return err;
  const message = err instanceof Error ? err.message : String(err);
  return backendError(`memcached ${address}: ${message}`, /timed out/i.test(message) ? "ETIMEDOUT" : "EMEMCACHED");
}
