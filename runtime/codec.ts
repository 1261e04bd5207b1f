/**
 * Cached values as text: `"\u0001tc1" + codec + byteLength(payload) + ":" + payload`.
 *
 * Codec `J`: the payload is plain JSON and decodes with `JSON.parse` alone (the hit path for
 * ordinary data). Codec `T`: tagged JSON, where an object with an own `"$t"` key stands for a value
 * JSON cannot hold (`{"$t":"u"}` is `undefined`, `{"$t":"m","v":[k,v,...]}` a Map, ...). A user
 * object that itself has a `"$t"` key is wrapped as `{"$t":"o","v":{...}}`.
 *
 * Strings round-trip exactly, lone surrogates included (JSON.stringify escapes them). Class
 * instances come back as plain objects with their own enumerable properties; boxed primitives as
 * their primitive; shared references as separate copies; a RegExp loses its `lastIndex`.
 */
import { Buffer, isUtf8 } from "node:buffer";
import { types } from "node:util";

const MAGIC = "\u0001tc1";
/** Container nesting allowed; enforced identically on both sides so every encoding decodes. */
const MAX_DEPTH = 1000;
const IDENTIFIER_RE = /^[A-Za-z_$][\w$]*$/;
const J_CODE = 0x4a; // "J"
const T_CODE = 0x54; // "T"
const COLON_CODE = 0x3a;
const BIGINT_RE = /^(?:0|-?[1-9]\d*)$/;
const FLAGS_RE = /^[dgimsuvy]*$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

type ViewConstructor = { new (buffer: ArrayBuffer): ArrayBufferView; readonly BYTES_PER_ELEMENT?: number };
const VIEWS = new Map<string, ViewConstructor>([
  ["Int8Array", Int8Array], ["Uint8Array", Uint8Array], ["Uint8ClampedArray", Uint8ClampedArray],
  ["Int16Array", Int16Array], ["Uint16Array", Uint16Array], ["Int32Array", Int32Array],
  ["Uint32Array", Uint32Array], ["Float32Array", Float32Array], ["Float64Array", Float64Array],
  ["BigInt64Array", BigInt64Array], ["BigUint64Array", BigUint64Array], ["DataView", DataView],
]);

/** Thrown when a value cannot be cached; `path` names the offending part, e.g. `value.items[2]`. */
export class ValueEncodeError extends Error {
  /** Where in the value encoding failed, e.g. `value.user.cb`. */
  readonly path: string;

  constructor(reason: string, path: string) {
    super(`cannot cache ${path}: ${reason}`);
    this.name = "ValueEncodeError";
    this.path = path;
  }
}

type Step = number | string | { readonly label: string };
const KEYS: Step = { label: ".keys()" };
const VALUES: Step = { label: ".values()" };

/** `seen` holds ancestors only, so shared references pass and cycles fail. */
interface Walk {
  tagged: boolean;
  readonly seen: object[];
  readonly path: Step[];
}

function fail(walk: Walk, reason: string): never {
  let path = "value";
  for (const s of walk.path) {
    if (typeof s === "number") path += `[${s}]`;
    else if (typeof s === "string") path += IDENTIFIER_RE.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
    else path += s.label;
  }
  throw new ValueEncodeError(reason, path.length > 300 ? `${path.slice(0, 300)}…` : path);
}

function tag(walk: Walk, body: string): string {
  walk.tagged = true;
  return `{"$t":${body}}`;
}

function encode(v: unknown, walk: Walk): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      if (Number.isFinite(v) && !(v === 0 && 1 / v < 0)) return String(v);
      return tag(walk, `"n","v":"${v === 0 ? "-0" : String(v)}"`);
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      return tag(walk, `"u"`);
    case "bigint":
      return tag(walk, `"i","v":"${v}"`);
    case "object": {
      if (v === null) return "null";
      if (walk.seen.length >= MAX_DEPTH) fail(walk, `nested deeper than ${MAX_DEPTH} levels`);
      if (walk.seen.includes(v)) fail(walk, "the value contains a cycle");
      walk.seen.push(v);
      const out = encodeObject(v, walk);
      walk.seen.pop();
      return out;
    }
    default:
      return fail(walk, `${typeof v}s cannot be cached`);
  }
}

