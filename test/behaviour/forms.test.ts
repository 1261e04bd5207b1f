/**
 * The compiled fixture project runs: every syntax form is cached, on the in-memory backend and on a
 * real memcached. The project is built once with the real tspc; its output is loaded with Node's
 * own require, so it shares the runtime instance with this test exactly as a user's program would.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { beforeAll, describe, expect, inject, test } from "vitest";
import { buildProject, repoRoot } from "../helpers/project";

const load = createRequire(__filename);
type Runtime = typeof import("../../runtime/index");
const runtime: Runtime = load(path.join(repoRoot, "dist/runtime/index.js"));
const { state } = load(path.join(repoRoot, "dist/runtime/state.js")) as typeof import("../../runtime/state");

let dir: string;
let calls: Record<string, number>;
let forms: any;
let classes: any;
beforeAll(() => {
  const built = buildProject("basic");
  expect(built.output).toBe("");
  dir = built.dir;
  calls = load(path.join(dir, "dist/calls.js")).calls;
  forms = load(path.join(dir, "dist/forms.js"));
  classes = load(path.join(dir, "dist/classes.js"));
}, 120_000);

/** Runs of each original body during `fn`. */
async function runs(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = { ...calls };
  await fn();
  return Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
}

const backends = {
  memory: () => ({}),
  memcached: () => ({ servers: inject("memcached") }),
};

