/**
 * "Never silently uncached": when code names a cached function's id (a `keys.*` helper call,
 * `cache.keyOf`, `cache.invalidate`) and no module loaded in this process registered that id, the
 * function most likely runs untransformed, so every call runs its body. Warn once per id, naming
 * the fix for the runner this process runs under.
 *
 * The check runs at the cache operation, never when a helper is created: keys.ts is often imported
 * before the module that registers the function.
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

/** The way to apply the transform under the runner this process runs in. */
export function runnerAdvice(): string {
  const env = process.env;
  if (env.JEST_WORKER_ID !== undefined) {
    return 'under jest, add the transformer to ts-jest: ["ts-jest", { astTransformers: { before: ["tscaching/jest"] } }]';
  }
  if (env.VITEST !== undefined) return 'under vitest, add the plugin: plugins: [tscaching()] from "tscaching/vite" in vitest.config';
  if ((process as unknown as Record<symbol, unknown>)[Symbol.for("ts-node.register.instance")] !== undefined) {
    return "under ts-node, run it with --compiler ts-patch/compiler and the tsconfig plugin " +
      '{ "transform": "tscaching/transformer" }';
  }
  const tsxLoaders = (globalThis as Record<symbol, unknown>)[Symbol.for("tsx:global-cjs-loader-count")];
  if (tsxLoaders !== undefined || /(^|[\\/\s])tsx([\\/\s]|$)/.test(`${process.execArgv.join(" ")} ${process.argv[1] ?? ""}`)) {
    return "under tsx, add --import tscaching/register (tsx --import tscaching/register src/main.ts)";
  }
  return 'build with tspc (ts-patch) and the tsconfig plugin { "transform": "tscaching/transformer" }, ' +
    "or a bundler plugin (tscaching/vite, /esbuild, /webpack, /rollup)";
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
  warned.add(id);
  process.emitWarning(
    `tscaching: no cached function '${id}' is registered in this process: its module is not loaded here, ` +
    `or it was not transformed and every call runs its body. To apply the transform: ${runnerAdvice()}.`,
    { code: "TSCACHING_UNTRANSFORMED" },
  );
}
