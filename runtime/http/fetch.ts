/**
 * Fetch-style handlers (`(request: Request) => Response`). The handler's Response goes back to its
 * caller as soon as the handler returns it, its body still streaming: tscaching tees the body and
 * stores the copy only if the body completes within `maxValueSize` bytes and
 * `streamLimits.timeMs` (10 s); callers that joined the flight meanwhile wait at most that long,
 * then run their own handler. Past the size it stops copying and lets go of what it copied, so a
 * large or never-ending body costs at most `maxValueSize` bytes of copy.
 */
import { Uncached, type CachedFunctionSpec } from "../call";
import { CacheError } from "../config";
import { report, state } from "../state";
import { isPrivateRequest, lookup, reportUnkeyable, type Captured } from "./exchange";
import { urlKeyParts } from "./request-key";
import { cleanHeaders, storable, toResponse } from "./response";

/** Longest time a body may take to complete and still be stored, in ms (tests shorten it). */
export const streamLimits = { timeMs: 10_000 };

/** Bytes currently held in body copies not yet stored (for tests and diagnostics). */
let bufferedBytes = 0;

/** Bytes held right now by copies of response bodies being streamed (at most `maxValueSize` per response). */
export function streamBufferedBytes(): number {
  return bufferedBytes;
}

/** Run a fetch-style handler through the cache. Rejects only when the handler does. */
export async function cachedFetch(spec: CachedFunctionSpec, keyArgs: readonly unknown[] | undefined, request: Request,
                                  handler: () => Response | PromiseLike<Response>): Promise<Response> {
  let method: string;
  let parts: readonly unknown[];
  let header: (name: string) => string | null;
  try {
    method = request.method;
    header = (name: string) => request.headers.get(name);
    if ((method !== "GET" && method !== "HEAD") || isPrivateRequest(spec, header)) return await handler();
    if (keyArgs !== undefined) parts = keyArgs;
    else {
      const outcome = urlKeyParts(spec, method, request.url, header);
      if ("refused" in outcome) {
        reportUnkeyable(spec, outcome.refused);
        return await handler();
      }
      parts = outcome.parts;
    }
  } catch (error) {
    reportUnkeyable(spec, "a request the default key cannot be built for", error);
    return await handler();
  }
  // The Response of the call that runs the handler, handed back before its body is stored.
  let own: ((response: Response) => void) | undefined;
  const ownResponse = new Promise<Response>((resolve) => (own = resolve));
  const looked = lookup(spec, parts, header, async () => {
    const response = await handler();
    const captured = record(spec, method, response);
    own!(captured.response);
    return captured.stored;
  }).then(async (outcome) => {
    if (outcome.kind === "ran") return ownResponse;
    if (outcome.kind === "hit") {
      try {
        return toResponse(outcome.response, method);
      } catch {
        // A status or header fetch refuses: answered by the handler instead.
      }
    }
    return handler();
  });
  return Promise.race([ownResponse, looked]);
}

/** Hand the response on at once; what it becomes in the cache settles when its body is copied. */
function record(spec: CachedFunctionSpec, method: string, response: Response): { response: Response; stored: Promise<Captured> } {
  const raw: Record<string, unknown> = Object.fromEntries(response.headers);
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length > 0) raw["set-cookie"] = cookies;
  const empty = { status: response.status, headers: {}, body: Buffer.alloc(0) };
  if (method === "HEAD" || !storable(spec, response.status, raw)) return { response, stored: Promise.resolve(new Uncached(empty)) };
  const headers = cleanHeaders(raw);
  if (response.body === null) return { response, stored: Promise.resolve({ status: response.status, headers, body: Buffer.alloc(0) }) };
  const [forCaller, forCache] = response.body.tee();
  const passed = new Response(forCaller, { status: response.status, statusText: response.statusText, headers: response.headers });
  const stored = copyBody(spec, forCache).then((body): Captured =>
    body === undefined ? new Uncached(empty) : { status: response.status, headers, body });
  return { response: passed, stored };
}

/** Read a body copy to its end: its bytes, or undefined past the size or time limit or on a stream error. */
async function copyBody(spec: CachedFunctionSpec, stream: ReadableStream<Uint8Array>): Promise<Buffer | undefined> {
  let limit: number;
  try {
    limit = state().backend.maxValueSize;
  } catch {
    limit = 1024 * 1024;
  }
  const reader = stream.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => undefined);
  }, streamLimits.timeMs);
  timer.unref?.();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) return undefined;
      if (done) return Buffer.concat(chunks);
      size += value.byteLength;
      if (size > limit) {
        // Cancelling this branch only: the caller's keeps flowing, at the caller's pace. Not
        // awaited: a tee branch's cancel settles only once the other branch is cancelled too.
        reader.cancel().catch(() => undefined);
        report(new CacheError("E2BIG", `tscaching: the streamed body of "${spec.id}" went past the ${limit}-byte item ` +
          "limit; passed through uncached", { id: spec.id }));
        return undefined;
      }
      chunks.push(Buffer.from(value)); // a copy: both branches get the same chunk object
      bufferedBytes += value.byteLength;
    }
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    bufferedBytes -= chunks.reduce((n, c) => n + c.length, 0);
  }
}
