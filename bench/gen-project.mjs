#!/usr/bin/env node
// Generates a TypeScript project for the build-cost benchmark (item 5): `files` modules in folders
// of 50, each importing shared types and its predecessor (so the checker has real work), with
// `tagged` functions spread over them in the forms the transformer handles (function declarations,
// class methods with key=, arrow functions in consts, object-literal methods), plus untagged code.
//
//   node bench/gen-project.mjs <dir> [files=1000] [tagged=2000]
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const COMPILER_OPTIONS = {
  target: "ES2022",
  module: "node16",
  moduleResolution: "node16",
  strict: true,
  outDir: "dist",
  rootDir: "src",
  skipLibCheck: true,
  declaration: true,
  // The generated code needs no ambient types: the build measures the project, not @types/node.
  types: [],
};

function modulePath(i) {
  return `m${String(Math.floor(i / 50)).padStart(2, "0")}/file${String(i).padStart(4, "0")}`;
}

function relativeImport(from, to) {
  const [fromDir] = from.split("/");
  const [toDir, toFile] = to.split("/");
  return fromDir === toDir ? `./${toFile}` : `../${toDir}/${toFile}`;
}

const FORMS = [
  (i, k) => [
    `/** Loads record ${k}. @cache ttl=5m */`,
    `export async function load${k}(id: string, options: Options = { limit: 10 }): Promise<Row${i}[]> {`,
    `  const rows: Row${i}[] = [];`,
    `  for (let n = 0; n < options.limit; n++) rows.push({ id: \`\${id}-\${n}\`, value: n * ${k}, tags: [shared.label(n)] });`,
    "  return rows;",
    "}",
  ],
  (i, k) => [
    `export class Service${k} {`,
    "  constructor(private readonly tenant: string, private readonly base: number) {}",
    "",
    `  /** Per tenant. @cache ttl=1h key=this.tenant,id */`,
    `  async find(id: number): Promise<Row${i} | undefined> {`,
    `    return id > this.base ? { id: \`\${this.tenant}:\${id}\`, value: id, tags: [] } : undefined;`,
    "  }",
    "",
    "  describe(): string {",
    `    return \`Service${k}(\${this.tenant})\`;`,
    "  }",
    "}",
  ],
  (i, k) => [
    `/** @cache ttl=90 name=generated.total${k} */`,
    `export const total${k} = async (rows: readonly Row${i}[]): Promise<number> => rows.reduce((sum, r) => sum + r.value, 0);`,
  ],
  (i, k) => [
    `export const api${k} = {`,
    "  users: {",
    `    /** @cache ttl=2m */`,
    `    async byName(name: string): Promise<Summary> {`,
    `      return { name, count: name.length * ${k}, at: new Date(0) };`,
    "    },",
    "  },",
    "};",
  ],
];

/** Writes the project into `dir` (emptied first); returns counts. */
export function generateProject(dir, { files = 1000, tagged = 2000 } = {}) {
  dir = resolve(dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "src/shared"), { recursive: true });
  writeFileSync(join(dir, "tsconfig.json"), `${JSON.stringify({
    compilerOptions: { ...COMPILER_OPTIONS, plugins: [{ transform: "tscaching/transformer" }] },
    include: ["src"],
  }, null, 2)}\n`);
  // Same project, the plugin left out: tspc's own cost (ts-patch) apart from tscaching's.
  writeFileSync(join(dir, "tsconfig.noplugin.json"), `${JSON.stringify({
    extends: "./tsconfig.json", compilerOptions: { plugins: [] },
  }, null, 2)}\n`);
  writeFileSync(join(dir, "src/shared/index.ts"), [
    "export interface Options { limit: number; order?: \"asc\" | \"desc\" }",
    "export interface Summary { name: string; count: number; at: Date }",
    "export function label(n: number): string { return n % 2 ? \"odd\" : \"even\"; }",
    "export type Maybe<T> = T | undefined;",
    "",
  ].join("\n"));
  let k = 0;
  for (let i = 0; i < files; i++) {
    const path = modulePath(i);
    mkdirSync(join(dir, "src", path.split("/")[0]), { recursive: true });
    const lines = [
      `import * as shared from "../shared/index.js";`,
      `import type { Options, Summary, Maybe } from "../shared/index.js";`,
    ];
    if (i > 0) lines.push(`import { helper${i - 1}, type Row${i - 1} } from "${relativeImport(path, modulePath(i - 1))}.js";`);
    lines.push(
      "",
      `export interface Row${i} { id: string; value: number; tags: string[] }`,
      "",
      `export function helper${i}(input: Maybe<string>): string {`,
      i > 0 ? `  const previous: Row${i - 1} = { id: helper${i - 1}(input), value: ${i}, tags: [] };` : "  const previous = { id: \"\", value: 0 };",
      "  return `${input ?? \"none\"}:${previous.value}`;",
      "}",
      "",
      `export function untouched${i}(options: Options): Summary {`,
      `  return { name: "f${i}", count: options.limit, at: new Date(${i}) };`,
      "}",
    );
    // Spread `tagged` functions evenly: file i gets those with index in [i*tagged/files, (i+1)*tagged/files).
    const end = Math.floor(((i + 1) * tagged) / files);
    for (; k < end; k++) lines.push("", ...FORMS[k % FORMS.length](i, k));
    lines.push("");
    writeFileSync(join(dir, "src", `${path}.ts`), lines.join("\n"));
  }
  return { dir, files: files + 1, tagged: k };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir, files, tagged] = process.argv.slice(2);
  if (!dir) {
    console.error("usage: node bench/gen-project.mjs <dir> [files=1000] [tagged=2000]");
    process.exit(2);
  }
  const result = generateProject(dir, { files: Number(files ?? 1000), tagged: Number(tagged ?? 2000) });
  console.log(`generated ${result.files} files with ${result.tagged} tagged functions in ${result.dir}`);
}
