/**
 * The bus's message parser (runtime/bus-message.ts) meets whatever anyone with access to the
 * Redis server publishes: fuzzed with fast-check, it never throws, accepts only messages of its
 * grammar about this process's namespace, bounds their size, and reads back what the runtime sends.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatMessage, MAX_MESSAGE_BYTES, MAX_TAGS_PER_MESSAGE, parseMessage, type BusMessage } from "../../runtime/bus-message";
import { buildKey, keyPrefix } from "../../runtime/keys";
import { tagBase } from "../../runtime/tags";

const NS = "shop";
const origin = fc.stringMatching(/^[A-Za-z0-9_-]{22}$/);
const id = fc.stringMatching(/^[A-Za-z0-9_.$#/@+-]{1,40}$/);
const args = fc.array(fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)), { maxLength: 3 });

/** What a received message may be: one of the grammar, about keys of the namespace. */
function wellFormed(message: BusMessage): void {
  expect(message.origin).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
  const items = message.kind === "key" ? [message.key] : message.kind === "group" ? [message.group]
    : message.kind === "tags" ? message.bases : [];
  for (const item of items) {
    expect(item.startsWith(`${NS}:`)).toBe(true);
    expect(item).not.toMatch(/[\s\u0000-\u001f\u007f]/);
  }
}

describe("parseMessage", () => {
  it("never throws on arbitrary bytes, and accepts only well-formed messages about its namespace", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const message = parseMessage(Buffer.from(bytes), NS);
      if (message !== undefined) wellFormed(message);
    }), { numRuns: 2_000 });
  });

  it("never throws on strings built from the grammar's own pieces", () => {
    const piece = fc.oneof(fc.constantFrom("tscaching1", "k", "g", "t", "f", " ", `${NS}:`, ":", "~tag.", "\u0000", "\n", "é", "\u00a0"),
      origin, id, fc.string({ maxLength: 8 }), fc.string({ unit: "grapheme", maxLength: 4 }));
    fc.assert(fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
      const text = pieces.join("");
      for (const raw of [text, Buffer.from(text)]) {
        const message = parseMessage(raw, NS);
        if (message !== undefined) wellFormed(message);
      }
    }), { numRuns: 3_000 });
  });

  it("reads back every message the runtime sends", () => {
    fc.assert(fc.property(origin, id, args, (from, fnId, fnArgs) => {
      const key = buildKey(NS, fnId, fnArgs);
      expect(parseMessage(formatMessage(from, "key", [key]), NS)).toEqual({ kind: "key", origin: from, key });
      const group = keyPrefix(NS, fnId);
      expect(parseMessage(Buffer.from(formatMessage(from, "group", [group])), NS)).toEqual({ kind: "group", origin: from, group });
      const base = tagBase(NS, { name: "user", args: fnArgs });
      expect(parseMessage(formatMessage(from, "tags", [base, base]), NS)).toEqual({ kind: "tags", origin: from, bases: [base, base] });
      expect(parseMessage(formatMessage(from, "flush"), NS)).toEqual({ kind: "flush", origin: from });
    }), { numRuns: 500 });
  });

  it("a valid message with one character changed is ignored or still well-formed", () => {
    fc.assert(fc.property(origin, id, args, fc.nat(), fc.integer({ min: 0, max: 0xffff }), (from, fnId, fnArgs, at, code) => {
      const text = formatMessage(from, "key", [buildKey(NS, fnId, fnArgs)]);
      const i = at % text.length;
      const message = parseMessage(text.slice(0, i) + String.fromCharCode(code) + text.slice(i + 1), NS);
      if (message !== undefined) wellFormed(message);
    }), { numRuns: 2_000 });
  });

  it("ignores a key that no store would accept: Unicode whitespace, controls, over 250 bytes (one rule with assertValidKey)", () => {
    const from = "a".repeat(22);
    // Found by the fuzzing above: U+3000 passed the bus's own character check, not the stores'.
    for (const odd of ["\u3000", "\u2028", "\u00a0", "\ufeff", "\u1680", "\u0085", "\u009f"]) {
      expect(parseMessage(`tscaching1 ${from} k ${NS}:f:${odd}:1`, NS), JSON.stringify(odd)).toBeUndefined();
      expect(parseMessage(`tscaching1 ${from} g ${NS}:f${odd}:`, NS), JSON.stringify(odd)).toBeUndefined();
    }
    const long = `${NS}:f:${"é".repeat(130)}`; // under 250 characters, over 250 bytes
    expect(long.length).toBeLessThanOrEqual(250);
    expect(parseMessage(`tscaching1 ${from} k ${long}`, NS)).toBeUndefined();
    expect(parseMessage(`tscaching1 ${from} k ${NS}:f:é`, NS)).toEqual({ kind: "key", origin: from, key: `${NS}:f:é` });
  });

  it("ignores other namespaces, oversized messages and too many tag values", () => {
    const from = "a".repeat(22);
    expect(parseMessage(formatMessage(from, "key", [buildKey("other", "f", [1])]), NS)).toBeUndefined();
    expect(parseMessage(formatMessage(from, "key", [buildKey(`${NS}x`, "f", [1])]), NS)).toBeUndefined();
    expect(parseMessage(formatMessage(from, "group", [keyPrefix("other", "f")]), NS)).toBeUndefined();
    const base = tagBase(NS, { name: "user", args: [1] });
    expect(parseMessage(formatMessage(from, "tags", Array(MAX_TAGS_PER_MESSAGE).fill(base)), NS)).toBeDefined();
    expect(parseMessage(formatMessage(from, "tags", Array(MAX_TAGS_PER_MESSAGE + 1).fill(base)), NS)).toBeUndefined();
    expect(parseMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x61), NS)).toBeUndefined();
    expect(parseMessage(`tscaching1 ${from} k ${NS}:f:${"é".repeat(MAX_MESSAGE_BYTES / 2)}`, NS)).toBeUndefined();
    expect(parseMessage(`tscaching1 ${from} f `, NS)).toBeUndefined();
    expect(parseMessage(`tscaching1 ${from}  k ${NS}:f:1`, NS)).toBeUndefined();
    expect(parseMessage(undefined as never, NS)).toBeUndefined();
    expect(parseMessage({ length: 1 } as never, NS)).toBeUndefined();
  });
});
