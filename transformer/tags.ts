/**
 * The `@cache` tag grammar, read straight from a JSDoc comment's text. Reading the text ourselves
 * (instead of TypeScript's JSDoc nodes) gives the same answer whether or not the compiler parsed
 * JSDoc, so tspc, a per-file transpile and the CLI all agree.
 *
 * ```
 * @cache [ttl=90|5m|1h30m] [key=param,this.field,...] [name=dotted.ident] [tags=user(id),catalog] [timeout=5s] [local=2s] [- free text]
 * ```
 */
import { problem, type Problem } from "./diagnostics";

/** One part of a cache key: a parameter (by name) or a field of `this`. */
export type KeyPart = { readonly kind: "param"; readonly name: string } | { readonly kind: "this"; readonly name: string };

/** One tag of `tags=`: `user(id, this.org)` (arguments as key parts) or a bare `catalog`. */
export interface TagPart {
  readonly name: string;
  readonly args: readonly KeyPart[];
}

/** The options of one `@cache` tag. Offsets let later checks point at the offending text. */
export interface CacheTag {
  /** Offset of the `@cache` text and the tag's end, in the file. */
  readonly start: number;
  readonly end: number;
  readonly ttl?: number;
  readonly key?: readonly KeyPart[];
  /** Offset and length of the key option's value, for diagnostics about its parts. */
  readonly keySpan?: { readonly start: number; readonly length: number };
  readonly name?: string;
  /** `stale=1h`: seconds an expired value may still be served while one refresh runs, or when the function fails. */
  readonly stale?: number;
  /** `errors=30s`: seconds a rejection is cached (negative caching); by default rejections are never cached. */
  readonly errors?: number;
  /** `lock` / `lock=5s`: compute a cold key once across processes; the value is the longest wait in seconds. */
  readonly lock?: number;
  /** `http=node|fetch`: treat the function as an HTTP handler even where types cannot tell. */
  readonly http?: "node" | "fetch";
  /** `ignore-query=_dc,utm_source`: query parameters left out of an HTTP handler's key (exact names). */
  readonly ignoreQuery?: readonly string[];
  /** `vary=accept-language`: request headers that join an HTTP handler's key. */
  readonly vary?: readonly string[];
  /** `status=200,404`: response statuses an HTTP handler may cache (default 200). */
  readonly status?: readonly number[];
  /** `shared`: cache responses for requests with cookies or Authorization (never storing Set-Cookie). */
  readonly shared?: boolean;
  /** `timeout=5s`: longest wait in seconds on another caller's computation of the same key (1 s to 1 d). */
  readonly timeout?: number;
  /** `local=2s`: seconds a decoded copy is kept in this process in front of the shared store (1 s to 1 d). */
  readonly local?: number;
  /** `tags=user(id),catalog`: the tags `cache.invalidateTag()` reaches this function's entries by. */
  readonly tags?: readonly TagPart[];
  /** Offset and length of the tags option's value, for diagnostics about its arguments. */
  readonly tagsSpan?: { readonly start: number; readonly length: number };
  /** `version=v2`: pins the function's version (its entries' key), turning the automatic one off. */
  readonly version?: string;
}

/** A tag starts at `@name` at the start of a line or after whitespace, as TypeScript reads JSDoc. */
const TAG = /(^|\s)@([A-Za-z_][\w-]*)/g;

/** Is this comment a JSDoc block (`/** ... *\/`, not `/**\/`)? */
export function isJSDocComment(text: string): boolean {
  return text.startsWith("/**") && !text.startsWith("/**/") && text.endsWith("*/");
}

/**
 * For a file's text, a test for AST walks that only look for tag comments: can a node spanning
 * `pos` to `end`, or a node inside it, take a comment that may hold a `@cache` tag? A node takes
 * the comments of the trivia starting at its `pos` (TypeScript's leading and trailing comment
 * ranges), and those lie in its range, or right after it for a node that ends where trivia starts.
 * False only when no such comment can be reached, so a walk may skip that subtree.
 */
export function tagCommentReach(text: string): (pos: number, end: number) => boolean {
  const starts = tagCommentStarts(text);
  return (pos, end) => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo < starts.length && (starts[lo] < end || mayBeTriviaOnly(text, end, starts[lo]));
  };
}

/**
 * Offsets, in order, of the comments that may hold a `@cache` tag: each `/**` whose text up to the
 * next `*\/` mentions `@cache`. A superset (a `/**` in a string or inside another comment counts
 * too), so that skipping everything else never misses a tag. Linear in the text's length.
 */
export function tagCommentStarts(text: string): number[] {
  const starts: number[] = [];
  let tag = text.indexOf("@cache");
  for (let at = text.indexOf("/**"); at >= 0 && tag >= 0; at = text.indexOf("/**", at + 1)) {
    if (tag < at + 3) {
      tag = text.indexOf("@cache", at + 3);
      if (tag < 0) break;
    }
    const end = text.indexOf("*/", at + 2);
    if (end < 0 || tag < end) starts.push(at);
  }
  return starts;
}

