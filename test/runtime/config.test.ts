/** configure(): bad options are TypeErrors naming the option; the environment fills the gaps. */
import { afterEach, expect, test } from "vitest";
import { cache, cachedCall, configure, defineCached } from "../../runtime/index";
import { resolveOptions } from "../../runtime/config";
import { state } from "../../runtime/state";

afterEach(() => configure({}));

test.each([
  [{ servers: "host:notaport" }, /"servers"/],
  [{ servers: [{ host: "", port: 1 }] }, /"servers"/],
  [{ namespace: "has space" }, /"namespace"/],
  [{ namespace: "x".repeat(61) }, /"namespace"/],
  [{ defaultTtl: -1 }, /"defaultTtl"/],
  [{ defaultTtl: 1.5 }, /"defaultTtl"/],
  [{ timeout: 0 }, /"timeout"/],
  [{ maxValueSize: "big" }, /"maxValueSize"/],
  [{ memory: { maxEntries: 0 } }, /"memory.maxEntries"/],
  [{ onError: "log" }, /"onError"/],
  [{ enabled: "yes" }, /"enabled"/],
  [{ server: "typo" }, /unknown option "server"/],
])("configure(%j) throws a TypeError naming the option", (options, message) => {
  expect(() => configure(options as never)).toThrow(TypeError);
  expect(() => configure(options as never)).toThrow(message);
});

test("the environment fills what options leave out", () => {
  const env = { TSCACHING_SERVERS: "a:11211, b:11212,[::1]:11213", TSCACHING_NAMESPACE: "shop", TSCACHING_TIMEOUT: "75" };
  const resolved = resolveOptions({}, env);
  expect(resolved.servers).toEqual([{ host: "a", port: 11211 }, { host: "b", port: 11212 }, { host: "::1", port: 11213 }]);
  expect(resolved.namespace).toBe("shop");
  expect(resolved.timeout).toBe(75);
  expect(resolveOptions({ namespace: "mine" }, env).namespace).toBe("mine");
  // A bad variable is not thrown: it turns caching off and is reported (see env-fail-open.test.ts).
  expect(resolveOptions({}, { TSCACHING_SERVERS: "a:b" })).toMatchObject({ enabled: false, envProblem: { variable: "TSCACHING_SERVERS" } });
  expect(resolveOptions({}, { TSCACHING_TIMEOUT: "soon" })).toMatchObject({ enabled: false, envProblem: { variable: "TSCACHING_TIMEOUT" } });
});

test("no servers: the in-memory backend serves", async () => {
  configure({ servers: "" });
  expect(state().backend.constructor.name).toBe("MemoryBackend");
  const spec = defineCached({ v: 1, id: "config#memory" });
  let runs = 0;
  const fn = () => cachedCall(spec, [], async () => ++runs);
  expect(await fn()).toBe(1);
  expect(await fn()).toBe(1);
});

test("enabled: false runs every call uncached", async () => {
  configure({ enabled: false });
  const spec = defineCached({ v: 1, id: "config#disabled" });
  let runs = 0;
  const fn = () => cachedCall(spec, [], async () => ++runs);
  await fn();
  await fn();
  expect(runs).toBe(2);
});

test("namespaces keep applications apart", async () => {
  configure({ namespace: "app1" });
  const k1 = cache.key<string>("shared");
  configure({ namespace: "app2" });
  expect(cache.key<string>("shared")).not.toBe(k1);
  expect(k1.startsWith("app1:")).toBe(true);
});

test("a spec from a newer transformer is refused with a clear error", () => {
  expect(() => defineCached({ v: 2, id: "x" } as never)).toThrow(/newer tscaching transformer/);
});
