/**
 * The cached call that transformed code makes: build the key, ask the backend, on a miss run the
 * original function once per key per process (concurrent callers share the flight, each with its
 * own copy of the result, for a bounded time), store the result unless a write came first, return
 * it. Every cache failure falls back to the original function: the cache can make a call faster,
 * never make it fail.
 *
 * Parts: registry.ts (specs, counters, keys), flights.ts (single-flight, bounds, write epochs),
 * store.ts (leases and CAS stores), lock.ts (`lock`), stale.ts (`stale=`), rejections.ts (`errors=`),
 * local-tier.ts (`local=`: a process-local copy in front of the shared store).
 */
import type { CasToken } from "./backends/backend";
import { clock } from "./clock";
import { CacheError, type ResolvedOptions } from "./config";
import { classify, decodeHit, encodeEntry, readEntryThen, type Entry, type Read, type Stamp, type TagCheck, type TagRead } from "./entries";
import { begin, hasWaiters, join, joinable, land, OWN, type Flight, type Outcome } from "./flights";
import { generationOf, trustWindow } from "./groups";
import { KeyEncodeError } from "./keys";
import { localTierOf, NO_COPY, type LocalTier } from "./local-tier";
import { awaitHolder, lockKeyOf, releaseLock, takeLock } from "./lock";
import { defineCached, keyOf, prefixOf, Uncached, type CachedFunction, type CachedFunctionSpec } from "./registry";
import { rejectionOf, storeRejection } from "./rejections";
import { parseFor } from "./shared-values";
import { refresh } from "./stale";
import { backendError, events, listening, report, state } from "./state";
import { encodeResult, releaseLease, storeOver, storeTtl, takeLease } from "./store";
import { rememberKeyTags, tagBasesOf } from "./tag-keys";
import { tagGenerations } from "./tags";

export { cachedFunctions, defineCached, Uncached, type CachedFunction, type CachedFunctionSpec } from "./registry";
export { lockKeyOf } from "./lock";

type Body<T> = () => T | Uncached<T> | PromiseLike<T | Uncached<T>>;

/** What a computation gave: the value, and its encoding when it has one (to copy for joiners). */
interface Computed<T> {
  readonly value: T | Uncached<T>;
  readonly encoded?: Buffer | string;
  /** The encoding is now the shared store's entry (its CAS store succeeded): the local tier may keep it. */
  readonly stored?: boolean;
}

/**
 * Run `fn` through the cache under the key of `spec` and `args`. Always async, and never throws:
 * every outcome is the returned promise. Never rejects because of the cache; rejects only when
 * `fn` does, or, with `errors=`, with the reconstruction of a rejection `fn` gave within that many
 * seconds (by default rejections are not cached).
 */
export function cachedCall<T>(spec: CachedFunctionSpec, args: readonly unknown[], fn: Body<T>,
                              tagValues?: readonly unknown[]): Promise<T> {
  try {
    return cachedCallOrThrow(spec, args, fn, tagValues);
  } catch (error) {
    // Only a broken spec gets here (defineCached's TypeError): the caller sees it as a rejection.
    return Promise.reject(error);
  }
}

function cachedCallOrThrow<T>(spec: CachedFunctionSpec, args: readonly unknown[], fn: Body<T>,
                              tagValues: readonly unknown[] | undefined): Promise<T> {
  const { options } = state();
  if (!options.enabled) return invoke(fn);
  const fnSpec = (spec as CachedFunction).hits !== undefined ? spec as CachedFunction : defineCached(spec);
  const prefix = prefixOf(fnSpec, options.namespace);
  let key: string;
  let bases: readonly string[] | undefined;
  try {
    key = keyOf(prefix, args);
    if (fnSpec.tags !== undefined && fnSpec.tags.length > 0) bases = tagBasesOf(fnSpec, options.namespace, tagValues ?? []);
  } catch (error) {
    fnSpec.errors++;
    const path = error instanceof KeyEncodeError ? ` at ${error.path}` : "";
    report(new CacheError("EKEY", `tscaching: "${spec.id}" called with an argument that cannot form a key${path}; ran uncached`,
      { id: spec.id, cause: error }));
    return invoke(fn);
  }
  return cachedKeyCall(fnSpec, key, prefix.prefix, fn, bases);
}

/**
 * The cached call of one key. A tagged call (`bases`: its tag values' counters) checks the entry's
 * tag stamp against the generations it knows, read in parallel with the entry when not known fresh.
 */
