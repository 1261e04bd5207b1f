/**
 * keys.ts in an ES module project whose tsconfig sets only `"module": "nodenext"` (as `tsc --init`
 * writes it): the resolution that module implies wants explicit extensions on relative imports, so
 * the registry must import `./index.js`, or the project stops compiling once keys.ts exists.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test } from "vitest";
import { compileProject, prepareProject } from "../helpers/project";
import { cli } from "./run-cli";

test("module nodenext without moduleResolution: keys.ts imports with .js and the project builds clean", async () => {
  const dir = prepareProject("esm");
  try {
    const configPath = path.join(dir, "tsconfig.json");
    const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
    delete config.compilerOptions.moduleResolution;
    fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
    fs.writeFileSync(path.join(dir, "src/use-keys.ts"),
      'import { keys } from "./keys.js";\nexport const doubleKey = (n: number) => keys.double(n);\n');
    const keys = await cli(["keys"], { cwd: dir });
    expect(keys.stderr).toBe("");
    expect(keys.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, "src/keys.ts"), "utf8")).toContain('from "./index.js";');
    const built = compileProject(dir);
    expect(built.output).toBe("");
    expect(built.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
