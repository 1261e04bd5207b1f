/** `tscaching key`: exactly the key the runtime builds; arguments read as JSON, else as strings. */
import { describe, expect, test } from "vitest";
import { buildKey } from "../../runtime/keys";
import { prepareProject } from "../helpers/project";
import { cli } from "./run-cli";

/** Each function's version, as `tscaching list --json` shows it: part of its keys. */
async function versionsOf(dir: string): Promise<Record<string, string>> {
  const listed = JSON.parse((await cli(["list", "--json"], { cwd: dir })).stdout) as Array<{ id: string; version: string }>;
  return Object.fromEntries(listed.map((f) => [f.id, f.version]));
}

describe("tscaching key", () => {
  test("prints what the runtime's buildKey gives, with the namespace from --namespace, TSCACHING_NAMESPACE or the default", async () => {
    const dir = prepareProject("cli-flat");
    const v = await versionsOf(dir);
    const cases: Array<[args: string[], env: Record<string, string>, expected: string]> = [
      [["users.byName", "acme", "bob"], {}, buildKey("tscaching", "users.byName", ["acme", "bob"], v["users.byName"])],
      [["users.byName", "acme", '"bob"'], {}, buildKey("tscaching", "users.byName", ["acme", "bob"], v["users.byName"])],
      [["users#counter", "a", '"2024-01-02"'], {}, buildKey("tscaching", "users#counter", ["a", "2024-01-02"], v["users#counter"])],
      [["users.byName", "42", "true"], {}, buildKey("tscaching", "users.byName", [42, true], v["users.byName"])],
      [["users.byName", '{"b":1,"a":[null,2]}', "-5"], {}, buildKey("tscaching", "users.byName", [{ a: [null, 2], b: 1 }, -5], v["users.byName"])],
      [["users.byName", "acme", "bob", "--namespace", "shop"], {}, buildKey("shop", "users.byName", ["acme", "bob"], v["users.byName"])],
      [["users.byName", "acme", "bob"], { TSCACHING_NAMESPACE: "env-ns" }, buildKey("env-ns", "users.byName", ["acme", "bob"], v["users.byName"])],
      [["users.byName", "x".repeat(300), "y"], {}, buildKey("tscaching", "users.byName", ["x".repeat(300), "y"], v["users.byName"])],
    ];
    for (const [args, env, expected] of cases) {
      const result = await cli(["key", ...args], { cwd: dir, env });
      expect({ args, stdout: result.stdout, stderr: result.stderr, status: result.status })
        .toEqual({ args, stdout: `${expected}\n`, stderr: "", status: 0 });
    }
    expect(buildKey("tscaching", "users.byName", ["acme", "bob"])).toBe('tscaching:users.byName:"acme","bob"');
    expect(buildKey("tscaching", "users.byName", ["acme", "bob"], v["users.byName"])).toBe(`tscaching:users.byName:@${v["users.byName"]}:"acme","bob"`);
  }, 240_000);

  test("an unknown id is a one-line error naming close matches; --no-verify needs no project", async () => {
    const dir = prepareProject("cli-flat");
    const unknown = await cli(["key", "users.byname", "bob"], { cwd: dir });
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toBe("tscaching: unknown id 'users.byname'; did you mean users.byName?\n");
    expect(unknown.status).toBe(1);
    const far = await cli(["key", "nothing-like-it"], { cwd: dir });
    expect(far.stderr).toBe("tscaching: unknown id 'nothing-like-it' (`tscaching list` shows every id)\n");
    expect(far.status).toBe(1);

    const unchecked = await cli(["key", "any.id", "bob", "--no-verify"], { cwd: "/" });
    expect(unchecked.stdout).toBe(`${buildKey("tscaching", "any.id", ["bob"])}\n`);
    expect(unchecked.status).toBe(0);

    const count = await cli(["key", "users.byName", "bob"], { cwd: dir });
    expect(count.stdout).toBe(`${buildKey("tscaching", "users.byName", ["bob"], (await versionsOf(dir))["users.byName"])}\n`);
    expect(count.stderr).toBe("note: the key of users.byName has 2 parts (this.tenant, name); 1 given\n");

    const badNamespace = await cli(["key", "any.id", "--no-verify", "--namespace", "has space"], { cwd: dir });
    expect(badNamespace.stderr).toMatch(/^tscaching: --namespace "has space" is not a valid namespace .*\n$/);
    expect(badNamespace.status).toBe(1);
  }, 240_000);
});
