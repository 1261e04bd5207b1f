/**
 * tscaching's diagnostics for one file of a program, as the editor shows them: the same scanner,
 * checks and keys.ts comparison as the transformer, turned into TypeScript diagnostics.
 */
import type * as TS from "typescript";
import { KEYS_HEADER } from "../transformer/keys-file";
import { fileProblems, scanProgram } from "../transformer/project";
import { toDiagnostic } from "../transformer/report";
import type { ScanResult } from "../transformer/model";
import { programSettings, type SettingsInput, type VersionSource } from "../transformer/settings";

/** The editor plugin's own entry may repeat `rootDir`, `runtime` and `warnings`; they win over the transformer entry's. */
export type EditorSettings = SettingsInput;

const scansByProgram = new WeakMap<TS.Program, Map<string, Map<TS.SourceFile, ScanResult>>>();

/** Scan a program once per settings; the editor asks for every open file of one program. */
function scansOf(ts: typeof TS, program: TS.Program, rootDir: string, versions: VersionSource): Map<TS.SourceFile, ScanResult> {
  let byRoot = scansByProgram.get(program);
  if (!byRoot) scansByProgram.set(program, (byRoot = new Map()));
  let scans = byRoot.get(`${versions}:${rootDir}`);
  if (!scans) byRoot.set(`${versions}:${rootDir}`, (scans = scanProgram(ts, program, { rootDir, versions })));
  return scans;
}

/** tscaching's diagnostics for `fileName` in `program` (none for files it does not concern). */
export function tscachingDiagnostics(ts: typeof TS, program: TS.Program, fileName: string,
                                     own: EditorSettings = {}): TS.Diagnostic[] {
  const sf = program.getSourceFile(fileName);
  if (!sf) return [];
  const settings = programSettings(program, own);
  // A file without tags and no keys.ts is only checked for imports of a keys.ts not yet generated: no scan needed.
  const scans = sf.text.startsWith(KEYS_HEADER) || sf.text.includes("@cache") ? scansOf(ts, program, settings.rootDir, settings.versions) : new Map();
  return fileProblems(ts, program, sf, scans, settings.runtime).flatMap((p) => toDiagnostic(ts, sf, p, settings.warnings) ?? []);
}
