/**
 * Keeps the benchmark from rotting: `bench/run.mjs --smoke` (what `npm run bench:smoke` runs after
 * the build) must run every suite in its smallest mode against the test memcached and produce
 * numbers, the report and the chart. It asserts nothing about speed: that is BENCHMARKS.md's job.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, inject, test } from "vitest";
import { repoRoot } from "../helpers/project";

interface Comparison {
  contenders: { name: string; usPerOp: number; opsPerSec: number }[];
  ratios: { a: string; b: string; median: number }[];
}

interface Results {
  hitMemcached: { results: Comparison[] };
  hitRedis: { results: Comparison[] };
  hitMemory: { results: Comparison[] };
  hitLocal: { results: Comparison[]; checks: { timedLocalHits: number[]; tscachingErrors: number } };
  sizes: { results: Comparison[] };
  stampede: { callers: number; contenders: { name: string; executionsMax: number; msMedian: number }[] };
  buildCost: { build: { variants: { secondsMedian: number; cpuSecondsMedian: number; rssMbMedian: number }[]; ratioPluginVsTsc: number;
    cpuRatioPluginVsTsc: number; pluginShare: { transformMs: number; scanMs: number; compileMs: number; share: number }; failures: string[] } };
  goals: { item: number; value: number }[];
}

const positive = (x: number) => Number.isFinite(x) && x > 0;

test("the benchmark runs in smoke mode and produces numbers, the report and the chart", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-bench-smoke-"));
  const started = Date.now();
  const run = spawnSync(process.execPath, [path.join(repoRoot, "bench/run.mjs"), "--smoke", "--out", out,
    "--servers", inject("memcached"), "--redis", `redis://${inject("redis")}`], { cwd: repoRoot, encoding: "utf8", timeout: 58_000 });
  const output = `${run.stdout}${run.stderr}`;
  expect(run.error, output).toBeUndefined();
  expect(run.status, output).toBe(0);
  expect(Date.now() - started).toBeLessThan(60_000);

  const results = JSON.parse(fs.readFileSync(path.join(out, "latest.json"), "utf8")) as Results;
  const comparisons = [...results.hitMemcached.results, ...results.hitMemory.results, ...results.sizes.results, ...results.hitRedis.results];
  expect(comparisons.length).toBe(9); // serial + 64 concurrent, memory (default and shareValues), three sizes, Redis serial + 64 concurrent
  for (const c of comparisons) {
    for (const x of c.contenders) expect(positive(x.usPerOp) && positive(x.opsPerSec), `${x.name}: ${x.usPerOp}`).toBe(true);
    for (const r of c.ratios) expect(positive(r.median), `${r.a} ÷ ${r.b}`).toBe(true);
  }
  expect(results.hitMemcached.results[0].contenders.map((c) => c.name)).toEqual([
    "tscaching", "memjs get + JSON.parse (floor)", "cache-manager wrap (Keyv memcache)", "type-cacheable @Cacheable (memjs client)",
  ]);
  expect(results.hitRedis.results[0].contenders.map((c) => c.name)).toEqual([
    "tscaching", "ioredis get + JSON.parse (floor)", "cache-manager wrap (@keyv/redis)",
  ]);
  // The local tier (issue 16): both modes, every timed tscaching call a local hit.
  expect(results.hitLocal.results.map((c) => c.contenders[0].name)).toEqual(
    ["tscaching local hit", "tscaching local hit (shareValues)", "tscaching local miss, shared hit"]);
  expect(results.hitLocal.checks.timedLocalHits.every((n) => n > 0)).toBe(true);
  expect(results.hitLocal.checks.tscachingErrors).toBe(0);
  expect(results.stampede.callers).toBe(1000);
  for (const c of results.stampede.contenders) {
    expect(c.executionsMax, c.name).toBeGreaterThanOrEqual(1);
    expect(positive(c.msMedian), c.name).toBe(true);
  }
  expect(results.buildCost.build.failures).toEqual([]);
  for (const v of results.buildCost.build.variants) expect(positive(v.secondsMedian) && positive(v.cpuSecondsMedian) && positive(v.rssMbMedian)).toBe(true);
  expect(positive(results.buildCost.build.ratioPluginVsTsc) && positive(results.buildCost.build.cpuRatioPluginVsTsc)).toBe(true);
  // The in-process measurement ran the transformer (it throws unless the output holds cachedCall).
  const share = results.buildCost.build.pluginShare;
  expect(positive(share.transformMs) && positive(share.scanMs) && positive(share.compileMs) && Number.isFinite(share.share), JSON.stringify(share)).toBe(true);
  expect(results.goals.map((g) => g.item)).toEqual(expect.arrayContaining([1, 2, 3, 4, 5, 6]));

  expect(run.stdout).toMatch(/tscaching ÷ this = \d+\.\d+×/);
  expect(fs.readFileSync(path.join(out, "BENCHMARKS.md"), "utf8")).toMatch(/## Goals[\s\S]*\| 1 \| memcached hit, serial/);
  expect(fs.readFileSync(path.join(out, "chart.svg"), "utf8")).toMatch(/^<svg [\s\S]*<rect [\s\S]*<\/svg>\n$/);
  fs.rmSync(out, { recursive: true, force: true });
}, 60_000);
