/**
 * tscaching's diagnostics for one file of a program, as the editor shows them: the same scanner,
 * checks and keys.ts comparison as the transformer, turned into TypeScript diagnostics.
 */
import type * as TS from "typescript";
import * as path from "node:path";
import { problem, type Problem } from "../transformer/diagnostics";
import { generateKeysFile, KEYS_HEADER } from "../transformer/keys-file";
import { defaultKeysFile, keysFileMissing, missingKeysProblems } from "../transformer/keys-location";
import { scanProgram } from "../transformer/project";
import { toDiagnostic } from "../transformer/report";
import type { ScanResult } from "../transformer/model";
import { programSettings, type SettingsInput } from "../transformer/settings";

/** The editor plugin's own entry may repeat `rootDir`, `runtime` and `warnings`; they win over the transformer entry's. */
export type EditorSettings = SettingsInput;

const scansByProgram = new WeakMap<TS.Program, Map<string, Map<TS.SourceFile, ScanResult>>>();

/** Scan a program once per settings; the editor asks for every open file of one program. */
function scansOf(ts: typeof TS, program: TS.Program, rootDir: string): Map<TS.SourceFile, ScanResult> {
  let byRoot = scansByProgram.get(program);
  if (!byRoot) scansByProgram.set(program, (byRoot = new Map()));
  let scans = byRoot.get(rootDir);
  if (!scans) byRoot.set(rootDir, (scans = scanProgram(ts, program, { rootDir })));
  return scans;
}

/** tscaching's diagnostics for `fileName` in `program` (none for files it does not concern). */
export function tscachingDiagnostics(ts: typeof TS, program: TS.Program, fileName: string,
                                     own: EditorSettings = {}): TS.Diagnostic[] {
  const sf = program.getSourceFile(fileName);
  if (!sf) return [];
  const settings = programSettings(program, own);
  const configFile = program.getCompilerOptions().configFilePath;
  const keysFile = typeof configFile === "string" ? defaultKeysFile(configFile) : undefined;
  const missing = keysFile !== undefined && keysFileMissing(program, keysFile) ? missingKeysProblems(ts, sf, keysFile) : [];
  const isKeysFile = sf.text.startsWith(KEYS_HEADER);
  if (!isKeysFile && !sf.text.includes("@cache")) return missing.flatMap((p) => toDiagnostic(ts, sf, p, settings.warnings) ?? []);
  const scans = scansOf(ts, program, settings.rootDir);
  const problems: Problem[] = [...missing];
  if (isKeysFile) {
    const expected = generateKeysFile(ts, program, scans, sf.fileName, settings.runtime);
    if (expected !== sf.text) problems.push(problem("staleKeys", 0, KEYS_HEADER.length, path.basename(sf.fileName)));
  } else {
    problems.push(...scans.get(sf)?.problems ?? []);
  }
  return problems.flatMap((p) => toDiagnostic(ts, sf, p, settings.warnings) ?? []);
}