describe.each(Object.keys(backends) as (keyof typeof backends)[])("on the %s backend", (backend) => {
  const errors: Array<{ code: string; message: string }> = [];
  beforeAll(() => {
    runtime.configure({ ...backends[backend](), namespace: `forms-${backend}-${Date.now()}`, onError: (e) => errors.push(e) });
  });

  test("a second call is served from the cache; a changed argument runs again", async () => {
    expect(await runs(async () => {
      expect(await forms.getEmail("bob")).toBe("bob@example.org");
      expect(await forms.getEmail("bob")).toBe("bob@example.org");
      // The default parameter and the same value passed explicitly share a key.
      expect(await forms.getEmail("bob", "example.org")).toBe("bob@example.org");
    })).toEqual({ getEmail: 1 });
    expect(await runs(() => forms.getEmail("alice"))).toEqual({ getEmail: 1 });
    expect(await runs(() => forms.getEmail("bob", "example.com"))).toEqual({ getEmail: 1 });
    expect(await runs(() => forms.hoisted())).toEqual({ getEmail: 1 });
  });

  test("functions, default exports, arrows, expressions, rest and destructured parameters", async () => {
    const twice = async (fn: () => Promise<unknown>) => {
      const first = await fn();
      expect(await fn()).toEqual(first);
      return first;
    };
    expect(await runs(async () => {
      expect(await twice(() => forms.sum(1, 2, 3))).toBe(6);
      expect(await forms.sum(1, 2)).toBe(3);
      expect(await twice(() => forms.default(7, "req-1"))).toBe("item 7 (req-1)");
      // key=id: the request id is not part of the key.
      expect(await forms.default(7, "req-2")).toBe("item 7 (req-1)");
      expect(await twice(() => forms.shortLived(4))).toBe(8);
      expect(await twice(() => forms.expression("hey"))).toBe("HEY");
      expect(await twice(() => forms.search({ text: "a" }))).toEqual(["a0", "a1", "a2"]);
      expect(await forms.search({ text: "a", limit: 10 })).toEqual(["a0", "a1", "a2"]);
      expect(await twice(() => forms.later(1))).toBe(2);
    })).toEqual({ sum: 2, default: 1, shortLived: 1, expression: 1, search: 1, later: 1 });
  });

  test("methods: instance, this-keyed, static, decorated, overloaded, arrow property, object, namespace", async () => {
    const { DB, api, Reports } = classes;
    const eu = new DB("eu");
    const us = new DB("us");
    expect(await runs(async () => {
      expect(await eu.get("bob")).toBe("bob@eu");
      // key=username: instances share the entry, as the tag asked.
      expect(await us.get("bob")).toBe("bob@eu");
      expect(await eu.inRegion("bob")).toBe("bob@eu");
      expect(await us.inRegion("bob")).toBe("bob@us");
      expect(await eu.inRegion("bob")).toBe("bob@eu");
      expect(await DB.count("users")).toBe(5);
      expect(await DB.count("users")).toBe(5);
      expect(await eu.decorated(1)).toBe(2);
      expect(await us.decorated(1)).toBe(2);
      expect(await eu.overloaded("x")).toBe("x!");
      expect(await eu.overloaded(1)).toBe(2);
      expect(await eu.overloaded("x")).toBe("x!");
      expect(await eu.arrow(3)).toBe("eu:3");
      expect(await us.arrow(3)).toBe("us:3");
      expect(await eu.arrow(3)).toBe("eu:3");
      expect(await api.get("a")).toBe("v1/a");
      expect(await api.get("a")).toBe("v1/a");
      expect(await Reports.daily("mon")).toBe("report mon");
      expect(await Reports.daily("mon")).toBe("report mon");
    })).toEqual({
      "DB.get": 1, "DB.inRegion": 2, "DB.count": 1, "DB.decorated": 1, traced: 2, "DB.overloaded": 2,
      "DB.arrow": 2, "api.get": 1, "Reports.daily": 1,
    });
  });

  test("undefined, null, Dates, Maps, Sets, BigInt and -0 come back as they went in", async () => {
    for (const kind of ["undefined", "null", "date", "map", "negzero", "nested"]) {
      const first = await forms.special(kind);
      const counted = await runs(async () => {
        const second = await forms.special(kind);
        expect(second).toEqual(first);
        if (kind === "negzero") expect(Object.is(second, -0)).toBe(true);
        if (kind === "date") expect(second).toBeInstanceOf(Date);
        if (kind === "map") expect((second as Map<string, unknown>).get("a")).toBe(1n);
      });
      expect(counted, kind).toEqual({});
    }
  });

  test("rejections are not cached", async () => {
    expect(await runs(async () => {
      await expect(forms.failing(-1)).rejects.toThrow("negative");
      await expect(forms.failing(-1)).rejects.toThrow("negative");
    })).toEqual({ failing: 2 });
  });

  test("every failure reaches the caller as a rejection, never as a synchronous throw", async () => {
    // failing() is emitted without `async` on its outer function (plain parameters); withDefault()
    // keeps it, because its default parameter can throw.
    const rejected = forms.failing(-3);
    expect(rejected).toBeInstanceOf(Promise);
    await expect(rejected).rejects.toThrow("negative");
    const defaulted = forms.withDefault(1);
    expect(defaulted).toBeInstanceOf(Promise);
    await expect(defaulted).rejects.toThrow("label is required");
    expect(await runs(async () => {
      expect(await forms.withDefault(2, "#")).toBe("#2");
      expect(await forms.withDefault(2, "#")).toBe("#2");
    })).toEqual({ withDefault: 1 });
  });

  test("concurrent calls on one key run the function once", async () => {
    expect(await runs(async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => forms.slow("together")));
      expect(new Set(results)).toEqual(new Set(["together"]));
    })).toEqual({ slow: 1 });
  });

  test("a result over the item size and an argument that cannot form a key run uncached, reported once each", async () => {
    errors.length = 0;
    expect(await runs(async () => {
      expect((await forms.big(2_000_000)).length).toBe(2_000_000);
      expect((await forms.big(2_000_000)).length).toBe(2_000_000);
    })).toEqual({ big: 2 });
    expect(errors.map((e) => e.code)).toEqual(["E2BIG", "E2BIG"]);
    errors.length = 0;
    const options = { label: "x", format: (n: number) => `#${n}` };
    expect(await runs(async () => {
      expect(await forms.withCallback(1, options)).toBe("#1");
      expect(await forms.withCallback(1, options)).toBe("#1");
    })).toEqual({ withCallback: 2 });
    expect(errors.map((e) => e.code)).toEqual(["EKEY", "EKEY"]);
    expect(errors[0].message).toContain("src/forms#withCallback");
  });

  test("an unreadable entry is a miss and is overwritten", async () => {
    await forms.getEmail("corrupt");
    const key = runtime.cache.keyOf<string>("src/forms#getEmail", ["corrupt", "example.org"]);
    for (const garbage of ["\u0001tc1J99:\"trunc", "not ours", Buffer.from([0xff, 0xfe, 0x00])]) {
      await state().backend.set(key, garbage, 60);
      errors.length = 0;
      expect(await runs(async () => expect(await forms.getEmail("corrupt")).toBe("corrupt@example.org"))).toEqual({ getEmail: 1 });
      expect(errors.map((e) => e.code)).toEqual(["EDECODE"]);
      expect(await runs(() => forms.getEmail("corrupt"))).toEqual({});
    }
  });

  test("keys built by hand reach the cached function's entries", async () => {
    const { DB } = classes;
    const db = new DB("eu");
    await db.get("carol");
    const key = runtime.cache.keyOf<string | undefined>("src/classes#DB.get", ["carol"]);
    expect(await runtime.cache.get(key)).toBe("carol@eu");
    expect(await runtime.cache.replace(key, "carol@new.org")).toBe(true);
    expect(await runs(async () => expect(await db.get("carol")).toBe("carol@new.org"))).toEqual({});
    expect(await runtime.cache.delete(key)).toBe(true);
    expect(await runs(async () => expect(await db.get("carol")).toBe("carol@eu"))).toEqual({ "DB.get": 1 });
    // replace and add keep memcached's meaning.
    const missing = runtime.cache.keyOf<string | undefined>("src/classes#DB.get", ["nobody"]);
    expect(await runtime.cache.replace(missing, "x")).toBe(false);
    expect(await runtime.cache.add(key, "y")).toBe(false);
  });

  test("entries expire after their ttl", async () => {
    expect(await runs(() => forms.shortLived(100))).toEqual({ shortLived: 1 });
    expect(await runs(() => forms.shortLived(100))).toEqual({});
    await new Promise((resolve) => setTimeout(resolve, 3100));
    expect(await runs(() => forms.shortLived(100))).toEqual({ shortLived: 1 });
  }, 10_000);
});
