/**
 * `tscaching init`: set an existing project up for tscaching, changing only what is missing:
 *
 * - tsconfig.json: `{ "transform": "tscaching/transformer" }` (the build) and
 *   `{ "name": "tscaching/language-service" }` (the editor) in `compilerOptions.plugins`. The file is
 *   edited as text, so its comments, order and layout stay as they were.
 * - package.json: every script that runs `tsc` runs `tspc` instead (ts-patch's compiler, which
 *   applies the transformer), or a `build: tspc` script when there is none. This is preferred to a
 *   `prepare: ts-patch install` step, which rewrites node_modules/typescript in place on each install:
 *   rewriting the scripts is visible in review, leaves node_modules alone and works where
 *   node_modules cannot be patched (pnpm's store, Yarn Plug'n'Play).
 * - keys.ts: a first typed key registry (what `tscaching keys` writes).
 *
 * Each change is printed; a second run prints "nothing to change".
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import type * as TS from "typescript";
import { KEYS_HEADER } from "../../transformer/keys-file";
import { transformerEntry } from "../../transformer/settings";
import { CliError, messageOf } from "../errors";
import { projectKeys, readKeysFile } from "../keys-registry";
import { displayPath, examples, plural, processContext, type Context } from "../output";
import { defaultKeysFile, morphTs, readTsconfig, resolveTsconfig } from "../project";

interface InitOptions {
  project: string;
  dryRun?: boolean;
  languageService: boolean;
  scripts: boolean;
  keys: boolean;
}

const TRANSFORM_ENTRY = '{ "transform": "tscaching/transformer" }';
const EDITOR_ENTRY = '{ "name": "tscaching/language-service" }';

export function initCommand(ctx: Context = processContext()): Command {
  return new Command("init")
    .summary("set a project up for tscaching (tsconfig plugin, tspc build, keys.ts)")
    .description("Set an existing project up for tscaching: add the transformer and the editor plugin to tsconfig.json,\n" +
      "build with tspc (ts-patch's tsc) in package.json's scripts, and write a first keys.ts.\n" +
      "Only what is missing is changed, and each change is printed; running it again changes nothing.")
    .option("-p, --project <path>", "tsconfig.json, or the folder holding it", "tsconfig.json")
    .option("--dry-run", "print what would change; change nothing")
    .option("--no-language-service", "do not add the editor plugin (tscaching/language-service)")
    .option("--no-scripts", "leave package.json alone")
    .option("--no-keys", "do not write keys.ts")
    .addHelpText("after", examples([
      ["tscaching init", "set up the project in the current folder"],
      ["tscaching init -p packages/api --dry-run", "show what would change"],
    ]))
    .action((options: InitOptions) => {
      const configPath = resolveTsconfig(ctx.cwd, options.project);
      const changes: string[] = [];
      const notes: string[] = [];
      const shown = (file: string) => displayPath(ctx.cwd, file);
      const verb = (done: string, would: string) => (options.dryRun ? would : done);

      // 1. tsconfig.json
      // A brand-new project may have no source file yet: that is no reason not to set it up.
      const parsed = readTsconfig(configPath, ctx.cwd, { allowNoInputs: true });
      const plugins = pluginEdit(configPath, ctx.cwd, parsed, options.languageService);
      if (plugins.text !== undefined) {
        if (!options.dryRun) fs.writeFileSync(configPath, plugins.text);
        for (const entry of plugins.added) {
          changes.push(`${shown(configPath)}: ${verb("added", "would add")} ${entry} to compilerOptions.plugins`);
        }
      }

      // 2. package.json
      const packagePath = findPackageJson(path.dirname(configPath));
      if (options.scripts && packagePath) {
        const edit = scriptsEdit(packagePath, path.relative(path.dirname(packagePath), configPath).replace(/\\/g, "/"), options.keys);
        if (edit.text !== undefined && !options.dryRun) fs.writeFileSync(packagePath, edit.text);
        for (const line of edit.changes) changes.push(`${shown(packagePath)}: ${options.dryRun ? `would change ${line}` : line}`);
        notes.push(...edit.notes);
      } else if (options.scripts) {
        notes.push("no package.json found: build with `npx tspc` (ts-patch's tsc) instead of `tsc`");
      }

      // 3. keys.ts
      if (options.keys && parsed.fileNames.length === 0) {
        notes.push("no source file yet: keys.ts is written by `tscaching keys` (the build script runs it) once there is one");
      } else if (options.keys) {
        const outFile = defaultKeysFile(configPath);
        const existing = readKeysFile(outFile);
        if (existing !== undefined && !existing.startsWith(KEYS_HEADER)) {
          notes.push(`${shown(outFile)} exists and was not written by tscaching: left alone (write the registry elsewhere with \`tscaching keys -o <file>\`)`);
        } else {
          const { text, count } = projectKeys(configPath, parsed, outFile);
          if (existing !== text) {
            if (!options.dryRun) {
              fs.mkdirSync(path.dirname(outFile), { recursive: true });
              fs.writeFileSync(outFile, text);
            }
            const what = existing === undefined ? verb("wrote", "would write") : verb("refreshed", "would refresh");
            changes.push(`${shown(outFile)}: ${what} the key registry (${plural(count, "key helper")})`);
          }
        }
      }

      notes.push(...bundlerNotes(path.dirname(configPath), shown));
      for (const line of changes) ctx.out(line);
      if (changes.length === 0) ctx.out(`nothing to change: ${shown(configPath)} is set up for tscaching`);
      for (const note of notes) ctx.out(ctx.style.yellow(`note: ${note}`));
      if (changes.length > 0 && !options.dryRun) {
        ctx.out(ctx.style.dim("next: build with `npm run build` (tspc); keep keys.ts current with `tscaching keys --watch`"));
      }
    });
}

/** The new tsconfig text (undefined when nothing is missing) and the entries added. */
function pluginEdit(configPath: string, cwd: string, parsed: TS.ParsedCommandLine, editor: boolean): { text?: string; added: string[] } {
  const effective = (parsed.options.plugins ?? []) as unknown as Array<Record<string, unknown>>;
  const missing: string[] = [];
  if (!transformerEntry(parsed.options)) {
    missing.push(TRANSFORM_ENTRY);
  }
  if (editor && !effective.some((p) => p.name === "tscaching/language-service")) missing.push(EDITOR_ENTRY);
  if (missing.length === 0) return { added: [] };

  const ts = morphTs();
  const text = fs.readFileSync(configPath, "utf8");
  const file = ts.parseJsonText(configPath, text);
  const parseErrors = (file as unknown as { parseDiagnostics?: TS.Diagnostic[] }).parseDiagnostics ?? [];
  if (parseErrors.length > 0) {
    throw new CliError(`cannot edit ${displayPath(cwd, configPath)}: ${ts.flattenDiagnosticMessageText(parseErrors[0].messageText, " ")}`);
  }
  const root = file.statements[0]?.expression;
  if (!root || !ts.isObjectLiteralExpression(root)) {
    throw new CliError(`cannot edit ${displayPath(cwd, configPath)}: it does not hold a JSON object`);
  }
  const style = layoutOf(text);
  const compilerOptions = property(ts, root, "compilerOptions");
  const plugins = compilerOptions && ts.isObjectLiteralExpression(compilerOptions.initializer)
    ? property(ts, compilerOptions.initializer, "plugins") : undefined;
  if (plugins && ts.isArrayLiteralExpression(plugins.initializer)) {
    return { text: appendToArray(text, plugins.initializer, missing, style), added: missing };
  }
  if (plugins) throw new CliError(`cannot edit ${displayPath(cwd, configPath)}: compilerOptions.plugins is not an array`);
  // No local plugins: keep the ones inherited through "extends", which a local array would replace.
  const inherited = effective.map((p) => `{ ${Object.entries(p).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")} }`);
  if (compilerOptions && ts.isObjectLiteralExpression(compilerOptions.initializer)) {
    const object = compilerOptions.initializer;
    const oneLine = object.properties.length > 0 && !text.slice(startOf(text, object), object.getEnd()).includes("\n");
    const indent = indentOf(text, object.properties[object.properties.length - 1] ?? object, style) + (object.properties.length ? "" : style.unit);
    const value = oneLine ? `[${[...inherited, ...missing].join(", ")}]` : arrayText([...inherited, ...missing], indent, style);
    return { text: addProperty(text, object, "plugins", value, style), added: missing };
  }
  if (compilerOptions) throw new CliError(`cannot edit ${displayPath(cwd, configPath)}: compilerOptions is not an object`);
  const indent = indentOf(text, root, style) + style.unit;
  const value = `{${style.newline}${indent}${style.unit}"plugins": ${arrayText([...inherited, ...missing], indent + style.unit, style)}${style.newline}${indent}}`;
  return { text: addProperty(text, root, "compilerOptions", value, style), added: missing };
}

