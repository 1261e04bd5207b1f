/**
 * Where the generated keys file lives and who imports it: `tscaching keys` writes `src/keys.ts` next
 * to the tsconfig (or `keys.ts` without a `src/` folder), and a project that imports it before it
 * exists (a fresh checkout that git-ignores it) gets a hint to run `tscaching keys` next to
 * TypeScript's "Cannot find module" — from tspc, the editor plugin and `tscaching check` alike.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as TS from "typescript";
import { problem, type Problem } from "./diagnostics";

/** Where `tscaching keys` writes by default: `src/keys.ts` next to the tsconfig when `src/` exists, else `keys.ts`. */
export function defaultKeysFile(configPath: string): string {
  const dir = path.dirname(configPath);
  const src = path.join(dir, "src");
  return fs.existsSync(src) && fs.statSync(src).isDirectory() ? path.join(src, "keys.ts") : path.join(dir, "keys.ts");
}

const withoutExtension = (file: string) => file.replace(/\.(?:d\.)?[cm]?[jt]sx?$/, "");

/** The relative module specifiers of `sf` (imports, re-exports, `import x = require(...)`) that name `keysFile`. */
export function keysImports(ts: typeof TS, sf: TS.SourceFile, keysFile: string): TS.StringLiteral[] {
  const target = withoutExtension(path.resolve(keysFile));
  const found: TS.StringLiteral[] = [];
  for (const statement of sf.statements) {
    let specifier: TS.Expression | undefined;
    if (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) specifier = statement.moduleSpecifier;
    else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference)) {
      specifier = statement.moduleReference.expression;
    }
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) continue;
    if (withoutExtension(path.resolve(path.dirname(sf.fileName), specifier.text)) === target) found.push(specifier);
  }
  return found;
}

const missingByProgram = new WeakMap<TS.Program, string | null>();

/** The default keys file of the program's tsconfig when it does not exist (not in the program, not on disk), else null. */
function missingKeysFile(program: TS.Program): string | null {
  let missing = missingByProgram.get(program);
  if (missing === undefined) {
    const configFile = program.getCompilerOptions().configFilePath;
    const keysFile = typeof configFile === "string" ? defaultKeysFile(configFile) : undefined;
    missing = keysFile !== undefined && !program.getSourceFile(keysFile) && !fs.existsSync(keysFile) ? keysFile : null;
    missingByProgram.set(program, missing);
  }
  return missing;
}

/** A `missingKeys` problem on each import in `sf` of the program's keys file, when that file was never generated. */
export function missingKeysProblems(ts: typeof TS, program: TS.Program, sf: TS.SourceFile): Problem[] {
  const keysFile = missingKeysFile(program);
  if (keysFile === null) return [];
  return keysImports(ts, sf, keysFile).map((specifier) =>
    problem("missingKeys", specifier.getStart(sf), specifier.getWidth(sf), specifier.text));
}
