/**
 * The keys file as the CLI handles it: generated with the transformer's `generateKeysFile` (so the
 * CLI and the build always agree on its text) and compared line by line with what is on disk.
 */
import * as fs from "node:fs";
import type * as TS from "typescript";
import { CHECKER_ONLY } from "../transformer/diagnostics";
import { generateKeysFile } from "../transformer/keys-file";
import { keysWithoutChecker, type KeysResult } from "./keys-fast";
import { loadProject, morphTs, ProjectFiles, scanProject, type LoadedProject, type ProjectScan } from "./project";

/** The text `tscaching keys` writes and the number of helpers in it. */
export function generateKeys(loaded: LoadedProject, scan: ProjectScan, outFile: string): { text: string; count: number } {
  return { text: generateKeysFile(morphTs(), loaded.program, scan.scans, outFile, loaded.settings.runtime), count: scan.functions.length };
}

/**
 * The keys file of a project, its helper count and its number of @cache errors: without the type
 * checker when the syntax settles every answer (keys-fast.ts), else with a fully checked program.
 * Both give the same result; `files` shares parsed source files between runs (`--watch`). No
 * position is printed, so JSDoc is parsed only where types need it.
 */
export function projectKeys(configPath: string, parsed: TS.ParsedCommandLine, outFile: string,
                            files = new ProjectFiles(configPath, { jsDoc: "types" })): KeysResult {
  return keysWithoutChecker(configPath, parsed, outFile, files) ?? keysWithChecker(configPath, parsed, outFile, files);
}

/** The keys of a project from a fully type-checked program (what the transformer compares keys.ts with). */
export function keysWithChecker(configPath: string, parsed: TS.ParsedCommandLine, outFile: string,
                                files = new ProjectFiles(configPath)): KeysResult {
  const loaded = loadProject(configPath, { exclude: [outFile], parsed, files });
  const scan = scanProject(loaded);
  const { text, count } = generateKeys(loaded, scan, outFile);
  const errors = scan.problems.filter(({ problem }) => problem.severity === "error" && !CHECKER_ONLY.has(problem.kind)).length;
  return { text, count, errors, checked: true };
}

/** The file's text, or undefined when there is none. */
export function readKeysFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** One helper line of a keys file: `keys.DB.get` → its line, keyed by id. */
interface HelperLine {
  readonly path: string;
  readonly text: string;
}

const PROPERTY = /^\s*("(?:[^"\\]|\\.)*"|[A-Za-z_$][\w$]*): (.*)$/;
const HELPER_ID = /keyHelper<.*>\(("(?:[^"\\]|\\.)*")(?:, "[A-Za-z0-9_.-]*")?\),?$/;

const IMPORT = /^import type \* as (m\d+) from ("(?:[^"\\]|\\.)*");$/;

/**
 * The helpers of a generated keys file, by id (the `keys` object's lines, with their paths). Module
 * aliases (`m0`, `m1`) are replaced by the modules they stand for: a new module renumbers them all,
 * which changes no helper.
 */
export function parseHelpers(text: string): Map<string, HelperLine> {
  const helpers = new Map<string, HelperLine>();
  const aliases = new Map<string, string>();
  const stack: string[] = [];
  let inside = false;
  for (const line of text.split(/\r?\n/)) {
    if (!inside) {
      const m = IMPORT.exec(line);
      if (m) aliases.set(m[1], m[2]);
      inside = /^export const keys = \{/.test(line);
      continue;
    }
    if (/^\s*\},?;?$/.test(line)) {
      if (stack.length === 0) break;
      stack.pop();
      continue;
    }
    const m = PROPERTY.exec(line);
    if (!m) continue;
    const name = m[1].startsWith('"') ? (JSON.parse(m[1]) as string) : m[1];
    if (m[2] === "{") {
      stack.push(name);
      continue;
    }
    const id = HELPER_ID.exec(m[2]);
    if (!id) continue;
    const normalized = m[2].replace(/\b(m\d+)\./g, (alias, name: string) => aliases.has(name) ? `import(${aliases.get(name)}).` : alias);
    helpers.set(JSON.parse(id[1]) as string, { path: ["keys", ...stack, name].join("."), text: normalized });
  }
  return helpers;
}

/** What differs between the keys file on disk and the generated one. */
export interface KeysDiff {
  readonly added: ReadonlyArray<{ id: string; path: string }>;
  readonly removed: ReadonlyArray<{ id: string; path: string }>;
  readonly changed: ReadonlyArray<{ id: string; path: string }>;
  /** Lines outside the helpers differ (imports, header, layout). */
  readonly otherLines: boolean;
}

/** Compare the file on disk with the generated text, helper by helper. */
export function diffKeys(existing: string, generated: string): KeysDiff {
  const before = parseHelpers(existing);
  const after = parseHelpers(generated);
  const added = [...after].filter(([id]) => !before.has(id)).map(([id, h]) => ({ id, path: h.path }));
  const removed = [...before].filter(([id]) => !after.has(id)).map(([id, h]) => ({ id, path: h.path }));
  const changed = [...after].filter(([id, h]) => before.has(id) &&
    (before.get(id)!.text !== h.text || before.get(id)!.path !== h.path)).map(([id, h]) => ({ id, path: h.path }));
  // Outside the helpers, compare what remains once renumbered aliases are set aside.
  const strip = (text: string) => text.split(/\r?\n/).filter((l) => !HELPER_ID.test(l))
    .map((l) => l.replace(/^import type \* as m\d+ from /, "import type * as _ from ")).sort().join("\n");
  return { added, removed, changed, otherLines: strip(existing) !== strip(generated) };
}

/** `3 helpers added (keys.a, keys.b, keys.c), 1 changed (keys.d)`: a diff on one line. */
export function summarizeDiff(diff: KeysDiff, names = 3): string {
  const list = (items: KeysDiff["added"]) => {
    const shown = items.slice(0, names).map((h) => h.path).join(", ");
    return items.length > names ? `${shown}, …` : shown;
  };
  const parts = ([["added", diff.added], ["removed", diff.removed], ["changed", diff.changed]] as const)
    .filter(([, items]) => items.length > 0)
    .map(([what, items], i) => `${i === 0 ? `${items.length} ${items.length === 1 ? "helper" : "helpers"}` : items.length} ${what} (${list(items)})`);
  return parts.length > 0 ? parts.join(", ") : "imports or layout differ";
}

/** One line per difference: `+ keys.DB.get  (src/db#DB.get)`. */
export function describeDiff(diff: KeysDiff): string[] {
  const line = (mark: string, h: { id: string; path: string }, note = "") => `${mark} ${h.path}  (${h.id})${note}`;
  return [
    ...diff.added.map((h) => line("+", h)),
    ...diff.removed.map((h) => line("-", h)),
    ...diff.changed.map((h) => line("~", h, ": its key parameters or value type changed")),
    ...(diff.otherLines && diff.added.length + diff.removed.length + diff.changed.length === 0
      ? ["~ imports or layout (the file was edited by hand, or written by another tscaching version)"] : []),
  ];
}