function cachedKeyCall<T>(fnSpec: CachedFunction, key: string, group: string, fn: Body<T>,
                          bases: readonly string[] | undefined): Promise<T> {
  const current = state();
  const { options, backend } = current;
  // `local=`: a live copy in this process answers without I/O (no tier on an in-process backend).
  const tier = fnSpec.local !== undefined ? localTierOf(current) : undefined;
  if (tier !== undefined) {
    const copy = tier.get(key, bases);
    if (copy !== NO_COPY) {
      fnSpec.hits++;
      fnSpec.localHits++;
      if (listening.hit) events.emit("hit", { id: fnSpec.id, key });
      return Promise.resolve(copy as T);
    }
  }
  const pending = joinable(key, backend);
  if (pending) return join(pending, () => invoke(fn));
  const window = trustWindow(backend, options.invalidationCheck);
  const known = generationOf(backend, group, window);
  let tags: TagRead | undefined;
  if (bases !== undefined) {
    rememberKeyTags(key, bases);
    tags = { bases, known: tagGenerations(backend, bases, window), learnable: fnSpec.tagKeys !== undefined };
  }
  if (backend.peekDerived !== undefined && typeof known === "number" && !(tags?.known instanceof Promise)) {
    // The in-process backend answers at once: a fresh hit needs no promise but the one returned.
    const parsed = backend.peekDerived(key, parseFor(options), options.memory.shareValues, true);
    const entry = classify(backend, group, parsed, known,
      tags as TagCheck | undefined);
    if (entry.kind === "hit" && entry.softExpiry === undefined) {
      fnSpec.hits++;
      if (listening.hit) events.emit("hit", { id: fnSpec.id, key });
      return Promise.resolve(entry.value as T);
    }
  }
  const bound = boundOf(fnSpec, options);
  // The flight remembers the tag generations known now (the array just read when they were fresh).
  const flight = begin(key, bound, backend, bases, tags !== undefined && !(tags.known instanceof Promise) ? tags.known : undefined);
  return readEntryThen(backend, key, group, known,
    (entry, read, stamp) => answer(fnSpec, key, fn, flight, bound, entry, read, tier, tags, stamp),
    (error) => failed(fnSpec, fn, flight, error), tags);
}

/** A tagged call's tag counters and the generations its read checked the entry against (and stamps with). */
type Tagged = TagRead & { readonly known: Stamp };

/** Longest wait (ms) on another caller's computation of a key of `spec`. */
function boundOf(spec: CachedFunction, options: ResolvedOptions): number {
  return spec.timeout !== undefined ? spec.timeout * 1000 : options.flightTimeout;
}

function invoke<T>(fn: Body<T>): Promise<T> {
  try {
    const result = fn();
    if (result instanceof Uncached) return Promise.resolve(result.value);
    if (result === null || (typeof result !== "object" && typeof result !== "function")) return Promise.resolve(result);
    return Promise.resolve(result).then(unwrap);
  } catch (error) {
    return Promise.reject(error);
  }
}

const unwrap = <T>(result: T | Uncached<T>): T => (result instanceof Uncached ? result.value : result);

/** Joiners of a flight that read `raw` each decode their own copy of it. */
const copiesOfRead = (raw: Buffer | string): Outcome => ({ kind: "value", copy: () => decodeHit(raw) });

/** Joiners of a flight whose leader got `value` without an encoding: encode once, decode per joiner. */
function copiesOfValue(value: unknown): () => Outcome {
  return () => {
    let encoded: string;
    try {
      encoded = encodeEntry(value, 0);
    } catch {
      return OWN;
    }
    return { kind: "value", copy: () => decodeHit(encoded) };
  };
}

/** The backend failed: the server is down or slow. Answer from the original function, do not try to store. */
function failed<T>(spec: CachedFunction, fn: Body<T>, flight: Flight, error: unknown): Promise<T> {
  spec.errors++;
  report(backendError(error, { id: spec.id, key: flight.key }));
  let result: Promise<T | Uncached<T>>;
  try {
    result = Promise.resolve(fn());
  } catch (thrown) {
    result = Promise.reject(thrown);
  }
  // Not through invoke(): an `Uncached` result must reach settle() so that joiners run their own call.
  return settle(flight, result.then((value) => ({ value })));
}

/**
 * End `flight` when `computed` settles; the caller gets its own value, joiners a copy each. A stored
 * result is offered to the local `tier` (kept only while no write detached the flight).
 */
function settle<T>(flight: Flight, computed: Promise<Computed<T>>, spec?: CachedFunction, tier?: LocalTier): Promise<T> {
  return computed.then(({ value, encoded, stored }) => {
    if (value instanceof Uncached) {
      land(flight, OWN);
      return value.value;
    }
    if (tier !== undefined && stored && encoded !== undefined) tier.offer(spec!, flight, encoded, undefined);
    if (hasWaiters(flight)) land(flight, encoded !== undefined ? copiesOfRead(encoded) : copiesOfValue(value));
    else land(flight, OWN);
    return value;
  }, (error: unknown) => {
    land(flight, { kind: "error", error });
    throw error;
  });
}

