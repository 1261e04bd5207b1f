/**
 * tscaching's diagnostics for one file of a program, as the editor shows them: the same scanner,
 * checks and keys.ts comparison as the transformer, turned into TypeScript diagnostics.
 */
import type * as TS from "typescript";
import * as path from "node:path";
import { problem, type Problem } from "../transformer/diagnostics";
import { generateKeysFile, KEYS_HEADER } from "../transformer/keys-file";
import { projectRoot, scanProgram } from "../transformer/project";
import type { ScanResult } from "../transformer/scan";

export interface EditorSettings {
  /** `"off"` hides warnings, `"error"` shows them as errors; otherwise they are warnings. */
  readonly warnings?: string;
  /** Folder ids are relative to (absolute, or relative to the tsconfig's folder). */
  readonly rootDir?: string;
  /** Module the rewritten code imports (shapes the expected keys.ts). */
  readonly runtime?: string;
}

const scansByProgram = new WeakMap<TS.Program, Map<string, Map<TS.SourceFile, ScanResult>>>();

/** Scan a program once per settings; the editor asks for every open file of one program. */
function scansOf(ts: typeof TS, program: TS.Program, rootDir: string): Map<TS.SourceFile, ScanResult> {
  let byRoot = scansByProgram.get(program);
  if (!byRoot) scansByProgram.set(program, (byRoot = new Map()));
  let scans = byRoot.get(rootDir);
  if (!scans) byRoot.set(rootDir, (scans = scanProgram(ts, program, { rootDir })));
  return scans;
}

/** The `{ "transform": "tscaching/transformer", ... }` entry of a tsconfig's plugins, if any. */
export function transformerEntry(options: TS.CompilerOptions): EditorSettings {
  const plugins = (options.plugins ?? []) as unknown as Array<Record<string, unknown>>;
  const entry = plugins.find((p) => typeof p.transform === "string" && /^tscaching\/transformer(?:\/|$)/.test(p.transform));
  if (!entry) return {};
  return {
    warnings: typeof entry.warnings === "string" ? entry.warnings : undefined,
    rootDir: typeof entry.rootDir === "string" ? entry.rootDir : undefined,
    runtime: typeof entry.runtime === "string" ? entry.runtime : undefined,
  };
}

/** tscaching's diagnostics for `fileName` in `program` (none for files it does not concern). */
export function tscachingDiagnostics(ts: typeof TS, program: TS.Program, fileName: string,
                                     settings: EditorSettings = {}): TS.Diagnostic[] {
  const sf = program.getSourceFile(fileName);
  if (!sf) return [];
  const isKeysFile = sf.text.startsWith(KEYS_HEADER);
  if (!isKeysFile && !sf.text.includes("@cache")) return [];
  const root = projectRoot(program);
  const rootDir = settings.rootDir ? path.resolve(root, settings.rootDir) : root;
  const scans = scansOf(ts, program, rootDir);
  const problems: Problem[] = [];
  if (isKeysFile) {
    const expected = generateKeysFile(ts, program, scans, sf.fileName, settings.runtime ?? "tscaching");
    if (expected !== sf.text) problems.push(problem("staleKeys", 0, KEYS_HEADER.length, path.basename(sf.fileName)));
  } else {
    problems.push(...scans.get(sf)?.problems ?? []);
  }
  const diagnostics: TS.Diagnostic[] = [];
  for (const p of problems) {
    if (p.severity === "warning" && settings.warnings === "off") continue;
    const category = p.severity === "error" || settings.warnings === "error"
      ? ts.DiagnosticCategory.Error : ts.DiagnosticCategory.Warning;
    diagnostics.push({ file: sf, start: p.start, length: p.length, messageText: p.message, code: p.code, category, source: "tscaching" });
  }
  return diagnostics;
}
