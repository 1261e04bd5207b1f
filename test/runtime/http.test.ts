/**
 * Response caching on a real node:http server (in-process) and with fetch-style handlers: what is
 * stored, what is replayed, and what must never be shared.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { configure, defineCached, type CachedFunctionSpec } from "../../runtime/index";
import { cachedFetch, cachedHandler, requestKeyHelper, requestKeyParts } from "../../runtime/http";
import { cache } from "../../runtime/cache";

let server: Server;
let base: string;
let runs = 0;
type Route = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Route = () => undefined;
let spec: CachedFunctionSpec;
let specCount = 0;

function use(options: Partial<CachedFunctionSpec>, route: Route) {
  spec = defineCached({ v: 1, id: `http#route${++specCount}`, http: "node", ...options });
  handler = route;
}

beforeAll(async () => {
  configure({ namespace: `http${Date.now()}` });
  server = createServer((req, res) => {
    void cachedHandler(spec, undefined, req, res, () => {
      runs++;
      return handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  runs = 0;
});

async function get(path: string, init: RequestInit = {}) {
  const response = await fetch(base + path, init);
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: Object.fromEntries([...response.headers].filter(([k]) => k !== "date")), body };
}

test("status, headers and body are replayed byte for byte; hop-by-hop headers and Set-Cookie are not stored", async () => {
  use({}, (_req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream", "x-custom": "1", "transfer-encoding": "chunked" });
    res.write(Buffer.from([0, 1, 2, 255]));
    setTimeout(() => res.end(Buffer.from("tail")), 5);
  });
  const first = await get("/bytes");
  const second = await get("/bytes");
  expect(runs).toBe(1);
  expect(second.body.equals(first.body)).toBe(true);
  expect(second.body).toEqual(Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from("tail")]));
  expect(second.headers["x-custom"]).toBe("1");
  expect(second.headers["content-type"]).toBe("application/octet-stream");
  const stored = await cache.get(requestKeyHelper(spec.id)(`${base}/bytes`));
  expect(stored?.headers["transfer-encoding"]).toBeUndefined();
  expect(stored?.headers["x-custom"]).toBe("1");
});

test("only GET and HEAD are cached; HEAD is answered from the GET entry without a body", async () => {
  use({}, (req, res) => res.end(`method ${req.method}`));
  await get("/m", { method: "POST" });
  await get("/m", { method: "POST" });
  expect(runs).toBe(2);
  await get("/m");
  const head = await get("/m", { method: "HEAD" });
  expect(runs).toBe(3);
  expect(head.status).toBe(200);
  expect(head.body.length).toBe(0);
  expect((await get("/m")).body.toString()).toBe("method GET");
  expect(runs).toBe(3);
});

test("statuses other than 200 are not cached unless the tag lists them", async () => {
  use({}, (_req, res) => {
    res.statusCode = 404;
    res.end("missing");
  });
  await get("/404");
  await get("/404");
  expect(runs).toBe(2);
  use({ status: [200, 404] }, (_req, res) => {
    res.statusCode = 404;
    res.end("missing");
  });
  await get("/404");
  expect((await get("/404")).status).toBe(404);
  expect(runs).toBe(3);
});

test("requests with a cookie or Authorization, and responses setting a cookie, are not shared", async () => {
  use({}, (_req, res) => res.end("page"));
  await get("/private", { headers: { cookie: "s=1" } });
  await get("/private", { headers: { authorization: "Bearer x" } });
  expect(runs).toBe(2);
  use({}, (_req, res) => {
    res.setHeader("set-cookie", "session=abc");
    res.end("with cookie");
  });
  await get("/sets-cookie");
  const again = await get("/sets-cookie");
  expect(runs).toBe(2 + 2);
  expect(again.headers["set-cookie"]).toBe("session=abc");
  use({ shared: true }, (_req, res) => {
    res.setHeader("set-cookie", "session=abc");
    res.end("shared");
  });
  await get("/shared", { headers: { cookie: "s=1" } });
  const replayed = await get("/shared", { headers: { cookie: "s=2" } });
  expect(runs).toBe(5);
  expect(replayed.headers["set-cookie"]).toBeUndefined();
  use({}, (_req, res) => {
    res.setHeader("cache-control", "no-store");
    res.end("no-store");
  });
  await get("/no-store");
  await get("/no-store");
  expect(runs).toBe(7);
});

test("the default key sorts the query, drops ignore-query names exactly and adds vary headers", async () => {
  use({ ignoreQuery: ["_dc"], vary: ["accept-language"] }, (req, res) => res.end(`${req.url} ${req.headers["accept-language"]}`));
  await get("/q?b=2&a=1&_dc=1");
  await get("/q?a=1&b=2&_dc=2");
  await get("/q?a=1&b=2");
  expect(runs).toBe(1);
  // Exact names: `_dcx` is not `_dc`.
  await get("/q?a=1&b=2&_dcx=1");
  expect(runs).toBe(2);
  await get("/q?a=1&b=2", { headers: { "accept-language": "fr" } });
  expect(runs).toBe(3);
  expect(requestKeyParts({ ignoreQuery: ["_dc"] }, "/q?b=2&a=1&_dc=9", () => undefined))
    .toEqual(["GET", false, "http", null, null, null, null, null, "/q", "a=1&b=2"]);
});

test("concurrent requests for one cold page run the handler once; private answers are not shared", async () => {
  use({}, (_req, res) => setTimeout(() => res.end("slow"), 50));
  const bodies = await Promise.all(Array.from({ length: 10 }, () => get("/together")));
  expect(runs).toBe(1);
  expect(new Set(bodies.map((b) => b.body.toString()))).toEqual(new Set(["slow"]));
  runs = 0;
  let n = 0;
  use({}, (_req, res) => {
    res.setHeader("set-cookie", `id=${++n}`);
    setTimeout(() => res.end("mine"), 50);
  });
  const cookies = await Promise.all(Array.from({ length: 5 }, () => get("/own-cookie")));
  expect(runs).toBe(5);
  expect(new Set(cookies.map((c) => c.headers["set-cookie"])).size).toBe(5);
});

test("fetch-style handlers: cached, replayed as fresh Response objects, private ones passed through", async () => {
  const fetchSpec = defineCached({ v: 1, id: "http#fetch", http: "fetch" });
  let calls = 0;
  const handle = (request: Request) => cachedFetch(fetchSpec, undefined, request, async () => {
    calls++;
    return new Response(`hello ${new URL(request.url).searchParams.get("name")}`, { headers: { "x-n": String(calls) } });
  });
  const a = await handle(new Request("http://x/greet?name=bob"));
  const b = await handle(new Request("http://x/greet?name=bob"));
  expect(await a.text()).toBe("hello bob");
  expect(await b.text()).toBe("hello bob");
  expect(b.headers.get("x-n")).toBe("1");
  expect(calls).toBe(1);
  const withCookie = await handle(new Request("http://x/greet?name=bob", { headers: { cookie: "a=1" } }));
  expect(withCookie.headers.get("x-n")).toBe("2");
  const head = await handle(new Request("http://x/greet?name=bob", { method: "HEAD" }));
  expect(head.body).toBeNull();
  expect(calls).toBe(2);
});
