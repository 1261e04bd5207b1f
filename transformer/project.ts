/**
 * Program-wide scanning: every project file that mentions `@cache`, plus the checks that need more
 * than one file (duplicate ids). Used by the transformer and by `tscaching check` / `list`.
 */
import type * as TS from "typescript";
import * as path from "node:path";
import { problem } from "./diagnostics";
import { mayHaveCacheTags, scanSourceFile, type ScanResult } from "./scan";
import { programSettings } from "./settings";

/** Files the user wrote: not declaration files, not dependencies. */
export function isProjectFile(program: TS.Program, sf: TS.SourceFile): boolean {
  return !sf.isDeclarationFile && !program.isSourceFileFromExternalLibrary(sf) && !program.isSourceFileDefaultLibrary(sf);
}

/** Scan every project file of a program; duplicate ids are reported on each later occurrence. */
export function scanProgram(ts: typeof TS, program: TS.Program, options: { rootDir?: string; types?: boolean } = {}):
    Map<TS.SourceFile, ScanResult> {
  const rootDir = options.rootDir ?? programSettings(program).rootDir;
  const checker = options.types === false ? undefined : program.getTypeChecker();
  const results = new Map<TS.SourceFile, ScanResult>();
  const firstById = new Map<string, string>();
  for (const sf of program.getSourceFiles()) {
    if (!isProjectFile(program, sf) || !mayHaveCacheTags(sf.text)) continue;
    const result = scanSourceFile(ts, sf, { rootDir, checker });
    for (const fn of result.functions) {
      const where = `${path.relative(rootDir, sf.fileName).replace(/\\/g, "/")}:${fn.line}`;
      const first = firstById.get(fn.id);
      if (first) {
        const start = fn.tag.start;
        result.problems.push(problem("duplicateId", start, 6, fn.id, first));
      } else {
        firstById.set(fn.id, `'${fn.qualifiedName}' at ${where}`);
      }
    }
    results.set(sf, result);
  }
  return results;
}
