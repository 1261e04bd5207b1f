/**
 * HTTP response caching, the heir of txcaching's `cache_sync_render_GET` / `cache_async_render_GET`:
 * a tagged `(req, res)` handler (node:http, Express) or fetch-style `(request) => Response` handler
 * has its response captured — status, headers, body — and replayed byte for byte to later requests.
 *
 * Only GET and HEAD are cached (HEAD is served from the GET entry, without body); only the statuses
 * the tag allows (200 by default); hop-by-hop headers and `Set-Cookie` are never stored. A request
 * carrying `Authorization` or a cookie, or a response setting a cookie, is not shared unless the
 * tag says `shared`. The default key is method + path + query with parameters sorted (minus
 * `ignore-query` names) + the `vary` request headers; `key=` replaces it as for functions.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { keyHelper, type KeyHelper } from "./cache";
import { cachedCall, Uncached, type CachedFunctionSpec } from "./call";

/** A response as stored in the cache. */
export interface CachedResponse {
  readonly status: number;
  /** Header names in lower case; repeated headers as arrays. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Buffer;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade", "proxy-connection", "set-cookie", "date"]);

/** The key parts of a request under the default key: `["GET", path, sorted query, ...vary headers]`. */
export function requestKeyParts(spec: Pick<CachedFunctionSpec, "ignoreQuery" | "vary">, url: string,
                                headers: (name: string) => string | null | undefined): unknown[] {
  const parsed = new URL(url, "http://localhost");
  const ignored = new Set(spec.ignoreQuery ?? []);
  const query = [...parsed.searchParams].filter(([name]) => !ignored.has(name))
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const parts: unknown[] = ["GET", parsed.pathname, query.map(([k, v]) => `${k}=${v}`).join("&")];
  for (const name of spec.vary ?? []) parts.push(headers(name) ?? null);
  return parts;
}

function isShareable(spec: CachedFunctionSpec, header: (name: string) => string | null | undefined): boolean {
  return spec.shared === true || (!header("authorization") && !header("cookie"));
}

function storable(spec: CachedFunctionSpec, status: number, headers: Record<string, unknown>): boolean {
  if (!(spec.status ?? [200]).includes(status)) return false;
  if (headers["set-cookie"] !== undefined && !spec.shared) return false;
  const control = String(headers["cache-control"] ?? "").toLowerCase();
  return !/\b(no-store|private)\b/.test(control);
}

function cleanHeaders(raw: Record<string, unknown>): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(raw)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower)) continue;
    headers[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------
// node:http / Express handlers

/**
 * Run a node-style handler through the cache. Called by transformed code: `keyArgs` is the tag's
 * `key=` parts, or undefined for the default request key.
 */
export function cachedHandler(spec: CachedFunctionSpec, keyArgs: readonly unknown[] | undefined,
                              req: IncomingMessage, res: ServerResponse, handler: () => unknown): Promise<void> {
  const method = req.method ?? "GET";
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  if ((method !== "GET" && method !== "HEAD") || !isShareable(spec, header)) {
    return Promise.resolve().then(handler).then(() => undefined);
  }
  const parts = keyArgs ?? requestKeyParts(spec, req.url ?? "/", header);
  let ran = false;
  return cachedCall<CachedResponse>(spec, parts, () => {
    ran = true;
    return capture(spec, method, res, handler);
  }).then((response) => {
    // The request that ran the handler has been answered by the handler itself.
    if (!ran) replay(response, method, res);
  });
}

/** Let the handler answer `res` as usual while recording what it sends. */
function capture(spec: CachedFunctionSpec, method: string, res: ServerResponse,
                 handler: () => unknown): Promise<CachedResponse | Uncached<CachedResponse>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    let headHeaders: Record<string, unknown> = {};
    const { writeHead, write, end } = res;
    const limit = 1024 * 1024;
    const record = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === "function" || tooBig) return;
      const buffer = Buffer.isBuffer(chunk) ? chunk
        : chunk instanceof Uint8Array ? Buffer.from(chunk)
        : Buffer.from(String(chunk), typeof encoding === "string" ? encoding as BufferEncoding : "utf8");
      size += buffer.length;
      if (size > limit) tooBig = true;
      else chunks.push(Buffer.from(buffer));
    };
    res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
      const headers = rest.find((r) => typeof r === "object" && r !== null);
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) headHeaders[String(headers[i]).toLowerCase()] = headers[i + 1];
      } else if (headers) {
        headHeaders = { ...headHeaders, ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).call(this, status, ...rest);
    } as typeof res.writeHead;
    res.write = function (this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
      record(chunk, rest[0]);
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof res.write;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      if (typeof args[0] !== "function") record(args[0], args[1]);
      restore();
      const headers = cleanHeaders({ ...res.getHeaders(), ...headHeaders });
      const response: CachedResponse = { status: res.statusCode, headers, body: Buffer.concat(chunks) };
      const raw = { ...res.getHeaders(), ...headHeaders };
      // A HEAD request's (bodiless) answer must not become the GET entry.
      resolve(method === "HEAD" || tooBig || !storable(spec, response.status, raw) ? new Uncached(response) : response);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.end;
    const restore = () => {
      res.writeHead = writeHead;
      res.write = write;
      res.end = end;
      res.off("close", onClose);
    };
    // Closed without end(): the client went away; nothing to cache, and never leave callers waiting.
    const onClose = () => {
      restore();
      resolve(new Uncached({ status: res.statusCode, headers: {}, body: Buffer.alloc(0) }));
    };
    res.on("close", onClose);
    Promise.resolve().then(handler).catch((error) => {
      restore();
      reject(error);
    });
  });
}

