/**
 * The seed article's email server, ported: built with the real plugin, started against a real
 * memcached, driven over real HTTP.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { freePort } from "../helpers/memcached";
import { compileProject, prepareProject } from "../helpers/project";

const DELAY = 600;
let server: ChildProcess;
let base: string;
let output = "";
const reads = (what: "store" | "DB") => output.split("\n").filter((l) => l === `Reading from ${what}`).length;

beforeAll(async () => {
  const dir = prepareProject("examples/email-server");
  const built = compileProject(dir);
  expect(built.output).toBe("");
  expect(built.status).toBe(0);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, [path.join(dir, "dist/main.js")], {
    cwd: dir,
    env: { ...process.env, PORT: String(port), EMAIL_DB_DELAY_MS: String(DELAY), TSCACHING_SERVERS: inject("memcached"),
      TSCACHING_NAMESPACE: `email${Date.now()}` },
  });
  server.stdout!.on("data", (chunk) => (output += chunk));
  server.stderr!.on("data", (chunk) => (output += chunk));
  for (let i = 0; i < 100 && !output.includes("email server on"); i++) await new Promise((r) => setTimeout(r, 100));
  expect(output).toContain("cache: memcached at");
}, 120_000);

afterAll(() => {
  server?.kill();
});

async function get(urlPath: string, headers: Record<string, string> = {}) {
  const start = performance.now();
  const response = await fetch(base + urlPath, { headers });
  const body = await response.text();
  const kept = [...response.headers].filter(([name]) => name !== "date");
  return { status: response.status, headers: kept, body, ms: performance.now() - start };
}

function post(urlPath: string, form: Record<string, string>) {
  return fetch(base + urlPath, { method: "POST", body: new URLSearchParams(form) }).then((r) => r.text());
}

test("cached page: first GET slow, second fast and identical; POST invalidates; other users unaffected; cookies not shared", async () => {
  await post("/page", { username: "alice", email: "alice@example.org" });
  await post("/page", { username: "bob", email: "bob@example.org" });

  const first = await get("/page/alice");
  expect(first.status).toBe(200);
  expect(first.body).toContain("alice@example.org");
  expect(first.ms).toBeGreaterThanOrEqual(DELAY);
  expect(reads("store")).toBe(1);
  const second = await get("/page/alice");
  expect(reads("store")).toBe(1);
  expect({ ...second, ms: 0 }).toEqual({ ...first, ms: 0 });

  const head = await fetch(base + "/page/alice", { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("content-type")).toBe("text/html; charset=utf-8");
  expect(reads("store")).toBe(1);

  await get("/page/bob");
  expect(reads("store")).toBe(2);
  await post("/page", { username: "alice", email: "alice@new.example" });
  const changed = await get("/page/alice");
  expect(changed.body).toContain("alice@new.example");
  expect(reads("store")).toBe(3);
  const bob = await get("/page/bob");
  expect(bob.body).toContain("bob@example.org");
  expect(reads("store")).toBe(3);

  // A request with a cookie is answered by the handler, not from the shared entry.
  const withCookie = await get("/page/bob", { cookie: "session=secret" });
  expect(withCookie.body).toContain("bob@example.org");
  expect(reads("store")).toBe(4);
  // An unknown user's 404 is not cached.
  expect((await get("/page/nobody")).status).toBe(404);
  expect((await get("/page/nobody")).status).toBe(404);
  expect(reads("store")).toBe(6);
}, 60_000);

test("cached storage: DB.get cached; POST replaces the cached value through keys.ts", async () => {
  await post("/storage", { username: "carol", email: "carol@example.org" });
  const first = await get("/storage/carol");
  expect(first.body).toContain("carol@example.org");
  expect(reads("DB")).toBe(1);
  expect((await get("/storage/carol")).body).toBe(first.body);
  expect(reads("DB")).toBe(1);
  await post("/storage", { username: "carol", email: "carol@new.example" });
  const replaced = await get("/storage/carol");
  expect(replaced.body).toContain("carol@new.example");
  // Served from the replaced entry: no new read.
  expect(reads("DB")).toBe(1);
  // Unknown users are errors, which are not cached.
  expect((await get("/storage/dave")).status).toBe(404);
  expect((await get("/storage/dave")).status).toBe(404);
  expect(reads("DB")).toBe(3);
}, 60_000);

test("tags: POST /storage invalidates tags.user(name) — DB.domainOf computes again, DB.get gets the replaced value without a read", async () => {
  await post("/storage", { username: "erin", email: "erin@example.org" });
  await post("/storage", { username: "frank", email: "frank@example.com" });
  const before = reads("DB");
  expect((await get("/storage/erin")).body).toContain("erin@example.org");
  expect((await get("/domain/erin")).body).toBe("example.org");
  expect((await get("/domain/frank")).body).toBe("example.com");
  expect(reads("DB")).toBe(before + 3);
  expect((await get("/storage/erin")).body).toContain("erin@example.org");
  expect((await get("/domain/erin")).body).toBe("example.org");
  expect(reads("DB")).toBe(before + 3);

  // The POST invalidates everything tagged user("erin"), then replaces DB.get's entry through keys.ts.
  for (const [n, email, domain] of [[1, "erin@new.example", "new.example"], [2, "erin@third.example", "third.example"]] as const) {
    await post("/storage", { username: "erin", email });
    expect((await get("/storage/erin")).body).toContain(email);
    expect(reads("DB")).toBe(before + 2 + n); // the replaced entry answers, after the invalidation too
    expect((await get("/domain/erin")).body).toBe(domain);
    expect(reads("DB")).toBe(before + 3 + n); // the tag invalidated domainOf("erin")
    expect((await get("/domain/erin")).body).toBe(domain);
    expect((await get("/domain/frank")).body).toBe("example.com");
    expect(reads("DB")).toBe(before + 3 + n); // cached again; frank's entry untouched
  }
}, 60_000);