/**
 * Can `text` from `from` to `to` be whitespace and comments only? False only when a token surely
 * starts in between (an ASCII character that is neither a space nor a comment's start); anything
 * unusual (a shebang at 0, non-ASCII characters, an unterminated comment) answers true.
 */
function mayBeTriviaOnly(text: string, from: number, to: number): boolean {
  if (from === 0) return true;
  for (let i = from; i < to; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 47 /* / */) {
      const next = text.charCodeAt(i + 1);
      if (next === 42 /* * */) {
        const end = text.indexOf("*/", i + 2);
        if (end < 0) return true;
        i = end + 1;
        continue;
      }
      if (next !== 47 /* / */) return false;
      while (i < to && !isLineBreak(text.charCodeAt(i))) i++;
      continue;
    }
    if (ch > 32 && ch < 127) return false;
  }
  return true;
}

function isLineBreak(ch: number): boolean {
  return ch === 10 || ch === 13 || ch === 0x2028 || ch === 0x2029;
}

/**
 * Find the `@cache` tags of a JSDoc comment. `commentStart` is the comment's offset in the file.
 * Like TypeScript, a tag is `@cache` at a line start or after whitespace, and runs until the next
 * tag; `@cached`, `{@link cache}` and `a@cache.org` are not `@cache` tags.
 */
export function findCacheTags(comment: string, commentStart: number): { tags: CacheTag[]; problems: Problem[] } {
  const tags: CacheTag[] = [];
  const problems: Problem[] = [];
  // The comment's lines without `/**`, `*/` and leading `*`, blanked in place so offsets hold.
  const body = " ".repeat(3) + comment.slice(3, comment.length - 2).replace(/(^|\n)(\s*)\*/g, (m, nl, ws) => `${nl}${ws} `);
  const starts: Array<{ name: string; at: number; textStart: number }> = [];
  for (const m of body.matchAll(TAG)) {
    const at = m.index! + m[1].length;
    starts.push({ name: m[2], at, textStart: at + 1 + m[2].length });
  }
  starts.forEach((tag, i) => {
    if (tag.name !== "cache") return;
    const end = i + 1 < starts.length ? starts[i + 1].at : body.length;
    const tokens: Token[] = [];
    tokenize(body.slice(tag.textStart, end), commentStart + tag.textStart, tokens);
    tags.push(parseOptions(commentStart + tag.at, commentStart + end, tokens, problems));
  });
  return { tags, problems };
}

interface Token {
  readonly text: string;
  readonly start: number;
}

