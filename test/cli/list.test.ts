/** `tscaching list`: a plain aligned table, or JSON with the same fields. */
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { prepareProject } from "../helpers/project";
import { cli, lines } from "./run-cli";

describe("tscaching list", () => {
  test("prints an aligned table, plain when piped", async () => {
    const dir = prepareProject("cli-flat");
    const result = await cli(["list"], { cwd: dir });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const listed = JSON.parse((await cli(["list", "--json"], { cwd: dir })).stdout) as Array<{ version: string }>;
    // Versions are hashes of the code (see versions tests): 10 characters each, the JSON's.
    const [counter, byName] = listed.map((f) => f.version);
    expect(counter).toMatch(/^[A-Za-z0-9_]{10}$/);
    expect(lines(result.stdout)).toEqual([
      "ID             LOCATION     KEY                TTL            VERSION     OPTIONS",
      `users#counter  users.ts:17  kind, at           0 (no expiry)  ${counter}  -`,
      `users.byName   users.ts:11  this.tenant, name  600s (10m)     ${byName}  name=users.byName`,
    ]);
  }, 120_000);

  test("--json prints the same fields; files are relative to the current folder; default ttl is null", async () => {
    const dir = prepareProject("basic");
    const result = await cli(["list", "--json", "-p", path.join(dir, "tsconfig.json")], { cwd: path.join(dir, "src") });
    expect(result.status).toBe(0);
    const listed = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(listed).toHaveLength(21);
    expect(listed.find((f) => f.id === "src/classes#DB.get")).toEqual({
      id: "src/classes#DB.get", file: "classes.ts", line: 15, key: ["username"], ttl: null, options: {},
      version: expect.stringMatching(/^[A-Za-z0-9_]{10}$/),
    });
    expect(listed.find((f) => f.id === "src/classes#Reports.daily")).toMatchObject({ ttl: 86_400, key: ["day"] });
    expect(listed.find((f) => f.id === "src/forms#search")).toMatchObject({ key: ["[text, limit]"] });
    expect(listed.map((f) => f.id)).toEqual([...listed.map((f) => f.id as string)].sort());
  }, 120_000);
});
