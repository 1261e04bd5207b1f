/**
 * The registry of cached functions: the spec the transformer emits for each, its counters, and a
 * memo of its keys (so that a hot key is not encoded again on every call).
 */
import { keyPrefix, keyWithPrefix, VERSION_RE, versionedPrefix } from "./keys";
import { checkTagSpecs, type TagSpec } from "./tags";

/** What the transformer emits for each cached function (`defineCached({ v: 1, id, ttl })`). */
export interface CachedFunctionSpec {
  /** Spec format version. */
  readonly v: 1;
  /** Stable id: `name=` from the tag, or `<module path>#<qualified name>`. */
  readonly id: string;
  /** Seconds; absent means the configured `defaultTtl`. */
  readonly ttl?: number;
  /** `stale=`: seconds an expired value may still be served while one refresh runs. */
  readonly stale?: number;
  /** `errors=`: seconds a rejection is cached. */
  readonly errors?: number;
  /** `lock`: longest wait in seconds for another process computing the same cold key. */
  readonly lock?: number;
  /**
   * `timeout=`: longest wait in seconds for another caller's computation of the same key in this
   * process; then the caller runs the function itself. Absent: the configured `flightTimeout`.
   */
  readonly timeout?: number;
  /**
   * `local=`: seconds a decoded copy is kept in this process in front of the shared store (see
   * local-tier.ts). Absent: no local tier.
   */
  readonly local?: number;
  /** HTTP handlers: their kind and response-caching options. */
  readonly http?: "node" | "fetch";
  readonly ignoreQuery?: readonly string[];
  readonly vary?: readonly string[];
  readonly status?: readonly number[];
  readonly shared?: boolean;
  /**
   * `tags=user(id),catalog`: the function's tags; each argument is a position in the tag values
   * the transformed call passes (`cachedCall(spec, keyArgs, fn, [id])`).
   */
  readonly tags?: readonly TagSpec[];
  /**
   * Per tag value (in the order of the positions `tags` uses), its position among the key's
   * arguments. Emitted only when every tag argument is a key part: then a key alone tells its tag
   * values, and writes through keys.ts stamp them (tag-keys.ts).
   */
  readonly tagKeys?: readonly number[];
  /**
   * The function's version (a hash of its code, result type and key parts, or `version=`): its
   * keys are `namespace:id:@version:args`, so entries of another version are never read.
   */
  readonly version?: string;
}

/**
 * What a cached body returns to answer its caller without caching the answer. Concurrent callers
 * waiting on the same key do not share it: each runs its own call (an HTTP response that sets a
 * cookie, say, must reach only its own request).
 */
export class Uncached<T> {
  constructor(readonly value: T) {}
}

/**
 * A registered cached function with its counters. Its `errors` field is the error counter: the
 * spec's `errors=` seconds are kept in `errorsTtl`.
 */
export interface CachedFunction extends CachedFunctionSpec {
  hits: number;
  misses: number;
  errors: number;
  /** The spec's `errors=`: seconds a rejection is cached (0: never). */
  readonly errorsTtl: number;
  /** Calls answered with a value past its ttl (`stale=`). */
  staleServes: number;
  /** Hits answered by the local tier (`local=`), without a round trip; counted in `hits` too. */
  localHits: number;
}

const registry = new Map<string, CachedFunction>();
/** Id → its version, when this process registered exactly one version of it. */
const versions = new Map<string, string | undefined>();

/** The version registered for `id` (undefined when none, or when two versions were loaded). */
export function registeredVersion(id: string): string | undefined {
  return versions.get(id);
}

/**
 * Register a cached function. Called once per function at module load by transformed code; also
 * usable by hand where the transformer cannot run.
 *
 * @example
 * ```ts
 * const spec = defineCached({ v: 1, id: "users#byId", ttl: 60 });
 * const byId = (id: string) => cachedCall(spec, [id], () => db.users.find(id));
 * ```
 */
