/**
 * The memory backend's hit path: a copy per hit by default, one frozen value per stored entry with
 * `memory.shareValues`. Writes (a recompute after invalidation, cache.set) replace what is shared.
 */
import { afterAll, expect, test } from "vitest";
import { cache, cachedCall, configure, defineCached, keyHelper } from "../../runtime/index";
import { MemoryBackend } from "../../runtime/backends/memory";
import { close } from "../../runtime/state";

afterAll(() => close());

const spec = defineCached({ v: 1, id: "test#shareValues", ttl: 60 });
const helper = keyHelper<[id: number], { id: number; tags: string[] }>("test#shareValues");
let runs = 0;
const get = (id: number) => cachedCall(spec, [id], async () => {
  runs++;
  return { id, tags: ["a", "b"], at: new Map([["k", { deep: true }]]) };
});

test("by default every hit gets its own copy, which the caller may change", async () => {
  configure({ namespace: `share-off-${Date.now()}` });
  runs = 0;
  const first = await get(1);
  const second = await get(1);
  const third = await get(1);
  expect(runs).toBe(1);
  expect(second).toEqual(first);
  expect(second).not.toBe(third);
  second.tags.push("changed");
  expect((await get(1)).tags).toEqual(["a", "b"]);
});

test("shareValues: hits share one deep-frozen value until the entry is written again", async () => {
  configure({ namespace: `share-on-${Date.now()}`, memory: { shareValues: true } });
  runs = 0;
  await get(1); // miss: the caller gets the value it computed
  const a = await get(1);
  const b = await get(1);
  expect(runs).toBe(1);
  expect(a).toBe(b);
  expect(Object.isFrozen(a) && Object.isFrozen(a.tags) && Object.isFrozen(a.at.get("k"))).toBe(true);
  expect(() => a.tags.push("x")).toThrow(TypeError);
  // cache.get still decodes a copy of its own.
  const copy = await cache.get(helper(1));
  expect(copy).toEqual({ id: 1, tags: ["a", "b"], at: new Map([["k", { deep: true }]]) });
  expect(copy).not.toBe(a);
  // A write replaces the shared value; so does an invalidation and recompute.
  await cache.set(helper(1), { id: 1, tags: ["set"] });
  const afterSet = await get(1);
  expect(afterSet).toEqual({ id: 1, tags: ["set"] });
  expect(afterSet).toBe(await get(1));
  await cache.invalidate(helper);
  const recomputed = await get(1);
  expect(runs).toBe(2);
  expect(recomputed.tags).toEqual(["a", "b"]);
});

test("shareValues is validated like every other option", () => {
  expect(() => configure({ memory: { shareValues: "yes" as unknown as boolean } })).toThrow(/memory.shareValues/);
  expect(() => configure({ memory: { shareValue: true } as never })).toThrow(/unknown option "memory.shareValue"/);
});

test("MemoryBackend.peekDerived remembers per stored value and forgets on every write", async () => {
  const backend = new MemoryBackend();
  let derivations = 0;
  const derive = (value: Buffer | string) => {
    derivations++;
    return { text: String(value) };
  };
  expect(backend.peekDerived("k", derive, true)).toBeUndefined();
  await backend.set("k", "one", 0);
  const first = backend.peekDerived("k", derive, true);
  expect(backend.peekDerived("k", derive, true)).toBe(first);
  expect(derivations).toBe(1);
  expect(backend.peekDerived("k", derive, false)).not.toBe(first);
  expect(derivations).toBe(2);
  await backend.touch("k", 60); // same value: still remembered
  expect(backend.peekDerived("k", derive, true)).toBe(first);
  await backend.append("k", "+two");
  expect(backend.peekDerived("k", derive, true)).toEqual({ text: "one+two" });
  await backend.set("k", "three", 0);
  expect(backend.peekDerived("k", derive, true)).toEqual({ text: "three" });
  await backend.delete("k");
  expect(backend.peekDerived("k", derive, true)).toBeUndefined();
  expect(() => backend.peekDerived("bad key", derive, true)).toThrow(/whitespace/);
});
