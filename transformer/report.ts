/**
 * Problems turned into what each tool shows, under one warning policy: the transformer, the editor
 * plugin, the bundler plugins and `tscaching check` all decide an error, a warning or nothing here,
 * and build TypeScript diagnostics here.
 */
import type * as TS from "typescript";
import type { Problem, Severity } from "./diagnostics";
import type { WarningMode } from "./settings";

/**
 * What a problem of `severity` becomes under the `warnings` setting: errors stay errors; warnings
 * become errors (`"error"`), disappear (`"off"`) or stay warnings (`"warn"`, `"diagnostic"`).
 */
export function shownSeverity(severity: Severity, warnings: WarningMode): Severity | undefined {
  if (severity === "error" || warnings === "error") return "error";
  return warnings === "off" ? undefined : "warning";
}

/** A problem of `sf` as a TypeScript diagnostic (source "tscaching"), or undefined when `warnings` hides it. */
export function toDiagnostic(ts: typeof TS, sf: TS.SourceFile, p: Problem, warnings: WarningMode): TS.Diagnostic | undefined {
  const severity = shownSeverity(p.severity, warnings);
  if (!severity) return undefined;
  return {
    file: sf, start: p.start, length: p.length, messageText: p.message, code: p.code, source: "tscaching",
    category: severity === "error" ? ts.DiagnosticCategory.Error : ts.DiagnosticCategory.Warning,
  };
}
