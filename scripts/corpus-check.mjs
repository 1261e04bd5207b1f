#!/usr/bin/env node
// Robustness check on any TypeScript codebase: `node scripts/corpus-check.mjs <folder> [--module esnext]`.
//  1. untagged: every emitted file (JS, maps, declarations) must be byte-identical to plain tsc's;
//  2. tagged: a `/** @cache */` is put on every async function and method; the transformer must not
//     crash, every declaration file and all decorator metadata (`emitDecoratorMetadata`) must equal
//     plain tsc's for the same tagged sources, and every emitted JS file must still parse.
// Prints a JSON summary; exits 1 on any difference. Needs `npm run build` first.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ts = require("typescript");
const transformer = require(join(root, "dist/transformer/index.js")).default;
const { scanSourceFile } = require(join(root, "dist/transformer/scan.js"));

/** Source files under `dir`: .ts/.tsx/.mts/.cts, no declarations, no node_modules. */
export function collectSources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collectSources(full));
    else if (/\.[cm]?tsx?$/.test(name) && !/\.d\.[cm]?tsx?$/.test(name)) out.push(full);
  }
  return out.sort();
}

/** Put `/** @cache *\/` before every async function and every method (sync ones draw diagnostics). */
export function tagEverything(fileName, text) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const positions = [];
  const visit = (node) => {
    const isAsync = ts.getModifiers?.(node)?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
    if ((ts.isFunctionLike(node) && isAsync) || ts.isMethodDeclaration(node)) {
      positions.push(ts.isArrowFunction(node) || ts.isFunctionExpression(node) ? node.getStart(sf) : node.getFullStart());
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  let tagged = text;
  for (const pos of [...new Set(positions)].sort((a, b) => b - a)) {
    tagged = `${tagged.slice(0, pos)}\n/** @cache */\n${tagged.slice(pos)}`;
  }
  return { text: tagged, tags: positions.length };
}

function compile(files, texts, options, plugin) {
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (f) => texts.get(resolve(f)) ?? read(f);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (f, v, ...rest) => {
    const text = texts.get(resolve(f));
    return text === undefined ? getSourceFile(f, v, ...rest) : ts.createSourceFile(f, text, v);
  };
  const outputs = new Map();
  host.writeFile = (f, text) => outputs.set(f, text);
  const program = ts.createProgram({ rootNames: files, options, host });
  const diagnostics = [];
  const before = plugin ? [transformer(program, { warnings: "diagnostic" }, { ts, addDiagnostic: (d) => diagnostics.push(d) })] : [];
  program.emit(undefined, undefined, undefined, false, { before });
  return { outputs, diagnostics };
}

export function checkCorpus(dir, { module = "commonjs" } = {}) {
  const files = collectSources(dir);
  const options = {
    target: ts.ScriptTarget.ES2022, module: module === "esnext" ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10, declaration: true, sourceMap: true, skipLibCheck: true,
    outDir: join(dir, "__out"), rootDir: dir, noEmitOnError: false, jsx: ts.JsxEmit.React, allowJs: false,
    experimentalDecorators: true, emitDecoratorMetadata: true, strict: false, noResolve: false, types: [],
  };
  const problems = [];
  const original = new Map(files.map((f) => [resolve(f), readFileSync(f, "utf8")]));
  const plainA = compile(files, original, options, false);
  const oursA = compile(files, original, options, true);
  // Files in which the scanner finds a cached function may change; every other one must not.
  const taggedOutputs = new Set(files.filter((f) => {
    const sf = ts.createSourceFile(f, original.get(resolve(f)), ts.ScriptTarget.Latest, true);
    return scanSourceFile(ts, sf, { rootDir: dir }).functions.length > 0;
  }).map((f) => relative(dir, f).replace(/\.[cm]?tsx?$/, "")));
  for (const [f, text] of plainA.outputs) {
    const stem = relative(options.outDir, f).replace(/\.[cm]?js(\.map)?$|\.d\.[cm]?ts$/, "");
    if (oursA.outputs.get(f) !== text && (f.endsWith(".d.ts") || !taggedOutputs.has(stem))) {
      problems.push(`untagged output differs: ${relative(dir, f)}`);
    }
  }
  if (oursA.outputs.size !== plainA.outputs.size) problems.push("untagged: different set of emitted files");

  let tags = 0;
  const tagged = new Map();
  for (const [f, text] of original) {
    const result = tagEverything(f, text);
    tags += result.tags;
    tagged.set(f, result.text);
  }
  const plainB = compile(files, tagged, options, false);
  let oursB;
  try {
    oursB = compile(files, tagged, options, true);
  } catch (error) {
    problems.push(`transformer crashed: ${error.stack}`);
    return { files: files.length, tags, problems };
  }
  let rewritten = 0;
  for (const [f, text] of plainB.outputs) {
    const ours = oursB.outputs.get(f);
    if (f.endsWith(".d.ts") && ours !== text) problems.push(`declaration differs: ${relative(dir, f)}`);
    if (f.endsWith(".js") && ours !== undefined) {
      if (ours !== text) rewritten++;
      const metadata = (js) => JSON.stringify(js.match(/__metadata\("design:\w+", [^)]*\)/g) ?? []);
      if (metadata(ours) !== metadata(text)) problems.push(`decorator metadata differs: ${relative(dir, f)}`);
      const parsed = ts.createSourceFile(f, ours, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
      if (parsed.parseDiagnostics?.length) problems.push(`emitted JS does not parse: ${relative(dir, f)}`);
    }
  }
  const byCode = {};
  for (const d of oursB.diagnostics) byCode[d.code] = (byCode[d.code] ?? 0) + 1;
  if (byCode[93099]) problems.push(`${byCode[93099]} internal errors`);
  return { files: files.length, filesWithTags: taggedOutputs.size, tags, rewrittenFiles: rewritten, diagnosticsByCode: byCode, problems };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/corpus-check.mjs <folder> [--module esnext]");
    process.exit(2);
  }
  const module = process.argv.includes("--module") ? process.argv[process.argv.indexOf("--module") + 1] : "commonjs";
  const summary = checkCorpus(resolve(dir), { module });
  console.log(JSON.stringify(summary, null, 2));
  process.exit(summary.problems.length ? 1 : 0);
}
