/**
 * Test harness for HTTP attacks: tagged handlers written as users write them, compiled with the
 * real transformer, served by a plain `http.createServer`, and driven by raw request lines over
 * `net.Socket` (a client library would normalise the targets these tests send).
 */
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as runtime from "../../runtime/index";
import { compileFiles } from "../helpers/compile";

const SOURCE = `
import type { IncomingMessage, ServerResponse } from "node:http";
export const runs: Record<string, number> = {};
const count = (name: string) => (runs[name] = (runs[name] ?? 0) + 1);
const echo = (req: IncomingMessage) => JSON.stringify({ url: req.url, host: req.headers.host,
  xfh: req.headers["x-forwarded-host"], xfp: req.headers["x-forwarded-proto"], fwd: req.headers.forwarded });

/** Echoes what a page would build links from. @cache ttl=60 */
export function page(req: IncomingMessage, res: ServerResponse): void {
  count("page");
  res.setHeader("content-type", "application/json");
  res.end(echo(req));
}

/** Never reads the URL. @cache ttl=60 */
export function blind(req: IncomingMessage, res: ServerResponse): void {
  count("blind");
  res.end("the same for everyone");
}

/** Language negotiation the tag does not know of: the response says Vary. @cache ttl=60 */
export function negotiated(req: IncomingMessage, res: ServerResponse): void {
  count("negotiated");
  res.setHeader("vary", "Accept-Language");
  res.end("lang=" + (req.headers["accept-language"] ?? "none"));
}

/** @cache ttl=60 */
export function varyStar(req: IncomingMessage, res: ServerResponse): void {
  count("varyStar");
  res.setHeader("vary", "*");
  res.end("star " + (req.headers["user-agent"] ?? ""));
}

/** @cache ttl=60 ignore-query=_dc */
export function tracked(req: IncomingMessage, res: ServerResponse): void {
  count("tracked");
  res.end(String(req.url));
}

/** Personal data by credential. @cache ttl=60 */
export function account(req: IncomingMessage, res: ServerResponse): void {
  count("account");
  res.end("for " + (req.headers.authorization ?? req.headers.cookie ?? req.headers["x-api-key"] ?? req.headers["x-session"] ??
    req.headers["proxy-authorization"] ?? "anyone"));
}

/** A fetch-style handler echoing its URL and headers. @cache ttl=60 */
export async function api(request: Request): Promise<Response> {
  count("api");
  return new Response(JSON.stringify({ url: request.url, host: request.headers.get("host"),
    xfh: request.headers.get("x-forwarded-host"), key: request.headers.get("x-api-key") }));
}
`;

export type Handlers = Record<"page" | "blind" | "negotiated" | "varyStar" | "tracked" | "account",
  (req: unknown, res: unknown) => Promise<void>> & { api: (request: Request) => Promise<Response>; runs: Record<string, number> };

/** Compile the handlers above with the real plugin and load them against this test's runtime. */
export function compileHandlers(): Handlers {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-http-"));
  try {
    const file = path.join(dir, "handlers.ts");
    fs.writeFileSync(file, SOURCE);
    const { outputs, diagnostics } = compileFiles([file]);
    if (diagnostics.length > 0) throw new Error(`handlers did not compile: ${JSON.stringify(diagnostics)}`);
    const code = outputs.get("handlers.js")!;
    if (!code.includes("cachedHandler(") || !code.includes("cachedFetch(")) throw new Error("handlers were not transformed");
    const module = { exports: {} as Record<string, unknown> };
    const load = (name: string) => {
      if (name === "tscaching") return runtime;
      throw new Error(`unexpected import ${name}`);
    };
    new Function("exports", "require", "module", code)(module.exports, load, module);
    return module.exports as unknown as Handlers;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `req.url` as node:http parsed it, by the client's port (what a raw request line became). */
export const receivedUrls = new Map<number, string>();

/** A plain node:http server routing on `x-route` (the target itself is what the tests attack). */
export async function serve(handlers: Handlers): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    receivedUrls.set(req.socket.remotePort!, req.url!);
    const route = String(req.headers["x-route"] ?? "page") as keyof Handlers;
    void (handlers[route] as (req: unknown, res: unknown) => Promise<void>)(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The client's port, a key of {@link receivedUrls}. */
  readonly localPort: number;
}

/**
 * Send one raw request (`GET <target> HTTP/1.1`, the headers as given, `Connection: close`) and
 * read the answer to the end. Rejects when the connection fails or no status line comes back.
 */
export function rawRequest(port: number, target: string, headers: Record<string, string> = { host: "a.example" },
                           method = "GET"): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let localPort = 0;
    socket.on("connect", () => (localPort = socket.localPort!));
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(target)}`)));
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!status || end < 0) return reject(new Error(`no HTTP answer to ${JSON.stringify(target)}: ${JSON.stringify(text)}`));
      const head: Record<string, string> = {};
      for (const line of text.slice(0, end).split("\r\n").slice(1)) {
        const colon = line.indexOf(":");
        head[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = text.slice(end + 4);
      if (head["transfer-encoding"] === "chunked") body = dechunk(body);
      resolve({ status: Number(status[1]), headers: head, body: Buffer.from(body, "latin1").toString("utf8"), localPort });
    });
    const lines = [`${method} ${target} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "Connection: close"];
    // Not end(): node:http drops a half-closed connection whose answer is still being computed.
    socket.write(Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"));
  });
}

function dechunk(body: string): string {
  let out = "";
  for (let i = 0; ;) {
    const eol = body.indexOf("\r\n", i);
    const size = parseInt(body.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}
