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
import type { CachedFunction, ResolvedKeyPart, ScanResult } from "./model";
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

/**
 * Which argument types each tag name takes. `tags.user(...)` in keys.ts has one signature, so one
 * tag name must take the same types everywhere: the first function to use a name sets them, every
 * later one with other types gets a tag-type error (93043) naming both places. Types are compared
 * as declared (the parameter's or field's type annotation), which every path can read alike.
 */
export class TagShapes {
  readonly #shapes = new Map<string, { file: string; types: string; where: string }>();

  constructor(private readonly isCurrent: (file: string) => boolean = () => true) {}

  /** Drop every claim of `file`. */
  forget(file: string): void {
    for (const [name, shape] of this.#shapes) if (shape.file === file) this.#shapes.delete(name);
  }

  /** Record `fn`'s tags for `file`: the problems of tags whose types differ from an earlier use. */
  claim(ts: typeof TS, rootDir: string, file: string, fn: CachedFunction): Problem[] {
    const problems: Problem[] = [];
    const where = `${path.relative(rootDir, file).replace(/\\/g, "/")}:${fn.line}`;
    for (const tag of fn.tags ?? []) {
      const types = tag.args.map((part) => declaredType(ts, fn, part)).join(", ");
      const shape = this.#shapes.get(tag.name);
      if (shape && (shape.file === file || this.isCurrent(shape.file))) {
        if (shape.types !== types) {
          const span = fn.tag.tagsSpan ?? { start: fn.tag.start, length: 6 };
          problems.push(problem("tagTypeMismatch", span.start, span.length, tag.name, types, shape.where, shape.types));
        }
        continue;
      }
      this.#shapes.set(tag.name, { file, types, where: `'${fn.qualifiedName}' at ${where}` });
    }
    return problems;
  }
}

/** The declared type of a tag argument, as written (`unknown` where none is written). */
function declaredType(ts: typeof TS, fn: CachedFunction, part: ResolvedKeyPart): string {
  let node: TS.TypeNode | undefined;
  if (part.kind === "param" && ts.isParameter(part.declaration)) node = part.declaration.type;
  else if (part.kind === "this" && fn.owner && !ts.isObjectLiteralExpression(fn.owner)) {
    for (const member of fn.owner.members) {
      if (ts.isPropertyDeclaration(member) && member.name.getText() === part.name) node = member.type;
      if (ts.isConstructorDeclaration(member)) {
        for (const p of member.parameters) if (p.type && ts.isIdentifier(p.name) && p.name.text === part.name && p.modifiers?.length) node = p.type;
      }
    }
  }
  return node ? node.getText().replace(/\s+/g, " ") : "unknown";
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
  const tags = new TagShapes();
  for (const sf of program.getSourceFiles()) {
    if (!isProjectFile(program, sf) || !mayHaveCacheTags(sf.text)) continue;
    const result = scanSourceFile(ts, sf, { rootDir, types, versions });
    for (const fn of result.functions) {
      const duplicate = ids.claim(rootDir, sf.fileName, fn);
      if (duplicate) result.problems.push(duplicate);
      result.problems.push(...tags.claim(ts, rootDir, sf.fileName, fn));
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