function child(walk: Walk, step: Step, v: unknown): string {
  walk.path.push(step);
  const out = encode(v, walk);
  walk.path.pop();
  return out;
}

function encodeObject(o: object, walk: Walk): string {
  if (Array.isArray(o)) return encodeArray(o, walk);
  // A promise is never a plain object, so plain data skips the (costly) native type checks.
  if (typeof (o as { then?: unknown }).then === "function") fail(walk, "promises and thenables cannot be cached");
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === Object.prototype || proto === null) return encodeProps(o, walk);
  if (types.isPromise(o)) fail(walk, "promises and thenables cannot be cached");
  if (types.isDate(o)) {
    const t = Date.prototype.getTime.call(o);
    return tag(walk, `"d","v":${Number.isNaN(t) ? "null" : t}`);
  }
  if (types.isRegExp(o)) {
    const re = o as RegExp;
    return tag(walk, `"r","s":${JSON.stringify(re.source)},"f":"${re.flags}"`);
  }
  if (types.isMap(o)) return tag(walk, `"m","v":[${encodeEntries(o as Map<unknown, unknown>, walk)}]`);
  if (types.isSet(o)) return tag(walk, `"s","v":[${encodeElements(o as Set<unknown>, walk)}]`);
  if (Buffer.isBuffer(o)) return tag(walk, `"B","v":"${o.toString("base64")}"`);
  if (types.isArrayBufferView(o)) {
    const name = Object.prototype.toString.call(o).slice(8, -1);
    if (!VIEWS.has(name)) fail(walk, `${name} is not supported`);
    const bytes = Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString("base64");
    return tag(walk, `"a","c":"${name}","v":"${bytes}"`);
  }
  if (types.isAnyArrayBuffer(o)) {
    return tag(walk, `"a","c":"ArrayBuffer","v":"${Buffer.from(o as ArrayBuffer).toString("base64")}"`);
  }
  if (o instanceof URL) return tag(walk, `"U","v":${JSON.stringify(o.href)}`);
  if (types.isBoxedPrimitive(o) && !types.isSymbolObject(o)) return encode(o.valueOf(), walk);
  if (types.isSymbolObject(o) || types.isWeakMap(o) || types.isWeakSet(o) || o instanceof WeakRef) {
    fail(walk, "symbols and weak collections cannot be cached");
  }
  return encodeProps(o, walk);
}

/** Holes become `{"$t":"h","n":runLength}` so sparse arrays stay small and exact. */
function encodeArray(a: readonly unknown[], walk: Walk): string {
  let out = "[";
  let sep = "";
  let holes = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v === undefined && !(i in a)) {
      holes++;
      continue;
    }
    if (holes > 0) {
      out += `${sep}${tag(walk, `"h","n":${holes}`)}`;
      sep = ",";
      holes = 0;
    }
    out += sep + child(walk, i, v);
    sep = ",";
  }
  if (holes > 0) out += `${sep}${tag(walk, `"h","n":${holes}`)}`;
  return `${out}]`;
}

function encodeProps(o: object, walk: Walk): string {
  let out = "{";
  let escape = false;
  for (const k of Object.keys(o)) {
    if (k === "$t") escape = true;
    out += `${out.length > 1 ? "," : ""}${JSON.stringify(k)}:${child(walk, k, (o as Record<string, unknown>)[k])}`;
  }
  return escape ? tag(walk, `"o","v":${out}}`) : `${out}}`;
}

