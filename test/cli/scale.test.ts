/**
 * `tscaching keys` on a project of 1,000 files and 2,000 tagged functions: one program, one type
 * checker, output linear in the project. The budget is 3 s on a developer machine; a shared CI box
 * is slower and noisier, so the bound here only catches pathological slowdowns and the time is logged.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { cli } from "./run-cli";

function generate(dir: string, files: number): void {
  fs.mkdirSync(path.join(dir, "src/shared"), { recursive: true });
  fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
  fs.symlinkSync(repoRoot, path.join(dir, "node_modules/tscaching"), "dir");
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "commonjs", strict: true, skipLibCheck: true, types: [], outDir: "dist" },
    include: ["src"],
  }));
  fs.writeFileSync(path.join(dir, "src/shared/types.ts"), "export interface Row { id: string; value: number }\n");
  for (let i = 0; i < files; i++) {
    const folder = path.join(dir, "src", `m${Math.floor(i / 50)}`);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, `file${i}.ts`), [
      'import type { Row } from "../shared/types";',
      "",
      `/** @cache ttl=5m */`,
      `export async function load${i}(id: string, limit = 10): Promise<Row[]> {`,
      `  return Array.from({ length: limit }, (_, n) => ({ id: \`\${id}-\${n}\`, value: n * ${i} }));`,
      "}",
      "",
      `export class Service${i} {`,
      "  constructor(readonly tenant: string) {}",
      "  /** @cache key=this.tenant,id */",
      "  async find(id: number): Promise<Row | undefined> {",
      "    return id > 0 ? { id: `${this.tenant}:${id}`, value: id } : undefined;",
      "  }",
      "}",
      "",
    ].join("\n"));
  }
}

test("keys on 1,000 files with 2,000 tagged functions", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-cli-scale-"));
  try {
    generate(dir, 1000);
    const started = performance.now();
    const result = await cli(["keys"], { cwd: dir });
    const seconds = (performance.now() - started) / 1000;
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("wrote src/keys.ts: 2000 key helpers\n");
    console.log(`tscaching keys, 1,000 files / 2,000 functions: ${seconds.toFixed(2)} s`);
    expect(seconds).toBeLessThan(60);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
