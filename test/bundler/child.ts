/**
 * Helpers for the "everywhere TypeScript runs" suites: asynchronous child processes (a synchronous
 * spawn would block the vitest worker long enough for its RPC to time out) and temporary projects
 * whose node_modules link to this package and the tools a test needs.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { prepareProject, repoRoot, type TypeScriptPackage } from "../helpers/project";

export interface ChildResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without TSCACHING_* (the in-memory backend), colours or CI flags that change output. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(TSCACHING_|VITEST|NODE_OPTIONS$|FORCE_COLOR$|NO_COLOR$)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

/** Run `node ...args` to completion. */
export function runNode(args: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }):
    Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: options.cwd, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Link more of this repository's node_modules (vite, vitest, esbuild, ...) into a prepared project. */
export function linkModules(dir: string, names: readonly string[]): void {
  for (const name of names) {
    const target = path.join(dir, "node_modules", name);
    if (fs.existsSync(target)) continue;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, "node_modules", name), target, "dir");
  }
}

/** `prepareProject` plus extra links. */
export function project(name: string, extra: readonly string[] = [], typescript: TypeScriptPackage = "typescript"): string {
  const dir = prepareProject(name, typescript);
  linkModules(dir, extra);
  return dir;
}

/** `defineCached({ ... })` specs of emitted code, in order. */
export function specsOf(code: string): string[] {
  // One spec per line; a spec may hold objects (`tags: [{ name, args }]`). Without the version: a hash of
  // the code, checked by the versions tests; these compare ids and options.
  return [...code.matchAll(/defineCached\(\{.*\}\)(?=;)/g)].map((m) => m[0].replace(/, version: "[A-Za-z0-9_.-]+"/, ""));
}

/** The key argument of each cached call: `[username]`, `[this.region, username]`, `void 0`. */
export function keyArgumentsOf(code: string): string[] {
  return [...code.matchAll(/\.cached(?:Call|Handler|Fetch)\(tscaching_spec_\d+, (\[[^\]]*\]|void 0)/g)].map((m) => m[1]);
}

/** `compileProject` without blocking the worker: run tspc (or tsc) in the project folder. */
export async function compileAsync(dir: string, options: { compiler?: "tspc" | "tsc"; typescript?: TypeScriptPackage; args?: string[] } = {}):
    Promise<{ status: number | null; output: string }> {
  const typescript = path.join(repoRoot, "node_modules", options.typescript ?? "typescript");
  const bin = options.compiler === "tsc" ? path.join(typescript, "bin/tsc") : path.join(repoRoot, "node_modules/ts-patch/bin/tspc.js");
  const result = await runNode([bin, "-p", "tsconfig.json", ...(options.args ?? [])], {
    cwd: dir, env: { TSP_COMPILER_TS_PATH: typescript },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}
