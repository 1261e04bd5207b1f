/**
 * The real thing: `tspc` builds a fixture project whose tsconfig.json loads the plugin by package
 * name (`{ "transform": "tscaching/transformer" }`), with TypeScript 5.9 and 6.0.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { compileProject, listFiles, prepareProject, type TypeScriptPackage } from "../helpers/project";

describe.each<TypeScriptPackage>(["typescript", "typescript-6"])("tspc with %s", (typescript) => {
  test("builds the fixture project through compilerOptions.plugins", () => {
    const dir = prepareProject("basic", typescript);
    const built = compileProject(dir, { typescript });
    expect(built.output).toBe("");
    expect(built.status).toBe(0);
    const forms = fs.readFileSync(path.join(dir, "dist/forms.js"), "utf8");
    expect(forms).toContain('require("tscaching")');
    expect(forms).toMatch(/defineCached\(\{ v: 1, id: "src\/forms#getEmail", ttl: 300, version: "\w{10}" \}\)/);
    expect(fs.readFileSync(path.join(dir, "dist/classes.js"), "utf8")).toContain('id: "src/classes#DB.inRegion"');

    // Plain tsc on a second copy: untagged files and all declarations are byte-identical.
    const plainDir = prepareProject("basic", typescript);
    expect(compileProject(plainDir, { compiler: "tsc", typescript }).status).toBe(0);
    const files = listFiles(path.join(dir, "dist"));
    expect(files).toEqual(listFiles(path.join(plainDir, "dist")));
    for (const file of files) {
      const ours = fs.readFileSync(path.join(dir, "dist", file), "utf8");
      const plain = fs.readFileSync(path.join(plainDir, "dist", file), "utf8");
      if (file.startsWith("untagged") || file.endsWith(".d.ts") || file.startsWith("calls")) expect(ours, file).toBe(plain);
      else expect(ours, file).not.toBe(plain);
    }
  });

  test("reports diagnostics with file and line and exits 2, warnings do not fail the build", () => {
    const dir = prepareProject("basic", typescript);
    fs.writeFileSync(path.join(dir, "src/bad.ts"), [
      "/** @cache ttl=5x */",
      "export async function bad(): Promise<number> { return 1; }",
      "",
    ].join("\n"));
    const failed = compileProject(dir, { typescript });
    expect(failed.status).toBe(2);
    expect(failed.output).toContain("src/bad.ts(1,16): error TS93003: @cache: malformed ttl '5x'");

    fs.writeFileSync(path.join(dir, "src/bad.ts"), [
      "export class Users {",
      "  constructor(private tenant: any) {}",
      "  /** @cache */",
      "  async get(id: string): Promise<string> { return this.tenant + id; }",
      "}",
      "",
    ].join("\n"));
    const warned = compileProject(dir, { typescript });
    expect(warned.output).toContain("src/bad.ts(4,9): warning TS93017");
    expect(warned.status).toBe(0);
  });
});

test("the plugin's package.json does not ask ts-patch to parse all JSDoc (tags are read from comment text)", () => {
  // Full JSDoc parsing costs every build (the standard library's JSDoc included) and nothing reads it;
  // the diagnostics fixtures check that tags and diagnostics are the same in both parsing modes.
  const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));
  expect(pkg.tsp?.tscOptions?.parseAllJsDoc).toBeUndefined();
});
