/**
 * Where commands write, and how: the process's streams behind a small interface, colours only when
 * the stream is a terminal and NO_COLOR is unset, aligned tables, paths relative to the cwd.
 */
import * as path from "node:path";
import * as readline from "node:readline";

/** Text styles; each is the identity when colours are off. */
export interface Style {
  readonly bold: (text: string) => string;
  readonly dim: (text: string) => string;
  readonly red: (text: string) => string;
  readonly yellow: (text: string) => string;
  readonly green: (text: string) => string;
  readonly cyan: (text: string) => string;
}

/** What commands use of the process: output, input, environment, working directory and exit status. */
export interface Context {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Write a line to stdout. */
  out(line?: string): void;
  /** Write a line to stderr. */
  err(line?: string): void;
  /** Raw writers, for commander's own output. */
  writeOut(text: string): void;
  writeErr(text: string): void;
  /** Styles for stdout and for stderr. */
  readonly style: Style;
  readonly errStyle: Style;
  /** Whether stdout gets colours. */
  readonly color: boolean;
  readonly stdinIsTTY: boolean;
  /** Ask a question on the terminal and resolve the answer. */
  ask(question: string): Promise<string>;
  /** Resolves on SIGINT/SIGTERM: long-running commands (`keys --watch`) stop there. */
  interrupted(): Promise<void>;
  /** Exit status once the command returns (commands that fail without an error message set it). */
  exitCode: number;
}

const ANSI = { bold: [1, 22], dim: [2, 22], red: [31, 39], yellow: [33, 39], green: [32, 39], cyan: [36, 39] } as const;

export function createStyle(enabled: boolean): Style {
  const make = ([open, close]: readonly [number, number]) =>
    enabled ? (text: string) => `\u001b[${open}m${text}\u001b[${close}m` : (text: string) => text;
  return {
    bold: make(ANSI.bold), dim: make(ANSI.dim), red: make(ANSI.red), yellow: make(ANSI.yellow),
    green: make(ANSI.green), cyan: make(ANSI.cyan),
  };
}

/** Colours only for a terminal, and never with NO_COLOR set (https://no-color.org). */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === "");
}

/** The context of the running process. */
export function processContext(): Context {
  const env = process.env;
  return {
    env,
    cwd: process.cwd(),
    out: (line = "") => void process.stdout.write(`${line}\n`),
    err: (line = "") => void process.stderr.write(`${line}\n`),
    writeOut: (text) => void process.stdout.write(text),
    writeErr: (text) => void process.stderr.write(text),
    style: createStyle(wantsColor(process.stdout, env)),
    errStyle: createStyle(wantsColor(process.stderr, env)),
    color: wantsColor(process.stdout, env),
    stdinIsTTY: process.stdin.isTTY === true,
    ask(question) {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
      return new Promise((resolve) => rl.question(question, (answer) => {
        rl.close();
        resolve(answer);
      }));
    },
    interrupted: () => new Promise((resolve) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    }),
    exitCode: 0,
  };
}

/** `file` relative to `cwd` with `/` separators, as tsc prints it. */
export function displayPath(cwd: string, file: string): string {
  const rel = path.relative(cwd, file).replace(/\\/g, "/");
  return rel === "" ? "." : rel;
}

/** Rows in columns separated by two spaces; the header (if any) is styled. No trailing spaces. */
export function table(header: readonly string[] | undefined, rows: readonly (readonly string[])[],
                      style?: Style): string[] {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) => row.map((cell, i) => i === row.length - 1 ? cell : cell.padEnd(widths[i])).join("  ").trimEnd();
  const lines = rows.map(line);
  if (!header) return lines;
  const head = line(header);
  return [style ? style.bold(head) : head, ...lines];
}

/** `1 key helper`, `2 key helpers`. */
export function plural(count: number, noun: string, pluralNoun = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : pluralNoun}`;
}

/** Examples for `--help`: `$ command` lines with an optional comment. */
export function examples(lines: ReadonlyArray<readonly [command: string, comment?: string]>): string {
  const width = Math.max(0, ...lines.filter(([, comment]) => comment).map(([command]) => command.length));
  return `\nExamples:\n${lines.map(([command, comment]) =>
    `  $ ${comment ? `${command.padEnd(width)}  # ${comment}` : command}`).join("\n")}\n`;
}