export function defineCached(spec: CachedFunctionSpec): CachedFunction {
  if (spec === null || typeof spec !== "object" || spec.v !== 1 || typeof spec.id !== "string" || spec.id === "") {
    throw new TypeError(`tscaching: unsupported cached-function spec ${JSON.stringify(spec)}; ` +
      "the code was compiled by a newer tscaching transformer than the runtime it runs with");
  }
  for (const field of ["ttl", "stale", "errors", "lock"] as const) {
    const value = spec[field];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new TypeError(`tscaching: spec "${spec.id}": ${field} must be a non-negative integer`);
    }
  }
  for (const field of ["timeout", "local"] as const) {
    const value = spec[field];
    if (value !== undefined && !(typeof value === "number" && value > 0 && value <= 86_400)) {
      throw new TypeError(`tscaching: spec "${spec.id}": ${field} must be a number of seconds above 0 and at most 86400`);
    }
  }
  checkTagSpecs(spec.id, spec.tags, spec.tagKeys);
  if (spec.version !== undefined && (typeof spec.version !== "string" || !VERSION_RE.test(spec.version))) {
    throw new TypeError(`tscaching: spec "${spec.id}": version must be 1-32 characters of A-Z a-z 0-9 _ . -`);
  }
  // One entry per id and version: two builds of a function loaded side by side keep their own keys.
  const name = spec.version === undefined ? spec.id : `${spec.id}\0${spec.version}`;
  const existing = registry.get(name);
  if (existing) return existing;
  const fn: CachedFunction & Remembered = { ...spec, v: 1, hits: 0, misses: 0, errors: 0, errorsTtl: spec.errors ?? 0, staleServes: 0,
    localHits: 0, [PREFIX]: undefined };
  registry.set(name, fn);
  versions.set(spec.id, versions.has(spec.id) && versions.get(spec.id) !== spec.version ? undefined : spec.version);
  return fn;
}

/** The registered spec of `id` built with `version` (`undefined` when its module has not loaded). */
export function registeredSpec(id: string, version: string | undefined): CachedFunction | undefined {
  return registry.get(version === undefined ? id : `${id}\0${version}`);
}

/** Every cached function registered in this process so far. */
export function cachedFunctions(): readonly CachedFunction[] {
  return [...registry.values()];
}

/**
 * Per cached function: its key prefix (its group) under the namespace it was built for, and the
 * keys of its recent single-argument calls by that argument (a number or a string).
 */
export interface Prefix {
  readonly namespace: string;
  /** The group's prefix `namespace:idPart:`, the same for every version. */
  readonly prefix: string;
  /** The prefix of this version's keys: `prefix` then `@version:` (see keys.ts versionedPrefix). */
  readonly keyPrefix: string;
  readonly keys: Map<number | string, string>;
}
/**
 * Where a registered function keeps its {@link Prefix}: a property of its own, read on every call
 * (a WeakMap lookup costs more); a symbol, so that it stays out of the function's listed fields.
 */
const PREFIX: unique symbol = Symbol("tscaching.prefix");
interface Remembered {
  [PREFIX]?: Prefix;
}
/** Most keys remembered per cached function (the memo is emptied when full). */
const KEY_MEMO_SIZE = 4096;

/** The key prefix of `spec` under `namespace`. */
export function prefixOf(spec: CachedFunction, namespace: string): Prefix {
  const known = (spec as Remembered)[PREFIX];
  if (known !== undefined && known.namespace === namespace) return known;
  const group = keyPrefix(namespace, spec.id);
  const prefix: Prefix = { namespace, prefix: group, keyPrefix: versionedPrefix(group, spec.version), keys: new Map() };
  (spec as Remembered)[PREFIX] = prefix;
  return prefix;
}

/** The key of one call (the memo serves a single number or string argument; -0 is left out, Maps equate it with 0). */
export function keyOf(prefix: Prefix, args: readonly unknown[]): string {
  if (args.length !== 1) return keyWithPrefix(prefix.keyPrefix, args);
  const arg = args[0];
  if (typeof arg !== "string" && (typeof arg !== "number" || Object.is(arg, -0))) return keyWithPrefix(prefix.keyPrefix, args);
  let key = prefix.keys.get(arg);
  if (key === undefined) {
    key = keyWithPrefix(prefix.keyPrefix, args);
    if (prefix.keys.size >= KEY_MEMO_SIZE) prefix.keys.clear();
    prefix.keys.set(arg, key);
  }
  return key;
}
