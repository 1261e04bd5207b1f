// The plugin's own cost inside one compiler process, where neither process start-up nor the
// differences between two separate runs blur it. TypeScript is loaded and the program is created and
// checked once, as tsc does before emitting; then, in each round, an emit without transformers and an
// emit with the tscaching transformer alternate (the order flips every round). Each plugin emit loads
// the plugin afresh, so nothing it remembers per program outlives one emit, as in a single build; the
// CPU time spent inside its calls is summed. Emitted files are counted, not written. Last, every file
// of the program is parsed with full JSDoc parsing and with tsc's default (JSDoc skipped in .ts
// files), alternately: that difference is the plugin's too when its package.json asks ts-patch to
// parse all JSDoc.
//
// Run it with V8's --single-threaded, as build-cost.mjs does: the process's CPU time is then the main
// thread's, and the time summed inside the transformer's calls is not inflated by garbage-collector
// or compiler threads working for the rest of the emit at the same moment. No GC is forced between
// emits: a forced full GC made every following emit about twice as slow here, for both.
//
//   node --single-threaded bench/lib/plugin-share.cjs <repository> <tsconfig.json> <rounds> <result.json>
"use strict";
const { writeFileSync, readFileSync } = require("node:fs");
const path = require("node:path");

const [rootArg, tsconfig, roundsText, resultFile] = process.argv.slice(2);
const root = path.resolve(rootArg);
const rounds = Number(roundsText);
const ts = require(require.resolve("typescript", { paths: [root] }));
const pluginDir = path.join(root, "dist/transformer");

/** The plugin's modules, loaded afresh: per-program caches start empty, as in a new tspc process. */
function freshPlugin() {
  for (const file of Object.keys(require.cache)) if (file.startsWith(pluginDir + path.sep)) delete require.cache[file];
  return { tscaching: require(path.join(pluginDir, "index.js")).default, scanProgram: require(path.join(pluginDir, "project.js")).scanProgram };
}

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const cpuMsSince = (start) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

/** CPU time (user + system) of `fn` in ms, and its value. */
function measure(fn) {
  const start = process.cpuUsage();
  const value = fn();
  return { cpuMs: cpuMsSince(start), value };
}

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
// What ts-patch does when a plugin's package.json sets tsp.tscOptions.parseAllJsDoc.
const parseAllJsDoc = pkg.tsp?.tscOptions?.parseAllJsDoc === true;
const tscJsDocMode = ts.JSDocParsingMode.ParseForTypeErrors;

const config = ts.getParsedCommandLineOfConfigFile(path.resolve(tsconfig), {}, {
  ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n")); },
});
// The options of the plugin's entry in compilerOptions.plugins, as ts-patch passes them.
const { transform, ...pluginConfig } = (config.options.plugins ?? []).find((p) => p.transform === "tscaching/transformer") ?? {};
if (!transform) throw new Error(`${tsconfig} does not load tscaching/transformer`);
const host = ts.createCompilerHost(config.options);
host.jsDocParsingMode = parseAllJsDoc ? ts.JSDocParsingMode.ParseAll : tscJsDocMode;

// As tsc: create the program, then all diagnostics before the emit.
const compiled = measure(() => {
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host, configFileParsingDiagnostics: config.errors });
  const diagnostics = [...program.getConfigFileParsingDiagnostics(), ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(),
    ...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics()];
  return { program, diagnostics };
});
const { program, diagnostics } = compiled.value;
if (diagnostics.length > 0) throw new Error(`the project has ${diagnostics.length} diagnostics: ${ts.formatDiagnostics(diagnostics.slice(0, 3), host)}`);

/** One emit, with or without the tscaching transformer; the transformer's own calls are timed. */
function emit(withPlugin) {
  const files = { count: 0, bytes: 0, jsBytes: 0, cached: 0, diagnostics: 0, transformCpuMs: 0 };
  const before = [];
  if (withPlugin) {
    const start = process.cpuUsage();
    const factory = freshPlugin().tscaching(program, pluginConfig, { ts, addDiagnostic: () => files.diagnostics++ });
    files.transformCpuMs += cpuMsSince(start);
    before.push((context) => {
      const transform = factory(context);
      return (node) => {
        const start = process.cpuUsage();
        try {
          return transform(node);
        } finally {
          files.transformCpuMs += cpuMsSince(start);
        }
      };
    });
  }
  const result = program.emit(undefined, (fileName, text) => {
    files.count++;
    files.bytes += text.length;
    if (!fileName.endsWith(".js")) return;
    files.jsBytes += text.length;
    if (text.includes("cachedCall(")) files.cached++;
  }, undefined, false, { before });
  if (result.emitSkipped) throw new Error("emit skipped");
  files.diagnostics += result.diagnostics.length;
  return files;
}

