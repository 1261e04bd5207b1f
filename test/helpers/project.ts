/**
 * Build a fixture project the way a user does: copy it to a temporary folder whose node_modules
 * links to this package (built in dist/), TypeScript and ts-patch, then run the real `tspc`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "../..");

export interface BuiltProject {
  readonly dir: string;
  readonly status: number | null;
  readonly output: string;
}

export type TypeScriptPackage = "typescript" | "typescript-6";

/**
 * Copy `fixtures/projects/<name>` (or a repository folder such as `examples/email-server`) into a
 * fresh temporary folder with a linked node_modules.
 */
export function prepareProject(name: string, typescript: TypeScriptPackage = "typescript"): string {
  const source = name.includes("/") ? path.join(repoRoot, name) : path.join(repoRoot, "fixtures/projects", name);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tscaching-${path.basename(name)}-`));
  fs.cpSync(source, dir, { recursive: true, filter: (src) => !/[\\/](dist|node_modules)$/.test(src) });
  const modules = path.join(dir, "node_modules");
  fs.mkdirSync(path.join(modules, "@types"), { recursive: true });
  fs.symlinkSync(repoRoot, path.join(modules, "tscaching"), "dir");
  fs.symlinkSync(path.join(repoRoot, "node_modules", typescript), path.join(modules, "typescript"), "dir");
  fs.symlinkSync(path.join(repoRoot, "node_modules/ts-patch"), path.join(modules, "ts-patch"), "dir");
  fs.symlinkSync(path.join(repoRoot, "node_modules/@types/node"), path.join(modules, "@types/node"), "dir");
  return dir;
}

/** Run a compiler CLI (`tspc` by default, or plain `tsc`) in the project folder. */
export function compileProject(dir: string, options: { compiler?: "tspc" | "tsc"; typescript?: TypeScriptPackage;
                                                      args?: string[] } = {}): BuiltProject {
  const typescript = path.join(repoRoot, "node_modules", options.typescript ?? "typescript");
  const bin = options.compiler === "tsc"
    ? path.join(typescript, "bin/tsc")
    : path.join(repoRoot, "node_modules/ts-patch/bin/tspc.js");
  const result = spawnSync(process.execPath, [bin, "-p", "tsconfig.json", ...(options.args ?? [])], {
    cwd: dir, encoding: "utf8", env: { ...process.env, TSP_COMPILER_TS_PATH: typescript },
  });
  return { dir, status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Prepare and build with tspc in one go. */
export function buildProject(name: string, typescript: TypeScriptPackage = "typescript"): BuiltProject {
  return compileProject(prepareProject(name, typescript), { typescript });
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}
