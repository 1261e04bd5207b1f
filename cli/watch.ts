/**
 * A small source watcher for `tscaching keys --watch`: one non-recursive `fs.watch` per folder
 * (Node 20's recursive mode polls every file on Linux), over the folders the tsconfig's
 * include patterns cover — the same "wildcard directories" tsc --watch uses — skipping
 * node_modules, hidden folders and the output folders. Changes are debounced into one batch.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as TS from "typescript";

/** Folders and files to watch. */
export interface WatchTargets {
  readonly directories: ReadonlyArray<{ readonly path: string; readonly recursive: boolean }>;
  /** Skip these folders entirely (output folders). */
  readonly skip: readonly string[];
}

/** The folders a tsconfig's file list depends on: its wildcard directories and each root file's folder. */
export function watchTargets(configPath: string, parsed: TS.ParsedCommandLine): WatchTargets {
  const directories = new Map<string, boolean>();
  for (const [dir, flags] of Object.entries(parsed.wildcardDirectories ?? {})) {
    directories.set(path.resolve(dir), (flags & 1 /* WatchDirectoryFlags.Recursive */) !== 0);
  }
  for (const file of [configPath, ...parsed.fileNames]) {
    const dir = path.dirname(path.resolve(file));
    if (!directories.has(dir)) directories.set(dir, false);
  }
  const skip = [parsed.options.outDir, parsed.options.declarationDir].filter((d): d is string => !!d).map((d) => path.resolve(d));
  return { directories: [...directories].map(([p, recursive]) => ({ path: p, recursive })), skip };
}

const SOURCE = /\.(?:[cm]?[jt]sx?|json)$/;

/** Watches folders and reports changed source and config paths in debounced batches. */
export class SourceWatcher {
  readonly #watchers = new Map<string, fs.FSWatcher>();
  readonly #pending = new Set<string>();
  readonly #skip: readonly string[];
  readonly #ignore: (file: string) => boolean;
  readonly #onChange: (paths: string[]) => void;
  readonly #debounceMs: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(targets: WatchTargets, options: { ignore: (file: string) => boolean; onChange: (paths: string[]) => void; debounceMs?: number }) {
    this.#skip = targets.skip;
    this.#ignore = options.ignore;
    this.#onChange = options.onChange;
    this.#debounceMs = options.debounceMs ?? 100;
    for (const dir of targets.directories) this.#watch(dir.path, dir.recursive);
  }

  /** Number of folders watched. */
  get size(): number {
    return this.#watchers.size;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }

  #skipped(dir: string): boolean {
    const name = path.basename(dir);
    return name === "node_modules" || (name.startsWith(".") && name.length > 1) ||
      this.#skip.some((s) => dir === s || dir.startsWith(s + path.sep));
  }

  #watch(dir: string, recursive: boolean): void {
    if (this.#closed || this.#watchers.has(dir) || this.#skipped(dir)) return;
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(dir, { persistent: true }, (_event, name) => this.#event(dir, recursive, name?.toString()));
    } catch {
      return; // gone, or not a folder: a later reload picks up what exists
    }
    watcher.on("error", () => {
      watcher.close();
      this.#watchers.delete(dir);
    });
    this.#watchers.set(dir, watcher);
    if (!recursive) return;
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      // unreadable: watch what we can
    }
    for (const entry of entries) if (entry.isDirectory()) this.#watch(path.join(dir, entry.name), true);
  }

  #event(dir: string, recursive: boolean, name: string | undefined): void {
    if (this.#closed || !name) return;
    const full = path.join(dir, name);
    if (recursive && !this.#watchers.has(full) && !this.#skipped(full)) {
      let isDir = false;
      try {
        isDir = fs.statSync(full).isDirectory();
      } catch {
        // deleted
      }
      if (isDir) {
        this.#watch(full, true);
        this.#schedule(full);
        return;
      }
    }
    if (!SOURCE.test(name) || this.#ignore(full)) return;
    this.#schedule(full);
  }

  #schedule(file: string): void {
    this.#pending.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const batch = [...this.#pending];
      this.#pending.clear();
      if (!this.#closed) this.#onChange(batch);
    }, this.#debounceMs);
  }
}
