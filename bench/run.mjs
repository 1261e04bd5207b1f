#!/usr/bin/env node
// `npm run bench`: tscaching against the physical floor and its peers, side by side in one run.
//
//   node bench/run.mjs                 full run (~5-8 min on 2 cores): results in bench/results/latest.json,
//                                      bench/results/chart.svg and BENCHMARKS.md
//   node bench/run.mjs --smoke         seconds; tiny sizes; writes to bench/.tmp/smoke (or --out)
//   options: --out <dir>   where results (and, for --smoke, BENCHMARKS.md) go
//            --redis <url>  use this Redis for hit-redis instead of starting a redis-server
//            --servers <host:port>   use a running memcached instead of starting one (never flushed)
//            --only <suite,...>      hit-memcached, hit-redis, hit-memory, hit-local, sizes, stampede, tags, build
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { memcachedVersion, redisVersion, startMemcached, startRedis } from "./lib/memcached.mjs";
import { evaluateGoals, textReport, writeReport } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const { values: opts } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    servers: { type: "string" },
    redis: { type: "string" },
    only: { type: "string" },
  },
});
const started = Date.now();
const SUITES = ["hit-memcached", "hit-redis", "hit-memory", "hit-local", "sizes", "stampede", "tags", "build"];
const only = opts.only ? opts.only.split(",") : SUITES;
for (const s of only) if (!SUITES.includes(s)) throw new Error(`unknown suite ${s} (known: ${SUITES.join(", ")})`);

const scale = opts.smoke
  ? { rounds: 3, keys: 64, serialOps: 100, concurrentOps: 320, memoryOps: 2000, sizeBudgetBytes: 300_000, minSizeOps: 4,
    codecBudgetBytes: 500_000, stampedeRounds: 1, callers: 1000, bodyMs: 20, buildFiles: 20, buildTagged: 40, buildRounds: 1 }
  : { rounds: 7, keys: 1024, serialOps: 3000, concurrentOps: 12_800, memoryOps: 100_000, sizeBudgetBytes: 6_000_000, minSizeOps: 30,
    codecBudgetBytes: 8_000_000, stampedeRounds: 5, callers: 1000, bodyMs: 20, buildFiles: 1000, buildTagged: 2000, buildRounds: 5 };

const workDir = join(here, ".tmp");
mkdirSync(workDir, { recursive: true });
const outDir = resolve(opts.out ?? (opts.smoke ? join(workDir, "smoke") : join(here, "results")));
mkdirSync(outDir, { recursive: true });

const log = (...args) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s]`, ...args);
const pkgVersion = (name) => {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
};

// The bench project imports "tscaching" by name, as users do: link the package once (scripts/demo.mjs does the same).
const self = join(root, "node_modules", "tscaching");
if (!existsSync(self)) {
  try {
    symlinkSync("..", self, "dir");
  } catch (err) {
    if (err.code !== "EEXIST") throw err;
  }
}
if (!existsSync(join(root, "dist/runtime/index.js"))) throw new Error("dist/ is missing: run `npm run build` first");

log("building bench/project with tspc + tscaching/transformer");
const tspc = join(root, "node_modules/ts-patch/bin/tspc.js");
const projectDir = join(here, "project");
const built = spawnSync(process.execPath, [tspc, "-p", join(projectDir, "tsconfig.json")], { cwd: projectDir, encoding: "utf8" });
if (built.status !== 0) {
  console.error(`${built.stdout}${built.stderr}`);
  throw new Error(`tspc failed to build bench/project (exit ${built.status})`);
}
const tagged = readFileSync(join(projectDir, "dist/tagged.js"), "utf8");
if (!tagged.includes("cachedCall(")) throw new Error("bench/project/dist/tagged.js holds no cachedCall: the transformer did not run");

const needsServer = only.some((s) => s !== "build" && s !== "hit-memory" && s !== "hit-redis");
let memcached;
let servers = opts.servers;
if (needsServer && !servers) {
  memcached = await startMemcached({ memoryMb: 256 });
  servers = memcached.address;
  log(`memcached pid ${memcached.pid} on ${servers}`);
}

let redisServer;
const redisUrl = () => opts.redis ?? (redisServer ? `redis://${redisServer.address}` : undefined);
if (only.includes("hit-redis") && !opts.redis) {
  redisServer = await startRedis({ memoryMb: 256 });
  log(`redis-server pid ${redisServer.pid} on ${redisServer.address}`);
}