interface Layout {
  readonly unit: string;
  readonly newline: string;
}

/** The file's indentation unit (two spaces unless it shows otherwise) and line ending. */
function layoutOf(text: string): Layout {
  const newline = text.includes("\r\n") ? "\r\n" : "\n";
  const indents = text.split(/\r?\n/).map((l) => /^[ \t]+(?=\S)/.exec(l)?.[0]).filter((i): i is string => !!i);
  const tab = indents.find((i) => i.startsWith("\t"));
  const spaces = indents.filter((i) => i.startsWith(" ")).map((i) => i.length);
  const unit = tab && spaces.length === 0 ? "\t" : " ".repeat(spaces.length ? Math.min(...spaces) : 2);
  return { unit, newline };
}

function property(ts: typeof TS, object: TS.ObjectLiteralExpression, name: string): TS.PropertyAssignment | undefined {
  return object.properties.find((p): p is TS.PropertyAssignment =>
    ts.isPropertyAssignment(p) && (ts.isStringLiteral(p.name) || ts.isIdentifier(p.name)) && p.name.text === name);
}

/** Where a node's first token starts: past the whitespace and comments in front of it. */
function startOf(text: string, node: TS.Node): number {
  let i = node.pos;
  for (;;) {
    const rest = text.slice(i);
    const skip = /^(?:\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (!skip) return i;
    i += skip[0].length;
  }
}

/** Indentation of the line a node starts on. */
function indentOf(text: string, node: TS.Node, _style: Layout): string {
  const start = startOf(text, node);
  const lineStart = text.lastIndexOf("\n", start - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))![0];
}

