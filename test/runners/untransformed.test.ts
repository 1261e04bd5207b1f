/**
 * Never silently uncached: naming an id no loaded module registered warns once per id (lazily, at
 * the operation), never for `cache.group()` families; and tscaching/testing tells a transformed
 * function from a half-transformed one (registered, but its calls never reach `cachedCall`).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { runNode } from "../bundler/child";
import { repoRoot } from "../helpers/project";
import { cache, cachedCall, configure, defineCached, keyHelper, Uncached } from "../../runtime";
import { assertCached, expectTransformed } from "../../runtime/testing";

let warnings: Error[] = [];
const listen = (warning: Error) => {
  if ((warning as Error & { code?: string }).code === "TSCACHING_UNTRANSFORMED") warnings.push(warning);
};
beforeEach(() => {
  configure({});
  warnings = [];
  process.on("warning", listen);
});
afterEach(async () => {
  process.off("warning", listen);
  await cache.close();
});
const settled = () => new Promise((resolve) => setImmediate(resolve));

test("a keys helper made before its function registers does not warn; an unregistered id warns once", async () => {
  const early = keyHelper<[string], string>("untransformed#later");
  defineCached({ v: 1, id: "untransformed#later" });
  await cache.delete(early("a"));
  const missing = keyHelper<[string], string>("untransformed#never");
  await cache.delete(missing("a"));
  await cache.delete(missing("b"));
  await cache.invalidate(missing);
  cache.keyOf("untransformed#never", ["c"]);
  await settled();
  expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining("'untransformed#never'")]);
  expect(warnings[0].message).toContain("under vitest");
});

test("cache.keyOf and cache.invalidate warn for their own unregistered ids; cache.group() families never", async () => {
  cache.keyOf("untransformed#keyOf", []);
  await cache.invalidate({ id: "untransformed#invalidate" });
  await cache.invalidate(cache.group("my-own-family"));
  await settled();
  expect(warnings.map((w) => w.message)).toEqual([
    expect.stringContaining("'untransformed#keyOf'"), expect.stringContaining("'untransformed#invalidate'"),
  ]);
});

test("expectTransformed and assertCached pass a cached function and fail a half-transformed one", async () => {
  let runs = 0;
  const spec = defineCached({ v: 1, id: "testing#whole", ttl: 60 });
  const whole = (n: number) => cachedCall(spec, [n], async () => (runs++, n * 2));
  defineCached({ v: 1, id: "testing#half", ttl: 60 });
  const half = async (n: number) => (runs++, n * 2);

  await expect(assertCached(() => whole(1), "testing#whole")).resolves.toBe(2);
  expect(runs).toBe(1);
  await expect(expectTransformed(() => half(1))).rejects.toThrow(/did not go through the cache/);
  await expect(expectTransformed(() => whole(5), "testing#half")).rejects.toThrow(/as 'testing#half'/);
  // A body that never lets its answer be cached: transformed, but the second call is no hit.
  const never = defineCached({ v: 1, id: "testing#never", ttl: 60 });
  await expect(assertCached(() => cachedCall(never, [1], async () => new Uncached(1))))
    .rejects.toThrow(/second call was not served from the cache/);
});

describe("outside a runner: warned only with evidence the function's code runs here", () => {
  const script = (requireUsers: boolean) => `
    ${requireUsers ? 'require("./src/users.js");' : ""}
    const { cache } = require("tscaching");
    cache.keyOf("src/users#getUser", ["bob"]);
    cache.invalidate(cache.group("own")).then(() => cache.close());
  `;
  test.each([false, true])("a plain node process that loaded the module: %s", async (loaded) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-untransformed-"));
    try {
      fs.mkdirSync(path.join(dir, "src"));
      fs.mkdirSync(path.join(dir, "node_modules"));
      fs.symlinkSync(repoRoot, path.join(dir, "node_modules/tscaching"), "dir");
      // Built by plain tsc: the function is there, untransformed.
      fs.writeFileSync(path.join(dir, "src/users.js"), "exports.getUser = async (name) => `user:${name}`;\n");
      const run = await runNode(["-e", script(loaded)], { cwd: dir });
      expect(run.status).toBe(0);
      if (!loaded) expect(run.stderr).toBe("");
      else expect(run.stderr).toMatch(/TSCACHING_UNTRANSFORMED.*'src\/users#getUser'.*build with tspc/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
