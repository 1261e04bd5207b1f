/**
 * `tscaching key` and `get` for HTTP handlers keyed by their request: the key is the one the
 * generated `keys.X(url, headers)` gives (the runtime's own function computes it), with no note
 * about "0 parts", and `get` prints a cached response's body as text (base64 when it is not UTF-8).
 * A real tspc build, a real node:http server and the test memcached.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { runNode } from "../bundler/child";
import { prepareProject } from "../helpers/project";
import { cli, compile } from "./run-cli";

const PAGES = `
import type { IncomingMessage, ServerResponse } from "node:http";

/** @cache ttl=1m vary=accept-language */
export function user(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("content-type", "text/plain");
  res.end("hello " + req.url + " in " + req.headers["accept-language"]);
}

/** @cache ttl=1m */
export function image(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("content-type", "image/x-bytes");
  res.end(Buffer.from([0xff, 0x00, 0x80, 0x41]));
}
`;

// Serves the handlers, requests each once (the responses are stored), prints what keys.ts computes.
const SERVE = `
const http = require("node:http");
const { cache } = require("tscaching");
const { keys } = require("./dist/keys.js");
const pages = require("./dist/pages.js");
const server = http.createServer((req, res) => (req.url.startsWith("/image") ? pages.image : pages.user)(req, res));
server.listen(0, "127.0.0.1", async () => {
  const host = "127.0.0.1:" + server.address().port;
  const get = (url, headers) => new Promise((resolve, reject) => http.get({ host: "127.0.0.1", port: server.address().port, path: url, headers },
    (res) => { res.resume(); res.on("end", resolve); }).on("error", reject));
  const userHeaders = { host, "accept-language": "en" };
  await get("/user?id=1&b=2", userHeaders);
  await get("/image", { host });
  await new Promise((r) => setTimeout(r, 200));
  console.log(JSON.stringify({ host, user: keys.user("/user?id=1&b=2", userHeaders), image: keys.image("/image", { host }) }));
  server.close();
  await cache.close();
});
`;

let dir: string;
const namespace = `cli-handler-${process.pid}`;
let servers: string;
let seen: { host: string; user: string; image: string };

beforeAll(async () => {
  servers = inject("memcached");
  dir = prepareProject("basic");
  fs.writeFileSync(path.join(dir, "src/pages.ts"), PAGES);
  const keys = await cli(["keys"], { cwd: dir });
  expect(keys.stderr).toBe("");
  const built = await compile(dir, "tspc");
  expect(built.output).toBe("");
  const served = await runNode(["-e", SERVE], { cwd: dir, env: { TSCACHING_SERVERS: servers, TSCACHING_NAMESPACE: namespace } });
  expect(served.stderr).toBe("");
  seen = JSON.parse(served.stdout) as typeof seen;
}, 180_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("tscaching key of a request-keyed handler is keys.X(url, headers), without a misleading note", async () => {
  const headers = JSON.stringify({ host: seen.host, "accept-language": "en" });
  const key = await cli(["key", "src/pages#user", "/user?id=1&b=2", headers, "--namespace", namespace], { cwd: dir });
  expect(key).toEqual({ status: 0, stdout: `${seen.user}\n`, stderr: "" });
  const image = await cli(["key", "src/pages#image", "/image", JSON.stringify({ host: seen.host }), "--namespace", namespace], { cwd: dir });
  expect(image).toEqual({ status: 0, stdout: `${seen.image}\n`, stderr: "" });

  // No URL: a one-line error saying what a handler's key is made of.
  const bad = await cli(["key", "src/pages#user", "--namespace", namespace], { cwd: dir });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("src/pages#user is an HTTP handler keyed by its request: give its URL");
}, 120_000);

test("tscaching get prints a cached response's body as text, or as base64 with a note", async () => {
  const env = { TSCACHING_SERVERS: servers, TSCACHING_NAMESPACE: namespace };
  const headers = JSON.stringify({ host: seen.host, "accept-language": "en" });
  const user = await cli(["get", "src/pages#user", "/user?id=1&b=2", headers], { cwd: dir, env });
  expect(user.stderr).toBe("");
  expect(user.stdout).toBe("HTTP 200\ncontent-type: text/plain\n\nhello /user?id=1&b=2 in en\n");

  const image = await cli(["get", "src/pages#image", "/image", JSON.stringify({ host: seen.host })], { cwd: dir, env });
  expect(image.stderr).toBe("note: the body is not valid UTF-8; printed as base64\n");
  expect(image.stdout).toBe(`HTTP 200\ncontent-type: image/x-bytes\n\n${Buffer.from([0xff, 0x00, 0x80, 0x41]).toString("base64")}\n`);
}, 120_000);
