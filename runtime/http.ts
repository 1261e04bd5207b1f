/**
 * HTTP response caching, the heir of txcaching's `cache_sync_render_GET` / `cache_async_render_GET`:
 * a tagged `(req, res)` handler (node:http, Express) or fetch-style `(request) => Response` handler
 * has its response captured — status, headers, body — and replayed byte for byte to later requests.
 *
 * The parts live in `http/`: the request key (`request-key.ts`), the stored shape and its checks
 * (`response.ts`), the shared lookup with `Vary` and credentials (`exchange.ts`), and one file per
 * handler style (`node.ts`, `fetch.ts`). What is keyed and what is never shared: README, "HTTP handlers".
 */
import { keyHelper, type KeyHelper } from "./key-helpers";
import { requestKeyParts, type RequestKeyOptions } from "./http/request-key";
import type { CachedResponse } from "./http/response";

export { cachedHandler } from "./http/node";
export { cachedFetch } from "./http/fetch";
export { handlerKeyParts, requestKeyParts, urlKeyParts, type HeaderLookup, type KeyOutcome, type RequestKeyOptions } from "./http/request-key";
export type { CachedResponse } from "./http/response";

const ABSOLUTE_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The key helper of a handler cached under the default request key; generated keys.ts files use it.
 * It computes the key the runtime computes for the request a browser sends for a URL:
 *
 * - `render("https://shop.example/user?id=1")`: `GET /user?id=1` with `Host: shop.example` over
 *   https — the same key a fetch handler gets for `new Request("https://shop.example/user?id=1")`.
 * - `render("/user?id=1", { host: "shop.example" })`: the same request, origin-form; without a
 *   `host` it is a request that sent no `Host` (HTTP/1.0), which is what the older one-argument
 *   form `render("/user?id=1")` keeps meaning.
 * - `headers` also gives the forwarded headers and the tag's `vary=` headers when the request had them.
 *
 * Use {@link requestKeyParts} for a raw request line (an absolute-form target such as a proxy sends).
 * A target the runtime would not cache throws a `TypeError`.
 */
export function requestKeyHelper(id: string, options: RequestKeyOptions & { readonly version?: string } = {}):
    KeyHelper<[url: string, headers?: Record<string, string>], CachedResponse> {
  const helper = keyHelper<unknown[], CachedResponse>(id, options.version);
  const wrapped = (url: string, headers: Record<string, string> = {}) => {
    const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    return helper(...requestKeyParts(options, url, (name) => lower.get(name), { url: ABSOLUTE_URL.test(url) }));
  };
  Object.defineProperty(wrapped, "id", { value: id, enumerable: true });
  return wrapped as unknown as KeyHelper<[url: string, headers?: Record<string, string>], CachedResponse>;
}
