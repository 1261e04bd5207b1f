/**
 * The default key of a cached HTTP handler, built the way a web cache keys a request (RFC 9111,
 * Varnish): the authority the request names and the raw, still-encoded request target, never a
 * parsed or normalised URL. Two requests a handler could read differently never share a key.
 *
 * Nothing here decodes or resolves the target, so nothing here can throw on what a client sends;
 * the one refusal (a target the WHATWG URL parser rejects) is an answer, not an exception.
 */
import type { CachedFunctionSpec } from "../call";

/** Reads one request header (name in lower case); repeated headers joined with ", ". */
export type HeaderLookup = (name: string) => string | null | undefined;

/** The tag options the default key depends on. */
export type RequestKeyOptions = Pick<CachedFunctionSpec, "ignoreQuery" | "vary">;

/** Headers naming the authority a proxy or framework may build links from (keyed when present). */
export const FORWARDED_HEADERS = ["x-forwarded-host", "x-forwarded-proto", "forwarded"] as const;

/** `scheme://authority` then the rest, as an absolute-form target or a fetch `request.url` has it. */
const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([\s\S]*)$/;
/** Names every query decoder reads the same way: no escapes, `+`, brackets or separators. */
const PLAIN_NAME = /^[A-Za-z0-9._-]+$/;

/** What a request is keyed by, or why it cannot be (it then runs uncached, reported as `EKEY`). */
export type KeyOutcome = { readonly parts: unknown[] } | { readonly refused: string };

/**
 * Lower-case an authority and drop the scheme's default port (`Example.com:80` is `example.com`
 * over http); everything else stays as sent.
 */
export function normaliseAuthority(authority: string, scheme: string): string {
  const lower = authority.toLowerCase();
  const port = scheme === "https" || scheme === "wss" ? ":443" : scheme === "http" || scheme === "ws" ? ":80" : undefined;
  return port !== undefined && lower.endsWith(port) ? lower.slice(0, -port.length) : lower;
}

/**
 * The query as keyed: raw parameters (never decoded), minus `ignore-query` names. When every
 * parameter name is plain (`[A-Za-z0-9._-]`, so every decoder reads it as written) the parameters
 * are sorted by name, case-insensitively and stably: parameters of one name keep their relative
 * order. Otherwise the order is kept as sent, since reordering could swap what a decoder sees as
 * two values of one name (`%61` and `a`, `%FF` and `%FE`). A query holding `#` or `;` is keyed as sent.
 */
