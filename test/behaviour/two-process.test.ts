/**
 * Invalidation across processes through a generated keys.ts, on a real memcached: one process
 * caches, another replaces or invalidates through `keys`, the first then sees it.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import * as ts from "typescript";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { generateKeysFile } from "../../transformer/keys-file";
import { scanProgram } from "../../transformer/project";
import { compileProject, prepareProject } from "../helpers/project";

let dir: string;
let env: NodeJS.ProcessEnv;
let worker: ChildProcessWithoutNullStreams;
let ask: (line: string) => Promise<{ value: unknown; runs: number }>;

beforeAll(() => {
  dir = prepareProject("basic");
  const config = ts.getParsedCommandLineOfConfigFile(path.join(dir, "tsconfig.json"), {}, {
    ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); },
  })!;
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const keysFile = path.join(dir, "src/keys.ts");
  fs.writeFileSync(keysFile, generateKeysFile(ts, program, scanProgram(ts, program), keysFile));
  const built = compileProject(dir);
  expect(built.output).toBe("");
  env = { ...process.env, TSCACHING_SERVERS: inject("memcached"), TSCACHING_NAMESPACE: `twoproc${Date.now()}`,
    TSCACHING_INVALIDATION_CHECK: "200" };
  // The caching process: answers "get <name>" lines with the value and how often DB.get's body ran.
  worker = spawn(process.execPath, ["-e", `
    const { DB } = require("./dist/classes.js");
    const { calls } = require("./dist/calls.js");
    const db = new DB("eu");
    require("node:readline").createInterface({ input: process.stdin }).on("line", async (line) => {
      const value = await db.get(line.split(" ")[1]);
      process.stdout.write(JSON.stringify({ value, runs: calls["DB.get"] ?? 0 }) + "\\n");
    });
  `], { cwd: dir, env });
  const answers = readline.createInterface({ input: worker.stdout });
  const waiting: Array<(answer: { value: unknown; runs: number }) => void> = [];
  answers.on("line", (line) => waiting.shift()!(JSON.parse(line)));
  ask = (line) => new Promise((resolve) => {
    waiting.push(resolve);
    worker.stdin.write(line + "\n");
  });
}, 120_000);

afterAll(() => worker?.kill());

/** Run a one-off script in a second process that imports the generated keys. */
function other(code: string): void {
  const result = spawnSync(process.execPath, ["-e", `
    const { cache } = require("tscaching");
    const { keys } = require("./dist/keys.js");
    (async () => { ${code} })().then(() => cache.close());
  `], { cwd: dir, env, encoding: "utf8", timeout: 20_000 });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
}

test("a replace through keys.ts in another process is seen at once", async () => {
  expect(await ask("get bob")).toEqual({ value: "bob@eu", runs: 1 });
  expect(await ask("get bob")).toEqual({ value: "bob@eu", runs: 1 });
  other(`if (!(await cache.replace(keys.DB.get("bob"), "bob@replaced.org"))) throw new Error("not replaced");`);
  expect(await ask("get bob")).toEqual({ value: "bob@replaced.org", runs: 1 });
});

test("a delete through keys.ts in another process makes the next call run", async () => {
  other(`await cache.delete(keys.DB.get("bob"));`);
  expect(await ask("get bob")).toEqual({ value: "bob@eu", runs: 2 });
});

test("invalidating the group in another process reaches every entry within invalidationCheck", async () => {
  await ask("get carol");
  expect(await ask("get carol")).toMatchObject({ runs: 3 });
  expect(await ask("get bob")).toMatchObject({ runs: 3 });
  other(`if (!(await cache.invalidate(keys.DB.get))) throw new Error("not invalidated");`);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(await ask("get bob")).toEqual({ value: "bob@eu", runs: 4 });
  expect(await ask("get carol")).toEqual({ value: "carol@eu", runs: 5 });
  // Entries written after the invalidation are hits again.
  expect(await ask("get bob")).toEqual({ value: "bob@eu", runs: 5 });
});
