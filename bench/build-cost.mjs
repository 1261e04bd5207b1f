// Item 5: build cost on a generated project. Plain `tsc`, `tspc` with the tscaching plugin, `tspc`
// without it (ts-patch's own share) and, optionally, `tsc` from a copy of TypeScript patched in place
// by `ts-patch install` (what a user who patches once pays) run alternately for several rounds; then
// `tscaching keys` when the CLI exists. Per run: wall time, CPU time (user + system, which other
// processes' load disturbs far less than wall time on a shared machine) and peak memory, from
// /usr/bin/time -v (or, without it, a wrapper reading process.resourceUsage()). Last, the plugin's own
// cost inside one compiler process (lib/plugin-share.cjs), where neither process start-up nor the
// differences between two separate runs blur it.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { dirname, join, relative } from "node:path";
import { generateProject } from "./gen-project.mjs";
import { median } from "./lib/measure.mjs";

function timeV() {
  if (!existsSync("/usr/bin/time")) return false;
  return spawnSync("/usr/bin/time", ["-v", "true"], { encoding: "utf8" }).status === 0;
}

function run(args, cwd, useTime) {
  const rssFile = join(cwd, `.rss-${process.pid}`);
  const command = useTime
    ? ["/usr/bin/time", ["-v", process.execPath, ...args]]
    : [process.execPath, [new URL("./lib/rss-wrapper.cjs", import.meta.url).pathname, ...args]];
  const start = process.hrtime.bigint();
  const result = spawnSync(command[0], command[1], {
    cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, BENCH_RSS_FILE: rssFile },
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  let rssMb;
  let cpuSeconds;
  if (useTime) {
    const text = result.stderr ?? "";
    const field = (name) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(text)?.[1] ?? NaN);
    rssMb = field("Maximum resident set size \\(kbytes\\)") / 1024;
    cpuSeconds = field("User time \\(seconds\\)") + field("System time \\(seconds\\)");
  } else {
    const [rss, cpu] = existsSync(rssFile) ? readFileSync(rssFile, "utf8").split(" ").map(Number) : [NaN, NaN];
    rssMb = rss / 1024;
    cpuSeconds = cpu / 1e6;
    rmSync(rssFile, { force: true });
  }
  const stderr = useTime ? (result.stderr ?? "").split("\tCommand being timed")[0] : result.stderr ?? "";
  return { status: result.status, seconds, cpuSeconds, rssMb, output: `${result.stdout ?? ""}${stderr}`.trim() };
}

function countFiles(dir, predicate) {
  let n = 0;
  for (const f of readdirSync(dir, { recursive: true })) {
    const p = join(dir, f);
    if (statSync(p).isFile() && predicate(p)) n++;
  }
  return n;
}

/**
 * A copy of the repository's TypeScript patched by `ts-patch install`, in `workDir`; never the
 * repository's own package. Returns the copy's folder; throws if the repository's copy changed.
 */
function patchedTypeScriptCopy(root, workDir) {
  const original = join(root, "node_modules/typescript");
  const watched = ["lib/_tsc.js", "lib/typescript.js", "lib/typescript.d.ts"].filter((f) => existsSync(join(original, f)));
  const stamp = () => watched.map((f) => `${f}:${statSync(join(original, f)).size}:${statSync(join(original, f)).mtimeMs}`).join(" ");
  const before = stamp();
  const base = mkdtempSync(join(workDir, "ts-patched-"));
  const copy = join(base, "node_modules/typescript");
  mkdirSync(dirname(copy), { recursive: true });
  cpSync(original, copy, { recursive: true });
  // Run from inside the copy and name it: ts-patch patches the TypeScript it resolves from --dir.
  // Its cache of originals goes to the copy's folder too.
  const result = spawnSync(process.execPath, [join(root, "node_modules/ts-patch/bin/ts-patch.js"), "install", "--dir", copy, "--silent"], {
    cwd: base, encoding: "utf8", env: { ...process.env, TSP_CACHE_DIR: join(base, "tsp-cache") },
  });
  if (stamp() !== before) throw new Error("ts-patch install changed the repository's own TypeScript: reinstall it (npm ci)");
  // TypeScript 5.x keeps the compiler in lib/_tsc.js (lib/tsc.js loads it); ts-patch heads what it patched.
  const compiler = ["lib/_tsc.js", "lib/tsc.js"].map((f) => join(copy, f)).find(existsSync);
  if (result.status !== 0 || !readFileSync(compiler, "utf8").startsWith("/// tsp-module")) {
    throw new Error(`ts-patch install failed on the copy (exit ${result.status}): ${`${result.stdout}${result.stderr}`.slice(0, 500)}`);
  }
  return base;
}