/** What a read of the key means for this call: the cached value, or a computation. */
function answer<T>(spec: CachedFunction, key: string, fn: Body<T>, flight: Flight, bound: number,
                   entry: Entry, read: Read, tier: LocalTier | undefined, tagRead: TagRead | undefined,
                   stamp: Stamp | undefined): T | Promise<T> {
  try {
    if (entry.kind === "hit") {
      const softExpiry = entry.softExpiry;
      if (softExpiry === undefined || clock.now() < softExpiry) {
        if (tier !== undefined) tier.offer(spec, flight, read!.value, softExpiry);
        land(flight, hasWaiters(flight) ? copiesOfRead(read!.value) : OWN);
        spec.hits++;
        if (listening.hit) events.emit("hit", { id: spec.id, key });
        return entry.value as T;
      }
      if (spec.stale) {
        land(flight, hasWaiters(flight) ? copiesOfRead(read!.value) : OWN);
        spec.staleServes++;
        if (events.listenerCount("stale") > 0) events.emit("stale", { id: spec.id, key, age: clock.now() - softExpiry });
        refresh(spec, key, fn, entry.generation, read?.cas, stamp);
        return entry.value as T;
      }
      // Past its ttl and this function (no longer) allows stale values: a miss.
    } else if (entry.kind === "rejected" && spec.errorsTtl) {
      spec.hits++;
      if (listening.hit) events.emit("hit", { id: spec.id, key });
      const error = rejectionOf(entry);
      land(flight, { kind: "error", error });
      throw error;
    } else if (entry.kind === "corrupt") {
      spec.errors++;
      report(new CacheError("EDECODE", `tscaching: unreadable entry for "${spec.id}" treated as a miss and overwritten`,
        { id: spec.id, key }));
    }
    spec.misses++;
    if (events.listenerCount("miss") > 0) events.emit("miss", { id: spec.id, key });
  } catch (error) {
    land(flight, { kind: "error", error });
    throw error;
  }
  const cas = read?.cas;
  // What a computed value is stamped with: the tag generations the read checked against.
  const tags: Tagged | undefined = tagRead && stamp && { bases: tagRead.bases, known: stamp, learnable: tagRead.learnable };
  return settle(flight, spec.lock ? computeLocked(spec, key, fn, bound, entry.generation, cas, tags)
    : compute(spec, key, fn, bound, entry.generation, cas, tags?.known), spec, tier);
}

/**
 * Run the original function and store what it gives (a rejection too, with `errors=`) over the
 * version `cas` of the key: the entry the read found, or a lease taken now when it found nothing.
 * The lease is taken before the function starts, so any write after the function began wins.
 */
async function compute<T>(spec: CachedFunction, key: string, fn: Body<T>, bound: number, generation: number,
                          cas: CasToken | undefined, stamp: Stamp | undefined): Promise<Computed<T>> {
  const version = cas ?? await takeLease(spec, key, bound);
  let value: T | Uncached<T>;
  try {
    value = await fn();
  } catch (error) {
    if (spec.errorsTtl) await storeRejection(spec, key, error, generation, version, stamp);
    else if (version !== cas) releaseLease(key, version);
    throw error;
  }
  const encoded = value instanceof Uncached ? undefined : encodeResult(spec, key, value, generation, stamp);
  if (encoded === undefined) {
    // Nothing to store: give up the lease this call took (an entry it found stays as it was).
    if (version !== cas) releaseLease(key, version);
    return { value };
  }
  const stored = await storeOver(spec, key, encoded, storeTtl(spec), version);
  return { value, encoded, stored };
}

/** A cold key of a `lock` function (see lock.ts). */
async function computeLocked<T>(spec: CachedFunction, key: string, fn: Body<T>, bound: number, generation: number,
                                cas: CasToken | undefined, tags: Tagged | undefined): Promise<Computed<T>> {
  const lockKey = lockKeyOf(key);
  if (await takeLock(spec, lockKey)) {
    try {
      return await compute(spec, key, fn, bound, generation, cas, tags?.known);
    } finally {
      releaseLock(lockKey);
    }
  }
  const waited = await awaitHolder(spec, key, lockKey, cas, tags);
  if (waited.kind === "compute") {
    // Compute over the version last seen while waiting (a lease is taken when the key held nothing).
    return compute(spec, key, fn, bound, generation, waited.cas, tags?.known);
  }
  const { entry, read } = waited;
  if (entry.kind === "rejected") throw rejectionOf(entry);
  return { value: (entry as { value: T }).value, encoded: read?.value };
}
