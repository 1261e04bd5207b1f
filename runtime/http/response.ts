/**
 * What an HTTP entry holds and what may be stored: the `CachedResponse` shape, the `Vary` record a
 * varying response leaves under its primary key, and the checks an entry passes before it is
 * replayed. An entry is read back from a store anyone with access to the servers can write, so
 * nothing is replayed that node:http or `new Response` could throw on.
 */

/** A response as stored in the cache. */
export interface CachedResponse {
  readonly status: number;
  /** Header names in lower case; repeated headers as arrays. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body: Buffer;
}

/**
 * Stored under a page's primary key when its response carried `Vary`: the request headers (lower
 * case, sorted) whose values form the secondary key the response itself is stored under.
 */
export interface VaryRecord {
  readonly vary: readonly string[];
}

/** Never stored, never replayed: hop-by-hop headers, `Date` (stale on replay) and `Set-Cookie`. */
export const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
  "transfer-encoding", "upgrade", "proxy-connection", "set-cookie", "date"]);

/** RFC 9110 token: a header name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** What node:http accepts in a header value (no CR, LF, NUL or other controls but tab). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Most request headers one response may vary on before it is not stored at all. */
const MAX_VARY = 16;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);

/** Whether a value read from the store is a response this handler could have stored. */
export function isCachedResponse(value: unknown, statuses: readonly number[]): value is CachedResponse {
  if (!isPlainObject(value) || !Buffer.isBuffer(value.body)) return false;
  const { status, headers } = value;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 100 || status > 999 || !statuses.includes(status)) {
    return false;
  }
  if (!isPlainObject(headers)) return false;
  for (const [name, field] of Object.entries(headers)) {
    if (!TOKEN.test(name) || HOP_BY_HOP.has(name)) return false;
    const values = Array.isArray(field) ? field : [field];
    if (!values.every((v) => typeof v === "string" && FIELD_VALUE.test(v))) return false;
  }
  return true;
}

/** Whether a value read from the store is a {@link VaryRecord}. */
export function isVaryRecord(value: unknown): value is VaryRecord {
  return isPlainObject(value) && value.body === undefined && Array.isArray(value.vary) && value.vary.length > 0 &&
    value.vary.length <= MAX_VARY && value.vary.every((name) => typeof name === "string" && TOKEN.test(name));
}

/**
 * The request headers a response varies on: `[]` without `Vary`, the sorted lower-case names, or
 * `"*"` when it varies on `*`, names a malformed header or too many (such a response is not stored).
 */
export function varyOf(headers: Readonly<Record<string, unknown>>): readonly string[] | "*" {
  const field = headers.vary;
  if (field === undefined) return [];
  const names = new Set<string>();
  for (const line of Array.isArray(field) ? field : [field]) {
    for (const raw of String(line).split(",")) {
      const name = raw.trim().toLowerCase();
      if (name === "") continue;
      if (name === "*" || !TOKEN.test(name)) return "*";
      names.add(name);
    }
  }
  return names.size > MAX_VARY ? "*" : [...names].sort();
}

/** Whether a response may be stored under the tag's rules (status list, cookies, Cache-Control). */
export function storable(options: { status?: readonly number[]; shared?: boolean }, status: number,
                         headers: Record<string, unknown>): boolean {
  if (!(options.status ?? [200]).includes(status)) return false;
  if (headers["set-cookie"] !== undefined && !options.shared) return false;
  const control = String(headers["cache-control"] ?? "").toLowerCase();
  return !/\b(no-store|private)\b/.test(control);
}

/** Lower-case names, strings or string arrays, without the headers never stored. */
export function cleanHeaders(raw: Record<string, unknown>): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(raw)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower)) continue;
    headers[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return headers;
}

/** A fresh fetch `Response` from a stored one (a HEAD request's without body). */
export function toResponse(cached: CachedResponse, method: string): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(cached.headers)) {
    for (const v of Array.isArray(value) ? value : [value as string]) headers.append(name, v);
  }
  const nullBody = method === "HEAD" || [101, 204, 205, 304].includes(cached.status);
  return new Response(nullBody ? null : new Uint8Array(cached.body), { status: cached.status, headers });
}
