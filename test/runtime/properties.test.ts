/**
 * Property tests (fast-check, fixed seed) over what a cached call meets from the outside: any
 * argument (unicode, huge strings, deep and cyclic objects, sparse arrays, NaN, -0, Dates, BigInt,
 * Map, Set, class instances, typed arrays, boxed and null-prototype objects) and any bytes stored
 * under its key (foreign, truncated, older format). The cache answers or steps aside; it never
 * throws, never gives a wrong value and never forms an invalid or shared key.
 */
import fc from "fast-check";
import { types } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertValidKey } from "../../runtime/backends/hash";
import { encodeEntry, encodeRejection } from "../../runtime/entries";
import { cache, cachedCall, configure, defineCached, type CacheError } from "../../runtime/index";
import { buildKey, cacheKey, KeyEncodeError } from "../../runtime/keys";
import { close, state } from "../../runtime/state";

const SEED = 20_240_611;
const run = <Ts>(property: fc.IRawProperty<Ts>, numRuns: number) =>
  fc.assert(property, { seed: SEED, numRuns, endOnFailure: true });

/** Class instances key through their key method; these key by their two fields. */
class Point {
  constructor(public x: unknown, public y: unknown) {}
  [cacheKey]() { return { x: this.x, y: this.y }; }
}
class Other {
  constructor(public x: unknown, public y: unknown) {}
  [cacheKey]() { return { x: this.x, y: this.y }; }
}

const leaf = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.constantFrom("", " ", "\n", "\u0000", "\ud800", "a b", ":", "~lock", "#", "é", "😀"),
  fc.double(),
  fc.constantFrom(NaN, -0, 0, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 2),
  fc.integer({ min: -3, max: 3 }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: false }),
);

/** Values of every kind a key accepts, nested a few levels. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("v"), { maxLength: 4 }),
    fc.sparseArray(tie("v"), { maxLength: 6, noTrailingHole: false }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie("v"), { maxKeys: 4 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie("v"), { maxKeys: 3 }).map((d) => Object.assign(Object.create(null), d)),
    fc.array(fc.tuple(tie("v"), tie("v")), { maxLength: 3 }).map((pairs) => new Map(pairs)),
    fc.array(tie("v"), { maxLength: 3 }).map((items) => new Set(items)),
    fc.tuple(tie("v"), tie("v")).map(([x, y]) => new Point(x, y)),
    fc.tuple(tie("v"), tie("v")).map(([x, y]) => new Other(x, y)),
    fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
    fc.uint8Array({ maxLength: 6 }),
    fc.float64Array({ maxLength: 2 }),
    fc.constantFrom(Object(1), Object("s"), Object(false), Object(-0)),
    fc.constantFrom(/a+/g, /a+/i, new URL("http://x/a%20b")),
  ),
})).v;

const argLists = fc.array(value, { maxLength: 4 });

/**
 * The equality keys must respect, written independently of keys.ts: two argument lists must share
 * a key exactly when this says they are equal.
 */