export function keyedQuery(query: string, ignoreQuery: readonly string[] = []): string {
  // After `#` a URL parser sees a fragment, not parameters, and some decoders split on `;` too:
  // such a query is keyed exactly as sent (nothing dropped, nothing moved).
  if (query === "" || /[#;]/.test(query)) return query;
  const params = query.split("&");
  const kept = ignoreQuery.length === 0 ? params : params.filter((param) => !ignoreQuery.includes(decodedName(param)));
  const plain = kept.every((param) => PLAIN_NAME.test(nameOf(param)));
  if (!plain || kept.length < 2) return kept.join("&");
  return kept.map((param, index) => ({ param, index, name: nameOf(param).toLowerCase() }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index))
    .map(({ param }) => param).join("&");
}

const nameOf = (param: string): string => {
  const eq = param.indexOf("=");
  return eq < 0 ? param : param.slice(0, eq);
};

/**
 * The name an `ignore-query` entry is compared with: decoded strictly (`%5Fdc` is `_dc`), or, when
 * it does not decode, a text no tag option can equal. Dropping a parameter whose name decodes to
 * an ignored name merges only targets the tag says the handler does not tell apart.
 */
function decodedName(param: string): string {
  const raw = nameOf(param).replace(/\+/g, " ");
  try {
    return decodeURIComponent(raw);
  } catch {
    return "\u0000";
  }
}

/** Whether a handler parsing this target with `new URL(target, origin)` would get a URL. */
function parsable(target: string): boolean {
  try {
    return URL.canParse(target, "http://localhost");
  } catch {
    return false;
  }
}

/**
 * The parts, once the authority is known. `absoluteForm` marks a request line that named its own
 * authority (`GET http://a.example/x`): its handler sees that text in `req.url`, so it never shares
 * an entry with `GET /x` + `Host: a.example`. `Host` is keyed again when it differs from the
 * authority (an absolute-form target, or a fetch Request whose URL and Host disagree).
 */
function buildParts(options: RequestKeyOptions, method: string, absoluteForm: boolean, scheme: string,
                    authority: string | null, rest: string, header: HeaderLookup): unknown[] {
  const host = header("host");
  const keyedHost = typeof host === "string" ? normaliseAuthority(host, scheme) : null;
  const mark = rest.indexOf("?");
  const path = mark < 0 ? rest : rest.slice(0, mark);
  const query = mark < 0 ? null : keyedQuery(rest.slice(mark + 1), options.ignoreQuery);
  const parts: unknown[] = [method === "HEAD" ? "GET" : method, absoluteForm, scheme, authority ?? keyedHost,
    authority !== null && keyedHost !== authority ? keyedHost : null];
  for (const name of FORWARDED_HEADERS) parts.push(header(name) ?? null);
  parts.push(path, query);
  for (const name of options.vary ?? []) parts.push(header(name.toLowerCase()) ?? null);
  return parts;
}

/**
 * The default key parts of a node:http request, never throwing: `{ parts }`, or `{ refused }` for
 * a target no URL parser accepts (`//[/x`, `//a:99999/x`): such a request runs uncached.
 *
 * Parts: method (`GET`, which HEAD shares); whether the target was absolute-form; the scheme (of
 * the connection, or of an absolute-form target); the authority (an absolute-form target's own,
 * else `Host`; lower case, default port dropped); `Host` again when it differs from that
 * authority; `X-Forwarded-Host`, `X-Forwarded-Proto`, `Forwarded` as sent (null when absent); the
 * raw path; the keyed query (null without `?`, see {@link keyedQuery}); the tag's `vary` headers.
 */
export function handlerKeyParts(options: RequestKeyOptions, method: string, target: string, header: HeaderLookup,
                                scheme = "http"): KeyOutcome {
  if (typeof target !== "string" || !parsable(target)) return { refused: "a request target no URL parser accepts" };
  const absolute = ABSOLUTE.exec(target);
  if (!absolute) return { parts: buildParts(options, method, false, scheme, null, target, header) };
  const targetScheme = absolute[1].toLowerCase();
  return { parts: buildParts(options, method, true, targetScheme, normaliseAuthority(absolute[2], targetScheme), absolute[3], header) };
}

/**
 * The default key parts of a request for an absolute URL, as a fetch handler gets it in
 * `request.url` and as a browser visiting that URL asks a node:http server for it (origin-form
 * target, `Host` from the URL): both key alike.
 */
export function urlKeyParts(options: RequestKeyOptions, method: string, url: string, header: HeaderLookup): KeyOutcome {
  const absolute = typeof url === "string" && parsable(url) ? ABSOLUTE.exec(url) : null;
  if (!absolute) return { refused: "a URL that is not absolute" };
  const scheme = absolute[1].toLowerCase();
  return { parts: buildParts(options, method, false, scheme, normaliseAuthority(absolute[2], scheme), absolute[3], header) };
}

/**
 * The default key parts of a request, for tools (keys.ts helpers, the CLI), exactly as the runtime
 * computes them. `target` is the request line's target: origin-form (`/user?id=1`, authority from
 * the `host` header, none without one) or absolute-form (`http://shop.example/user?id=1`, as a
 * proxy-style request line). Pass `request.url: true` to read an absolute target as a URL instead
 * (a fetch handler's `request.url`, or a browser's visit: same key as `/user?id=1` with that
 * `Host`). Throws a `TypeError` for a target the runtime would not cache.
 *
 * @example
 * ```ts
 * requestKeyParts({}, "/user?id=1", (name) => ({ host: "shop.example" })[name]);
 * requestKeyParts({}, "http://shop.example/user?id=1", () => undefined, { url: true }); // same parts
 * ```
 */
export function requestKeyParts(options: RequestKeyOptions, target: string, header: HeaderLookup,
                                request: { method?: string; scheme?: string; url?: boolean } = {}): unknown[] {
  const method = request.method ?? "GET";
  const outcome = request.url ? urlKeyParts(options, method, target, header)
    : handlerKeyParts(options, method, target, header, request.scheme ?? "http");
  if ("refused" in outcome) throw new TypeError(`tscaching: ${outcome.refused}: ${JSON.stringify(target)}`);
  return outcome.parts;
}