/** Answer `res` from a cached response, as the handler first did. */
function replay(response: CachedResponse, method: string, res: ServerResponse): void {
  if (res.headersSent || res.writableEnded) return;
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value as string | string[]);
  if (method === "HEAD") res.end();
  else res.end(response.body);
}

// ---------------------------------------------------------------------------------------------
// fetch-style handlers

/** Run a fetch-style handler (`(request: Request) => Response`) through the cache. */
export async function cachedFetch(spec: CachedFunctionSpec, keyArgs: readonly unknown[] | undefined, request: Request,
                                  handler: () => Response | PromiseLike<Response>): Promise<Response> {
  const method = request.method;
  const header = (name: string) => request.headers.get(name);
  if ((method !== "GET" && method !== "HEAD") || !isShareable(spec, header)) return handler();
  const parts = keyArgs ?? requestKeyParts(spec, request.url, header);
  let own: Response | undefined;
  const cached = await cachedCall<CachedResponse>(spec, parts, async () => {
    const response = await handler();
    const raw = Object.fromEntries(response.headers);
    if (response.headers.has("set-cookie")) raw["set-cookie"] = response.headers.get("set-cookie")!;
    if (method === "HEAD" || !storable(spec, response.status, raw)) {
      own = response;
      return new Uncached({ status: response.status, headers: {}, body: Buffer.alloc(0) });
    }
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: cleanHeaders(raw), body };
  });
  if (own) return own;
  return toResponse(cached, method);
}

function toResponse(cached: CachedResponse, method: string): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(cached.headers)) {
    for (const v of Array.isArray(value) ? value : [value as string]) headers.append(name, v);
  }
  const nullBody = method === "HEAD" || [101, 204, 205, 304].includes(cached.status);
  return new Response(nullBody ? null : new Uint8Array(cached.body), { status: cached.status, headers });
}

/**
 * The key helper of a handler cached under the default request key: `keys.pages.home("/home?x=1")`,
 * with the `vary` headers when the tag names some. Generated keys.ts files use it.
 */
export function requestKeyHelper(id: string, options: Pick<CachedFunctionSpec, "ignoreQuery" | "vary" | "version"> = {}):
    KeyHelper<[url: string, headers?: Record<string, string>], CachedResponse> {
  const helper = keyHelper<unknown[], CachedResponse>(id, options.version);
  const wrapped = (url: string, headers: Record<string, string> = {}) => {
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    return helper(...requestKeyParts(options, url, (name) => lower[name]));
  };
  Object.defineProperty(wrapped, "id", { value: id, enumerable: true });
  return wrapped as unknown as KeyHelper<[url: string, headers?: Record<string, string>], CachedResponse>;
}