/**
 * Where to put new text after an element ending at `end`: past its trailing comma, and past a
 * comment that ends the line, so the comment keeps its place.
 */
function afterLineComment(text: string, end: number): number {
  const rest = /^[^\n]*/.exec(text.slice(end))![0].replace(/\r$/, "");
  if (/^\s*,?\s*(?:\/\/.*|\/\*.*\*\/\s*)?$/.test(rest)) return end + rest.length;
  return end + (/^\s*,/.exec(rest)?.[0].length ?? 0);
}

function arrayText(items: string[], indent: string, style: Layout): string {
  return `[${style.newline}${items.map((item) => `${indent}${style.unit}${item}`).join(`,${style.newline}`)}${style.newline}${indent}]`;
}

/** Add `"name": value` as the object's last property. */
function addProperty(text: string, object: TS.ObjectLiteralExpression, name: string, value: string, style: Layout): string {
  const entry = `${JSON.stringify(name)}: ${value}`;
  const last = object.properties[object.properties.length - 1];
  if (!last) {
    const indent = indentOf(text, object, style);
    const open = startOf(text, object) + 1;
    const close = object.getEnd() - 1;
    return `${text.slice(0, open)}${style.newline}${indent}${style.unit}${entry}${style.newline}${indent}${text.slice(close)}`;
  }
  const multiline = text.slice(startOf(text, object), object.getEnd()).includes("\n");
  const comma = last.getEnd();
  if (!multiline) return `${text.slice(0, comma)}, ${entry}${text.slice(comma)}`;
  const indent = indentOf(text, last, style);
  const trailingComma = object.properties.hasTrailingComma;
  const at = afterLineComment(text, comma);
  const insert = `${style.newline}${indent}${entry}${trailingComma ? "," : ""}`;
  return `${text.slice(0, comma)}${trailingComma ? "" : ","}${text.slice(comma, at)}${insert}${text.slice(at)}`;
}

/** Append items to a JSON array, matching its one-line or one-item-per-line layout. */
function appendToArray(text: string, array: TS.ArrayLiteralExpression, items: string[], style: Layout): string {
  const last = array.elements[array.elements.length - 1];
  if (!last) {
    const open = startOf(text, array) + 1;
    return `${text.slice(0, open)}${items.join(", ")}${text.slice(array.getEnd() - 1)}`;
  }
  const end = last.getEnd();
  const multiline = text.slice(startOf(text, array), array.getEnd()).includes("\n");
  if (!multiline) return `${text.slice(0, end)}, ${items.join(", ")}${text.slice(end)}`;
  const indent = indentOf(text, last, style);
  const trailingComma = array.elements.hasTrailingComma;
  const at = afterLineComment(text, end);
  const insert = items.map((item, i) => `${style.newline}${indent}${item}${i < items.length - 1 || trailingComma ? "," : ""}`).join("");
  return `${text.slice(0, end)}${trailingComma ? "" : ","}${text.slice(end, at)}${insert}${text.slice(at)}`;
}

