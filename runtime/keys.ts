/**
 * Memcached keys from a cached function's id and the arguments of one call.
 *
 * The argument encoding is canonical (equal-by-value arguments give the same text whatever their
 * key or insertion order) and injective (distinct arguments never share a text), so a key can only
 * ever be hit by a call that would have computed the same result.
 */
import { createHash } from "node:crypto";
import { types } from "node:util";
import { cacheKey, isBuiltinPrototype, isNative } from "./instances";

export { cacheKey, type KeyedInstance } from "./instances";

/** The longest key memcached accepts, in bytes. */
export const MAX_KEY_LENGTH = 250;

const NAMESPACE_RE = /^[A-Za-z0-9_.$/@+-]{1,60}$/;
// `~` and `:` are left out on purpose: `~` marks a hashed id and `:` separates the key's parts.
const LITERAL_ID_RE = /^[A-Za-z0-9_.$#/@+-]{1,100}$/;
const IDENTIFIER_RE = /^[A-Za-z_$][\w$]*$/;

/** Thrown when an argument cannot take part in a cache key; `path` names it, e.g. `args[0].cb`. */
export class KeyEncodeError extends Error {
  /** Where in the argument list encoding failed, e.g. `args[1].items[3]`. */
  readonly path: string;

  constructor(reason: string, path: string) {
    super(`cannot build a cache key from ${path}: ${reason}`);
    this.name = "KeyEncodeError";
    this.path = path;
  }
}

/** Whether `ns` is usable as a key namespace: 1–60 chars of `[A-Za-z0-9_.$/@+-]`. */
export function isValidNamespace(ns: string): boolean {
  return typeof ns === "string" && NAMESPACE_RE.test(ns);
}

/** A path step: an index, a property name, or a label such as `.keys()` (followed by an index). */
type Step = number | string | { readonly label: string };
const MAP_KEY: Step = { label: ".keys()" };
const MAP_VALUE: Step = { label: ".values()" };
const SET_ELEMENT: Step = { label: ".values()" };

/**
 * Per-call walk state. `seen` holds the ancestors of the value being encoded (not everything
 * visited), so a shared reference is fine and only a true cycle fails. `path` is maintained
 * eagerly but only formatted on failure; after a throw it still names the failing value.
 */
interface Walk {
  readonly seen: object[];
  readonly path: Step[];
}

function formatPath(path: readonly Step[]): string {
  let out = "args";
  for (const step of path) {
    if (typeof step === "number") out += `[${step}]`;
    else if (typeof step === "string") out += IDENTIFIER_RE.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
    else out += step.label;
  }
  // A stack overflow leaves thousands of steps; the head is what helps locate the value.
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

function fail(walk: Walk, reason: string): never {
  throw new KeyEncodeError(reason, formatPath(walk.path));
}

/** The encoding of a primitive, or `undefined` for objects, functions and symbols. */
function primitive(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      // String() already gives NaN/Infinity/-Infinity; only -0 would collapse into 0.
      return v === 0 && 1 / v < 0 ? "-0" : String(v);
    case "bigint":
      return `${v}n`;
    case "boolean":
      return v ? "t" : "f";
    case "undefined":
      return "u";
    default:
      return v === null ? "n" : undefined;
  }
}

function encode(v: unknown, walk: Walk): string {
  const p = primitive(v);
  if (p !== undefined) return p;
  if (typeof v === "function") fail(walk, "functions cannot form a key");
  if (typeof v !== "object" || v === null) fail(walk, "symbols cannot form a key");
  if (walk.seen.includes(v)) fail(walk, "the value contains a cycle");
  walk.seen.push(v);
  const out = encodeObject(v, walk);
  walk.seen.pop();
  return out;
}

/** Elements joined by `,`; a hole is `_` so `[,]` differs from `[undefined]`. */
function encodeItems(items: readonly unknown[], walk: Walk): string {
  let out = "";
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ",";
    const v = items[i];
    if (v === undefined && !(i in items)) {
      out += "_";
      continue;
    }
    walk.path.push(i);
    out += encode(v, walk);
    walk.path.pop();
  }
  return out;
}

