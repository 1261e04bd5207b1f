// Fallback when /usr/bin/time is missing: runs a Node CLI script in this process and, on exit,
// writes this process's peak RSS (KiB) and CPU time (µs, user + system) to the file named by BENCH_RSS_FILE.
//   node bench/lib/rss-wrapper.cjs <script.js> [args...]
const { writeFileSync } = require("node:fs");
const path = require("node:path");

const script = path.resolve(process.argv[2]);
process.argv.splice(1, 2, script);
process.on("exit", () => {
  const usage = process.resourceUsage();
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, `${usage.maxRSS} ${usage.userCPUTime + usage.systemCPUTime}`);
});
require(script);
