/**
 * node:http and Express handlers: the handler answers its own request as usual while what it
 * sends is recorded; later requests get the recording replayed.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Uncached, type CachedFunctionSpec } from "../call";
import { isPrivateRequest, lookup, reportUnkeyable, type Captured } from "./exchange";
import { handlerKeyParts } from "./request-key";
import { cleanHeaders, storable, type CachedResponse } from "./response";

/** Largest body recorded; a larger one is answered but not stored. */
const CAPTURE_LIMIT = 1024 * 1024;

/**
 * Run a node-style handler through the cache. Called by transformed code: `keyArgs` is the tag's
 * `key=` parts, or undefined for the default request key. Rejects only when the handler does.
 */
export function cachedHandler(spec: CachedFunctionSpec, keyArgs: readonly unknown[] | undefined,
                              req: IncomingMessage, res: ServerResponse, handler: () => unknown): Promise<void> {
  const uncached = () => Promise.resolve().then(handler).then(() => undefined);
  let method: string;
  let parts: readonly unknown[];
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  try {
    method = req.method ?? "GET";
    if ((method !== "GET" && method !== "HEAD") || isPrivateRequest(spec, header)) return uncached();
    if (keyArgs !== undefined) parts = keyArgs;
    else {
      const scheme = (req.socket as { encrypted?: boolean } | undefined)?.encrypted ? "https" : "http";
      const outcome = handlerKeyParts(spec, method, req.url ?? "/", header, scheme);
      if ("refused" in outcome) {
        reportUnkeyable(spec, outcome.refused);
        return uncached();
      }
      parts = outcome.parts;
    }
  } catch (error) {
    reportUnkeyable(spec, "a request the default key cannot be built for", error);
    return uncached();
  }
  return lookup(spec, parts, header, () => capture(spec, method, res, handler)).then((outcome) => {
    if (outcome.kind === "ran") return undefined;
    if (outcome.kind === "foreign") return uncached();
    return replay(outcome.response, method, res) ? undefined : uncached();
  });
}

/** Let the handler answer `res` as usual while recording what it sends. */
function capture(spec: CachedFunctionSpec, method: string, res: ServerResponse, handler: () => unknown): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    let headHeaders: Record<string, unknown> = {};
    const { writeHead, write, end } = res;
    const record = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === "function" || tooBig) return;
      const buffer = Buffer.isBuffer(chunk) ? chunk
        : chunk instanceof Uint8Array ? Buffer.from(chunk)
        : Buffer.from(String(chunk), typeof encoding === "string" && Buffer.isEncoding(encoding) ? encoding : "utf8");
      size += buffer.length;
      if (size > CAPTURE_LIMIT) {
        tooBig = true;
        chunks.length = 0;
      } else chunks.push(Buffer.from(buffer));
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
      const raw = { ...res.getHeaders(), ...headHeaders };
      const response: CachedResponse = { status: res.statusCode, headers: cleanHeaders(raw), body: Buffer.concat(chunks) };
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

/**
 * Answer `res` from a validated entry, as the handler first did. False when nothing was sent and
 * node:http refused the entry after all (the handler then answers).
 */
function replay(response: CachedResponse, method: string, res: ServerResponse): boolean {
  if (res.headersSent || res.writableEnded) return true;
  const set: string[] = [];
  try {
    res.statusCode = response.status;
    for (const [name, value] of Object.entries(response.headers)) {
      res.setHeader(name, value as string | string[]);
      set.push(name);
    }
  } catch {
    // Undo only what the entry set: headers set before the handler (middleware) stay.
    for (const name of set) res.removeHeader(name);
    res.statusCode = 200;
    return false;
  }
  if (method === "HEAD") res.end();
  else res.end(response.body);
  return true;
}