function constructorName(proto: object): string {
  const ctor: unknown = (proto as { constructor?: unknown }).constructor;
  return typeof ctor === "function" ? ctor.name : "";
}

function encodeObject(o: object, walk: Walk): string {
  const proto: object | null = Object.getPrototypeOf(o);
  if (Array.isArray(o)) {
    // A cross-realm array is still an array; a subclass may hold state the items do not show.
    if (proto === Array.prototype || proto === null || isBuiltinPrototype(proto)) return `[${encodeItems(o, walk)}]`;
    return encodeInstance(o, proto, walk);
  }
  // A promise is never a plain object, so plain data skips the (costly) native type checks.
  if (typeof (o as { then?: unknown }).then === "function") fail(walk, "promises and thenables cannot form a key");
  if (proto === Object.prototype || proto === null) return encodeProps(o, walk);
  if (types.isPromise(o)) fail(walk, "promises and thenables cannot form a key");
  // These keep their state in internal slots that no enumeration can see, so encoding them as
  // class instances would silently give different values the same key.
  if (types.isWeakMap(o) || types.isWeakSet(o) || o instanceof WeakRef || o instanceof FinalizationRegistry) {
    fail(walk, "weak collections and references cannot form a key");
  }
  if (types.isNativeError(o) || o instanceof Error) fail(walk, "errors cannot form a key");
  if (types.isGeneratorObject(o) || types.isMapIterator(o) || types.isSetIterator(o)) {
    fail(walk, "iterators cannot form a key");
  }
  if (!isBuiltinPrototype(proto)) return encodeInstance(o, proto, walk);
  if (types.isDate(o)) return `D${Date.prototype.getTime.call(o)}`;
  if (types.isRegExp(o)) return `R${JSON.stringify(`/${(o as RegExp).source}/${(o as RegExp).flags}`)}`;
  if (types.isMap(o)) return `M{${encodeMap(o as Map<unknown, unknown>, walk)}}`;
  if (types.isSet(o)) return `S[${encodeSet(o as Set<unknown>, walk)}]`;
  if (types.isArrayBufferView(o) || types.isAnyArrayBuffer(o)) return encodeBytes(o);
  if (o instanceof URL) return `U${JSON.stringify(o.href)}`;
  if (types.isBoxedPrimitive(o)) {
    // A boxed primitive has no own enumerable state, so as a class instance every `new Number(n)`
    // would share one key; encode the wrapped primitive instead.
    if (types.isSymbolObject(o)) fail(walk, "symbols cannot form a key");
    const p = primitive((o as { valueOf(): unknown }).valueOf());
    return p === undefined ? fail(walk, "a boxed primitive's valueOf() must return a primitive") : `P${p}`;
  }
  // Another realm's plain object (its Object.prototype) keys as a plain object, as it always has.
  if (constructorName(proto) === "Object" && Object.getPrototypeOf(proto) === null) return encodeProps(o, walk);
  // Object.create(Date.prototype) and the like: a built-in's prototype without its internal state.
  return encodeInstance(o, proto, walk);
}

/**
 * A class instance keys only through what its class says its key is: a `[cacheKey]()` method, else
 * a `toJSON()` method; the result is encoded (with the class's name) in its place. Without either
 * it cannot form a key: #private fields, accessors and non-enumerable state are invisible here,
 * and keying by what is visible would give distinct instances one shared entry.
 */