function equal(a: unknown, b: unknown): boolean {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b);
  const protoA = Object.getPrototypeOf(a);
  const protoB = Object.getPrototypeOf(b);
  const nameOf = (p: object | null) => (p === null ? "Object" : (p as { constructor?: { name?: string } }).constructor?.name ?? "");
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    if ((nameOf(protoA) === "Array") !== (nameOf(protoB) === "Array") || (nameOf(protoA) !== "Array" && nameOf(protoA) !== nameOf(protoB))) return false;
    for (let i = 0; i < a.length; i++) {
      if (i in a !== i in b) return false;
      if (i in a && !equal(a[i], b[i])) return false;
    }
    return true;
  }
  if (types.isDate(a) || types.isDate(b)) return types.isDate(a) && types.isDate(b) && Object.is(a.getTime(), b.getTime());
  if (types.isRegExp(a) || types.isRegExp(b)) return types.isRegExp(a) && types.isRegExp(b) && String(a) === String(b);
  if (a instanceof URL || b instanceof URL) return a instanceof URL && b instanceof URL && a.href === b.href;
  if (types.isBoxedPrimitive(a) || types.isBoxedPrimitive(b)) {
    return types.isBoxedPrimitive(a) && types.isBoxedPrimitive(b) && Object.is(a.valueOf(), b.valueOf());
  }
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    const kind = (v: object) => (Buffer.isBuffer(v) ? "Buffer" : Object.prototype.toString.call(v));
    return ArrayBuffer.isView(a) && ArrayBuffer.isView(b) && kind(a) === kind(b) &&
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  if (types.isMap(a) || types.isMap(b)) {
    return types.isMap(a) && types.isMap(b) && sameMultiset([...a], [...b], ([k1, v1], [k2, v2]) => equal(k1, k2) && equal(v1, v2));
  }
  if (types.isSet(a) || types.isSet(b)) return types.isSet(a) && types.isSet(b) && sameMultiset([...a], [...b], equal);
  if (nameOf(protoA) !== nameOf(protoB)) return false;
  const keysA = Object.keys(a).sort();
  const keysB = Object.keys(b).sort();
  return keysA.length === keysB.length && keysA.every((k, i) => k === keysB[i] &&
    equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function sameMultiset<T>(a: T[], b: T[], eq: (x: T, y: T) => boolean): boolean {
  if (a.length !== b.length) return false;
  const left = [...b];
  for (const x of a) {
    const i = left.findIndex((y) => eq(x, y));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}

/** A deep copy with every key order and insertion order reversed: the same value to a key. */
function reorder(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    const copy = new (v.constructor as ArrayConstructor)(v.length);
    for (let i = v.length - 1; i >= 0; i--) if (i in v) copy[i] = reorder(v[i]);
    return copy;
  }
  if (types.isMap(v)) return new Map([...v].reverse().map(([k, x]) => [reorder(k), reorder(x)]));
  if (types.isSet(v)) return new Set([...v].reverse().map(reorder));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null && !(v instanceof Point) && !(v instanceof Other)) return v;
  const copy = Object.create(proto);
  for (const k of Object.keys(v).reverse()) copy[k] = reorder((v as Record<string, unknown>)[k]);
  return copy;
}

/** A variant of `v` that usually differs: a nudged number, string or a dropped element. */
function nudge(v: unknown, pick: number): unknown {
  if (typeof v === "number") return pick % 2 ? -v : v + 1;
  if (typeof v === "string") return pick % 2 ? `${v} ` : v.slice(1);
  if (typeof v === "bigint") return v + 1n;
  if (Array.isArray(v)) return pick % 2 ? v.slice(1) : [...v, undefined];
  if (types.isMap(v)) return new Map([...v].slice(1));
  if (types.isSet(v)) return new Set([...v, pick]);
  if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype) return { ...v, extra: pick };
  return pick % 2 ? undefined : null;
}

describe("keys", () => {
  it("are always valid memcached keys, deterministic and independent of key and insertion order", () => {
    run(fc.property(argLists, fc.constantFrom("ns", "a-much-longer-namespace-of-sixty-characters-0123456789-abcde"), (args, ns) => {
      const key = buildKey(ns, "fn#x", args);
      assertValidKey(key);
      expect(key.startsWith(`${ns}:fn#x:`)).toBe(true);
      expect(buildKey(ns, "fn#x", args)).toBe(key);
      expect(buildKey(ns, "fn#x", reorder(args) as unknown[])).toBe(key);
    }), 400);
  });

  it("are distinct for distinct arguments and shared by equal ones", () => {
    run(fc.property(argLists, argLists, fc.nat(), (a, b, pick) => {
      const i = pick % Math.max(a.length, 1);
      const near = a.length === 0 ? [undefined] : a.map((x, j) => (j === i ? nudge(x, pick) : x));
      for (const other of [b, near, reorder(a) as unknown[]]) {
        expect(buildKey("ns", "fn", a) === buildKey("ns", "fn", other)).toBe(equal(a, other));
      }
    }), 400);
  });

  it("stay valid for huge strings, long unicode and deep nesting", () => {
    run(fc.property(fc.string({ unit: "grapheme", minLength: 100, maxLength: 3000 }), fc.integer({ min: 50, max: 3000 }),
      (text, depth) => {
        let deep: unknown = text;
        for (let d = 0; d < depth; d++) deep = d % 2 ? [deep] : { d: deep };
        for (const args of [[text], [text.repeat(50)], [deep]]) {
          const key = buildKey("ns", "fn", args);
          assertValidKey(key);
          expect(Buffer.byteLength(key)).toBeLessThanOrEqual(250);
        }
        expect(buildKey("ns", "fn", [text])).not.toBe(buildKey("ns", "fn", [`${text}x`]));
      }), 30);
  });
});

/**
 * Classes whose instances hold state the encoder cannot see, each built from one hidden value and
 * some visible (enumerable) fields that do not depend on it.
 */
