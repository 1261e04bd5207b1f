/**
 * One cached HTTP exchange, whatever the handler's style: who may share an entry, the lookup under
 * the primary key and (for a response that carried `Vary`) the secondary one, and what happens to
 * an entry that is not a response this handler stored. Never throws but what the handler throws.
 */
import { cache } from "../cache";
import { keyHelper } from "../key-helpers";
import { cachedCall, Uncached, type CachedFunctionSpec } from "../call";
import { CacheError } from "../config";
import { report, state } from "../state";
import type { HeaderLookup } from "./request-key";
import { isCachedResponse, isVaryRecord, varyOf, type CachedResponse, type VaryRecord } from "./response";

/** What running the handler gave: a response to store, or one to hand back unstored. */
export type Captured = CachedResponse | Uncached<CachedResponse>;

/** How a request was answered: by its own handler run, from an entry, or not at all yet (foreign entry). */
export type Outcome =
  | { readonly kind: "ran" }
  | { readonly kind: "hit"; readonly response: CachedResponse }
  | { readonly kind: "foreign" };

const RAN: Outcome = { kind: "ran" };
/** Request headers that always carry credentials. */
const ALWAYS_PRIVATE = ["authorization", "cookie", "proxy-authorization"];
const DEFAULT_PRIVATE = ["x-api-key"];
/** Separates the primary parts from the varied headers in a secondary key. */
const VARY_MARK = "\u0000vary";

/**
 * Whether a request carries credentials (`Authorization`, `Cookie`, `Proxy-Authorization` or a
 * configured `http.privateHeaders` name, even empty): it is then never answered from, or stored
 * into, a shared entry, unless the tag says `shared`.
 */
export function isPrivateRequest(spec: Pick<CachedFunctionSpec, "shared">, header: HeaderLookup): boolean {
  if (spec.shared === true) return false;
  let configured: readonly string[];
  try {
    configured = state().options.http?.privateHeaders ?? DEFAULT_PRIVATE;
  } catch {
    configured = DEFAULT_PRIVATE; // a broken setup is reported by the call path; stay strict here
  }
  const present = (name: string) => {
    const value = header(name);
    return value !== undefined && value !== null;
  };
  return ALWAYS_PRIVATE.some(present) || configured.some(present);
}

/** The secondary key of a varying response: the primary parts, then each varied header and its value. */
function secondaryParts(parts: readonly unknown[], vary: readonly string[], header: HeaderLookup): unknown[] {
  const out = [...parts, VARY_MARK];
  for (const name of vary) out.push(name, header(name) ?? null);
  return out;
}

/**
 * Look the request up and, on a miss, run `compute` (the handler, answering its own caller while
 * its response is recorded). A response with `Vary` is stored under the secondary key of this
 * request's values of those headers, and a {@link VaryRecord} under the primary key; one that
 * varies on `*` is not stored. Rejects only when the handler does.
 */
export async function lookup(spec: CachedFunctionSpec, parts: readonly unknown[], header: HeaderLookup,
                             compute: () => Promise<Captured>): Promise<Outcome> {
  let ran = false;
  const value = await cachedCall<unknown>(spec, parts, async () => {
    ran = true;
    return storePrimary(spec, parts, header, await compute());
  });
  if (ran) return RAN;
  const statuses = spec.status ?? [200];
  if (isCachedResponse(value, statuses)) return { kind: "hit", response: value };
  if (!isVaryRecord(value)) return foreign(spec, parts);
  const second = secondaryParts(parts, value.vary, header);
  let ranSecond = false;
  const response = await cachedCall<unknown>(spec, second, async () => {
    ranSecond = true;
    const captured = await compute();
    if (captured instanceof Uncached) return captured;
    // Varying on a header the record does not name: this key does not tell its variants apart.
    const vary = varyOf(captured.headers);
    return vary !== "*" && vary.every((name) => value.vary.includes(name)) ? captured : new Uncached(captured);
  });
  if (ranSecond) return RAN;
  return isCachedResponse(response, statuses) ? { kind: "hit", response } : foreign(spec, second);
}

async function storePrimary(spec: CachedFunctionSpec, parts: readonly unknown[], header: HeaderLookup,
                            captured: Captured): Promise<Captured | VaryRecord | Uncached<unknown>> {
  if (captured instanceof Uncached) return captured;
  const vary = varyOf(captured.headers);
  if (vary === "*") return new Uncached(captured);
  if (vary.length === 0) return captured;
  // Stored before the record, so that requests which joined this flight find their variant.
  await cachedCall(spec, secondaryParts(parts, vary, header), () => captured);
  const record: VaryRecord = { vary };
  return record;
}

/** An entry this handler cannot have stored (foreign, truncated, wrong shape): reported, removed, answered by the handler. */
async function foreign(spec: CachedFunctionSpec, parts: readonly unknown[]): Promise<Outcome> {
  let key: string | undefined;
  try {
    key = keyHelper(spec.id)(...parts);
  } catch {
    // The key was built once already; if it cannot be now, there is nothing to remove.
  }
  report(new CacheError("EDECODE", `tscaching: the entry for "${spec.id}" is not a response this handler stored; ` +
    "the handler answered uncached and the entry was removed", { id: spec.id, key }));
  if (key !== undefined) await cache.delete(key as never);
  return { kind: "foreign" };
}

/** Report a request the default key cannot be built for (it runs uncached). */
export function reportUnkeyable(spec: CachedFunctionSpec, reason: string, cause?: unknown): void {
  report(new CacheError("EKEY", `tscaching: "${spec.id}" got ${reason}; ran uncached`, { id: spec.id, cause }));
}