function encodeInstance(o: object, proto: object, walk: Walk): string {
  const name = constructorName(proto);
  const label = name ? `class ${name}` : "an anonymous class";
  let method: unknown;
  let marker = "K";
  let step = "[cacheKey]()";
  try {
    method = (o as { [cacheKey]?: unknown })[cacheKey];
    if (typeof method !== "function") {
      method = (o as { toJSON?: unknown }).toJSON;
      // A built-in's toJSON (Date's, inherited by a subclass) speaks for the built-in, not the class.
      if (typeof method === "function" && isNative(method)) method = undefined;
      marker = "J";
      step = ".toJSON()";
    }
  } catch (e) {
    fail(walk, `reading the key method of ${label} threw (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof method !== "function") {
    fail(walk, `an instance of ${label} cannot form a key: its #private fields, accessors and non-enumerable ` +
      `properties are invisible to the key encoder. Key by a field (key=user.id), or give the class a ` +
      `[cacheKey]() method (import { cacheKey } from "tscaching") or a toJSON() method`);
  }
  let derived: unknown;
  walk.path.push({ label: step });
  try {
    derived = (method as (this: object, key: string) => unknown).call(o, "");
  } catch (e) {
    if (e instanceof KeyEncodeError || e instanceof RangeError) throw e;
    fail(walk, `${step.replace(/^\./, "")} of ${label} threw (${e instanceof Error ? e.message : String(e)})`);
  }
  const out = `${marker}${JSON.stringify(name)}(${encode(derived, walk)})`;
  walk.path.pop();
  return out;
}

/**
 * Own enumerable string keys, sorted so that property order does not matter. An object with
 * non-enumerable or symbol-keyed own properties holds state the key would not show: refused.
 */
function encodeProps(o: object, walk: Walk): string {
  const keys = Object.keys(o);
  if (Reflect.ownKeys(o).length !== keys.length) {
    fail(walk, "the object has non-enumerable or symbol-keyed properties, which a key cannot see");
  }
  keys.sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    walk.path.push(k);
    out += `${i > 0 ? "," : ""}${JSON.stringify(k)}:${encode((o as Record<string, unknown>)[k], walk)}`;
    walk.path.pop();
  }
  return `${out}}`;
}

function encodeMap(m: Map<unknown, unknown>, walk: Walk): string {
  const entries: [string, string][] = [];
  let i = 0;
  for (const [k, v] of m) {
    walk.path.push(MAP_KEY, i);
    const ek = encode(k, walk);
    walk.path.pop();
    walk.path.pop();
    walk.path.push(MAP_VALUE, i++);
    entries.push([ek, encode(v, walk)]);
    walk.path.pop();
    walk.path.pop();
  }
  // Distinct keys can encode alike (two equal objects), so ties are broken by value to keep
  // the order independent of insertion order.
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let out = "";
  for (let j = 0; j < entries.length; j++) out += `${j > 0 ? "," : ""}${entries[j][0]}=>${entries[j][1]}`;
  return out;
}

function encodeSet(s: Set<unknown>, walk: Walk): string {
  const elements: string[] = [];
  let i = 0;
  for (const v of s) {
    walk.path.push(SET_ELEMENT, i++);
    elements.push(encode(v, walk));
    walk.path.pop();
    walk.path.pop();
  }
  return elements.sort().join(",");
}

function encodeBytes(o: ArrayBufferView | ArrayBufferLike): string {
  // The type name matters: a Buffer, a Uint8Array and a Float64Array over the same bytes differ.
  const name = Buffer.isBuffer(o) ? "Buffer" : Object.prototype.toString.call(o).slice(8, -1);
  const bytes = ArrayBuffer.isView(o) ? Buffer.from(o.buffer, o.byteOffset, o.byteLength) : Buffer.from(o);
  return `B${name}:${bytes.toString("base64")}`;
}

/**
 * The canonical, injective text of an argument list: the elements' encodings joined by `,`
 * (no outer brackets; `[]` gives `""`). Equal-by-value lists always give the same text and
 * distinct ones never do. A class instance (any object whose prototype is not Object.prototype,
 * null or a built-in's the encoder reads) keys by its `[cacheKey]()` or `toJSON()` result and its
 * class's name, or not at all: its #private fields and other hidden state cannot be seen.
 *
 * @throws KeyEncodeError for functions, symbols, promises/thenables, weak collections, errors,
 * iterators, cycles, class instances without a key method, objects with non-enumerable or
 * symbol-keyed properties, and values nested too deeply for the stack.
 */
