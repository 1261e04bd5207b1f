import { describe, expect, it } from "vitest";
import { buildKey, cacheKey, encodeArgs, isValidNamespace, KeyEncodeError, MAX_KEY_LENGTH } from "../../runtime/keys";

class A { constructor(public x: unknown = 1) {} }
class MyArray<T> extends Array<T> {}
/** Classes that name their key: by their own enumerable fields, as plain data would key. */
class KA { constructor(public x: unknown = 1) {} [cacheKey]() { return { ...this }; } }
class KB { constructor(public x: unknown = 1) {} [cacheKey]() { return { ...this }; } }
class J { constructor(private readonly id: string) {} toJSON() { return { id: this.id }; } }
class Hidden { #id: string; constructor(id: string) { this.#id = id; } get id() { return this.#id; } }

function isValidKey(key: string): boolean {
  return Buffer.byteLength(key, "utf8") <= MAX_KEY_LENGTH && /^[\x21-\x7e]+$/.test(key);
}

function keyError(args: unknown[]): KeyEncodeError {
  try {
    encodeArgs(args);
  } catch (e) {
    expect(e).toBeInstanceOf(KeyEncodeError);
    return e as KeyEncodeError;
  }
  throw new Error("encodeArgs did not throw");
}

describe("encodeArgs format", () => {
  it.each<[string, unknown[], string]>([
    ["empty list", [], ""],
    ["strings and numbers", ["bob", 1], '"bob",1'],
    ["special numbers", [-0, 0, NaN, Infinity, -Infinity, 1e21], "-0,0,NaN,Infinity,-Infinity,1e+21"],
    ["bigint, booleans, null, undefined", [12n, true, false, null, undefined], "12n,t,f,n,u"],
    ["holes", [[1, , undefined]], "[1,_,u]"],
    ["top-level holes", [, 1], "_,1"], // eslint-disable-line no-sparse-arrays
    ["sorted keys", [{ b: 1, a: undefined }], '{"a":u,"b":1}'],
    ["dates", [new Date(5), new Date(NaN)], "D5,DNaN"],
    ["map sorted by key", [new Map<unknown, unknown>([[2, "x"], [1, "y"]])], 'M{1=>"y",2=>"x"}'],
    ["set sorted", [new Set([3, 1])], "S[1,3]"],
    ["regexp", [/a\/b/gi], 'R"/a\\\\/b/gi"'],
    ["bytes", [Buffer.from([1, 2, 3]), new Uint8Array([1, 2, 3]), new ArrayBuffer(1)], "BBuffer:AQID,BUint8Array:AQID,BArrayBuffer:AA=="],
    ["url", [new URL("http://x/a b")], 'U"http://x/a%20b"'],
    ["class instance with a key method", [new KA(2)], 'K"KA"({"x":2})'],
    ["class instance with toJSON", [new J("a")], 'J"J"({"id":"a"})'],
    ["boxed primitive", [Object(3), Object("s")], 'P3,P"s"'],
    ["null prototype", [Object.assign(Object.create(null), { k: 1 })], '{"k":1}'],
  ])("%s", (_name, args, expected) => {
    expect(encodeArgs(args)).toBe(expected);
  });
});

it("keys another realm's plain data as this realm's, and refuses its class instances", async () => {
  const vm = await import("node:vm");
  const foreign = vm.runInNewContext('[{ a: 1 }, [1, 2], new Map([[1, 2]]), new Set([1]), new Date(5), new Uint8Array([1])]');
  expect(encodeArgs(foreign)).toBe(encodeArgs([{ a: 1 }, [1, 2], new Map([[1, 2]]), new Set([1]), new Date(5), new Uint8Array([1])]));
  expect(() => encodeArgs([vm.runInNewContext("new (class UserId { #id = 1 })()")])).toThrow(/class UserId cannot form a key/);
  expect(() => encodeArgs([vm.runInNewContext("Object.create({ hidden: 1 })")])).toThrow(KeyEncodeError);
});

it("accepts an arguments object", () => {
  function f(..._: unknown[]): string {
    return encodeArgs(arguments as unknown as unknown[]); // eslint-disable-line prefer-rest-params
  }
  expect(f("bob", 1, undefined)).toBe('"bob",1,u');
});

describe("encodeArgs identity", () => {
  it.each<[string, unknown[], unknown[]]>([
    ["undefined/null", [undefined], [null]],
    ["0/-0", [0], [-0]],
    ['"1"/1', ["1"], [1]],
    ["1n/1", [1n], [1]],
    ["[undefined]/[,]", [[undefined]], [[,]]], // eslint-disable-line no-sparse-arrays
    ["top-level undefined/hole", [undefined, 1], [, 1]], // eslint-disable-line no-sparse-arrays
    ["[]/[undefined]", [], [undefined]],
    ["{a:undefined}/{}", [{ a: undefined }], [{}]],
    ["Map/object", [new Map([["a", 1]])], [{ a: 1 }]],
    ["Set/array", [new Set([1])], [[1]]],
    ["Date/number", [new Date(5)], [5]],
    ["invalid Date/NaN", [new Date(NaN)], [NaN]],
    ['["a,b"]/["a","b"]', ["a,b"], ["a", "b"]],
    ["array argument/spread", [[1, 2]], [1, 2]],
    ["class names", [new KA()], [new KB()]],
    ["class/plain object", [new KA()], [{ x: 1 }]],
    ["key method/toJSON", [new KA({ id: "a" })], [new J("a")]],
    ["key method result/plain", [new KA("a")], [{ x: "a" }]],
    ["boxed/primitive", [Object(1)], [1]],
    ["Buffer/Uint8Array", [Buffer.from([1])], [new Uint8Array([1])]],
    ["Uint16Array/Uint8Array same bytes", [new Uint16Array([1])], [new Uint8Array([1, 0])]],
    ["regexp flags", [/a/g], [/a/i]],
    ["url/string", [new URL("http://x/")], ["http://x/"]],
    ["map values swapped", [new Map([["a", 1], ["b", 2]])], [new Map([["a", 2], ["b", 1]])]],
    ["quote in key", [{ 'a":1,"b': 1 }], [{ a: 1, b: 1 }]],
    ["nested", [{ a: [{ b: 1 }] }], [{ a: [{ b: "1" }] }]],
    ["nested -0", [[[0]]], [[[-0]]]],
  ])("%s differ", (_name, x, y) => {
    expect(encodeArgs(x)).not.toBe(encodeArgs(y));
    expect(buildKey("ns", "f", x)).not.toBe(buildKey("ns", "f", y));
  });

  const shared = { x: [1] };
  it.each<[string, unknown[], unknown[]]>([
    ["key order", [{ a: 1, b: 2 }], [{ b: 2, a: 1 }]],
    ["map insertion order", [new Map([["a", 1], ["b", 2]])], [new Map([["b", 2], ["a", 1]])]],
    ["map with equal object keys", [new Map([[{ k: 1 }, 1], [{ k: 1 }, 2]])], [new Map([[{ k: 1 }, 2], [{ k: 1 }, 1]])]],
    ["set insertion order", [new Set(["a", 1, {}])], [new Set([{}, 1, "a"])]],
    ["equal dates", [new Date(7)], [new Date(7)]],
    ["shared references", [[shared, shared], shared], [[{ x: [1] }, { x: [1] }], { x: [1] }]],
    ["null prototype/plain", [Object.assign(Object.create(null), { a: 1 })], [{ a: 1 }]],
  ])("%s equal", (_name, x, y) => {
    expect(encodeArgs(x)).toBe(encodeArgs(y));
  });
});

describe("encodeArgs errors", () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const loop: unknown[] = [];
  loop.push([loop]);
  const mapLoop = new Map<string, unknown>();
  mapLoop.set("m", mapLoop);
  function* gen(): Generator<number> {}

  it.each<[string, unknown[], string, RegExp]>([
    ["function", [() => 1], "args[0]", /function/],
    ["nested function", [1, { cb: () => 1 }], "args[1].cb", /function/],
    ["symbol under odd key", [{ "a b": Symbol("s") }], 'args[0]["a b"]', /symbol/],
    ["boxed symbol", [Object(Symbol("s"))], "args[0]", /symbol/],
    ["WeakMap", [new WeakMap()], "args[0]", /weak/],
    ["WeakSet", [[new WeakSet()]], "args[0][0]", /weak/],
    ["WeakRef", [new WeakRef({})], "args[0]", /weak/],
    ["FinalizationRegistry", [new FinalizationRegistry(() => {})], "args[0]", /weak/],
    ["map iterator", [new Map().keys()], "args[0]", /iterator/],
    ["boxed with odd valueOf", [Object.assign(Object(1), { valueOf: () => ({}) })], "args[0]", /valueOf/],
    ["Promise", [Promise.resolve(1)], "args[0]", /thenable/],
    ["thenable", [{ then() {} }], "args[0]", /thenable/],
    ["Error", [new Error("x")], "args[0]", /error/],
    ["generator", [gen()], "args[0]", /iterator/],
    ["object cycle", [cyclic], "args[0].self", /cycle/],
    ["array cycle", [loop], "args[0][0][0]", /cycle/],
    ["map cycle", [mapLoop], "args[0].values()[0]", /cycle/],
    ["map key", [new Map([[Symbol("k"), 1]])], "args[0].keys()[0]", /symbol/],
    ["set element", [0, new Set([1, () => 1])], "args[1].values()[1]", /function/],
    ["class instance", [new A(2)], "args[0]", /class A cannot form a key.*key=user\.id.*cacheKey.*toJSON/],
    ["#private state", ["x", { u: new Hidden("alice") }], "args[1].u", /class Hidden cannot form a key/],
    ["anonymous class", [new (class { constructor(public v = 1) {} })()], "args[0]", /anonymous class/],
    ["array subclass", [MyArray.of(1)], "args[0]", /class MyArray/],
    ["Map subclass", [new (class TenantMap extends Map {})()], "args[0]", /class TenantMap/],
    ["Date subclass", [new (class Day extends Date {})(0)], "args[0]", /class Day/],
    ["object with a plain prototype", [Object.create({ get id() { return 1; } })], "args[0]", /class Object/],
    ["built-in prototype without its state", [Object.create(Date.prototype)], "args[0]", /class Date/],
    ["non-enumerable property", [Object.defineProperty({}, "id", { value: 1 })], "args[0]", /non-enumerable/],
    ["symbol-keyed property", [{ [Symbol("id")]: 1 }], "args[0]", /symbol-keyed/],
    ["key method returning itself", [new (class Self { [cacheKey]() { return this; } })()], "args[0][cacheKey]()", /cycle/],
    ["throwing toJSON", [new (class Bad { toJSON() { throw new Error("no"); } })()], "args[0].toJSON()", /toJSON\(\) of class Bad threw \(no\)/],
  ])("%s", (_name, args, path, reason) => {
    const err = keyError(args);
    expect(err.path).toBe(path);
    expect(err.message).toMatch(reason);
    expect(() => buildKey("ns", "f", args)).toThrow(KeyEncodeError);
  });

  it("turns a stack overflow into a KeyEncodeError", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { d: [deep] };
    const err = keyError(["x", deep]);
    expect(err.path.startsWith("args[1].d[0].d[0]")).toBe(true);
    expect(err.message).toMatch(/deeply/);
  });
});

