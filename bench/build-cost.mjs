// Item 5: build cost on a generated project. Plain `tsc`, `tspc` with the tscaching plugin and
// `tspc` without it (ts-patch's own share) run alternately, several rounds; then `tscaching keys`
// when the CLI exists. Wall time is measured here; peak memory by /usr/bin/time -v (or, without
// it, by a wrapper reading process.resourceUsage().maxRSS).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
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

/** Runs the build-cost comparison; `root` is the repository. */
export function runBuildCost({ root, files, tagged, rounds, workDir, withNoPlugin = true, log }) {
  const dir = mkdtempSync(join(workDir, "gen-"));
  const generated = generateProject(dir, { files, tagged });
  const useTime = timeV();
  const tsc = relative(dir, join(root, "node_modules/typescript/bin/tsc"));
  const tspc = relative(dir, join(root, "node_modules/ts-patch/bin/tspc.js"));
  const variants = [
    { name: "tsc", label: "plain tsc", args: [tsc, "-p", "tsconfig.json", "--outDir", "dist-tsc"] },
    { name: "tspc+plugin", label: "tspc + tscaching/transformer", args: [tspc, "-p", "tsconfig.json", "--outDir", "dist-tspc"] },
    { name: "tspc", label: "tspc, no plugin (ts-patch alone)", args: [tspc, "-p", "tsconfig.noplugin.json", "--outDir", "dist-noplugin"] },
  ].filter((v) => withNoPlugin || v.name !== "tspc");
  const runs = Object.fromEntries(variants.map((v) => [v.name, []]));
  const failures = [];
  for (let r = 0; r < rounds; r++) {
    const order = variants.slice(r % variants.length).concat(variants.slice(0, r % variants.length));
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
  const ratio = (a, b, f = "seconds") => (runs[a] && runs[b] ? median(runs[a].map((x, i) => x[f] / runs[b][i][f])) : NaN);
  const build = {
    files: generated.files,
    tagged: generated.tagged,
    rounds,
    memoryTool: useTime ? "/usr/bin/time -v" : "process.resourceUsage().maxRSS (wrapper)",
    transformedFiles,
    variants: variants.map((v) => ({
      name: v.name,
      label: v.label,
      command: `node ${v.args.join(" ")}`,
      secondsMedian: median(runs[v.name].map((x) => x.seconds)),
      seconds: runs[v.name].map((x) => x.seconds),
      cpuSecondsMedian: median(runs[v.name].map((x) => x.cpuSeconds)),
      rssMbMedian: median(runs[v.name].map((x) => x.rssMb)),
      rssMbMax: Math.max(...runs[v.name].map((x) => x.rssMb)),
    })),
    ratioPluginVsTsc: ratio("tspc+plugin", "tsc"),
    ratioPluginVsTsc_perRound: runs["tspc+plugin"].map((x, i) => x.seconds / runs.tsc[i].seconds),
    cpuRatioPluginVsTsc: ratio("tspc+plugin", "tsc", "cpuSeconds"),
    ratioNoPluginVsTsc: ratio("tspc", "tsc"),
    ratioPluginVsNoPlugin: ratio("tspc+plugin", "tspc"),
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
  return { build, keys };
}