export function encodeArgs(args: readonly unknown[]): string {
  let walk: Walk | undefined;
  let out = "";
  try {
    for (let i = 0; i < args.length; i++) {
      const v = args[i];
      // The common call has a few primitives: no walk state is allocated for them.
      const p = v === undefined && !(i in args) ? "_" : primitive(v);
      if (p !== undefined) {
        out += i > 0 ? `,${p}` : p;
        continue;
      }
      walk ??= { seen: [], path: [] };
      walk.path.push(i);
      out += `${i > 0 ? "," : ""}${encode(v, walk)}`;
      walk.path.pop();
    }
  } catch (e) {
    // A stack overflow (or a string past V8's length limit) means the value cannot form a key;
    // the caller should see the same error type as for any other unkeyable value.
    if (e instanceof RangeError) {
      throw new KeyEncodeError(`too deeply nested or too large (${e.message})`, formatPath(walk?.path ?? []));
    }
    throw e;
  }
  return out;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("base64url");
}

// namespace → id → "namespace:idPart:". Ids come from the transformer so the set is small; the
// bound only guards against callers inventing ids at runtime.
const prefixes = new Map<string, Map<string, string>>();
let prefixCount = 0;
const MAX_PREFIXES = 4096;

function prefixFor(namespace: string, id: string): string {
  let byId = prefixes.get(namespace);
  const cached = byId?.get(id);
  if (cached !== undefined) return cached;
  // Checked here rather than trusted: an oversized namespace would break the 250-byte bound.
  if (!isValidNamespace(namespace)) throw new RangeError(`invalid cache namespace ${JSON.stringify(namespace)}`);
  if (prefixCount >= MAX_PREFIXES) {
    prefixes.clear();
    prefixCount = 0;
    byId = undefined;
  }
  if (byId === undefined) prefixes.set(namespace, (byId = new Map()));
  const prefix = `${namespace}:${LITERAL_ID_RE.test(id) ? id : `~${sha256(id).slice(0, 22)}`}:`;
  byId.set(id, prefix);
  prefixCount++;
  return prefix;
}

function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * The memcached key `namespace:idPart:argPart` for one call (`namespace:idPart:@version:argPart`
 * for a function built with a version, see {@link versionedPrefix}). `idPart` is `id` when it is 1–100
 * chars of `[A-Za-z0-9_.$#/@+-]`, else `~` + 22 chars of its sha256. `argPart` is
 * {@link encodeArgs}'s text when that is printable ASCII without spaces and fits, else `#` + its
 * base64url sha256 (no embedded encoding starts with `#`). The result is at most
 * {@link MAX_KEY_LENGTH} bytes of printable ASCII.
 *
 * @throws KeyEncodeError as {@link encodeArgs}; RangeError for an invalid namespace.
 */
export function buildKey(namespace: string, id: string, args: readonly unknown[], version?: string): string {
  return keyWithPrefix(versionedPrefix(prefixFor(namespace, id), version), args);
}

/**
 * The key prefix `namespace:idPart:` of a cached function: the group its keys belong to (see
 * {@link buildKey}). @throws RangeError for an invalid namespace.
 */
export function keyPrefix(namespace: string, id: string): string {
  return prefixFor(namespace, id);
}

/** What a version may be: it sits in every key of its function, between `@` and `:`. */
export const VERSION_RE = /^[A-Za-z0-9_.-]{1,32}$/;

/**
 * The prefix of a versioned function's keys: its group's prefix `namespace:idPart:` then
 * `@version:`. The group (what `invalidate` bumps, up to the second `:`) stays the same for every
 * version, so invalidating a function invalidates the entries of all its versions; and no argument
 * encoding starts with `@`, so a versioned key never equals an unversioned one.
 */
export function versionedPrefix(prefix: string, version: string | undefined): string {
  if (version === undefined) return prefix;
  if (typeof version !== "string" || !VERSION_RE.test(version)) throw new RangeError(`invalid cache version ${JSON.stringify(version)}`);
  return `${prefix}@${version}:`;
}

/** {@link buildKey} with the prefix from {@link keyPrefix} already at hand. */
export function keyWithPrefix(prefix: string, args: readonly unknown[]): string {
  const encoded = encodeArgs(args);
  // Length first: it rejects huge encodings without scanning them.
  if (prefix.length + encoded.length <= MAX_KEY_LENGTH && isPrintableAscii(encoded)) return prefix + encoded;
  return `${prefix}#${sha256(encoded)}`;
}
