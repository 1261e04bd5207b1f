/**
 * Robustness on a real codebase (this repository's own sources, fixtures and tests, which mention
 * `@cache` in comments and strings everywhere): untagged, the output is byte-identical to tsc's;
 * with a tag on every async function and method, nothing crashes, declarations do not change and
 * the emitted JS parses. `node scripts/corpus-check.mjs <folder>` runs the same check on any project.
 */
import * as path from "node:path";
import { expect, test } from "vitest";
import { repoRoot } from "../helpers/project";

test.each(["commonjs", "esnext"])("the repository as a corpus (%s)", async (module) => {
  const { checkCorpus } = await import(path.join(repoRoot, "scripts/corpus-check.mjs"));
  const summary = checkCorpus(repoRoot, { module });
  expect(summary.problems).toEqual([]);
  expect(summary.files).toBeGreaterThan(40);
  expect(summary.tags).toBeGreaterThan(100);
  expect(summary.rewrittenFiles).toBeGreaterThan(10);
}, 120_000);
