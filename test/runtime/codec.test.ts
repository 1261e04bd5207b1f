import { describe, expect, it } from "vitest";
import { decodeValue, encodeValue, ValueEncodeError } from "../../runtime/codec";

/** Exact equality: -0, holes, undefined-vs-missing, prototypes and Map/Set order all count. */
function exact(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) {
    const c = b as unknown[];
    return a.length === c.length && [...a.keys()].every((i) => i in a === i in c && exact(a[i], c[i]));
  }
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp || a instanceof URL) return String(a) === String(b);
  if (a instanceof Map || a instanceof Set) return exact([...a], [...(b as Set<unknown>)]);
  if (ArrayBuffer.isView(a) || a instanceof ArrayBuffer) {
    const bytes = (x: ArrayBufferView | ArrayBuffer) =>
      ArrayBuffer.isView(x) ? Buffer.from(x.buffer, x.byteOffset, x.byteLength) : Buffer.from(x);
    return bytes(a).equals(bytes(b as ArrayBuffer));
  }
  const ka = Reflect.ownKeys(a);
  return exact(ka, Reflect.ownKeys(b)) && ka.every((k) => exact((a as never)[k], (b as never)[k]));
}

function roundTrips(value: unknown, expected: unknown = value): void {
  const encoded = encodeValue(value);
  for (const raw of [encoded, Buffer.from(encoded, "utf8")]) {
    const decoded = decodeValue(raw);
    expect(decoded).toBeDefined();
    if (!exact(decoded!.value, expected)) throw new Error(`${JSON.stringify(encoded)} decoded to a different value`);
  }
}

/** A header-correct entry around an arbitrary payload, to reach the payload checks. */
function entry(codec: string, payload: string): string {
  return `\u0001tc1${codec}${Buffer.byteLength(payload)}:${payload}`;
}

const codecOf = (v: unknown): string => encodeValue(v)[4];
const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
const proto = JSON.parse('{"__proto__":{"polluted":1},"x":1}');
class Point { constructor(public x = 1, public y?: number) {} get norm(): number { return this.x; } }