const hiddenKinds: Record<string, (hidden: unknown, visible: Record<string, unknown>) => object> = {
  "#private": (hidden, visible) => Object.assign(new (class UserId { #id = hidden; get id() { return this.#id; } })(), visible),
  "non-enumerable": (hidden, visible) => Object.defineProperty(Object.assign(new (class Tenant {})(), visible), "id", { value: hidden }),
  "accessor over a closure": (hidden, visible) => {
    const Session = class { get user() { return hidden; } };
    return Object.assign(new Session(), visible);
  },
  "anonymous class": (hidden, visible) => Object.assign(new (class { #v = hidden; })(), visible),
  "plain object, non-enumerable": (hidden, visible) => Object.defineProperty({ ...visible }, "secret", { value: hidden }),
  "plain object, symbol key": (hidden, visible) => ({ ...visible, [Symbol.for("id")]: hidden }),
  "plain prototype": (hidden, visible) => Object.assign(Object.create({ hidden }), visible),
  "Map subclass": (hidden, visible) => new (class Scoped extends Map<string, unknown> { #scope = hidden; })(Object.entries(visible)),
  "array subclass": (hidden, visible) => Object.assign(new (class Page extends Array<unknown> { #cursor = hidden; })(), Object.values(visible)),
};

describe("class instances with hidden state", () => {
  it("never share a key: every one is refused with a KeyEncodeError (or, were it keyed, keyed apart)", () => {
    const visible = fc.dictionary(fc.constantFrom("a", "b", "name"), leaf, { maxKeys: 2 });
    run(fc.property(fc.constantFrom(...Object.keys(hiddenKinds)), fc.constantFrom(...Object.keys(hiddenKinds)),
      value, value, visible, fc.array(leaf, { maxLength: 2 }), (kindA, kindB, hiddenA, hiddenB, shown, extra) => {
        const a = hiddenKinds[kindA]!(hiddenA, shown);
        const b = hiddenKinds[kindB]!(hiddenB, shown);
        const keyOf = (x: object) => {
          try {
            return buildKey("ns", "fn", [...extra, x]);
          } catch (e) {
            expect(e).toBeInstanceOf(KeyEncodeError);
            return undefined;
          }
        };
        const [ka, kb] = [keyOf(a), keyOf(b)];
        if (ka !== undefined || kb !== undefined) expect(ka).not.toBe(kb);
        // Today's encoder refuses every one of them.
        expect([ka, kb]).toEqual([undefined, undefined]);
      }), 400);
  });
});

describe("cached calls with arguments that cannot form a key", () => {
  let reports: CacheError[];
  beforeAll(() => configure({ servers: "", namespace: "props", onError: (e) => reports.push(e) }));
  afterAll(() => close());

  /** `v` with a cycle added: some container inside it points back to an ancestor. */
  const cyclic = fc.tuple(fc.array(value, { minLength: 1, maxLength: 3 }), fc.nat()).map(([items, pick]) => {
    const root: Record<string, unknown> = { items };
    // Every array or plain object inside, with its ancestors (itself included).
    const containers: Array<{ node: Record<string, unknown>; ancestors: object[] }> = [];
    const walk = (v: unknown, ancestors: object[]) => {
      if (typeof v === "object" && v !== null && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)) {
        const line = [...ancestors, v];
        containers.push({ node: v as Record<string, unknown>, ancestors: line });
        for (const x of Object.values(v)) walk(x, line);
      }
    };
    walk(root, []);
    const { node, ancestors } = containers[pick % containers.length]!;
    node[Array.isArray(node) ? node.length : "cycle"] = ancestors[(pick >> 3) % ancestors.length];
    const wrap = pick % 3;
    return wrap === 0 ? root : wrap === 1 ? new Map([["k", root]]) : new Set([root]);
  });

  it("reach the original function uncached, with exactly one EKEY report, never a throw", async () => {
    const spec = defineCached({ v: 1, id: "props#cyclic", ttl: 60 });
    await run(fc.asyncProperty(cyclic, fc.anything(), async (arg, result) => {
      reports = [];
      let runs = 0;
      const out = await cachedCall(spec, [arg], () => (runs++, result));
      expect(out).toBe(result);
      expect(runs).toBe(1);
      expect(reports.map((e) => e.code)).toEqual(["EKEY"]);
      expect(reports[0]?.cause).toBeInstanceOf(KeyEncodeError);
      expect(reports[0]?.message).toMatch(/cannot form a key at args\[0\]/);
    }), 150);
  });

  it("deeper than the stack allows: uncached with one EKEY report", async () => {
    const spec = defineCached({ v: 1, id: "props#deep", ttl: 60 });
    reports = [];
    let deep: unknown = 0;
    for (let d = 0; d < 200_000; d++) deep = [deep];
    expect(await cachedCall(spec, [deep], () => "ran")).toBe("ran");
    expect(reports.map((e) => e.code)).toEqual(["EKEY"]);
  });
});

describe("whatever bytes sit under our key", () => {
  let reports: CacheError[];
  beforeAll(() => configure({ servers: "", namespace: "propsdata", onError: (e) => reports.push(e) }));
  afterAll(() => close());

  /** Values a cached function may return, stored through the real codec. */
  const stored = fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withSparseArray: true,
    withTypedArray: true, withNullPrototype: true, withUnicodeString: true, withBoxedValues: false, maxDepth: 3 })
    // Bare non-negative integers are memcached counters: no header, so no truncation check.
    .filter((v) => !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0));

  const variants = ["plain", "generation", "stale", "rejection"] as const;
  const OURS = /^(?:\u0002\d+:)?(?:\u0003\d+:)?(?:\u0001tc1|\u0004\u0001tc1|\d{1,15} *$)/;

  it("truncated entries of every format are misses, never wrong values", async () => {
    const spec = defineCached({ v: 1, id: "props#truncated", ttl: 60, stale: 60, errors: 60 });
    await run(fc.asyncProperty(stored, fc.constantFrom(...variants), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.boolean(),
      async (v, variant, cut, asBuffer) => {
        const entry = variant === "rejection" ? encodeRejection("Error", String(typeof v), 0)
          : encodeEntry(v, variant === "generation" ? 7 : 0, variant === "stale" ? Date.now() + 60_000 : undefined);
        const bytes = Buffer.from(entry);
        const truncated = bytes.subarray(0, Math.floor(cut * bytes.length));
        const key = cache.keyOf(spec.id, [variant]);
        await state().backend.set(key, asBuffer ? truncated : truncated.toString("utf8"), 60);
        reports = [];
        let runs = 0;
        const out = await cachedCall(spec, [variant], () => (runs++, "FRESH"));
        expect(out).toBe("FRESH");
        expect(runs).toBe(1);
        expect(reports.map((e) => e.code).filter((c) => c !== "EDECODE")).toEqual([]);
      }), 300);
  });

  it("foreign values and other format versions are misses with one EDECODE report", async () => {
    const spec = defineCached({ v: 1, id: "props#foreign", ttl: 60 });
    const foreign = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.json().map((j) => j),
      stored.map((v) => encodeEntry(v, 0).replace("\u0001tc1", "\u0001tc0")),
      stored.map((v) => encodeEntry(v, 0).replace("\u0001tc1", "\u0001tc2")),
      stored.map((v) => encodeEntry(v, 0).replace(/^\u0001tc1[JT]\d+/, (h) => `${h}0`)),
      stored.map((v) => JSON.stringify(encodeEntry(v, 0))),
      fc.constantFrom("\u0003:x", "\u00031:", "\u0002x:\u0001tc1J1:1", "\u0004[]", "\u0001tc1J", "", "{\"$t\":\"u\"}"),
    ).filter((raw) => !OURS.test(Buffer.isBuffer(raw) ? raw.toString("latin1") : raw));
    await run(fc.asyncProperty(foreign, async (raw) => {
      const key = cache.keyOf(spec.id, ["foreign"]);
      await state().backend.set(key, raw, 60);
      reports = [];
      const out = await cachedCall(spec, ["foreign"], () => "FRESH");
      expect(out).toBe("FRESH");
      expect(reports.map((e) => e.code)).toEqual(["EDECODE"]);
    }), 300);
  });

  it("never runs stored data as code or lets it reach a prototype", async () => {
    const spec = defineCached({ v: 1, id: "props#proto", ttl: 60 });
    const hostile = [
      '{"__proto__":{"polluted":1}}',
      '{"$t":"o","v":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}',
      '[{"$t":"m","v":["__proto__",{"polluted":1}]}]',
      '{"$t":"r","s":"(?{process.exit(1)})","f":"g"}',
    ];
    for (const [i, payload] of hostile.entries()) {
      const raw = `\u0001tc1T${Buffer.byteLength(payload)}:${payload}`;
      await state().backend.set(cache.keyOf(spec.id, [i]), raw, 60);
      await cachedCall(spec, [i], () => "FRESH");
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, "polluted")).toBe(false);
    }
  });
});
