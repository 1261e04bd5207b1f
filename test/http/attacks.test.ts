/**
 * Issue 11 over real HTTP: one cached answer never reaches a request it was not made for. Each
 * test is an attack sent as raw request lines to a plain node:http server whose tagged handlers
 * were compiled with the real transformer, on the in-memory backend and on a real memcached.
 */
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { cache, configure, requestKeyHelper, type CacheError, type CacheKey } from "../../runtime/index";
import { state } from "../../runtime/state";
import { compileHandlers, rawRequest, serve, type Handlers } from "./server";

const handlers: Handlers = compileHandlers();
let server: Server;
let port: number;
beforeAll(async () => ({ server, port } = await serve(handlers)));
afterAll(() => new Promise((resolve) => server.close(resolve)));

const backends = { memory: () => ({}), memcached: () => ({ servers: inject("memcached") }) };

describe.each(Object.keys(backends) as (keyof typeof backends)[])("on the %s backend", (backend) => {
  const errors: CacheError[] = [];
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  beforeAll(() => {
    configure({ ...backends[backend](), namespace: `attack-${backend}-${Date.now()}`, onError: (e) => errors.push(e) });
    process.on("unhandledRejection", onCrash);
  });
  afterAll(() => {
    process.off("unhandledRejection", onCrash);
    expect(crashes).toEqual([]);
  });
  const runs = (name: string) => handlers.runs[name] ?? 0;
  const get = (target: string, headers: Record<string, string> = { host: "a.example" }, route = "page") =>
    rawRequest(port, target, { ...headers, "x-route": route });
  const echo = async (target: string, headers?: Record<string, string>) => JSON.parse((await get(target, headers)).body);

  test("a page rendered for one Host is never served to another Host", async () => {
    expect((await echo("/host", { host: "tenant-a.example" })).host).toBe("tenant-a.example");
    expect((await echo("/host", { host: "tenant-b.example" })).host).toBe("tenant-b.example");
    // Same authority, spelled differently: one entry.
    const before = runs("page");
    expect((await echo("/host", { host: "Tenant-A.example:80" })).host).toBe("tenant-a.example");
    expect(runs("page")).toBe(before);
  });

  test("forwarded headers are keyed: X-Forwarded-Host, X-Forwarded-Proto, Forwarded", async () => {
    await echo("/fwd", { host: "a.example" });
    expect((await echo("/fwd", { host: "a.example", "x-forwarded-host": "evil.example" })).xfh).toBe("evil.example");
    expect((await echo("/fwd", { host: "a.example" })).xfh).toBeUndefined();
    expect((await echo("/fwd", { host: "a.example", "x-forwarded-proto": "http" })).xfp).toBe("http");
    expect((await echo("/fwd", { host: "a.example", forwarded: "host=evil.example" })).fwd).toBe("host=evil.example");
    expect((await echo("/fwd", { host: "a.example" })).fwd).toBeUndefined();
  });

  test("an absolute-form target keys by its own authority and never plants an origin-form page", async () => {
    const planted = await echo("http://evil.example/abs", { host: "a.example" });
    expect(planted.url).toBe("http://evil.example/abs");
    expect((await echo("/abs", { host: "a.example" })).url).toBe("/abs");
    expect((await echo("/abs", { host: "evil.example" })).url).toBe("/abs");
    expect((await echo("http://a.example/abs", { host: "a.example" })).url).toBe("http://a.example/abs");
  });

  test("a response's Vary is honoured: each variant by its request header, Vary: * never stored", async () => {
    const lang = (value?: string) => get("/v", value ? { host: "a.example", "accept-language": value } : { host: "a.example" }, "negotiated");
    const before = runs("negotiated");
    expect((await lang("fr")).body).toBe("lang=fr");
    expect((await lang("de")).body).toBe("lang=de");
    expect((await lang()).body).toBe("lang=none");
    expect(runs("negotiated")).toBe(before + 3);
    expect((await lang("fr")).body).toBe("lang=fr");
    expect((await lang("de")).body).toBe("lang=de");
    expect((await lang()).body).toBe("lang=none");
    expect(runs("negotiated")).toBe(before + 3);
    const star = runs("varyStar");
    expect((await get("/s", { host: "a.example", "user-agent": "one" }, "varyStar")).body).toBe("star one");
    expect((await get("/s", { host: "a.example", "user-agent": "two" }, "varyStar")).body).toBe("star two");
    expect(runs("varyStar")).toBe(star + 2);
  });

  test.each([
    ["/amb?a=1%26b%3D2", "/amb?a=1&b=2"],
    ["/amb?a=1&a=2", "/amb?a=2&a=1"],
    ["/amb?a=1&%61=2", "/amb?%61=2&a=1"],
    ["/amb?A=1&a=2", "/amb?a=2&A=1"],
    ["/amb?%FF=1&%FE=2", "/amb?%FE=2&%FF=1"],
    ["/amb?b=1&a=1;b=2", "/amb?a=1;b=2&b=1"],
    ["//evil.example/p", "/p"],
    ["/secret/../p", "/p"],
    ["/p\\y", "/p/y"],
    ["/p#x", "/p"],
    ["/p?", "/p"],
    ["/p%2Fq", "/p/q"],
  ])("ambiguous targets %s and %s get their own entries", async (first, second) => {
    expect((await echo(first)).url).toBe(first);
    expect((await echo(second)).url).toBe(second);
    expect((await echo(first)).url).toBe(first);
  });

  test("parameter order is normalised by name only; ignore-query drops its names", async () => {
    const before = runs("tracked");
    expect((await get("/t?b=2&a=1", undefined, "tracked")).body).toBe("/t?b=2&a=1");
    expect((await get("/t?a=1&b=2", undefined, "tracked")).body).toBe("/t?b=2&a=1");
    expect((await get("/t?a=1&b=2&_dc=9", undefined, "tracked")).body).toBe("/t?b=2&a=1");
    expect(runs("tracked")).toBe(before + 1);
  });

  test.each(["//[/x", "//a:b/x", "//%F2/x", "//a:99999/x", "//%00/x"])(
    "the crafted target %s runs the handler uncached with one EKEY report, and the server answers", async (target) => {
      const before = runs("blind");
      errors.length = 0;
      for (let i = 0; i < 2; i++) {
        const response = await get(target, undefined, "blind");
        expect(response.status).toBe(200);
        expect(response.body).toBe("the same for everyone");
      }
      expect(runs("blind")).toBe(before + 2);
      expect(errors.map((e) => e.code)).toEqual(["EKEY", "EKEY"]);
      expect((await get("/after", undefined, "blind")).status).toBe(200);
    });

  const pageKey = (target: string) => requestKeyHelper("handlers#blind")(target, { host: "a.example" });
  // A corrupt envelope is a miss the call path overwrites at once (one run); a readable value of the
  // wrong shape is answered by the handler uncached and removed (two runs before the next hit).
  test.each([
    ["bare digits", (key: string) => state().backend.set(key, "12345", 60)],
    ["a plain string set through cache.set", (key: string) => cache.set(key as CacheKey<unknown>, "<h1>not a response</h1>")],
    ["wrong field types", (key: string) => cache.set(key as CacheKey<unknown>, { status: "200", headers: { a: 1 }, body: "x" })],
    ["a header value with a line break", (key: string) => cache.set(key as CacheKey<unknown>,
      { status: 200, headers: { "x-a": "1\r\nset-cookie: s=1" }, body: Buffer.from("x") })],
    ["a status outside 100-999", (key: string) => cache.set(key as CacheKey<unknown>, { status: 1000, headers: {}, body: Buffer.from("x") })],
    ["a truncated entry", (key: string) => state().backend.set(key, "\u0001T99:{\"B\"", 60), 1],
    ["null", (key: string) => cache.set(key as CacheKey<unknown>, null)],
  ] as Array<[string, (key: string) => Promise<unknown>, number?]>)("a foreign entry (%s) under a page key: handler answers, one EDECODE, entry replaced", async (_name, plant, expectedRuns = 2) => {
    const target = `/foreign-${_name.replace(/\W/g, "-")}`;
    await plant(pageKey(target));
    errors.length = 0;
    const before = runs("blind");
    const first = await get(target, undefined, "blind");
    expect(first.status).toBe(200);
    expect(first.body).toBe("the same for everyone");
    expect(errors.map((e) => e.code)).toEqual(["EDECODE"]);
    await get(target, undefined, "blind");
    expect((await get(target, undefined, "blind")).body).toBe("the same for everyone");
    expect(runs("blind")).toBe(before + expectedRuns);
    expect(errors.map((e) => e.code)).toEqual(["EDECODE"]);
  });

  test("credentialed requests are never shared: Authorization, Cookie, Proxy-Authorization, X-Api-Key", async () => {
    const before = runs("account");
    expect((await get("/me", { host: "a.example" }, "account")).body).toBe("for anyone");
    for (const [name, value] of [["authorization", "Bearer alice"], ["cookie", "s=alice"], ["x-api-key", "alice-key"],
      ["proxy-authorization", "Basic YQ=="], ["X-API-KEY", "alice-key"]]) {
      const response = await get("/me", { host: "a.example", [name]: value }, "account");
      expect(response.body).not.toBe("for anyone");
    }
    expect((await get("/me", { host: "a.example" }, "account")).body).toBe("for anyone");
    expect(runs("account")).toBe(before + 6);
  });
});

describe("configured private headers", () => {
  test("http.privateHeaders replaces the configurable list and is validated", async () => {
    configure({ namespace: `private-${Date.now()}`, http: { privateHeaders: ["X-Session"] } });
    const before = handlers.runs.account ?? 0;
    await rawRequest(port, "/me", { host: "a.example", "x-route": "account" });
    expect((await rawRequest(port, "/me", { host: "a.example", "x-route": "account", "x-session": "alice" })).body).toBe("for alice");
    // X-Api-Key is no longer in the list; Authorization always is.
    expect((await rawRequest(port, "/me", { host: "a.example", "x-route": "account", "x-api-key": "k" })).body).toBe("for anyone");
    expect((await rawRequest(port, "/me", { host: "a.example", "x-route": "account", authorization: "a" })).body).toBe("for a");
    expect(handlers.runs.account).toBe(before + 3);
    expect(() => configure({ http: { privateHeaders: ["bad header"] } })).toThrow(TypeError);
    expect(() => configure({ http: { privateHeaders: "x-a" as never } })).toThrow(TypeError);
    expect(() => configure({ http: { other: 1 } as never })).toThrow(TypeError);
  });
});
