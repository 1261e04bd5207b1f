/**
 * `tscaching/testing`: checks for your own test suite that the transform really reached a function,
 * whatever runner compiled it. A function can be half-transformed: its id registered (the
 * `defineCached` call at module load) while its calls still run the original body, so looking at
 * the registry alone proves nothing. These helpers call the function and check that the runtime's
 * counters for cached calls moved.
 *
 * @example
 * ```ts
 * import { assertCached, expectTransformed } from "tscaching/testing";
 * test("getUser is cached", async () => {
 *   await expectTransformed(() => getUser("bob"));   // the call went through the cache
 *   await assertCached(() => getUser("alice"));      // and a second call is served from it
 * });
 * ```
 */
import { cachedFunctions, type CachedFunction } from "./call";
import { state } from "./state";

type Counters = Map<string, { calls: number; hits: number }>;

function counters(): Counters {
  const snapshot: Counters = new Map();
  for (const f of cachedFunctions() as readonly CachedFunction[]) {
    snapshot.set(f.id, { calls: f.hits + f.misses + f.errors + f.staleServes, hits: f.hits + f.staleServes });
  }
  return snapshot;
}

/** Ids whose counters moved between two snapshots, with the hits gained. */
function moved(before: Counters, after: Counters): Map<string, number> {
  const result = new Map<string, number>();
  for (const [id, now] of after) {
    const then = before.get(id) ?? { calls: 0, hits: 0 };
    if (now.calls > then.calls) result.set(id, now.hits - then.hits);
  }
  return result;
}

function requireEnabled(helper: string): void {
  if (!state().options.enabled) {
    throw new Error(`tscaching: ${helper}() cannot tell: caching is disabled in this process (configure({ enabled: false }))`);
  }
}

/**
 * Call `probe` (a call of the function under test) and fail unless the call went through the cache
 * runtime: some cached function's hit, miss or error counter must move. Resolves with the result.
 * Fails for a function that is not tagged, not transformed, or only half-transformed.
 * @param id when given, that function's counters must be the ones that moved
 */
export async function expectTransformed<T>(probe: () => T | PromiseLike<T>, id?: string): Promise<T> {
  requireEnabled("expectTransformed");
  const before = counters();
  const result = await probe();
  const changed = moved(before, counters());
  if (id !== undefined ? !changed.has(id) : changed.size === 0) {
    const registered = cachedFunctions().map((f) => f.id);
    throw new Error(`tscaching: the call did not go through the cache${id !== undefined ? ` as '${id}'` : ""}: ` +
      "the function was not transformed (or only its registration was), so every call runs its body. " +
      `Registered ids: ${registered.length > 0 ? registered.join(", ") : "none"}.`);
  }
  return result;
}

/**
 * Call `probe` twice and fail unless the second call was served from the cache (a hit). Resolves
 * with the second result. Use arguments no earlier test cached, or it passes on the first call's hit too.
 * @param id when given, that function's hit counter must be the one that moved
 */
export async function assertCached<T>(probe: () => T | PromiseLike<T>, id?: string): Promise<T> {
  await expectTransformed(probe, id);
  requireEnabled("assertCached");
  const before = counters();
  const result = await probe();
  const changed = moved(before, counters());
  const hits = id !== undefined ? changed.get(id) ?? 0 : [...changed.values()].reduce((a, b) => a + b, 0);
  if (hits === 0) {
    throw new Error(`tscaching: the second call was not served from the cache${id !== undefined ? ` as '${id}'` : ""} ` +
      "(a miss or an error: is the value cacheable, and is the ttl above 0?)");
  }
  return result;
}
