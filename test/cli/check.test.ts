/** `tscaching check`: tscaching's diagnostics in tsc's format, without emitting; exit status by severity. */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { prepareProject } from "../helpers/project";
import { cli, lines } from "./run-cli";

const TTL = "@cache: malformed ttl '5x'. Use seconds (90) or units in order d, h, m, s (5m, 2h, 1d, 1h30m); 0 means no expiry.";
const THIS = "@cache on 'Users.get': the method reads 'this' but the key holds only its parameters, so instances share entries. " +
  "Add key=this.field,... (or an explicit key= to confirm).";

describe("tscaching check", () => {
  test("prints errors and warnings like tsc, relative to the current folder, and exits 1 on errors", async () => {
    const dir = prepareProject("cli-bad");
    const result = await cli(["check"], { cwd: dir });
    expect(lines(result.stdout)).toEqual([
      `src/bad.ts(2,16): error TS93003: ${TTL}`,
      `src/bad.ts(11,9): warning TS93017: ${THIS}`,
      "src/dup.ts(7,5): error TS93016: @cache: id 'shared.id' is already used by 'one' at src/dup.ts:3. Give one of them a distinct name=.",
      "Found 2 errors and 1 warning in 2 files.",
    ]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(1);
    expect(fs.existsSync(path.join(dir, "dist"))).toBe(false);

    const fromSrc = await cli(["check", "-p", ".."], { cwd: path.join(dir, "src") });
    expect(lines(fromSrc.stdout)[0]).toBe(`bad.ts(2,16): error TS93003: ${TTL}`);
    expect(fromSrc.status).toBe(1);
  }, 120_000);

  test("warnings alone exit 0, or 1 with --strict; a clean project says so; a missing imported keys file is a warning", async () => {
    const dir = prepareProject("cli-bad");
    fs.rmSync(path.join(dir, "src/dup.ts"));
    const bad = path.join(dir, "src/bad.ts");
    fs.writeFileSync(bad, fs.readFileSync(bad, "utf8").replace("ttl=5x", "ttl=5m"));
    const warned = await cli(["check"], { cwd: dir });
    expect(lines(warned.stdout)).toEqual([`src/bad.ts(11,9): warning TS93017: ${THIS}`, "Found 1 warning in 1 file."]);
    expect(warned.status).toBe(0);
    expect((await cli(["check", "--strict"], { cwd: dir })).status).toBe(1);

    fs.writeFileSync(bad, fs.readFileSync(bad, "utf8").replace("/** @cache */", "/** @cache key=id */"));
    fs.writeFileSync(path.join(dir, "src/uses.ts"), 'import { keys } from "./keys";\nexport const k = keys.badTtl();\n');
    const missing = await cli(["check"], { cwd: dir });
    expect(lines(missing.stdout)).toEqual([
      "src/keys.ts: warning: missing, but src/uses.ts imports it; run `tscaching keys`",
      "Found 1 warning in 1 file.",
    ]);
    expect(missing.status).toBe(0);

    expect((await cli(["keys"], { cwd: dir })).stdout).toBe("wrote src/keys.ts: 2 key helpers\n");
    const clean = await cli(["check", "--strict"], { cwd: dir });
    expect(clean.stdout).toBe("no problems: 2 cached functions in 1 file\n");
    expect(clean.status).toBe(0);

    fs.writeFileSync(path.join(dir, "src/more.ts"), "/** @cache */\nexport async function more(): Promise<number> { return 1; }\n");
    const stale = await cli(["check"], { cwd: dir });
    expect(lines(stale.stdout)[0]).toBe("src/keys.ts: warning: out of date: 1 helper added (keys.more); run `tscaching keys`");
    expect(stale.status).toBe(0);
  }, 240_000);

  test("a near-miss tag is a warning with file and line, and its file is not counted as cached", async () => {
    const dir = prepareProject("cli-bad");
    fs.rmSync(path.join(dir, "src"), { recursive: true });
    fs.mkdirSync(path.join(dir, "src"));
    fs.writeFileSync(path.join(dir, "src/real.ts"), "/** @cache */\nexport async function real(): Promise<number> { return 1; }\n");
    // Mentions only: prose in a comment, a tag on no function. Neither warns nor counts.
    fs.writeFileSync(path.join(dir, "src/prose.ts"), "// Results are cached: see @Cache in the docs.\n/** @cached */\nexport const limit = 1;\n");
    const clean = await cli(["check"], { cwd: dir });
    expect(clean.stdout).toBe("no problems: 1 cached function in 1 file\n");

    fs.writeFileSync(path.join(dir, "src/typo.ts"), [
      "/** @cached ttl=5m */",
      "export async function a(): Promise<number> { return 1; }",
      "// @cache",
      "export async function b(): Promise<number> { return 1; }",
      "",
    ].join("\n"));
    const warned = await cli(["check"], { cwd: dir });
    expect(lines(warned.stdout)).toEqual([
      "src/typo.ts(1,5): warning TS93030: '@cached' is not a @cache tag, so this function is not cached. Did you mean /** @cache */?",
      "src/typo.ts(3,4): warning TS93030: '@cache' in a line comment (not JSDoc) is not a @cache tag, so this function is not cached. " +
        "Did you mean /** @cache */?",
      "Found 2 warnings in 1 file.",
    ]);
    expect(warned.status).toBe(0);
    expect((await cli(["check", "--strict"], { cwd: dir })).status).toBe(1);
  }, 120_000);
});
