/**
 * Under ts-node, the diagnostics a transformer adds are never shown: ts-node asks for a file's
 * diagnostics before it emits (type-check mode) or reads `transpileModule`'s (transpile-only), while
 * ts-patch adds plugin diagnostics only during emit. A tag error would then leave the function
 * silently uncached, so under ts-node an error diagnostic is thrown instead: ts-node stops the run
 * with the error's `file(line,col)` and message.
 */
import type * as TS from "typescript";
import type { TransformerExtras } from "./index";

/** Is this process running under ts-node (its `register()` leaves its service on `process`)? */
export function isUnderTsNode(): boolean {
  return (process as unknown as Record<symbol, unknown>)[Symbol.for("ts-node.register.instance")] !== undefined;
}

/** `extras` whose `addDiagnostic` throws error diagnostics when running under ts-node; unchanged elsewhere. */
export function surfaceErrorsUnderTsNode(ts: typeof TS, program: TS.Program, extras: Partial<TransformerExtras> | undefined):
    Partial<TransformerExtras> | undefined {
  if (!extras?.addDiagnostic || !isUnderTsNode()) return extras;
  const add = extras.addDiagnostic;
  return {
    ...extras,
    addDiagnostic: (diagnostic) => {
      if (diagnostic.category !== ts.DiagnosticCategory.Error) return add(diagnostic);
      throw new Error(`tscaching: ${ts.formatDiagnostic(diagnostic, {
        getCanonicalFileName: (f) => f, getCurrentDirectory: () => program.getCurrentDirectory(), getNewLine: () => "\n",
      }).trim()}`);
    },
  };
}
