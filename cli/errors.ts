/**
 * The one error type commands throw for a user-facing failure. `program.ts` catches it in one
 * place and prints `tscaching: <message>` (plus optional detail lines); `bin.ts` exits with its code.
 */
export class CliError extends Error {
  /** The process exit status (1 unless said otherwise). */
  readonly exitCode: number;
  /** Lines printed after the message, indented, e.g. the helpers a stale keys file lacks. */
  readonly details: readonly string[];

  constructor(message: string, options: { exitCode?: number; details?: readonly string[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details ?? [];
  }
}

/** A message without the `tscaching: ` prefix the runtime puts on its errors, on one line. */
export function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^tscaching: /, "").replace(/\s*\n\s*/g, " ");
}