const namespace = `b${process.pid}${Date.now().toString(36)}`;
const results = {
  meta: {
    date: new Date().toISOString(),
    mode: opts.smoke ? "smoke" : "full",
    node: process.versions.node,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model?.trim() ?? "?",
    memoryGb: os.totalmem() / 2 ** 30,
    loadavg: os.loadavg(),
    memcached: needsServer ? memcachedVersion() : undefined,
    redis: only.includes("hit-redis") ? redisVersion() : undefined,
    memcachedSource: memcached ? "started by the bench, -m 256 -t 1, stopped by PID at the end" : servers ? `external ${servers}` : "not used",
    packages: Object.fromEntries(["typescript", "ts-patch", "memjs", "lru-cache", "cache-manager", "keyv", "@keyv/memcache", "ioredis", "@keyv/redis",
      "@type-cacheable/core", "typescript-memoize", "bentocache"].map((n) => [n, pkgVersion(n)])),
    scale,
    failedSuites: [],
    resultsFile: relative(root, join(outDir, "latest.json")),
    commands: [
      opts.smoke ? "npm run bench:smoke   # = npm run build && node bench/run.mjs --smoke" : "npm run bench   # = npm run build && node bench/run.mjs",
      "node node_modules/ts-patch/bin/tspc.js -p bench/project/tsconfig.json   # done by run.mjs: the tagged functions",
      "node --expose-gc bench/worker.mjs <suite> '<config>' <result.json>       # one process per suite, spawned by run.mjs",
      "node bench/gen-project.mjs <dir> 1000 2000                               # the build-cost project",
      "node --single-threaded bench/lib/plugin-share.cjs . <dir>/tsconfig.json 3 <result.json>   # the plugin's cost inside one compiler process",
      "node bench/report.mjs bench/results/latest.json                           # re-render BENCHMARKS.md and the chart",
    ],
  },
  checks: {},
};

let failed = false;
async function runSuite(suite, key, extra = {}) {
  log(`suite ${suite}`);
  const resultFile = join(workDir, `result-${process.pid}-${suite}.json`);
  const config = { servers, redis: redisUrl(), namespace, scale, ...extra };
  const child = spawn(process.execPath, ["--expose-gc", join(here, "worker.mjs"), suite, JSON.stringify(config), resultFile], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  // A guard against a hung suite only: on a loaded machine the build suite alone can take 10 minutes.
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.smoke ? 60_000 : 1_500_000);
  const [status, signal] = await new Promise((resolve) => child.once("exit", (code, sig) => resolve([code, sig])));
  clearTimeout(timer);
  if (status !== 0 || !existsSync(resultFile)) {
    console.error(`suite ${suite} failed (exit ${status}${signal ? `, ${signal}` : ""})`);
    results.meta.failedSuites.push(`${suite} (exit ${status}${signal ? `, ${signal}` : ""})`);
    failed = true;
    return;
  }
  const result = JSON.parse(readFileSync(resultFile, "utf8"));
  rmSync(resultFile, { force: true });
  log(`suite ${suite} done in ${result.seconds.toFixed(0)} s`);
  results[key] = result;
  results.checks[suite] = result.checks;
}

// warmUp: false, since tspc has just built bench/project above (and so filled ts-patch's cache).
const buildSuite = () => only.includes("build")
  ? runSuite("build", "buildCost", { build: { root, files: scale.buildFiles, tagged: scale.buildTagged, rounds: scale.buildRounds,
    workDir, withNoPlugin: !opts.smoke, withPatched: !opts.smoke, warmUp: false } })
  : Promise.resolve();
// Smoke mode only proves that everything runs: the compilers then run alongside the runtime suites.
const buildInParallel = opts.smoke ? buildSuite() : undefined;
try {
  if (only.includes("hit-memcached")) await runSuite("hit-memcached", "hitMemcached");
  if (only.includes("hit-redis")) await runSuite("hit-redis", "hitRedis");
  if (only.includes("hit-memory")) await runSuite("hit-memory", "hitMemory");
  if (only.includes("hit-local")) await runSuite("hit-local", "hitLocal");
  if (only.includes("sizes")) await runSuite("sizes", "sizes");
  if (only.includes("stampede")) await runSuite("stampede", "stampede");
  if (only.includes("tags")) await runSuite("tags", "tags");
} finally {
  if (memcached) {
    await memcached.stop();
    log(`memcached pid ${memcached.pid} stopped`);
  }
  if (redisServer) {
    await redisServer.stop();
    log(`redis-server pid ${redisServer.pid} stopped`);
  }
}
await (buildInParallel ?? buildSuite());
if (results.buildCost) {
  delete results.buildCost.suite;
  delete results.buildCost.seconds;
  if (results.buildCost.build.failures.length > 0) failed = true;
}

results.meta.totalSeconds = (Date.now() - started) / 1000;
results.goals = evaluateGoals(results);
writeFileSync(join(outDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
const mdPath = opts.smoke || opts.out ? join(outDir, "BENCHMARKS.md") : join(root, "BENCHMARKS.md");
writeReport(results, { mdPath, svgPath: join(outDir, "chart.svg") });
console.log(textReport(results));
log(`wrote ${relative(process.cwd(), join(outDir, "latest.json"))}, ${relative(process.cwd(), mdPath)}, ${relative(process.cwd(), join(outDir, "chart.svg"))}`);
process.exit(failed ? 1 : 0);
