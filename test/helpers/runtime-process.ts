import { spawn, type ChildProcess } from "node:child_process";
import type { TranspiledRuntime } from "../resilience/runtime-build";

/**
 * Another process running the (transpiled) runtime, kept alive between requests, so that a test
 * can make it write many times without paying a process start each time. `run(code)` runs `code`
 * as the body of an async function there (with `cache`, `configure` and `runtime`, the module, in
 * scope) and resolves what it returns.
 */
export interface RuntimeProcess {
  run<T = unknown>(code: string): Promise<T>;
  /** Everything the process wrote to stderr so far. */
  readonly stderr: string;
  /** Ends the process (by its PID) and waits until it is gone. */
  stop(): Promise<void>;
}

const CHILD = `
  const runtime = require(process.env.TSCACHING_TEST_RUNTIME);
  const { cache, configure } = runtime;
  process.on("message", ({ id, code }) => {
    Promise.resolve().then(() => eval("(async () => {" + code + "})()")).then(
      (out) => process.send({ id, out: out === undefined ? null : out }),
      (error) => process.send({ id, error: String(error && error.stack || error) }));
  });
  process.send({ id: 0, out: "ready" });
`;

/** Start a runtime process with `env` (TSCACHING_SERVERS, TSCACHING_NAMESPACE, ...). */
export async function startRuntimeProcess(runtime: TranspiledRuntime, env: NodeJS.ProcessEnv): Promise<RuntimeProcess> {
  const child: ChildProcess = spawn(process.execPath, ["-e", CHILD], {
    env: { ...runtime.env, ...env, TSCACHING_TEST_RUNTIME: runtime.entry },
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let next = 1;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.on("message", (reply: { id: number; out?: unknown; error?: string }) => {
    const waiter = waiting.get(reply.id);
    waiting.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
    else waiter?.resolve(reply.out);
  });
  void exited.then(() => {
    for (const waiter of waiting.values()) waiter.reject(new Error(`runtime process exited: ${stderr}`));
    waiting.clear();
  });
  await new Promise<unknown>((resolve, reject) => waiting.set(0, { resolve, reject }));
  return {
    run<T>(code: string): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, code });
      });
    },
    get stderr() {
      return stderr;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
