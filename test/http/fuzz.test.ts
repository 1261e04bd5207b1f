/**
 * Issue 11's fuzz: 100,000 random request targets (fast-check web paths and queries, absolute
 * URLs, raw bytes, and a small alphabet built to make ambiguous queries). Every target is keyed
 * with the runtime's own key function, and any two that share a key must read alike to every
 * decoder a handler might use. A large share is sent as raw request lines to a plain node:http
 * server running a compiled, tagged handler: every one is answered, none crashes the process, and
 * each answer is the one rendered for a target of the same key.
 */
import type { Server } from "node:http";
import * as querystring from "node:querystring";
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { configure, type CacheError } from "../../runtime/index";
import { handlerKeyParts } from "../../runtime/http/request-key";
import { compileHandlers, rawRequest, receivedUrls, serve, type Handlers } from "./server";

const TARGETS = 100_000;
/** Keyable targets sent over real sockets, besides every refused one. */
const OVER_SOCKETS = 10_000;
const IGNORED = "_dc";

const handlers: Handlers = compileHandlers();
let server: Server;
let port: number;
const errors: CacheError[] = [];
const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);
beforeAll(async () => {
  configure({ namespace: `fuzz-${Date.now()}`, onError: (e) => errors.push(e) });
  ({ server, port } = await serve(handlers));
  process.on("unhandledRejection", onCrash);
  process.on("uncaughtException", onCrash);
});
afterAll(async () => {
  process.off("unhandledRejection", onCrash);
  process.off("uncaughtException", onCrash);
  await new Promise((resolve) => server.close(resolve));
});

const ambiguousParam = fc.tuple(fc.constantFrom("a", "A", "%61", "b", "%FF", "%FE", "_dc", "%5Fdc", "a+b", "a%20b", "", "a;b", "a[]"),
  fc.constantFrom("", "=1", "=2", "=1%262", "=%3D", "=#", "=1;b=2")).map(([name, value]) => name + value);
const targets = fc.oneof(
  fc.tuple(fc.webPath(), fc.option(fc.webQueryParameters()), fc.option(fc.webFragments()))
    .map(([path, query, fragment]) => `${path || "/"}${query === null ? "" : `?${query}`}${fragment === null ? "" : `#${fragment}`}`),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.tuple(fc.constantFrom("/", "//", "/a/../", "/%2e%2e/", "\\"), fc.array(ambiguousParam, { maxLength: 5 }), fc.boolean())
    .map(([path, params, mark]) => `${path}${mark || params.length ? "?" : ""}${params.join("&")}`),
  fc.uint8Array({ minLength: 1, maxLength: 24 }).map((bytes) => `/${Buffer.from(bytes).toString("latin1")}`),
);

const keyOf = (target: string): string | undefined => {
  const outcome = handlerKeyParts({ ignoreQuery: [IGNORED] }, "GET", target, () => "a.example");
  return "parts" in outcome ? JSON.stringify(outcome.parts) : undefined;
};

/** Name → values, in order, as one decoder reads a query; `ignore-query` names dropped. */
function grouped(pairs: Iterable<[string, string]>, fold = false): string {
  const groups = new Map<string, string[]>();
  for (const [rawName, value] of pairs) {
    const name = fold ? rawName.toLowerCase() : rawName;
    if (name === IGNORED) continue;
    groups.set(name, [...(groups.get(name) ?? []), value]);
  }
  return JSON.stringify([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const strict = (text: string) => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
};

/** What handlers could read from a target: each decoder's view, for comparing two targets of one key. */
function readings(target: string): string[] {
  const mark = target.indexOf("?");
  const query = mark < 0 ? "" : target.slice(mark + 1);
  const url = new URL(target, "http://a.example");
  const parsed = querystring.parse(query);
  const splitting = query.split(/[&;]/).filter(Boolean).map((p): [string, string] => {
    const eq = p.indexOf("=");
    return eq < 0 ? [strict(p), ""] : [strict(p.slice(0, eq)), p.slice(eq + 1)];
  });
  return [
    mark < 0 ? target : target.slice(0, mark), // the raw path
    JSON.stringify([url.host, url.pathname, url.hash]),
    grouped(url.searchParams), grouped(url.searchParams, true),
    grouped(Object.entries(parsed).flatMap(([k, v]) => (Array.isArray(v) ? v : [v ?? ""]).map((x): [string, string] => [k, x]))),
    grouped(splitting), grouped(splitting, true),
  ];
}

test(`${TARGETS} random request targets: no two read differently share a key; none crashes the server`, async () => {
  const sample = fc.sample(targets, { numRuns: TARGETS, seed: 11 });
  const byKey = new Map<string, string>();
  const refused: string[] = [];
  let shared = 0;
  for (const target of sample) {
    const key = keyOf(target);
    if (key === undefined) {
      refused.push(target);
      continue;
    }
    const first = byKey.get(key);
    if (first === undefined) byKey.set(key, target);
    else if (first !== target) {
      shared++;
      expect({ target, readings: readings(target) }).toEqual({ target, readings: readings(first) });
    }
  }
  // Over real sockets: every refused target, and keyable ones up to the budget.
  const sent = [...new Set([...refused, ...sample.filter((t) => keyOf(t) !== undefined).slice(0, OVER_SOCKETS)])];
  let answered = 0;
  let rejectedByParser = 0;
  const mismatches: string[] = [];
  const queue = [...sent];
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let target = queue.shift(); target !== undefined; target = queue.shift()) {
      const response = await rawRequest(port, target, { host: "a.example", "x-route": "page" });
      answered++;
      if (response.status === 400) {
        rejectedByParser++;
        continue;
      }
      expect(response.status).toBe(200);
      // The answer was rendered for a target of the key of what node:http made of this request line.
      const received = receivedUrls.get(response.localPort)!;
      const echoed = JSON.parse(response.body).url as string;
      if (echoed !== received && keyOf(echoed) !== keyOf(received)) mismatches.push(target);
    }
  }));
  expect(await rawRequest(port, "/still-up", { host: "a.example" })).toMatchObject({ status: 200 });
  expect(mismatches).toEqual([]);
  expect(crashes).toEqual([]);
  expect(answered).toBe(sent.length);
  expect(errors.filter((e) => e.code !== "EKEY")).toEqual([]);
  console.log(`fuzz: ${TARGETS} targets, ${byKey.size} keys, ${shared} sharing a key (order-normalised), ` +
    `${refused.length} refused (EKEY, run uncached); ${sent.length} sent over sockets, ${rejectedByParser} answered 400 by node's parser`);
}, 600_000);
