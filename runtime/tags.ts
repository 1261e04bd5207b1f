/**
 * Tags: invalidating "everything about user 42" across every cached function that carries
 * `tags=user(id)`. Each tag value (`user(42)`) has a generation counter, kept like a group's
 * (groups.ts: two copies on two servers, the highest answering copy wins, an invalidation raises
 * every copy it reaches above what it knew). A tagged call puts the generations of its tag values
 * into its key (`…~t<g1>.<g2>`): `invalidateTag()` moves a counter on, so every later call of every
 * function carrying that tag value builds a key no one has written under — a miss — while the old
 * entries simply expire. That is why an invalidation costs one `incr` per server whatever the
 * number of entries, why a computation begun before it can never store over it (it stores under
 * the old key), and why an in-process flight begun before it is never joined (flights are per key).
 *
 * Consistency: the calling process sees the invalidation at once; every other process within
 * `invalidationCheck` ms (it trusts the generations it knows for that long, exactly as for groups).
 * Within the window a tagged hit is one round trip; when the window has passed, the counters are
 * read first (one more round trip, once per window per tag value).
 */
import { createHash } from "node:crypto";
import type { Backend } from "./backends/backend";
import { MAX_KEY_LENGTH, keyWithPrefix } from "./keys";
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

/** Check a spec's `tags` (from transformed code): TypeError when malformed. */
export function checkTagSpecs(id: string, tags: unknown): void {
  if (tags === undefined) return;
  const ok = Array.isArray(tags) && tags.every((t) => t !== null && typeof t === "object" && typeof t.name === "string" &&
    TAG_NAME.test(t.name) && Array.isArray(t.args) && t.args.every((i: unknown) => Number.isInteger(i) && (i as number) >= 0));
  if (!ok) throw new TypeError(`tscaching: spec "${id}": tags must be a list of { name, args: positions }`);
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

/** The key of a tagged call under its tag generations (unchanged while every generation is 0). */
export function taggedKey(key: string, generations: readonly number[]): string {
  if (generations.every((g) => g === 0)) return key;
  const suffix = `~t${generations.join(".")}`;
  if (key.length + suffix.length <= MAX_KEY_LENGTH) return key + suffix;
  // Too long to append: hash the whole under the function's prefix (its group stays the same).
  const group = key.slice(0, key.indexOf(":", key.indexOf(":") + 1) + 1);
  return `${group}#${createHash("sha256").update(key + suffix, "utf8").digest("base64url")}`;
}

/** Move every tag value in `tags` to a new generation (one `incr` per counter copy, in parallel). */
export async function bumpTags(backend: Backend, namespace: string, tags: readonly CacheTag[]): Promise<void> {
  await Promise.all(tags.map((tag) => bumpGeneration(backend, tagBase(namespace, tag))));
}