// One untimed emit of each kind first: TypeScript's emitter is then as warm for the first timed emit as
// for the rest. The plugin's calls are timed in its first emit all the same: cold, as in a single build.
// With a single round (smoke runs, which only prove that this runs), nothing is warmed up.
const warmUp = rounds > 1;
if (warmUp) emit(false);
const transformFirstMs = warmUp ? emit(true).transformCpuMs : NaN;
const perRound = { emitPlain: [], emitPlugin: [], transform: [], scan: [], parseAll: [], parseTsc: [] };
let outputs;
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? ["plugin", "plain"] : ["plain", "plugin"];
  const round = {};
  for (const which of order) round[which] = measure(() => emit(which === "plugin"));
  // Never time a transformer that did nothing: the plugin's output must hold the rewritten calls.
  if (round.plugin.value.cached === 0 || round.plain.value.cached !== 0 || round.plugin.value.diagnostics !== 0) {
    throw new Error(`unexpected emit: plain ${JSON.stringify(round.plain.value)}, plugin ${JSON.stringify(round.plugin.value)}`);
  }
  outputs = { plain: round.plain.value, plugin: round.plugin.value };
  perRound.emitPlain.push(round.plain.cpuMs);
  perRound.emitPlugin.push(round.plugin.cpuMs);
  perRound.transform.push(round.plugin.value.transformCpuMs);
  const { scanProgram } = freshPlugin();
  perRound.scan.push(measure(() => scanProgram(ts, program)).cpuMs);
}

const texts = program.getSourceFiles().map((sf) => [sf.fileName, sf.text]);
const parseAll = (mode) => () => {
  for (const [fileName, text] of texts) ts.createSourceFile(fileName, text, { languageVersion: config.options.target ?? ts.ScriptTarget.ES5, jsDocParsingMode: mode });
};
// Untimed once each first, so that neither mode pays for warming up the parser.
if (warmUp) {
  parseAll(ts.JSDocParsingMode.ParseAll)();
  parseAll(tscJsDocMode)();
}
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? ["parseTsc", "parseAll"] : ["parseAll", "parseTsc"];
  for (const which of order) perRound[which].push(measure(parseAll(which === "parseAll" ? ts.JSDocParsingMode.ParseAll : tscJsDocMode)).cpuMs);
}

const emitDiffMs = median(perRound.emitPlugin.map((x, i) => x - perRound.emitPlain[i]));
const jsDocMs = median(perRound.parseAll.map((x, i) => x - perRound.parseTsc[i]));
const jsDocShare = parseAllJsDoc ? jsDocMs : 0;
const transformMs = median(perRound.transform);
// Plain tsc's compile work without process start-up: create + check once, plus the median plain emit.
// JSDoc parsing is part of creating the program; take the extra out when the plugin asked for it.
const compileMs = compiled.cpuMs - jsDocShare + median(perRound.emitPlain);
writeFileSync(resultFile, JSON.stringify({
  rounds,
  typescript: ts.version,
  sourceFiles: texts.length,
  parseAllJsDoc,
  outputs,
  cpuMs: {
    createAndCheck: compiled.cpuMs,
    emitPlain: median(perRound.emitPlain),
    emitPlugin: median(perRound.emitPlugin),
    parseAllJsDoc: median(perRound.parseAll),
    parseTscJsDoc: median(perRound.parseTsc),
  },
  compileMs,
  // Emit with the plugin minus emit without, median of the per-round differences: the plugin's work
  // plus what TypeScript does with the code it adds.
  emitDiffMs,
  // Of which the plugin's own calls (loading it, scan, rewrite): median of the rounds, and in its first
  // emit in the process (cold code; single-threaded, V8 also optimises on this thread then); the scan alone.
  transformMs,
  transformFirstMs,
  scanMs: median(perRound.scan),
  jsDocParseAllExtraMs: jsDocMs,
  // The plugin's share of the compile work: the emit difference, plus full JSDoc parsing when it asks for it.
  pluginMs: emitDiffMs + jsDocShare,
  share: (emitDiffMs + jsDocShare) / compileMs,
  perRound,
}));
