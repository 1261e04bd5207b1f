/**
 * Fetch-style handlers (issue 11 keying, issue 12 streams): the compiled `api` handler keys the
 * URL's authority and forwarded headers and never shares credentialed requests; keys.ts helpers
 * compute the runtime's key; a streamed Response reaches its caller at once and its copy is
 * bounded by `maxValueSize`.
 */
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { cache, cachedFetch, configure, defineCached, requestKeyHelper, type CacheError, type CacheKey } from "../../runtime/index";
import { streamBufferedBytes, streamLimits } from "../../runtime/http/fetch";
import { compileHandlers, rawRequest, serve, type Handlers } from "./server";

const handlers: Handlers = compileHandlers();
const backends = { memory: () => ({}), memcached: () => ({ servers: inject("memcached") }) };

describe.each(Object.keys(backends) as (keyof typeof backends)[])("fetch handlers on the %s backend", (backend) => {
  const errors: CacheError[] = [];
  let server: Server;
  let port: number;
  beforeAll(async () => {
    configure({ ...backends[backend](), namespace: `fetch-${backend}-${Date.now()}`, onError: (e) => errors.push(e) });
    ({ server, port } = await serve(handlers));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  const call = async (url: string, headers: Record<string, string> = {}) =>
    JSON.parse(await (await handlers.api(new Request(url, { headers }))).text());

  test("the URL's authority and the forwarded headers are keyed; X-Api-Key requests are not shared", async () => {
    expect((await call("http://tenant-a.example/x")).url).toBe("http://tenant-a.example/x");
    expect((await call("http://tenant-b.example/x")).url).toBe("http://tenant-b.example/x");
    expect((await call("https://tenant-a.example/x")).url).toBe("https://tenant-a.example/x");
    expect((await call("http://tenant-a.example/x", { "x-forwarded-host": "evil.example" })).xfh).toBe("evil.example");
    expect((await call("http://tenant-a.example/x")).xfh).toBeNull();
    expect((await call("http://tenant-a.example/x", { host: "evil.example" })).host).toBe("evil.example");
    expect((await call("http://tenant-a.example/x")).host).toBeNull();
    expect((await call("http://tenant-a.example/x", { "x-api-key": "alice" })).key).toBe("alice");
    const before = handlers.runs.api;
    expect((await call("http://TENANT-A.example:80/x")).url).toBe("http://tenant-a.example/x");
    expect(handlers.runs.api).toBe(before);
  });

  test("a foreign entry under a fetch handler's key: the handler answers, one EDECODE", async () => {
    await cache.set(requestKeyHelper("handlers#api")("http://a.example/foreign") as CacheKey<unknown>, 42);
    errors.length = 0;
    const response = await handlers.api(new Request("http://a.example/foreign"));
    expect(response.status).toBe(200);
    expect(JSON.parse(await response.text()).url).toBe("http://a.example/foreign");
    expect(errors.map((e) => e.code)).toEqual(["EDECODE"]);
  });

  test("keys.ts helpers compute the runtime's key for node and fetch handlers alike", async () => {
    await handlers.api(new Request("http://a.example/helper?b=2&a=1")).then((r) => r.text());
    const render = requestKeyHelper("handlers#api");
    expect((await cache.get(render("http://a.example/helper?a=1&b=2")))?.status).toBe(200);
    expect(await cache.get(render("http://b.example/helper?a=1&b=2"))).toBeUndefined();
    await rawRequest(port, "/helper?x=1", { host: "Shop.example", "x-route": "blind" });
    const blind = requestKeyHelper("handlers#blind");
    expect((await cache.get(blind("http://shop.example/helper?x=1")))?.body.toString()).toBe("the same for everyone");
    expect(render("http://shop.example/helper?x=1")).not.toBe(blind("http://shop.example/helper?x=1"));
    expect(blind("/helper?x=1", { host: "shop.example" })).toBe(blind("http://shop.example/helper?x=1"));
    expect(await cache.get(blind("/helper?x=1"))).toBeUndefined(); // no Host: another request
    expect(() => blind("//[/x")).toThrow(TypeError);
  });
});

describe("streamed Responses", () => {
  const errors: CacheError[] = [];
  const LIMIT = 256 * 1024;
  const CHUNK = 16 * 1024;
  beforeAll(() => configure({ namespace: `stream-${Date.now()}`, maxValueSize: LIMIT, onError: (e) => errors.push(e) }));

  /** A body of `chunks` chunks (Infinity: never ends) that counts what was pulled from it. */
  function source(chunks: number, gate?: Promise<void>) {
    const counter = { pulled: 0, cancelled: false };
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (counter.pulled >= chunks * CHUNK) return controller.close();
        if (counter.pulled > 0 && gate) await gate;
        counter.pulled += CHUNK;
        controller.enqueue(new Uint8Array(CHUNK).fill(counter.pulled / CHUNK % 251));
      },
      cancel() {
        counter.cancelled = true;
      },
    }, { highWaterMark: 0 });
    return { stream, counter };
  }

  test("a never-ending stream returns its Response at once; the copy stops at maxValueSize", async () => {
    const spec = defineCached({ v: 1, id: "stream#endless", http: "fetch" });
    const { stream, counter } = source(Infinity);
    const response = await cachedFetch(spec, undefined, new Request("http://a.example/endless"), () => new Response(stream));
    const reader = response.body!.getReader();
    let read = 0;
    let mostBuffered = 0;
    let mostAhead = 0;
    while (read < 40 * LIMIT) {
      const { value } = await reader.read();
      read += value!.byteLength;
      mostBuffered = Math.max(mostBuffered, streamBufferedBytes());
      mostAhead = Math.max(mostAhead, counter.pulled - read);
    }
    await reader.cancel();
    console.log(`stream: read ${read} bytes of a never-ending body; copy held at most ${mostBuffered} bytes, ` +
      `source at most ${mostAhead} bytes ahead of the caller (maxValueSize ${LIMIT})`);
    expect(read).toBeGreaterThanOrEqual(40 * LIMIT);
    expect(mostBuffered).toBeLessThanOrEqual(LIMIT);
    // Pulled but not yet read by the caller: what the copy read ahead, never more than the limit.
    expect(mostAhead).toBeLessThanOrEqual(LIMIT + 2 * CHUNK);
    expect(streamBufferedBytes()).toBe(0);
    expect(errors.map((e) => e.code)).toContain("E2BIG");
    expect(await cache.get(requestKeyHelper("stream#endless")("http://a.example/endless"))).toBeUndefined();
  });

  test("a caller that never reads a never-ending body costs at most maxValueSize of copy", async () => {
    const spec = defineCached({ v: 1, id: "stream#unread", http: "fetch" });
    const { stream, counter } = source(Infinity);
    const response = await cachedFetch(spec, undefined, new Request("http://a.example/unread"), () => new Response(stream));
    expect(response.status).toBe(200);
    for (let i = 0; i < 50 && streamBufferedBytes() > 0 || i < 5; i++) await new Promise((r) => setTimeout(r, 20));
    expect(counter.pulled).toBeLessThanOrEqual(LIMIT + 2 * CHUNK);
    expect(streamBufferedBytes()).toBe(0);
    await response.body!.cancel();
  });

  test("a stream that completes within the limit reaches its caller before it ends, and is then stored", async () => {
    const spec = defineCached({ v: 1, id: "stream#small", http: "fetch" });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { stream, counter } = source(4, gate);
    let runs = 0;
    const handler = () => {
      runs++;
      return new Response(stream, { headers: { "content-type": "application/octet-stream" } });
    };
    const first = await cachedFetch(spec, undefined, new Request("http://a.example/small"), handler);
    expect(counter.pulled).toBeLessThanOrEqual(CHUNK); // the body is still being produced
    const joined = cachedFetch(spec, undefined, new Request("http://a.example/small"), handler);
    open();
    const body = Buffer.from(await first.arrayBuffer());
    expect(body.length).toBe(4 * CHUNK);
    const second = await joined;
    expect(Buffer.from(await second.arrayBuffer()).equals(body)).toBe(true);
    expect(second.headers.get("content-type")).toBe("application/octet-stream");
    const third = await cachedFetch(spec, undefined, new Request("http://a.example/small"), handler);
    expect(Buffer.from(await third.arrayBuffer()).equals(body)).toBe(true);
    expect(runs).toBe(1);
  });

  test("a body that stalls past the time bound is not stored; callers that joined run their own handler", async () => {
    const spec = defineCached({ v: 1, id: "stream#stalled", http: "fetch" });
    const saved = streamLimits.timeMs;
    streamLimits.timeMs = 200;
    try {
      let runs = 0;
      const sources: Array<ReturnType<typeof source>> = [];
      const handler = () => {
        runs++;
        const made = source(Infinity, new Promise<void>(() => undefined)); // first chunk, then nothing
        sources.push(made);
        return new Response(made.stream);
      };
      const request = () => new Request("http://a.example/stalled");
      const first = await cachedFetch(spec, undefined, request(), handler);
      const joined = await cachedFetch(spec, undefined, request(), handler); // waits for the bound, then runs its own
      expect(runs).toBe(2);
      const chunk = await first.body!.getReader().read();
      expect(chunk.value!.byteLength).toBe(CHUNK);
      expect(await cache.get(requestKeyHelper("stream#stalled")("http://a.example/stalled"))).toBeUndefined();
      await joined.body!.cancel();
    } finally {
      streamLimits.timeMs = saved;
    }
  });
});
