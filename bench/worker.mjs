// Runs one suite in a fresh process (so suites do not share JIT, GC or socket state) and writes
// its result as JSON: node --expose-gc bench/worker.mjs <suite> <config-json> <result-file>
import { writeFileSync } from "node:fs";

const [suite, configJson, resultFile] = process.argv.slice(2);
const { run } = await import(`./suites/${suite}.mjs`);
const started = Date.now();
const result = await run(JSON.parse(configJson));
writeFileSync(resultFile, JSON.stringify({ suite, seconds: (Date.now() - started) / 1000, ...result }));
// Sockets left by a peer library must not keep the bench waiting.
process.exit(0);