describe("buildKey", () => {
  it("embeds short printable ids and arguments", () => {
    expect(buildKey("app", "src/user.ts#getUser", ["bob", 1])).toBe('app:src/user.ts#getUser:"bob",1');
    expect(buildKey("app", "f", [])).toBe("app:f:");
  });

  it.each(["has space", "ünï", "a:b", "~tilde", "x".repeat(101), "", "line\nbreak"])("hashes the id %j", (id) => {
    const key = buildKey("app", id, [1]);
    expect(key).toMatch(/^app:~[A-Za-z0-9_-]{22}:1$/);
    expect(buildKey("app", id, [1])).toBe(key);
    expect(buildKey("app", `${id}!`, [1])).not.toBe(key);
  });

  it.each<[string, unknown[]]>([
    ["a space", ["a b"]],
    ["unicode", ["é"]],
    ["1 MB", ["x".repeat(1 << 20)]],
  ])("hashes arguments containing %s", (_name, args) => {
    expect(buildKey("app", "f", args)).toMatch(/^app:f:#[A-Za-z0-9_-]{43}$/);
  });

  it("switches to the hash exactly past 250 bytes", () => {
    const room = MAX_KEY_LENGTH - "app:f:".length - 2; // two quotes around the string
    expect(buildKey("app", "f", ["x".repeat(room)])).toHaveLength(MAX_KEY_LENGTH);
    expect(buildKey("app", "f", ["x".repeat(room + 1)])).toMatch(/^app:f:#/);
  });

  it("keeps namespaces and ids apart", () => {
    expect(buildKey("a", "f", [1])).not.toBe(buildKey("b", "f", [1]));
    expect(buildKey("a", "f", [1])).not.toBe(buildKey("a", "g", [1]));
  });

  it.each<[string, string, unknown[]]>([
    ["huge string", "f", ["x".repeat(1 << 20)]],
    ["emoji", "f", ["🎉👩‍👩‍👧"]],
    ["RTL", "f", ["שלום عليكم"]],
    ["NUL and newlines", "f", ["a\u0000b\r\n\t", "\u007f"]],
    ["lone surrogate", "f", ["\ud800"]],
    ["long id with spaces and unicode", `${"my function ".repeat(30)}✓`, [1]],
    ["id of 100 allowed chars", "a".repeat(100), ["y".repeat(100)]],
  ])("produces a valid key for %s", (_name, id, args) => {
    expect(isValidKey(buildKey("name.space-60_$/@+", id, args))).toBe(true);
    expect(isValidKey(buildKey("n".repeat(60), id, args))).toBe(true);
  });

  it("validates namespaces", () => {
    for (const ns of ["app", "a.b_c-d$e/f@g+h", "n".repeat(60)]) expect(isValidNamespace(ns)).toBe(true);
    for (const ns of ["", "n".repeat(61), "a b", "a:b", "a#b", "a~b", "é", "a\n"]) {
      expect(isValidNamespace(ns)).toBe(false);
      expect(() => buildKey(ns, "f", [])).toThrow(RangeError);
    }
  });
});

/** mulberry32: small, seeded, good enough to explore value shapes reproducibly. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Small pools on purpose: near-identical values are where a non-injective encoding would show.
const ATOMS: unknown[] = [undefined, null, true, false, 0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 0n, 1n, -1n,
  "", "a", "1", "a,b", '"', ",", "u", "n", "_", "=>", "\u0000", "🎉", "\ud800", " "];
const KEYS = ["a", "b", "a b", '"', "1", "__proto__", ""];

function generate(rand: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const r = depth > 2 ? 0 : rand();
  if (r < 0.55) return pick(ATOMS);
  const n = Math.floor(rand() * 3);
  const items = (): unknown[] => Array.from({ length: n }, () => generate(rand, depth + 1));
  if (r < 0.65) {
    const arr = items();
    if (rand() < 0.3) delete arr[Math.floor(rand() * arr.length)];
    return arr;
  }
  if (r < 0.77) {
    const obj = rand() < 0.2 ? Object.create(null) : rand() < 0.3 ? new (pick([KA, KB]))() : {};
    for (const v of items()) Object.defineProperty(obj, pick(KEYS), { value: v, enumerable: true, configurable: true, writable: true });
    return obj;
  }
  if (r < 0.83) return new Map(items().map((v) => [generate(rand, depth + 1), v]));
  if (r < 0.88) return new Set(items());
  if (r < 0.92) return new Date(pick([0, 1, NaN]));
  if (r < 0.96) return pick([Buffer, Uint8Array, Int8Array] as const).from(Array.from({ length: n }, () => pick([0, 1, 255])));
  return pick([/a/, /a/g, new URL("http://a/"), Object(pick([1, "1"]))]);
}

/** A deep copy with every order that must not matter reversed. */
function reorder(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) if (i in v) out[i] = reorder(v[i]);
    return out;
  }
  if (v instanceof Map) return new Map([...v].reverse().map(([k, x]) => [reorder(k), reorder(x)]));
  if (v instanceof Set) return new Set([...v].reverse().map(reorder));
  if (v instanceof Date) return new Date(v.getTime());
  if (ArrayBuffer.isView(v)) return (v.constructor as typeof Uint8Array).from(v as Uint8Array);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && proto !== KA.prototype && proto !== KB.prototype) return v;
  const out = Object.create(proto);
  for (const k of Object.keys(v).reverse()) {
    Object.defineProperty(out, k, { value: reorder((v as Record<string, unknown>)[k]), enumerable: true });
  }
  return out;
}