function tokenize(text: string, start: number, out: Token[]): void {
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const prev = out[out.length - 1];
    // `key=a, b` is one option: join a token to one that ends with a comma.
    if (prev && prev.text.endsWith(",") && !prev.text.startsWith("-")) {
      out[out.length - 1] = { text: prev.text + m[0], start: prev.start };
    } else {
      out.push({ text: m[0], start: start + m.index });
    }
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
/** A pinned version: it becomes part of every key, so no `:` and nothing memcached refuses. */
const VERSION = /^[A-Za-z0-9_.-]{1,32}$/;
/** Options and how to read their values (`undefined` = malformed); flags take no value. */
const OPTIONS: Record<string, {
  readonly flag?: boolean;
  readonly expected: string;
  read(value: string): unknown;
  /** A duration that must lie in `[1, max]` seconds (`outOfRange` otherwise). */
  readonly max?: number;
}> = {
  stale: { expected: "a duration such as 1h", read: parseTtl },
  errors: { expected: "a duration such as 30s", read: parseTtl },
  lock: { flag: true, expected: "a duration such as 5s (the longest wait)", read: (v) => (v === "" ? 10 : parseTtl(v)) },
  http: { expected: "node or fetch", read: (v) => (v === "node" || v === "fetch" ? v : undefined) },
  "ignore-query": { expected: "comma-separated query parameter names", read: (v) => list(v, /^[^\s,&=#]+$/) },
  vary: { expected: "comma-separated header names", read: (v) => list(v, /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/)?.map((h) => h.toLowerCase()) },
  status: { expected: "comma-separated HTTP statuses such as 200,404",
    read: (v) => list(v, /^[1-5]\d\d$/)?.map(Number) },
  shared: { flag: true, expected: "no value", read: (v) => (v === "" ? true : undefined) },
  timeout: { expected: "a duration such as 5s", read: parseTtl, max: 86_400 },
  local: { expected: "a duration such as 2s", read: parseTtl, max: 86_400 },
  version: { expected: "1-32 characters of A-Z a-z 0-9 _ . -", read: (v) => (VERSION.test(v) ? v : undefined) },
};
const FIELDS: Record<string, keyof CacheTag> = { "ignore-query": "ignoreQuery" };
const KNOWN = ["ttl", "key", "name", "tags", ...Object.keys(OPTIONS)];

function list(value: string, item: RegExp): string[] | undefined {
  const items = value.split(",").map((s) => s.trim());
  return items.every((s) => item.test(s)) ? items : undefined;
}

function parseOptions(start: number, end: number, tokens: Token[], problems: Problem[]): CacheTag {
  const tag: { -readonly [K in keyof CacheTag]: CacheTag[K] } = { start, end };
  const seen = new Set<string>();
  for (const token of tokens) {
    // A dash starts free text: `@cache ttl=5m - emails change rarely`.
    if (/^[-\u2013\u2014]+$/.test(token.text)) break;
    const eq = token.text.indexOf("=");
    const option = eq < 0 ? token.text : token.text.slice(0, eq);
    const value = eq < 0 ? undefined : token.text.slice(eq + 1);
    const valueStart = token.start + eq + 1;
    if (!KNOWN.includes(option)) {
      problems.push(problem("unknownOption", token.start, token.text.length, option, suggest(option)));
      continue;
    }
    if (seen.has(option)) {
      problems.push(problem("duplicateOption", token.start, token.text.length, option));
      continue;
    }
    seen.add(option);
    const spec = OPTIONS[option];
    if (spec) {
      if (value === undefined && !spec.flag) {
        problems.push(problem("missingValue", token.start, token.text.length, option));
        continue;
      }
      const read = spec.read(value ?? "");
      if (spec.max !== undefined && isOutOfRange(read, value ?? "", spec.max)) {
        problems.push(problem("outOfRange", token.start, token.text.length, option, value ?? "", spec.max === 86_400 ? "1d" : `${spec.max}s`));
      } else if (read === undefined) problems.push(problem("badOptionValue", token.start, token.text.length, option, value ?? "", spec.expected));
      else (tag as Record<string, unknown>)[FIELDS[option] ?? option] = read;
      continue;
    }
    if (value === undefined || value === "") {
      problems.push(problem("missingValue", token.start, token.text.length, option));
      continue;
    }
    if (option === "ttl") {
      const ttl = parseTtl(value);
      if (ttl === undefined) problems.push(problem("badTtl", valueStart, value.length, value));
      else tag.ttl = ttl;
    } else if (option === "key") {
      const parts = parseKey(value);
      if (!parts) problems.push(problem("badKey", valueStart, value.length, value));
      else {
        tag.key = parts;
        tag.keySpan = { start: valueStart, length: value.length };
      }
    } else if (option === "tags") {
      const parts = parseTags(value);
      if (!parts) problems.push(problem("badTags", valueStart, value.length, value));
      else {
        tag.tags = parts;
        tag.tagsSpan = { start: valueStart, length: value.length };
      }
    } else if (option === "name") {
      if (value.split(".").every((s) => IDENT.test(s))) tag.name = value;
      else problems.push(problem("badName", valueStart, value.length, value));
    }
  }
  return tag;
}

/** A duration option's value is well formed but not in `[1, max]` seconds (`0`, `-5s`, `2d`). */
function isOutOfRange(read: unknown, value: string, max: number): boolean {
  if (read === undefined) return value.startsWith("-") && parseTtl(value.slice(1)) !== undefined;
  return typeof read === "number" && (read < 1 || read > max);
}

const UNITS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const MAX_TTL = 10 * 365 * 86_400;

/** Parse `90`, `90s`, `5m`, `2h`, `1d`, `1h30m` into seconds; undefined when malformed. */
export function parseTtl(text: string): number | undefined {
  if (/^\d+$/.test(text)) return check(Number(text));
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === "") return undefined;
  let seconds = 0;
  ["d", "h", "m", "s"].forEach((unit, i) => {
    if (m[i + 1] !== undefined) seconds += Number(m[i + 1]) * UNITS[unit];
  });
  return check(seconds);
  function check(n: number) {
    return Number.isSafeInteger(n) && n <= MAX_TTL ? n : undefined;
  }
}

function parseKey(text: string): KeyPart[] | undefined {
  const parts: KeyPart[] = [];
  for (const raw of text.split(",")) {
    const s = raw.trim();
    if (IDENT.test(s) && s !== "this") parts.push({ kind: "param", name: s });
    else if (/^this\.[A-Za-z_$][\w$]*$/.test(s)) parts.push({ kind: "this", name: s.slice(5) });
    else return undefined;
  }
  return parts;
}

/** `user(id),team(this.teamId),catalog`: commas inside parentheses separate arguments, outside them tags. */
function parseTags(text: string): TagPart[] | undefined {
  const items: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "(") depth++;
    else if (ch === ")" && --depth < 0) return undefined;
    else if (ch === "," && depth === 0) {
      items.push(text.slice(from, i));
      from = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  items.push(text.slice(from));
  const tags: TagPart[] = [];
  for (const item of items) {
    const m = /^\s*([A-Za-z_$][\w$]*)\s*(?:\(([^()]*)\))?\s*$/.exec(item);
    if (!m) return undefined;
    const args = m[2] === undefined || m[2].trim() === "" ? [] : parseKey(m[2]);
    if (!args) return undefined;
    tags.push({ name: m[1], args });
  }
  return tags;
}

function suggest(option: string): string {
  const close = KNOWN.find((k) => distance(k, option.toLowerCase()) <= 2);
  return close ? ` Did you mean '${close}'?` : ` Known options: ${KNOWN.join(", ")}.`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}
