/**
 * `tscaching keys`: the registry it writes type-checks with plain tsc and rejects wrong uses;
 * `--check` passes when fresh and fails readably when stale or missing; it works on a project that
 * imports a keys file not generated yet; `--watch` regenerates on change and stops on SIGINT.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, test } from "vitest";
import { KEYS_HEADER } from "../../transformer/keys-file";
import { prepareProject } from "../helpers/project";
import { cli, compile, lines, startCli } from "./run-cli";

const HEAVY = 180_000;

/** A use-site file: correct calls compile, each @ts-expect-error line must be an error or tsc fails. */
const USES = `import { cache } from "tscaching";
import { keys } from "./keys.js";

export async function uses(): Promise<void> {
  await cache.replace(keys.DB.get("bob"), "bob@example.org");
  const email: string | undefined = await cache.get(keys.DB.get("bob"));
  await cache.set(keys.DB.static.count("users"), 3);
  await cache.delete(keys.getEmail("ann", "example.org"));
  await cache.invalidate(keys.DB.get);
  await cache.set(keys.search([ "books", 10 ]), ["a"]);
  void email;
  // @ts-expect-error DB.get yields a string, not a number
  await cache.replace(keys.DB.get("bob"), 42);
  // @ts-expect-error DB.get's key is a username string
  keys.DB.get(42);
  // @ts-expect-error there is no helper DB.gte
  keys.DB.gte("bob");
}
`;

describe("tscaching keys", () => {
  test("writes src/keys.ts, which type-checks with plain tsc and rejects wrong uses", async () => {
    const dir = prepareProject("basic");
    fs.writeFileSync(path.join(dir, "src/uses.ts"), USES);
    // Before keys.ts exists the project does not type-check: keys must work all the same.
    expect((await compile(dir, "tsc", ["--noEmit"])).status).not.toBe(0);

    const first = await cli(["keys"], { cwd: dir });
    expect(first.stderr).toBe("");
    expect(first.stdout).toBe("wrote src/keys.ts: 21 key helpers\n");
    expect(first.status).toBe(0);
    const text = fs.readFileSync(path.join(dir, "src/keys.ts"), "utf8");
    expect(text.startsWith(KEYS_HEADER)).toBe(true);
    expect(text).toMatch(/\("src\/classes#DB\.get", "[A-Za-z0-9_]{10}"\)/);
    expect(text).not.toContain("uses");

    const built = await compile(dir, "tsc", ["--noEmit"]);
    expect(built.output).toBe("");
    expect(built.status).toBe(0);

    const again = await cli(["keys"], { cwd: dir });
    expect(again.stdout).toBe("src/keys.ts is up to date\n");
    expect(again.status).toBe(0);
  }, HEAVY);

  test("--check: up to date exits 0; stale or missing exits 1 with a readable summary", async () => {
    const dir = prepareProject("basic");
    expect((await cli(["keys"], { cwd: dir })).status).toBe(0);
    const fresh = await cli(["keys", "--check"], { cwd: dir });
    expect(fresh.stdout).toBe("src/keys.ts is up to date (21 key helpers)\n");
    expect(fresh.status).toBe(0);

    fs.writeFileSync(path.join(dir, "src/added.ts"), "/** @cache */\nexport async function added(a: string): Promise<number> { return a.length; }\n");
    const forms = path.join(dir, "src/forms.ts");
    fs.writeFileSync(forms, fs.readFileSync(forms, "utf8").replace("export async function big(", "export async function large("));
    const classes = path.join(dir, "src/classes.ts");
    fs.writeFileSync(classes, fs.readFileSync(classes, "utf8").replace("/** @cache key=username */", "/** @cache key=this.region,username */"));
    const stale = await cli(["keys", "--check"], { cwd: dir });
    expect(stale.status).toBe(1);
    expect(stale.stdout).toBe("");
    expect(lines(stale.stderr)).toEqual([
      "tscaching: src/keys.ts is out of date: 2 helpers added (keys.added, keys.large), 1 removed (keys.big), " +
        "1 changed (keys.DB.get); run `tscaching keys`",
      "  + keys.added  (src/added#added)",
      "  + keys.large  (src/forms#large)",
      "  - keys.big  (src/forms#big)",
      "  ~ keys.DB.get  (src/classes#DB.get): its key parameters or value type changed",
    ]);
    // --check writes nothing.
    expect(fs.readFileSync(path.join(dir, "src/keys.ts"), "utf8")).not.toContain("added");

    fs.rmSync(path.join(dir, "src/keys.ts"));
    const missing = await cli(["keys", "--check"], { cwd: dir });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe("tscaching: src/keys.ts is missing (22 key helpers to generate); run `tscaching keys`\n");
  }, HEAVY);

  test("leaves the output file out of the scan, writes keys.ts at the root without src/, honours -o and -p", async () => {
    const dir = prepareProject("cli-flat");
    // A stale keys file holding a tag of its own must not feed the scan that replaces it.
    fs.writeFileSync(path.join(dir, "keys.ts"), "/** @cache */\nexport async function bogus(): Promise<number> { return 1; }\n");
    const written = await cli(["keys"], { cwd: dir });
    expect(written.stdout).toBe("wrote keys.ts: 2 key helpers\n");
    const text = fs.readFileSync(path.join(dir, "keys.ts"), "utf8");
    expect(text).not.toContain("bogus");
    expect(text).toMatch(/\("users\.byName", "[A-Za-z0-9_]{10}"\)/);
    expect(text).toContain('import type * as m0 from "./users";');

    const elsewhere = await cli(["keys", "-p", dir, "-o", "generated/cache-keys.ts"], { cwd: path.dirname(dir) });
    expect(elsewhere.stdout).toBe(`wrote generated/cache-keys.ts: 2 key helpers\n`);
    const moved = fs.readFileSync(path.join(path.dirname(dir), "generated/cache-keys.ts"), "utf8");
    expect(moved).toContain(`from "../${path.basename(dir)}/users"`);
    fs.rmSync(path.join(path.dirname(dir), "generated"), { recursive: true });
  }, HEAVY);

  test("--watch regenerates on change, one line each time, and stops on SIGINT", async () => {
    const dir = prepareProject("cli-flat");
    const run = startCli(["keys", "--watch"], { cwd: dir });
    try {
      await run.waitFor(/wrote keys\.ts: 2 key helpers\n/);
      await run.waitFor(/watching/);
      fs.writeFileSync(path.join(dir, "more.ts"), "/** @cache */\nexport async function more(a: string): Promise<number> { return a.length; }\n");
      await run.waitFor(/wrote keys\.ts: 3 key helpers\n/);
      const users = path.join(dir, "users.ts");
      fs.writeFileSync(users, fs.readFileSync(users, "utf8").replace("/** @cache ttl=0 */\n", ""));
      await run.waitFor(/wrote keys\.ts: 2 key helpers\n[^]*wrote keys\.ts: 3 key helpers\n[^]*wrote keys\.ts: 2 key helpers\n/);
      expect(fs.readFileSync(path.join(dir, "keys.ts"), "utf8")).toMatch(/\("more#more", "[A-Za-z0-9_]{10}"\)/);
      expect(fs.readFileSync(path.join(dir, "keys.ts"), "utf8")).not.toContain("counter");
    } finally {
      run.child.kill("SIGINT");
    }
    expect(await run.exited).toBe(0);
    expect(run.output()).not.toContain("tscaching:");
  }, HEAVY);
});
