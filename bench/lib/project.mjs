// The bench project as built by tspc (bench/project/dist), loaded as CommonJS like a user's app.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, sep } from "node:path";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../project/dist/index.js", import.meta.url));

/**
 * The bench project's exports. With `fresh`, a second, independent instance: the project and the
 * tscaching runtime are loaded again (Node's module cache is cleared of them first), so that two
 * runtime configurations can be measured side by side in one process.
 */
export function loadProject({ fresh = false } = {}) {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run node bench/run.mjs (it builds the bench project)`);
  const require = createRequire(import.meta.url);
  if (fresh) {
    const runtimeDir = dirname(require.resolve("tscaching", { paths: [dirname(entry)] }));
    const projectDir = dirname(entry);
    for (const file of Object.keys(require.cache)) {
      if (file.startsWith(projectDir + sep) || file.startsWith(runtimeDir + sep)) delete require.cache[file];
    }
  }
  return require(entry);
}

/** Resolves when every call of `fn` on ids 0..count-1 has been made once (fills the cache). */
export async function preload(fn, count) {
  for (let i = 0; i < count; i++) await fn(i);
}

/** Throws unless every contender returns the same JSON for the sample ids. */
export async function assertSameValues(fns, ids) {
  for (const id of ids) {
    const texts = await Promise.all(Object.entries(fns).map(async ([name, fn]) => [name, JSON.stringify(await fn(id))]));
    for (const [name, text] of texts) {
      if (text !== texts[0][1]) throw new Error(`${name} returned ${text.slice(0, 80)} for ${id}, ${texts[0][0]} ${texts[0][1].slice(0, 80)}`);
    }
  }
}