describe("round trip", () => {
  it.each<[string, unknown]>([
    ["undefined", undefined], ["null", null], ["booleans", [true, false]],
    ["strings", ["", "héllo", "\ufffd", "🎉👩‍👩‍👧", "שלום", "\u0000\n\t\u007f\u2028", '"\\']],
    ["lone surrogates", ["\ud800", "a\udc00b", "\udc00\ud800"]],
    ["numbers", [0, 1.5, -7, 1e308, 5e-324, Number.MAX_SAFE_INTEGER]],
    ["-0", -0], ["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity],
    ["special numbers nested", { a: [-0, NaN, Infinity, -Infinity] }],
    ["bigints", [0n, -12345678901234567890n, 2n ** 200n]],
    ["dates", [new Date(0), new Date(-1), new Date(8.64e15), new Date(-8.64e15), new Date(NaN)]],
    ["map", new Map<unknown, unknown>([[{ k: [1] }, new Set([1n])], [undefined, null], [NaN, -0], [new Map([[1, 2]]), "m"]])],
    ["set", new Set<unknown>([{ a: 1 }, [undefined], new Date(1), "x", new Set([new Set()])])],
    ["sparse", sparse], ["all holes", new Array(5)], ["trailing hole", [1, , ]], // eslint-disable-line no-sparse-arrays
    ["undefined elements", [undefined, null, undefined]],
    ["undefined property", { a: undefined, b: { c: undefined } }],
    ["regexps", [/a\/b[/]"/gimsuy, /(?<x>a)\1/d, new RegExp("")]],
    ["buffers", [Buffer.from("hi"), Buffer.alloc(0), Buffer.from([0, 255, 128])]],
    ["typed arrays", [new Uint8Array([1, 2]), new Int16Array([-1]), new Float32Array([0.5]), new Float64Array([-0, NaN]),
      new BigInt64Array([-1n]), new BigUint64Array([2n ** 64n - 1n]), new Uint8ClampedArray([9]), new Uint32Array(0)]],
    ["views and buffers", [new DataView(new Uint8Array([1, 2]).buffer), new Uint8Array([5, 6]).buffer]],
    ["url", new URL("https://ex.com/p?q=1#h")],
    ["nested", { a: { b: [{ c: [1, "2", null, { d: true }] }] }, e: [[[]]], f: {} }],
    ["user $t keys", [{ $t: "u" }, { $t: 1, v: 2 }, { $t: "o", v: { $t: "m" } }, { $t: undefined }]],
    ["own __proto__ key", proto],
    ["shared references", (() => { const s = { a: [1] }; return { x: s, y: [s, s] }; })()],
  ])("%s", (_name, value) => roundTrips(value));

  it.each<[string, unknown, unknown]>([
    ["null-prototype object", Object.assign(Object.create(null), { a: 1 }), { a: 1 }],
    ["class instance", new Point(2), { x: 2, y: undefined }],
    ["boxed primitives", [Object(1), Object("s"), Object(false), Object(2n)], [1, "s", false, 2n]],
    ["array subclass", (class extends Array {}).of(1, 2), [1, 2]],
    ["offset view", new Uint16Array(new Uint8Array([0, 0, 1, 0, 2, 0, 9, 9]).buffer, 2, 2), new Uint16Array([1, 2])],
    ["pooled buffer slice", Buffer.from("abc").subarray(1), Buffer.from("bc")],
    ["regexp lastIndex", Object.assign(/a/g, { lastIndex: 3 }), /a/g],
  ])("%s comes back as documented", (_name, value, expected) => roundTrips(value, expected));

  it("allows exactly 1000 levels of nesting", () => {
    let ok: unknown = undefined;
    for (let i = 0; i < 1000; i++) ok = i % 3 === 0 ? [ok] : i % 3 === 1 ? { k: ok } : new Map([[1, ok]]);
    roundTrips(ok);
    expect(() => encodeValue([ok])).toThrow(/deeper than 1000/);
  });
});

describe("codec choice", () => {
  it.each<[unknown]>([[null], [1], ["s"], [true], [[1, "a", [null]]], [{ a: { b: [1.5, false] } }], [proto], [new Point(1, 2)]])(
    "%j is plain JSON",
    (value) => {
      expect(codecOf(value)).toBe("J");
      expect(encodeValue(value).slice(encodeValue(value).indexOf(":") + 1)).toBe(JSON.stringify(value));
    },
  );

  it.each<[unknown]>([[undefined], [[undefined]], [{ a: undefined }], [-0], [NaN], [1n], [new Date(0)], [sparse],
    [new Map()], [new Set()], [/x/], [Buffer.alloc(1)], [{ $t: 1 }], [{ a: [{ b: Infinity }] }]])("%s is tagged", (value) => {
    expect(codecOf(value)).toBe("T");
  });

  it("counts the payload length in UTF-8 bytes", () => {
    expect(encodeValue("é🎉")).toBe(`\u0001tc1J8:"é🎉"`);
  });
});

describe("encode errors", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = { back: cyclic };
  const loop = new Map<string, unknown>();
  loop.set("me", loop);
  it.each<[string, unknown, string, RegExp]>([
    ["function", () => 1, "value", /function/],
    ["nested function", { a: { cb() {} } }, "value.a.cb", /function/],
    ["symbol", [1, Symbol("s")], "value[1]", /symbol/],
    ["boxed symbol", { "a-b": Object(Symbol("s")) }, 'value["a-b"]', /symbol/],
    ["WeakMap", new WeakMap(), "value", /weak/],
    ["WeakSet", [new WeakSet()], "value[0]", /weak/],
    ["WeakRef", new WeakRef({}), "value", /weak/],
    ["Promise", { p: Promise.resolve() }, "value.p", /thenable/],
    ["thenable", { then() {} }, "value", /thenable/],
    ["cycle", cyclic, "value.self.back", /cycle/],
    ["map cycle", loop, "value.values()[0]", /cycle/],
    ["map key", new Map([[() => 1, 1]]), "value.keys()[0]", /function/],
    ["set element", new Set([1, Symbol("x")]), "value.values()[1]", /symbol/],
    ["unknown view type", [Object.defineProperty(new Uint8Array(1), Symbol.toStringTag, { value: "Odd" })], "value[0]", /Odd/],
  ])("%s", (_name, value, path, reason) => {
    let error: unknown;
    try { encodeValue(value); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(ValueEncodeError);
    expect((error as ValueEncodeError).path).toBe(path);
    expect((error as ValueEncodeError).message).toMatch(reason);
  });
});

/** mulberry32, seeded so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("decode rejects what is not ours", () => {
  const samples = [null, 1234567, "x", { a: [1, undefined, -0] }, new Map([[{ k: 1 }, new Set([1n])]]), sparse, Buffer.from("é")]
    .map(encodeValue);

  it("rejects every truncation and extension", () => {
    for (const s of samples) {
      const bytes = Buffer.from(s, "utf8");
      for (let n = 0; n < bytes.length; n++) expect(decodeValue(bytes.subarray(0, n))).toBeUndefined();
      for (let n = 0; n < s.length; n++) expect(decodeValue(s.slice(0, n))).toBeUndefined();
      for (const tail of ["x", " ", "\u0000", "0", "}"]) {
        expect(decodeValue(s + tail)).toBeUndefined();
        expect(decodeValue(Buffer.concat([bytes, Buffer.from(tail)]))).toBeUndefined();
      }
    }
  });

  it.each([
    "", "hello", "123", "null", '{"a":1}', "\u0001tc", "\u0001tc9J2:{}", "\u0001tc1X2:{}", "\u0001tc1j2:{}",
    "\u0001tc1J02:{}", "\u0001tc1J:{}", "\u0001tc1J-2:{}", "\u0001tc1J2{}", "\u0001tc1J12345678901:{}",
    entry("J", "{"), entry("T", "[1,"), entry("J", ""), entry("T", "{'a':1}"),
  ])("rejects %j", (raw) => {
    expect(decodeValue(raw)).toBeUndefined();
    expect(decodeValue(Buffer.from(raw, "latin1"))).toBeUndefined();
  });

  it("rejects random bytes and invalid UTF-8", () => {
    const rand = prng(42);
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
      const forged = Buffer.concat([Buffer.from(`\u0001tc1${rand() < 0.5 ? "J" : "T"}${junk.length}:`), junk]);
      for (const raw of [junk, forged]) expect(() => decodeValue(raw)).not.toThrow();
      expect(decodeValue(junk)).toBeUndefined();
    }
    expect(decodeValue(Buffer.from([...Buffer.from("\u0001tc1J3:"), 0x22, 0xff, 0x22]))).toBeUndefined();
  });

  it.each([
    '{"$t":"zz"}', '{"$t":1}', '{"$t":null}', '{"$t":"u","x":1}', '{"$t":"u","__proto__":1}', '{"$t":"n","v":"5"}',
    '{"$t":"n","v":-0}', '{"$t":"i","v":"1.5"}', '{"$t":"i","v":"-0"}', '{"$t":"i","v":1}', '{"$t":"d","v":"0"}',
    '{"$t":"d","v":1.5}', '{"$t":"d","v":9e15}', '{"$t":"m","v":[1]}', '{"$t":"m","v":{}}', '{"$t":"s","v":"ab"}',
    '{"$t":"r","s":"(","f":""}', '{"$t":"r","s":"a","f":"zz"}', '{"$t":"r","s":1,"f":""}', '{"$t":"B","v":"***"}',
    '{"$t":"B","v":"AAA"}', '{"$t":"a","c":"Function","v":""}', '{"$t":"a","c":"toString","v":""}',
    '{"$t":"a","c":"Float64Array","v":"AQID"}', '{"$t":"U","v":"not a url"}', '{"$t":"o","v":[]}', '{"$t":"o","v":1}',
    '{"$t":"h","n":1}', '[{"$t":"h","n":0}]', '[{"$t":"h","n":-1}]', '[{"$t":"h","n":1.5}]', '[{"$t":"h","n":5e9}]',
    '[{"$t":"h"}]', '{"a":{"$t":"h","n":1}}', '{"$t":"m","v":[{"$t":"h","n":1},1]}', '[[[{"$t":"x"}]]]',
    `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
  ])("rejects the tagged payload %s", (payload) => {
    expect(decodeValue(entry("T", payload))).toBeUndefined();
  });

  it("decodes deep plain JSON without throwing", () => {
    const raw = entry("J", `${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    expect(() => decodeValue(raw)).not.toThrow();
  });

  it.each([
    ["J", '{"__proto__":{"polluted":1}}'],
    ["T", '{"__proto__":{"polluted":1},"x":{"$t":"u"}}'],
    ["T", '{"__proto__":{"$t":"u"},"y":{"$t":"m","v":[1,{"__proto__":{"polluted":1}}]}}'],
    ["T", '{"$t":"o","v":{"$t":1,"__proto__":{"polluted":1}}}'],
    ["T", '[{"constructor":{"prototype":{"polluted":1}}},{"$t":"u"}]'],
  ])("never pollutes prototypes (%s %s)", (codec, payload) => {
    const decoded = decodeValue(entry(codec, payload));
    expect(decoded).toBeDefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    const value = decoded!.value as Record<string, unknown>;
    const root = Array.isArray(value) ? (value[0] as object) : value;
    expect(Object.getPrototypeOf(root)).toBe(Object.prototype);
    if (!Array.isArray(value)) expect(Object.hasOwn(value, "__proto__")).toBe(true);
  });
});

// Small pools: the point is coverage of shapes and their combinations, not of magnitudes.
const ATOMS: unknown[] = [undefined, null, true, false, 0, -0, 1, -2.5, NaN, Infinity, -Infinity, 0n, -3n, "", "a",
  "é🎉", "\ud800", "\u0000", '"$t"', "__proto__"];
const KEYS = ["a", "b", "$t", "v", "__proto__", "", "é"];

function generate(rand: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const r = depth > 3 ? 0 : rand();
  const items = (): unknown[] => Array.from({ length: Math.floor(rand() * 4) }, () => generate(rand, depth + 1));
  if (r < 0.5) return pick(ATOMS);
  if (r < 0.63) {
    const arr = items();
    if (rand() < 0.3) arr.length += Math.floor(rand() * 3);
    if (rand() < 0.3) delete arr[Math.floor(rand() * arr.length)];
    return arr;
  }
  if (r < 0.78) {
    const obj = {};
    for (const v of items()) Object.defineProperty(obj, pick(KEYS), { value: v, enumerable: true, configurable: true, writable: true });
    return obj;
  }
  if (r < 0.84) return new Map(items().map((v) => [generate(rand, depth + 1), v]));
  if (r < 0.89) return new Set(items());
  if (r < 0.93) return new Date(pick([0, -1, 1.7e12, NaN]));
  if (r < 0.97) {
    const bytes = Array.from({ length: Math.floor(rand() * 3) }, () => Math.floor(rand() * 256));
    return pick([Buffer.from(bytes), new Uint8Array(bytes), new Float64Array(bytes), new BigInt64Array(bytes.map(BigInt))]);
  }
  return pick([/a/g, /[$]\//, new URL("http://h/p")]);
}

describe("randomized round trip", () => {
  it("round-trips thousands of nested values and picks J only for plain JSON", () => {
    const rand = prng(20240601);
    let plain = 0;
    for (let i = 0; i < 4000; i++) {
      const value = generate(rand, 0);
      roundTrips(value);
      if (codecOf(value) === "J") {
        plain++;
        expect(exact(JSON.parse(JSON.stringify(value)), value)).toBe(true);
      }
    }
    expect(plain).toBeGreaterThan(200);
  });
});
