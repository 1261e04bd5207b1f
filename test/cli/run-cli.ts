/**
 * Runs the built CLI (`dist/cli/bin.js`, built by `npm test`) as a child process, the way users run
 * it, with an environment free of the caller's TSCACHING_* and colour settings.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../helpers/project";

export const BIN = path.join(repoRoot, "dist/cli/bin.js");

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd: string;
  /** Added to (or, with undefined, removed from) the clean environment. */
  readonly env?: Record<string, string | undefined>;
  readonly input?: string;
}

/** The environment without TSCACHING_* (except the test memcached's address), NO_COLOR and FORCE_COLOR. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^TSCACHING_/.test(name) && name !== "TSCACHING_TEST_MEMCACHED") continue;
    if (name === "NO_COLOR" || name === "FORCE_COLOR") continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/**
 * Run `tscaching ...args` to completion. Asynchronous on purpose: a synchronous spawn would block
 * the test worker for seconds, long enough for vitest's worker RPC to time out.
 */
export function cli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** Start `tscaching ...args` and keep it running (for --watch). */
export function startCli(args: readonly string[], options: CliOptions): { child: ChildProcess; output: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const wake of waiters) wake();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    for (const wake of waiters) wake();
    resolve(code);
  }));
  const waitFor = (re: RegExp, ms = 60_000) => new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = re.exec(output);
      if (m) {
        cleanup();
        resolve(m[0]);
      } else if (child.exitCode !== null) {
        cleanup();
        reject(new Error(`tscaching exited (${child.exitCode}) before printing ${re}:\n${output}`));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${re}; output so far:\n${output}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
  return { child, output: () => output, waitFor, exited };
}

/** Every line of `text` that is not empty. */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

/** Run a command to completion without blocking the worker; stdout and stderr together, in order. */
export function run(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }):
    Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, output }));
  });
}

/**
 * `compileProject` from test/helpers/project.ts without blocking the worker: `tspc` (the plugin
 * runs) or plain `tsc`, in the project folder, with the repository's TypeScript.
 */
export function compile(dir: string, compiler: "tspc" | "tsc", args: readonly string[] = []): Promise<{ status: number | null; output: string }> {
  const typescript = path.join(repoRoot, "node_modules/typescript");
  const bin = compiler === "tsc" ? path.join(typescript, "bin/tsc") : path.join(repoRoot, "node_modules/ts-patch/bin/tspc.js");
  return run(process.execPath, [bin, "-p", "tsconfig.json", ...args], { cwd: dir, env: { ...process.env, TSP_COMPILER_TS_PATH: typescript } });
}
