/**
 * ts-node through ts-patch's compiler (`ts-node --compiler ts-patch/compiler`, or `"compiler":
 * "ts-patch/compiler"` in tsconfig's "ts-node" section). ts-node is not a dependency here, so this
 * suite does what ts-node does with that compiler: load `ts-patch/compiler` (a live-patched
 * TypeScript that applies tsconfig's transformers) and emit each required .ts file through a
 * LanguageService (ts-node's default, type-checking mode) or `transpileModule` (`--transpile-only`),
 * from a require hook; then runs a tagged function twice.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "vitest";
import { project, runNode } from "./child";

const REGISTER = String.raw`
const fs = require("node:fs");
const path = require("node:path");
const ts = require("ts-patch/compiler");
const configPath = path.resolve("tsconfig.json");
const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(d.messageText); } });
const options = { ...parsed.options, outDir: undefined, sourceMap: false, inlineSourceMap: true, declaration: false };
let service;
function languageService() {
  return service ??= ts.createLanguageService({
    getScriptFileNames: () => parsed.fileNames,
    getScriptVersion: () => "1",
    getScriptSnapshot: (f) => fs.existsSync(f) ? ts.ScriptSnapshot.fromString(fs.readFileSync(f, "utf8")) : undefined,
    getCurrentDirectory: () => process.cwd(),
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists, readFile: ts.sys.readFile, readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists, getDirectories: ts.sys.getDirectories,
  }, ts.createDocumentRegistry());
}
require.extensions[".ts"] = (module, fileName) => {
  const js = process.env.MODE === "transpile-only"
    ? ts.transpileModule(fs.readFileSync(fileName, "utf8"), { compilerOptions: options, fileName }).outputText
    : languageService().getEmitOutput(fileName).outputFiles.find((f) => f.name.endsWith(".js")).text;
  module._compile(js, fileName);
};
`;

const MAIN = `
import { cachedFunctions } from "tscaching";
import { calls } from "./calls";
import { getEmail } from "./forms";

async function main(): Promise<void> {
  await getEmail("bob");
  await getEmail("bob");
  console.log(JSON.stringify({ calls: calls.getEmail, registered: cachedFunctions().some((f) => f.id === "src/forms#getEmail") }));
}
void main();
`;

test.each(["type-check", "transpile-only"])("ts-patch/compiler applies the transform the way ts-node uses it (%s)", async (mode) => {
  const dir = project("basic");
  fs.writeFileSync(path.join(dir, "register.cjs"), REGISTER);
  fs.writeFileSync(path.join(dir, "src/main.ts"), MAIN);
  const run = await runNode(["-r", "./register.cjs", "src/main.ts"], {
    cwd: dir, env: { MODE: mode },
  });
  expect(run.stderr).toBe("");
  expect(JSON.parse(run.stdout)).toEqual({ calls: 1, registered: true });
}, 60_000);
