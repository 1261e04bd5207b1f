/**
 * The runtime as plain CommonJS for child processes, transpiled from the sources (not dist/, which
 * may be stale) into a temporary folder. Children load it with `require(runtimeEntry(dir))`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "../..");

export interface TranspiledRuntime {
  /** Absolute path of the transpiled runtime/index.js. */
  readonly entry: string;
  /** Environment for children: NODE_PATH reaches this repository's node_modules (memjs, lru-cache). */
  readonly env: NodeJS.ProcessEnv;
  dispose(): void;
}

export function transpileRuntime(): TranspiledRuntime {
  const out = mkdtempSync(path.join(tmpdir(), "tscaching-runtime-"));
  // Every folder under runtime/ (the runtime's parts live in subfolders: backends/, http/, ...).
  const folders = ["runtime"];
  for (let i = 0; i < folders.length; i++) {
    const folder = folders[i];
    mkdirSync(path.join(out, folder), { recursive: true });
    for (const entry of readdirSync(path.join(ROOT, folder), { withFileTypes: true })) {
      const name = entry.name;
      if (entry.isDirectory()) {
        folders.push(`${folder}/${name}`);
        continue;
      }
      if (!name.endsWith(".ts") || name.endsWith(".d.ts")) continue;
      const { outputText } = ts.transpileModule(readFileSync(path.join(ROOT, folder, name), "utf8"), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      });
      writeFileSync(path.join(out, folder, name.replace(/\.ts$/, ".js")), outputText);
    }
  }
  return {
    entry: path.join(out, "runtime/index.js"),
    env: { ...process.env, NODE_PATH: path.join(ROOT, "node_modules") },
    dispose: () => rmSync(out, { recursive: true, force: true }),
  };
}
