/**
 * Program-wide scanning: every project file that mentions `@cache`, plus the checks that need more
 * than one function (duplicate ids). Used by the transformer, the editor plugin and the CLI; the
 * duplicate-id check is also what the per-file rewrite (`transformSource`) and the bundler plugins use.
 */
import type * as TS from "typescript";
import * as path from "node:path";
import { problem, type Problem } from "./diagnostics";
import { generateKeysFile, KEYS_HEADER } from "./keys-file";
import { missingKeysProblems } from "./keys-location";
import type { CachedFunction, ScanResult } from "./model";
import { mayHaveCacheTags, scanSourceFile } from "./scan";
import { programSettings, type VersionSource } from "./settings";
import { checkerTypes } from "./types";

/** Files the user wrote: not declaration files, not dependencies. */
export function isProjectFile(program: TS.Program, sf: TS.SourceFile): boolean {
  return !sf.isDeclarationFile && !program.isSourceFileFromExternalLibrary(sf) && !program.isSourceFileDefaultLibrary(sf);
}

/**
 * Which function holds each id. The first function to claim an id keeps it; every later one, in the
 * same file or another, gets a duplicate-id error (93016). A tool that sees files again (a bundler
 * in watch mode) forgets a file's claims before scanning it anew.
 */
export class IdOwners {
  readonly #owners = new Map<string, { file: string; description: string }>();

  /** `isCurrent(file)` says whether a claim of another file still stands (that file may have been deleted). */
  constructor(private readonly isCurrent: (file: string) => boolean = () => true) {}

  /** Drop every claim of `file`. */
  forget(file: string): void {
    for (const [id, owner] of this.#owners) if (owner.file === file) this.#owners.delete(id);
  }

  /** Claim `fn`'s id for `file`: undefined when it is free, else the duplicate-id problem at its tag. */
  claim(rootDir: string, file: string, fn: CachedFunction): Problem | undefined {
    const owner = this.#owners.get(fn.id);
    if (owner && (owner.file === file || this.isCurrent(owner.file))) {
      return problem("duplicateId", fn.tag.start, 6, fn.id, owner.description);
    }
    const where = `${path.relative(rootDir, file).replace(/\\/g, "/")}:${fn.line}`;
    this.#owners.set(fn.id, { file, description: `'${fn.qualifiedName}' at ${where}` });
    return undefined;
  }
}

/** Scan every project file of a program; duplicate ids are reported on each later occurrence. */
export function scanProgram(ts: typeof TS, program: TS.Program,
                            options: { rootDir?: string; types?: boolean; versions?: VersionSource } = {}): Map<TS.SourceFile, ScanResult> {
  const rootDir = options.rootDir ?? programSettings(program).rootDir;
  // The program's own setting unless told: tspc, the editor plugin and the CLI then agree.
  const versions = options.versions ?? programSettings(program).versions;
  const types = options.types === false ? undefined : checkerTypes(ts, program.getTypeChecker());
  const results = new Map<TS.SourceFile, ScanResult>();
  const ids = new IdOwners();
  for (const sf of program.getSourceFiles()) {
    if (!isProjectFile(program, sf) || !mayHaveCacheTags(sf.text)) continue;
    const result = scanSourceFile(ts, sf, { rootDir, types, versions });
    for (const fn of result.functions) {
      const duplicate = ids.claim(rootDir, sf.fileName, fn);
      if (duplicate) result.problems.push(duplicate);
    }
    results.set(sf, result);
  }
  return results;
}

/**
 * What tscaching reports on one file of a scanned program (tspc and the editor plugin alike): its
 * tags' problems, or for a generated keys.ts whether it is stale, and an import of a keys.ts that
 * was never generated.
 */
export function fileProblems(ts: typeof TS, program: TS.Program, sf: TS.SourceFile,
                             scans: ReadonlyMap<TS.SourceFile, ScanResult>, runtime: string): Problem[] {
  const problems = missingKeysProblems(ts, program, sf);
  if (sf.text.startsWith(KEYS_HEADER)) {
    // A generated registry: compare it with what `tscaching keys` would write now.
    const expected = generateKeysFile(ts, program, scans, sf.fileName, runtime);
    if (expected !== sf.text) problems.push(problem("staleKeys", 0, KEYS_HEADER.length, path.basename(sf.fileName)));
  } else {
    problems.push(...scans.get(sf)?.problems ?? []);
  }
  return problems;
}
