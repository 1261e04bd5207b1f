/**
 * Tags: invalidating "everything about user 42" across every cached function that carries
 * `tags=user(id)`. Each tag value (`user(42)`) has a generation counter, kept like a group's
 * (groups.ts: two copies on two servers, the highest answering copy wins, an invalidation raises
 * every copy it reaches above what it knew). A tagged call's key is its plain key (what keys.ts
 * gives); its entry carries a tag stamp, the generations of its tag values when it was written
 * (entries.ts), exactly as it carries its group's generation. `invalidateTag()` moves a counter on,
 * so every entry stamped before reads as stale (a miss, computed again and stored over it) while
 * nothing else is touched: one `incr` per server, whatever the number of entries.
 *
 * Consistency: the calling process sees the invalidation at once; every other process within
 * `invalidationCheck` ms (it trusts the generations it knows for that long, exactly as for groups).
 * A hit stays one round trip: when a generation is not known fresh, its counter is read in parallel
 * with the entry. Writes win: a computation begun before an invalidation stores its old stamp,
 * stale to every process that knows the new generation. Explicit writes (`cache.set` …) stamp the
 * generations of the key's tag values when this process knows them (tag-keys.ts); otherwise no
 * stamp, which reads as stale once any of them was ever invalidated: at worst a recomputation.
 */
import type { Backend } from "./backends/backend";
import { keyWithPrefix } from "./keys";
import { bumpGeneration, generationOf } from "./groups";

declare const tagBrand: unique symbol;

/**
 * One tag value, such as `user(42)`: what `cache.invalidateTag()` takes. Built by the generated
 * `keys.ts` (`tags.user(42)`) or by `cache.tag("user", 42)`.
 */
export interface CacheTag {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly [tagBrand]?: true;
}

/** How a spec names its tags: each tag's name and, per argument, its position in the call's tag values. */
export interface TagSpec {
  readonly name: string;
  readonly args: readonly number[];
}

const TAG_NAME = /^[A-Za-z_$][\w$]*$/;

/** Build a tag value; throws a TypeError for a name the grammar would not accept. */
export function makeTag(name: string, args: readonly unknown[]): CacheTag {
  if (typeof name !== "string" || !TAG_NAME.test(name)) throw new TypeError(`tscaching: invalid tag name ${JSON.stringify(name)}`);
  return { name, args: [...args] };
}

const isPosition = (i: unknown): boolean => Number.isInteger(i) && (i as number) >= 0;

/** Check a spec's `tags` and `tagKeys` (from transformed code): TypeError when malformed. */
export function checkTagSpecs(id: string, tags: unknown, tagKeys?: unknown): void {
  if (tags !== undefined) {
    const ok = Array.isArray(tags) && tags.every((t) => t !== null && typeof t === "object" && typeof t.name === "string" &&
      TAG_NAME.test(t.name) && Array.isArray(t.args) && t.args.every(isPosition));
    if (!ok) throw new TypeError(`tscaching: spec "${id}": tags must be a list of { name, args: positions }`);
  }
  if (tagKeys === undefined) return;
  // One key position per tag value: as many as the tags' argument positions reach.
  const values = Math.max(0, ...((tags ?? []) as TagSpec[]).flatMap((t) => t.args.map((i) => i + 1)));
  if (tags === undefined || !Array.isArray(tagKeys) || tagKeys.length !== values || !tagKeys.every(isPosition)) {
    throw new TypeError(`tscaching: spec "${id}": tagKeys must give the key position of each tag value`);
  }
}

/**
 * The counter base of a tag value under `namespace`: `ns:~tag.<name>:<args>:`. A literal id never
 * starts with `~` and a hashed one is `~` and base64url (no `.`), so a tag's counter never meets
 * a function's entries.
 * @throws KeyEncodeError when an argument cannot form a key.
 */
export function tagBase(namespace: string, tag: CacheTag): string {
  return `${keyWithPrefix(`${namespace}:~tag.${tag.name}:`, tag.args)}:`;
}

/** The counter bases of one call's tags, from the spec and the values the rewrite passed. */
export function callTagBases(namespace: string, specs: readonly TagSpec[], values: readonly unknown[]): string[] {
  return specs.map((spec) => tagBase(namespace, { name: spec.name, args: spec.args.map((i) => values[i]) }));
}

/**
 * The generations of `bases`, in order: at once while this process knows them fresh, otherwise
 * read (all in parallel). Rejects when the backend does.
 */
export function tagGenerations(backend: Backend, bases: readonly string[], window: number): readonly number[] | Promise<number[]> {
  const known: Array<number | Promise<number>> = bases.map((base) => generationOf(backend, base, window));
  if (known.every((g) => typeof g === "number")) return known as number[];
  return Promise.all(known);
}

/** Move every tag value in `tags` to a new generation (one `incr` per counter copy, in parallel). */
export async function bumpTags(backend: Backend, namespace: string, tags: readonly CacheTag[]): Promise<void> {
  await Promise.all(tags.map((tag) => bumpGeneration(backend, tagBase(namespace, tag))));
}
