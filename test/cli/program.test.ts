/** The program as a whole: help with examples, version, one-line errors, no colours when piped. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { repoRoot } from "../helpers/project";
import { cli, lines } from "./run-cli";

const COMMANDS = ["keys", "list", "key", "get", "check", "stats", "flush"];

describe("tscaching", () => {
  test("--help lists every command with examples; each command's --help has its own examples", async () => {
    const help = await cli(["--help"], { cwd: repoRoot });
    expect(help.status).toBe(0);
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    expect(help.stdout).toContain("Examples:\n  $ tscaching keys");
    expect(help.stdout).toContain("tscaching keys --watch & tspc --watch");
    for (const command of COMMANDS) {
      const own = await cli([command, "--help"], { cwd: repoRoot });
      expect(own.status, command).toBe(0);
      expect(own.stdout, command).toMatch(new RegExp(`^Usage: tscaching ${command} `));
      expect(own.stdout, command).toMatch(new RegExp(`\\nExamples:\\n  \\$ (.*\\n)*.*tscaching ${command}`));
    }
  }, 120_000);

  test("--version prints the package version", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string; bin: Record<string, string> };
    expect(await cli(["--version"], { cwd: repoRoot })).toEqual({ status: 0, stdout: `${pkg.version}\n`, stderr: "" });
    expect(pkg.bin).toEqual({ tscaching: "dist/cli/bin.js" });
    expect(fs.readFileSync(path.join(repoRoot, "dist/cli/bin.js"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  test("mistakes are one line on stderr and a non-zero exit", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-cli-errors-"));
    fs.writeFileSync(path.join(dir, "broken.json"), '{ "compilerOptions": { "strict": true, } oops }');
    fs.writeFileSync(path.join(dir, "bad-option.json"), '{ "compilerOptions": { "target": "es1999" }, "files": [] }');
    const cases: Array<[string[], RegExp]> = [
      [["nope"], /^tscaching: unknown command 'nope'$/],
      [["lsit"], /^tscaching: unknown command 'lsit' \(did you mean list\?\)$/],
      [["keys", "--bogus"], /^tscaching: unknown option '--bogus'$/],
      [["key"], /^tscaching: missing required argument 'id'$/],
      [["list"], /^tscaching: cannot find tsconfig\.json in .*; pass -p <path to tsconfig\.json>$/],
      [["keys", "-p", "missing/tsconfig.json"], /^tscaching: cannot find missing\/tsconfig\.json in .*; pass -p <path to tsconfig\.json>$/],
      [["check", "-p", "broken.json"], /^tscaching: (invalid tsconfig|cannot read) broken\.json\(1,\d+\): .+$/],
      [["list", "-p", "bad-option.json"], /^tscaching: invalid tsconfig bad-option\.json\(1,\d+\): Argument for '--target' option must be: .+$/],
      [["keys", "--check", "--watch"], /^tscaching: --check and --watch cannot be combined$/],
      [["stats", "--timeout", "soon", "--servers", "127.0.0.1:1"], /^tscaching: --timeout must be milliseconds between 1 and 60000; got 'soon'$/],
      [["stats", "--servers", "127.0.0.1:notaport"], /^tscaching: option "--servers" must be entries like "host:port"; got .+$/],
    ];
    for (const [args, expected] of cases) {
      const result = await cli(args, { cwd: dir });
      expect(result.stdout, args.join(" ")).toBe("");
      expect(lines(result.stderr), args.join(" ")).toHaveLength(1);
      expect(result.stderr.trimEnd(), args.join(" ")).toMatch(expected);
      expect(result.status, args.join(" ")).not.toBe(0);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  test("no colour codes when piped, even with FORCE_COLOR; NO_COLOR is honoured", async () => {
    for (const env of [{}, { FORCE_COLOR: "1" }, { NO_COLOR: "1" }]) {
      const result = await cli(["--help"], { cwd: repoRoot, env });
      expect(result.stdout).not.toContain("\u001b[");
      const error = await cli(["nope"], { cwd: repoRoot, env });
      expect(error.stderr).not.toContain("\u001b[");
    }
  });
});
