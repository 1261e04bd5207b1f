/**
 * Programs without type information: what `ts.transpileModule` builds to emit one file (ts-node
 * `--transpile-only`, ts-jest's isolatedModules mode). Its checker sees one file and no lib, so
 * every type is an error type: decisions must come from the syntax (as in `tscaching/transpile`),
 * and program-wide checks (the keys.ts comparison) would compare against one file and be wrong.
 */
import type * as TS from "typescript";

/** Is `program` a one-file program made by `transpileModule` (it sets `noLib` and `noResolve`)? */
export function isSingleFileProgram(program: TS.Program): boolean {
  const options = program.getCompilerOptions();
  return Boolean(options.noLib && options.noResolve);
}