function encodeEntries(m: Map<unknown, unknown>, walk: Walk): string {
  let out = "";
  let i = 0;
  for (const [k, v] of m) {
    walk.path.push(KEYS);
    out += `${i > 0 ? "," : ""}${child(walk, i, k)},`;
    walk.path[walk.path.length - 1] = VALUES;
    out += child(walk, i++, v);
    walk.path.pop();
  }
  return out;
}

function encodeElements(s: Set<unknown>, walk: Walk): string {
  let out = "";
  let i = 0;
  walk.path.push(VALUES);
  for (const v of s) out += `${i > 0 ? "," : ""}${child(walk, i++, v)}`;
  walk.path.pop();
  return out;
}

/**
 * Encode `value` for storage: header plus JSON payload (see the module comment).
 *
 * @throws ValueEncodeError for functions, symbols, promises/thenables, weak collections,
 * unsupported binary views, cycles, and values nested deeper than 1000 containers.
 */
export function encodeValue(value: unknown): string {
  const walk: Walk = { tagged: false, seen: [], path: [] };
  let payload: string;
  try {
    payload = encode(value, walk);
  } catch (e) {
    // The depth limit usually fires first; this covers a caller that is already deep in its stack.
    if (e instanceof RangeError) fail(walk, `too deeply nested or too large (${e.message})`);
    throw e;
  }
  return `${MAGIC}${walk.tagged ? "T" : "J"}${Buffer.byteLength(payload, "utf8")}:${payload}`;
}

/** Any malformed input ends up here; decodeValue turns it into a miss. */
class Malformed extends Error {}

function need(ok: boolean): asserts ok {
  if (!ok) throw new Malformed();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function revive(node: unknown, depth: number): unknown {
  if (typeof node !== "object" || node === null) return node;
  const obj = node as Record<string, unknown>;
  const isTag = !Array.isArray(obj) && Object.hasOwn(obj, "$t");
  // Count depth as the encoder does: these three tags stand for primitives, not containers.
  need(depth < MAX_DEPTH || (isTag && (obj.$t === "u" || obj.$t === "n" || obj.$t === "i")));
  if (Array.isArray(obj)) return reviveArray(obj, depth);
  return isTag ? reviveTag(obj, depth) : reviveProps(obj, depth);
}

function reviveProps(obj: Record<string, unknown>, depth: number): Record<string, unknown> {
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const r = revive(v, depth + 1);
    // defineProperty, never assignment: the key is untrusted and may be "__proto__".
    if (r !== v) Object.defineProperty(obj, k, { value: r, writable: true, enumerable: true, configurable: true });
  }
  return obj;
}

function holeRun(el: unknown): number {
  if (!isRecord(el) || el.$t !== "h" || !Object.hasOwn(el, "$t")) return 0;
  need(Object.keys(el).length === 2 && Number.isSafeInteger(el.n) && (el.n as number) > 0);
  return el.n as number;
}

function reviveArray(a: unknown[], depth: number): unknown[] {
  let out: unknown[] | undefined; // only allocated once a hole shifts positions
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const holes = holeRun(a[i]);
    if (holes > 0) {
      out ??= a.slice(0, i);
      j += holes; // an absurd run fails at `out.length = j` (RangeError), i.e. a miss
      continue;
    }
    const r = revive(a[i], depth + 1);
    if (out) out[j] = r;
    else a[i] = r;
    j++;
  }
  if (out === undefined) return a;
  out.length = j;
  return out;
}

function bytesOf(v: unknown): Buffer {
  need(typeof v === "string" && BASE64_RE.test(v));
  return Buffer.from(v as string, "base64");
}

