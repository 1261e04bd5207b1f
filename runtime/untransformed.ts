/**
 * "Never silently uncached": when code names a cached function's id (a `keys.*` helper call,
 * `cache.keyOf`, `cache.invalidate`) and no module loaded in this process registered that id, the
 * function most likely runs untransformed, so every call runs its body. Warn once per id, naming
 * the fix for the runner this process runs under.
 *
 * The check runs at the cache operation, never when a helper is created: keys.ts is often imported
 * before the module that registers the function. And a process that only administers the cache (a
 * script that invalidates through keys.ts without loading the functions) must stay quiet, so the
 * warning needs evidence that the function's code runs here untransformed: its module is among the
 * CommonJS modules loaded, or the process runs TypeScript from source under a runner (jest, vitest,
 * ts-node, tsx) where a missing transform is the usual cause. ES modules built by plain `tsc` and
 * run by node give no such evidence and are not warned about.
 */
import { cachedFunctions } from "./call";

/** Ids already warned about (once per id per process). */
const warned = new Set<string>();
/** Groups made by `cache.group(name)`: names of `cache.key()` families, never registered by a function. */
const ownGroups = new WeakSet<object>();

/** Mark a `cache.group()` result, which names a family of the user's own keys, not a cached function. */
export function markOwnGroup<G extends object>(group: G): G {
  ownGroups.add(group);
  return group;
}

type Runner = "jest" | "vitest" | "ts-node" | "tsx";

/** The runner executing TypeScript from source in this very process (not inherited from a parent), if any. */
function detectRunner(): Runner | undefined {
  const global = globalThis as Record<string | symbol, unknown>;
  if (global.__vitest_worker__ !== undefined) return "vitest";
  if (process.env.JEST_WORKER_ID !== undefined && global.expect !== undefined) return "jest";
  if ((process as unknown as Record<symbol, unknown>)[Symbol.for("ts-node.register.instance")] !== undefined) return "ts-node";
  if (global[Symbol.for("tsx:global-cjs-loader-count")] !== undefined) return "tsx";
  return undefined;
}

/** The way to apply the transform under the runner this process runs in. */
export function runnerAdvice(runner = detectRunner()): string {
  switch (runner) {
    case "jest": return 'under jest, add the transformer to ts-jest: ["ts-jest", { astTransformers: { before: ["tscaching/jest"] } }]';
    case "vitest": return 'under vitest, add the plugin: plugins: [tscaching()] from "tscaching/vite" in vitest.config';
    case "ts-node": return 'under ts-node, run it with --compiler ts-patch/compiler and the tsconfig plugin { "transform": "tscaching/transformer" }';
    case "tsx": return "under tsx, add --import tscaching/register (tsx --import tscaching/register src/main.ts)";
    default: return 'build with tspc (ts-patch) and the tsconfig plugin { "transform": "tscaching/transformer" }, ' +
      "or a bundler plugin (tscaching/vite, /esbuild, /webpack, /rollup)";
  }
}

/**
 * Is a CommonJS module that could define `id` loaded? `src/db#DB.get` is defined in `src/db`: a
 * loaded file ending in `src/db` or, for built output (`dist/db.js`), in `db`.
 */
function moduleLoaded(id: string): boolean {
  const hash = id.indexOf("#");
  if (hash <= 0) return false;
  const modulePath = id.slice(0, hash);
  const endings = [`/${modulePath}`, `/${modulePath.slice(modulePath.lastIndexOf("/") + 1)}`];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = typeof require === "function" ? Object.keys(require.cache) : [];
  return loaded.some((file) => {
    const stem = file.replace(/\\/g, "/").replace(/\.[cm]?[jt]sx?$/, "");
    return !stem.includes("/node_modules/") && endings.some((ending) => stem.endsWith(ending));
  });
}

/** Ids found registered: the registry only grows, so a found id needs no second look (keeps key building cheap). */
const confirmed = new Set<string>();

function isRegistered(id: string): boolean {
  if (confirmed.has(id)) return true;
  for (const f of cachedFunctions()) confirmed.add(f.id);
  return confirmed.has(id);
}

/**
 * Warn (once per id) when `id` names no cached function registered in this process. `group` is the
 * object `cache.invalidate()` was given, so a `cache.group()` family is never warned about.
 */
export function checkRegistered(id: string, group?: object): void {
  if (warned.has(id) || (group !== undefined && ownGroups.has(group)) || isRegistered(id)) return;
  const runner = detectRunner();
  if (runner === undefined && !moduleLoaded(id)) return;
  warned.add(id);
  process.emitWarning(
    `tscaching: no cached function '${id}' is registered in this process: it was not transformed, so every ` +
    `call runs its body (or its module is not loaded here). To apply the transform: ${runnerAdvice(runner)}.`,
    { code: "TSCACHING_UNTRANSFORMED" },
  );
}