/** The nearest package.json at or above the tsconfig's folder. */
function findPackageJson(dir: string): string | undefined {
  for (let current = dir; ; current = path.dirname(current)) {
    const candidate = path.join(current, "package.json");
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(current) === current) return undefined;
  }
}

/** `tsc` run as a command (not `tspc`, not a path or a word containing it). */
const TSC = /(^|[\s;&|(])tsc(?=$|[\s;&|)])/g;
/** `tspc` run as a command. */
const TSPC = /(^|[\s;&|(])tspc(?=$|[\s;&|)])/;

/**
 * package.json's scripts: `tsc` → `tspc`, and a build that runs tspc runs `tscaching keys` first
 * (with `keys`), so a checkout without keys.ts (git-ignored) builds, in CI too.
 */
function scriptsEdit(packagePath: string, tsconfig: string, keys: boolean): { text?: string; changes: string[]; notes: string[] } {
  const raw = fs.readFileSync(packagePath, "utf8");
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(raw) as Record<string, unknown>;
  } catch (error) {
    throw new CliError(`cannot read ${path.basename(packagePath)}: ${messageOf(error)}`);
  }
  const changes: string[] = [];
  const notes: string[] = [];
  const scripts = (pkg.scripts && typeof pkg.scripts === "object" ? pkg.scripts : {}) as Record<string, string>;
  const next: Record<string, string> = { ...scripts };
  const project = tsconfig === "tsconfig.json" ? "" : ` -p ${tsconfig}`;
  const withKeys = (name: string, command: string) => keys && name === "build" && TSPC.test(command) &&
    !/(^|[\s;&|(])tscaching\s+keys\b/.test(command) ? `tscaching keys${project} && ${command}` : command;
  for (const [name, command] of Object.entries(scripts)) {
    if (typeof command !== "string") continue;
    const replaced = withKeys(name, command.replace(TSC, "$1tspc"));
    if (replaced !== command) {
      next[name] = replaced;
      changes.push(`scripts.${name}: ${JSON.stringify(command)} → ${JSON.stringify(replaced)}`);
    }
  }
  const usesTspc = Object.values(next).some((c) => typeof c === "string" && TSPC.test(c));
  const usesPatch = Object.values(next).some((c) => typeof c === "string" && /ts-patch\s+install/.test(c));
  if (!usesTspc && !usesPatch) {
    if (next.build === undefined) {
      next.build = withKeys("build", `tspc${project}`);
      changes.push(`scripts.build: added ${JSON.stringify(next.build)}`);
    } else {
      notes.push(`scripts.build (${JSON.stringify(next.build)}) does not run tsc: a bundler that builds the project ` +
        "needs the tscaching plugin (tscaching/vite, tscaching/esbuild, ...); see the README");
    }
  }
  const deps = { ...(pkg.dependencies as object | undefined), ...(pkg.devDependencies as object | undefined) } as Record<string, unknown>;
  if (!("ts-patch" in deps)) notes.push("ts-patch is not in package.json: npm install -D ts-patch");
  if (!("tscaching" in deps) && pkg.name !== "tscaching") notes.push("tscaching is not in package.json's dependencies: npm install tscaching");
  if (changes.length === 0) return { changes, notes };
  const indent = /^\{\r?\n([ \t]+)"/.exec(raw)?.[1] ?? "  ";
  const newline = raw.includes("\r\n") ? "\r\n" : "\n";
  const text = JSON.stringify({ ...pkg, scripts: next }, null, indent).replace(/\n/g, newline) + (/\r?\n$/.test(raw) || raw === "" ? newline : "");
  return { text, changes, notes };
}

/** A vite or vitest config that does not load the plugin: tagged code would run uncached there. */
function bundlerNotes(dir: string, shown: (file: string) => string): string[] {
  const notes: string[] = [];
  for (const base of ["vite.config", "vitest.config"]) {
    for (const ext of [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"]) {
      const file = path.join(dir, base + ext);
      if (!fs.existsSync(file)) continue;
      if (!fs.readFileSync(file, "utf8").includes("tscaching/vite")) {
        notes.push(`${shown(file)} does not load tscaching/vite: tagged functions run uncached under ${base.slice(0, base.indexOf("."))}. ` +
          'Add `import tscaching from "tscaching/vite"` and `plugins: [tscaching()]`');
      }
    }
  }
  return notes;
}
