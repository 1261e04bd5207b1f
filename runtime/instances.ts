/**
 * What the key encoder needs to know about objects that are not plain data: whether a prototype is a
 * built-in's (whose state the encoder reads from internal slots) or a class's, and the symbol by
 * which a class names its instances' key.
 */
/**
 * The symbol of a class's key method: `[cacheKey]() { return this.#id; }` makes an instance usable
 * as a key part, keyed by the method's result (and the class's name). `Symbol.for`, so two copies of
 * the runtime in one process agree on it.
 *
 * @example
 * ```ts
 * import { cacheKey } from "tscaching";
 * class UserId {
 *   #id: string;
 *   constructor(id: string) { this.#id = id; }
 *   [cacheKey]() { return this.#id; }
 * }
 * ```
 */
export const cacheKey: unique symbol = Symbol.for("tscaching.cacheKey");

/** A class instance that names its own key, see {@link cacheKey}. */
export interface KeyedInstance {
  [cacheKey](): unknown;
}

// The prototypes of the types the encoder reads by their internal slots (not by enumeration). An
// object whose prototype is anything else is an instance of a user's class (or of a subclass of one
// of these), whose state may sit where no enumeration can see it: #private fields, non-enumerable
// properties, accessors, closures.
const BUILTIN_PROTOTYPES = new Set<object>([
  Array.prototype, Date.prototype, RegExp.prototype, Map.prototype, Set.prototype, URL.prototype,
  Buffer.prototype, ArrayBuffer.prototype, SharedArrayBuffer.prototype, DataView.prototype,
  Uint8Array.prototype, Int8Array.prototype, Uint8ClampedArray.prototype, Int16Array.prototype,
  Uint16Array.prototype, Int32Array.prototype, Uint32Array.prototype, Float32Array.prototype,
  Float64Array.prototype, BigInt64Array.prototype, BigUint64Array.prototype,
  Number.prototype, String.prototype, Boolean.prototype, BigInt.prototype, Symbol.prototype,
]);
const nativeByProto = new WeakMap<object, boolean>();

/**
 * Is `proto` a built-in prototype: one of this realm's, or another realm's (a `vm` context) whose
 * constructor is native code? No user class has a native constructor, whatever its name.
 */
export function isBuiltinPrototype(proto: object): boolean {
  if (BUILTIN_PROTOTYPES.has(proto)) return true;
  let known = nativeByProto.get(proto);
  if (known === undefined) {
    const ctor: unknown = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
    known = typeof ctor === "function" && (ctor as { prototype?: unknown }).prototype === proto && isNative(ctor);
    nativeByProto.set(proto, known);
  }
  return known;
}

/** Is `fn` a built-in (native code), not a function or class written in JavaScript? */
export function isNative(fn: Function): boolean { // eslint-disable-line @typescript-eslint/ban-types
  return /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn));
}
