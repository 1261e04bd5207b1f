/**
 * A project that imports keys.ts before anyone generated it (a fresh checkout that git-ignores it):
 * next to TypeScript's "Cannot find module", tspc and the editor plugin say to run `tscaching keys`;
 * once it has run, the build is clean.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { afterEach, expect, test } from "vitest";
import { tscachingDiagnostics } from "../../language-service/diagnostics";
import { prepareProject } from "../helpers/project";
import { cli, compile } from "./run-cli";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

test("tspc: a missing keys.ts gets a hint to run `tscaching keys`; after it, the build is clean", async () => {
  const dir = prepareProject("basic");
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, "src/main.ts"),
    'import { keys } from "./keys.js";\nexport const key = keys.getEmail("bob", "example.org");\n');
  const before = await compile(dir, "tspc");
  expect(before.status).not.toBe(0);
  expect(before.output).toContain("src/main.ts(1,22): error TS2307: Cannot find module './keys.js'");
  expect(before.output).toContain("src/main.ts(1,22): error TS93040: './keys.js' is the key registry tscaching generates, " +
    "and it does not exist yet. Run `tscaching keys` to write it (in CI, build with `tscaching keys && tspc`).");

  // The editor plugin's diagnostics for the importing file say the same.
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(dir, "tsconfig.json"), undefined, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined })!;
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  expect(tscachingDiagnostics(ts, program, path.join(dir, "src/main.ts")).map((d) => [d.code, d.start, d.category]))
    .toEqual([[93040, 21, ts.DiagnosticCategory.Error]]);

  const keys = await cli(["keys"], { cwd: dir });
  expect(keys.stdout).toContain("wrote src/keys.ts");
  const after = await compile(dir, "tspc");
  expect(after.output).toBe("");
  expect(after.status).toBe(0);
}, 120_000);