function reviveTag(n: Record<string, unknown>, depth: number): unknown {
  const size = Object.keys(n).length;
  const v = n.v;
  switch (n.$t) {
    case "u":
      need(size === 1);
      return undefined;
    case "n":
      need(size === 2 && (v === "NaN" || v === "Infinity" || v === "-Infinity" || v === "-0"));
      return v === "-0" ? -0 : Number(v);
    case "i":
      need(size === 2 && typeof v === "string" && BIGINT_RE.test(v));
      return BigInt(v as string);
    case "d":
      need(size === 2 && (v === null || (Number.isSafeInteger(v) && Math.abs(v as number) <= 8.64e15)));
      return new Date(v === null ? NaN : (v as number));
    case "r":
      need(size === 3 && typeof n.s === "string" && typeof n.f === "string" && FLAGS_RE.test(n.f));
      return new RegExp(n.s as string, n.f as string);
    case "m": {
      need(size === 2 && Array.isArray(v) && v.length % 2 === 0);
      const m = new Map<unknown, unknown>();
      const kv = v as unknown[];
      for (let i = 0; i < kv.length; i += 2) m.set(revive(kv[i], depth + 1), revive(kv[i + 1], depth + 1));
      return m;
    }
    case "s": {
      need(size === 2 && Array.isArray(v));
      const s = new Set<unknown>();
      for (const el of v as unknown[]) s.add(revive(el, depth + 1));
      return s;
    }
    case "B":
      need(size === 2);
      return bytesOf(v);
    case "a": {
      need(size === 3 && typeof n.c === "string");
      const bytes = bytesOf(v);
      // A fresh, aligned ArrayBuffer: Buffer.from may hand out a pooled slice at any offset.
      const ab = new ArrayBuffer(bytes.length);
      new Uint8Array(ab).set(bytes);
      if (n.c === "ArrayBuffer") return ab;
      const View = VIEWS.get(n.c as string);
      need(View !== undefined && bytes.length % (View.BYTES_PER_ELEMENT ?? 1) === 0);
      return new View(ab);
    }
    case "U":
      need(size === 2 && typeof v === "string");
      return new URL(v as string);
    case "o":
      need(size === 2 && isRecord(v));
      return reviveProps(v as Record<string, unknown>, depth);
    default:
      throw new Malformed();
  }
}

/**
 * Decode what {@link encodeValue} produced. Returns `undefined`, never throws, for anything else:
 * foreign or truncated/extended entries, another version or codec, bad JSON or bad tags. Decoding
 * only ever builds data: no user code runs and no prototype is touched.
 */
export function decodeValue(raw: Buffer | string): { value: unknown } | undefined {
  try {
    const isText = typeof raw === "string";
    // Header bytes are read one by one: converting even 16 bytes costs more than the loop.
    const code = (i: number): number | undefined => (isText ? raw.charCodeAt(i) : raw[i]);
    for (let i = 0; i < MAGIC.length; i++) if (code(i) !== MAGIC.charCodeAt(i)) return undefined;
    const codec = code(4);
    if (codec !== J_CODE && codec !== T_CODE) return undefined;
    let length = 0;
    let i = 5;
    for (; i < 15; i++) {
      const c = code(i);
      if (c === undefined || !(c >= 0x30 && c <= 0x39)) break; // NaN past the end of a string, too
      length = length * 10 + c - 0x30;
    }
    // At most 10 digits without a leading zero (one header per length), then ":". No digits reads
    // as length 0, which no JSON payload has.
    if (code(i) !== COLON_CODE || (code(5) === 0x30 && i > 6)) return undefined;
    let payload: string;
    if (isText) {
      payload = raw.slice(i + 1);
      // Each UTF-16 unit is at least one byte: a cheap reject before counting bytes.
      if (payload.length > length || Buffer.byteLength(payload, "utf8") !== length) return undefined;
    } else {
      if (raw.length - i - 1 !== length) return undefined;
      payload = raw.toString("utf8", i + 1);
      // Invalid UTF-8 decodes to U+FFFD and could still parse into a wrong value; only a payload
      // showing U+FFFD pays for the validation.
      if (payload.includes("\ufffd") && !isUtf8(raw.subarray(i + 1))) return undefined;
    }
    const parsed: unknown = JSON.parse(payload);
    return { value: codec === J_CODE ? parsed : revive(parsed, 0) };
  } catch {
    return undefined;
  }
}
