/**
 * The editor plugin through the real tsserver (TypeScript 5.9 and 6.0), loaded as editors load it:
 * from the project's tsconfig (`{ "name": "tscaching/language-service" }`), resolved from the
 * project's node_modules. Diagnostics appear as you type and follow edits, TypeScript's own stay.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { repoRoot, type TypeScriptPackage } from "../helpers/project";
import { project, runNode } from "../bundler/child";
import { TsServer, type ServerDiagnostic } from "./tsserver";

const servers: TsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const brief = (diagnostics: ServerDiagnostic[]) =>
  diagnostics.map((d) => `${d.start.line}:${d.start.offset} ${d.category} TS${d.code}${d.source ? ` (${d.source})` : ""}`);

describe.each<TypeScriptPackage>(["typescript", "typescript-6"])("tsserver of %s", (typescript) => {
  async function start(): Promise<{ dir: string; server: TsServer; file: (name: string) => string }> {
    const dir = project("ls-basic", [], typescript);
    // A fresh keys.ts, as `tscaching keys` writes it.
    const keys = await runNode([path.join(repoRoot, "dist/cli/bin.js"), "keys"], { cwd: dir });
    expect(keys.stdout).toContain("wrote src/keys.ts");
    const server = new TsServer(path.join(repoRoot, "node_modules", typescript, "lib/tsserver.js"), {
      cwd: dir, args: ["--pluginProbeLocations", dir],
    });
    servers.push(server);
    return { dir, server, file: (name) => path.join(dir, "src", name) };
  }

  test("shows a bad tag and a non-async function as you type, and follows edits", async () => {
    const { dir, server, file } = await start();
    server.open(file("users.ts"), dir);
    const before = await server.semanticDiagnostics(file("users.ts"));
    expect(brief(before)).toEqual([
      "11:14 error TS2322",
      "1:33 error TS93003 (tscaching)",
      "7:17 error TS93001 (tscaching)",
    ]);
    expect(before.find((d) => d.code === 93003)!.text).toBe(
      "@cache: malformed ttl '5x'. Use seconds (90) or units in order d, h, m, s (5m, 2h, 1d, 1h30m); 0 means no expiry.");

    // Fix the ttl: its error goes, the other stays.
    server.notify("change", { file: file("users.ts"), line: 1, offset: 33, endLine: 1, endOffset: 35, insertString: "5m" });
    expect(brief(await server.semanticDiagnostics(file("users.ts")))).toEqual([
      "11:14 error TS2322",
      "7:17 error TS93001 (tscaching)",
    ]);

    // Make the function async: clean (but for TypeScript's own error).
    server.notify("change", { file: file("users.ts"), line: 7, offset: 8, endLine: 7, endOffset: 8, insertString: "async " });
    server.notify("change", { file: file("users.ts"), line: 7, offset: 45, endLine: 7, endOffset: 51, insertString: "Promise<string>" });
    expect(brief(await server.semanticDiagnostics(file("users.ts")))).toEqual(["11:14 error TS2322"]);
  }, 120_000);

  test("warns that keys.ts is stale once a tagged function is added", async () => {
    const { dir, server, file } = await start();
    server.open(file("keys.ts"), dir);
    server.open(file("teams.ts"), dir);
    expect(await server.semanticDiagnostics(file("keys.ts"))).toEqual([]);

    const lines = fs.readFileSync(file("teams.ts"), "utf8").split("\n").length;
    server.notify("change", {
      file: file("teams.ts"), line: lines, offset: 1, endLine: lines, endOffset: 1,
      insertString: "\n/** @cache */\nexport async function lead(team: string): Promise<string> {\n  return team;\n}\n",
    });
    const stale = await server.semanticDiagnostics(file("keys.ts"));
    expect(brief(stale)).toEqual(["1:1 warning TS93024 (tscaching)"]);
    expect(stale[0].text).toBe("keys.ts is stale: it no longer matches the cached functions. Run `tscaching keys` to refresh it.");
    expect(await server.semanticDiagnostics(file("teams.ts"))).toEqual([]);
  }, 120_000);
});

test.each([
  ["default", undefined, ["3:18 error TS93003 (tscaching)", "4:9 warning TS93017 (tscaching)"]],
  ["warnings off", "off", ["3:18 error TS93003 (tscaching)"]],
  ["warnings error", "error", ["3:18 error TS93003 (tscaching)", "4:9 error TS93017 (tscaching)"]],
] as const)("plugin options (%s): warnings are warnings unless the plugin entry says otherwise", async (_name, warnings, expected) => {
  const dir = project("ls-basic");
  const config = path.join(dir, "tsconfig.json");
  if (warnings) {
    fs.writeFileSync(config, fs.readFileSync(config, "utf8")
      .replace('{ "name": "tscaching/language-service" }', `{ "name": "tscaching/language-service", "warnings": "${warnings}" }`));
  }
  fs.writeFileSync(path.join(dir, "src/reads-this.ts"), [
    "export class Users {",
    "  constructor(private tenant: any) {}",
    "  /** @cache ttl=2x */",
    "  async get(id: string): Promise<string> { return this.tenant + id; }",
    "}",
    "",
  ].join("\n"));
  const server = new TsServer(path.join(repoRoot, "node_modules/typescript/lib/tsserver.js"), { cwd: dir, args: ["--pluginProbeLocations", dir] });
  servers.push(server);
  const file = path.join(dir, "src/reads-this.ts");
  server.open(file, dir);
  expect(brief(await server.semanticDiagnostics(file))).toEqual(expected);
}, 120_000);