/** Reference equality-by-value, written independently of the encoder. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b);
  const pa = Object.getPrototypeOf(a) ?? Object.prototype;
  if (pa !== (Object.getPrototypeOf(b) ?? Object.prototype)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((_, i) => i in a === i in b) && [...a.keys()].every((i) => same(a[i], b[i]));
  }
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp || a instanceof URL || isBoxed(a)) return String(a) === String(b);
  if (ArrayBuffer.isView(a)) return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from((b as Uint8Array).buffer, (b as Uint8Array).byteOffset, (b as Uint8Array).byteLength));
  const entries = (x: object): unknown[][] =>
    x instanceof Map ? [...x] : x instanceof Set ? [...x].map((e) => [e]) : Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]]);
  const ea = entries(a);
  const eb = entries(b);
  // Unordered matching: Map/Set equality must not depend on insertion order.
  return ea.length === eb.length && ea.every((e) => {
    const i = eb.findIndex((f) => e.every((x, j) => same(x, f[j])));
    return i >= 0 && eb.splice(i, 1).length === 1;
  });
}
function isBoxed(v: object): boolean {
  return v instanceof Number || v instanceof String;
}

describe("encodeArgs randomized", () => {
  it("is deterministic, canonical, injective and always gives valid keys", () => {
    const rand = prng(0x7c5eed);
    const byEncoding = new Map<string, unknown[]>();
    const byKey = new Map<string, string>();
    for (let i = 0; i < 4000; i++) {
      const args = Array.from({ length: Math.floor(rand() * 4) }, () => generate(rand, 0));
      const encoded = encodeArgs(args);
      expect(encodeArgs(args)).toBe(encoded);
      expect(encodeArgs(reorder(args) as unknown[])).toBe(encoded);
      const key = buildKey("ns", "fn", args);
      expect(isValidKey(key)).toBe(true);
      expect(byKey.get(key) ?? encoded).toBe(encoded);
      byKey.set(key, encoded);
      const earlier = byEncoding.get(encoded);
      if (earlier === undefined) byEncoding.set(encoded, args);
      else if (!same(earlier, args)) throw new Error(`distinct argument lists share the encoding ${encoded}`);
    }
    // The pools are small enough that many lists repeat, which is what exercises the check above.
    expect(byEncoding.size).toBeLessThan(4000);
    expect(byEncoding.size).toBeGreaterThan(1000);
  });
});
