/**
 * A small tsserver client: spawns `tsserver.js` as an editor does and speaks its protocol (JSON
 * requests on stdin, `Content-Length`-framed JSON messages on stdout).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { childEnv } from "../bundler/child";

export interface ServerDiagnostic {
  readonly start: { line: number; offset: number };
  readonly end: { line: number; offset: number };
  readonly text: string;
  readonly code: number;
  readonly category: string;
  readonly source?: string;
}

interface Message {
  readonly type: "response" | "event";
  readonly request_seq?: number;
  readonly success?: boolean;
  readonly message?: string;
  readonly body?: unknown;
}

export class TsServer {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #buffer = Buffer.alloc(0);
  #stderr = "";

  constructor(tsserver: string, options: { cwd: string; args?: readonly string[] }) {
    this.#child = spawn(process.execPath, [tsserver, "--disableAutomaticTypingAcquisition", ...(options.args ?? [])], {
      cwd: options.cwd, env: childEnv(), stdio: ["pipe", "pipe", "pipe"],
    });
    this.#child.stdout!.on("data", (chunk: Buffer) => this.#receive(chunk));
    this.#child.stderr!.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
    this.#child.once("exit", (code) => {
      for (const { reject } of this.#pending.values()) reject(new Error(`tsserver exited (${code}): ${this.#stderr}`));
      this.#pending.clear();
    });
  }

  #receive(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const header = this.#buffer.indexOf("\r\n\r\n");
      if (header < 0) return;
      const length = Number(/Content-Length: (\d+)/.exec(this.#buffer.subarray(0, header).toString())?.[1]);
      const start = header + 4;
      if (this.#buffer.length < start + length) return;
      const message = JSON.parse(this.#buffer.subarray(start, start + length).toString()) as Message;
      this.#buffer = this.#buffer.subarray(start + length);
      if (message.type === "response" && message.request_seq !== undefined) {
        const waiter = this.#pending.get(message.request_seq);
        this.#pending.delete(message.request_seq);
        if (!waiter) continue;
        if (message.success === false) waiter.reject(new Error(`tsserver: ${message.message}`));
        else waiter.resolve(message);
      }
    }
  }

  /** Send a command that has no response (open, change, close). */
  notify(command: string, args: object): void {
    this.#child.stdin!.write(`${JSON.stringify({ seq: ++this.#seq, type: "request", command, arguments: args })}\n`);
  }

  /** Send a command and resolve its response's body. */
  request<T>(command: string, args: object, timeoutMs = 60_000): Promise<T> {
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Error(`tsserver did not answer ${command} in ${timeoutMs} ms: ${this.#stderr}`));
      }, timeoutMs);
      this.#pending.set(seq, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m.body as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.stdin!.write(`${JSON.stringify({ seq, type: "request", command, arguments: args })}\n`);
    });
  }

  open(file: string, projectRootPath: string): void {
    this.notify("open", { file, projectRootPath });
  }

  semanticDiagnostics(file: string): Promise<ServerDiagnostic[]> {
    return this.request<ServerDiagnostic[]>("semanticDiagnosticsSync", { file });
  }

  /** Stop the server we started, by its own handle. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    this.notify("exit", {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}