/** Per-round ratios a ÷ b, for the rounds both ran in (secondary variants run in the first rounds only). */
const ratioOf = (runs, a, b, field) => (runs[a] && runs[b]
  ? runs[a].slice(0, runs[b].length).map((x, i) => x[field] / runs[b][i][field])
  : []);

/** Runs the build-cost comparison; `root` is the repository. */
export function runBuildCost({ root, files, tagged, rounds, workDir, withNoPlugin = true, withPatched = true,
                              secondaryRounds = Math.min(rounds, 2), shareRounds = Math.min(rounds, 3), warmUp = true, log }) {
  const loadBefore = os.loadavg();
  const dir = mkdtempSync(join(workDir, "gen-"));
  const generated = generateProject(dir, { files, tagged });
  const useTime = timeV();
  const tsc = relative(dir, join(root, "node_modules/typescript/bin/tsc"));
  const tspc = relative(dir, join(root, "node_modules/ts-patch/bin/tspc.js"));
  let patchedBase;
  if (withPatched) {
    log?.("build: ts-patch install on a copy of typescript");
    patchedBase = patchedTypeScriptCopy(root, workDir);
  }
  const variants = [
    { name: "tsc", label: "plain tsc", args: [tsc, "-p", "tsconfig.json", "--outDir", "dist-tsc"] },
    { name: "tspc+plugin", label: "tspc + tscaching/transformer", args: [tspc, "-p", "tsconfig.json", "--outDir", "dist-tspc"] },
    // Secondary: they explain the gap, they are not the goal; they run in the first `secondaryRounds` rounds only.
    { name: "tspc", label: "tspc, no plugin (ts-patch alone)", args: [tspc, "-p", "tsconfig.noplugin.json", "--outDir", "dist-noplugin"], secondary: true },
    patchedBase && { name: "patched+plugin", label: "tsc patched by ts-patch install + plugin", secondary: true,
      args: [relative(dir, join(patchedBase, "node_modules/typescript/bin/tsc")), "-p", "tsconfig.json", "--outDir", "dist-patched"] },
  ].filter((v) => v && (withNoPlugin || v.name !== "tspc"));
  // Untimed: ts-patch patches TypeScript in memory at each tspc start, from a cache it writes on
  // first use; the first timed run must not be the one that fills it. (run.mjs has just run tspc.)
  if (warmUp) spawnSync(process.execPath, [tspc, "--version"], { cwd: dir });
  const runs = Object.fromEntries(variants.map((v) => [v.name, []]));
  const failures = [];
  for (let r = 0; r < rounds; r++) {
    const active = variants.filter((v) => !v.secondary || r < secondaryRounds);
    const order = active.slice(r % active.length).concat(active.slice(0, r % active.length));
    if (r % 2) order.reverse();
    for (const v of order) {
      log?.(`build: ${v.label} (round ${r + 1})`);
      const result = run(v.args, dir, useTime);
      if (result.status !== 0) failures.push(`${v.label} exited ${result.status}: ${result.output.slice(0, 500)}`);
      runs[v.name].push(result);
    }
  }
  const transformedFiles = existsSync(join(dir, "dist-tspc"))
    ? countFiles(join(dir, "dist-tspc"), (p) => p.endsWith(".js") && readFileSync(p, "utf8").includes("cachedCall("))
    : 0;
  if (patchedBase && existsSync(join(dir, "dist-patched"))) {
    // The patched tsc must have run the plugin too, or its time says nothing.
    const patchedFiles = countFiles(join(dir, "dist-patched"), (p) => p.endsWith(".js") && readFileSync(p, "utf8").includes("cachedCall("));
    if (patchedFiles !== transformedFiles) failures.push(`the patched tsc transformed ${patchedFiles} files, tspc ${transformedFiles}`);
  }
  // Per-round ratios (neighbouring runs), then their median.
  const ratio = (a, b, field = "seconds") => median(ratioOf(runs, a, b, field));

  let share;
  if (shareRounds > 0 && failures.length === 0) {
    log?.(`build: the plugin's share inside one compiler process (${shareRounds} rounds)`);
    const resultFile = join(dir, "plugin-share.json");
    const result = spawnSync(process.execPath, ["--single-threaded", new URL("./lib/plugin-share.cjs", import.meta.url).pathname, root,
      join(dir, "tsconfig.json"), String(shareRounds), resultFile], { cwd: dir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (result.status !== 0 || !existsSync(resultFile)) failures.push(`plugin-share.cjs exited ${result.status}: ${`${result.stdout}${result.stderr}`.slice(0, 500)}`);
    else share = JSON.parse(readFileSync(resultFile, "utf8"));
  }

  const build = {
    files: generated.files,
    tagged: generated.tagged,
    rounds,
    secondaryRounds: Math.min(rounds, secondaryRounds),
    memoryTool: useTime ? "/usr/bin/time -v" : "process.resourceUsage().maxRSS (wrapper)",
    transformedFiles,
    variants: variants.map((v) => ({
      name: v.name,
      label: v.label,
      command: `node ${v.args.join(" ")}`,
      secondsMedian: median(runs[v.name].map((x) => x.seconds)),
      seconds: runs[v.name].map((x) => x.seconds),
      cpuSecondsMedian: median(runs[v.name].map((x) => x.cpuSeconds)),
      cpuSeconds: runs[v.name].map((x) => x.cpuSeconds),
      rssMbMedian: median(runs[v.name].map((x) => x.rssMb)),
      rssMbMax: Math.max(...runs[v.name].map((x) => x.rssMb)),
    })),
    // CPU time first: it is the goal's measure (see report.mjs); wall time alongside.
    cpuRatioPluginVsTsc: ratio("tspc+plugin", "tsc", "cpuSeconds"),
    cpuRatioPluginVsTsc_perRound: ratioOf(runs, "tspc+plugin", "tsc", "cpuSeconds"),
    ratioPluginVsTsc: ratio("tspc+plugin", "tsc"),
    ratioPluginVsTsc_perRound: ratioOf(runs, "tspc+plugin", "tsc", "seconds"),
    cpuRatioNoPluginVsTsc: ratio("tspc", "tsc", "cpuSeconds"),
    ratioNoPluginVsTsc: ratio("tspc", "tsc"),
    cpuRatioPluginVsNoPlugin: ratio("tspc+plugin", "tspc", "cpuSeconds"),
    ratioPluginVsNoPlugin: ratio("tspc+plugin", "tspc"),
    cpuRatioPatchedVsTsc: ratio("patched+plugin", "tsc", "cpuSeconds"),
    cpuRatioPatchedVsTsc_perRound: ratioOf(runs, "patched+plugin", "tsc", "cpuSeconds"),
    ratioPatchedVsTsc: ratio("patched+plugin", "tsc"),
    pluginShare: share && {
      rounds: share.rounds,
      parseAllJsDoc: share.parseAllJsDoc,
      compileMs: share.compileMs,
      createAndCheckMs: share.cpuMs.createAndCheck,
      emitPlainMs: share.cpuMs.emitPlain,
      emitPluginMs: share.cpuMs.emitPlugin,
      transformFirstMs: share.transformFirstMs,
      transformMs: share.transformMs,
      scanMs: share.scanMs,
      emitDiffMs: share.emitDiffMs,
      emitDiffMs_perRound: share.perRound.emitPlugin.map((x, i) => x - share.perRound.emitPlain[i]),
      jsDocParseAllExtraMs: share.jsDocParseAllExtraMs,
      pluginMs: share.pluginMs,
      share: share.share,
      jsBytesPlain: share.outputs.plain.jsBytes,
      jsBytesPlugin: share.outputs.plugin.jsBytes,
    },
    loadavgBefore: loadBefore,
    loadavgAfter: os.loadavg(),
    failures,
  };

  log?.("build: tscaching keys");
  const cli = join(root, "dist/cli/bin.js");
  let keys;
  if (!existsSync(cli)) {
    keys = { available: false, reason: "dist/cli/bin.js does not exist (the CLI is not built yet)" };
  } else {
    const args = [relative(dir, cli), "keys", "-p", "tsconfig.json", "-o", "keys.generated.ts"];
    const keyRuns = [];
    // Two runs at most: the command is far from a ratio goal, and each run loads a whole program.
    for (let r = 0; r < Math.min(rounds, 2); r++) keyRuns.push(run(args, dir, useTime));
    const failed = keyRuns.find((x) => x.status !== 0);
    const out = join(dir, "keys.generated.ts");
    keys = {
      available: true,
      command: `node ${args.join(" ")}`,
      ok: !failed,
      error: failed ? `exited ${failed.status}: ${failed.output.slice(0, 500)}` : undefined,
      secondsMedian: median(keyRuns.map((x) => x.seconds)),
      seconds: keyRuns.map((x) => x.seconds),
      cpuSecondsMedian: median(keyRuns.map((x) => x.cpuSeconds)),
      rssMbMedian: median(keyRuns.map((x) => x.rssMb)),
      rssMbMax: Math.max(...keyRuns.map((x) => x.rssMb)),
      outputBytes: existsSync(out) ? statSync(out).size : 0,
    };
  }
  rmSync(dir, { recursive: true, force: true });
  if (patchedBase) rmSync(patchedBase, { recursive: true, force: true });
  return { build, keys };
}
