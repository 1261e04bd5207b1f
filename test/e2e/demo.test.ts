/**
 * The README's demo commands, as a user runs them: `tscaching keys`, tspc, then the example, on the
 * in-memory backend and on memcached. The scripts must exit by themselves (idle sockets do not hold
 * the process open).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect, inject, test } from "vitest";
import { repoRoot } from "../helpers/project";

function demo(env: Record<string, string>, args = ["quickstart"]) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(repoRoot, "scripts/demo.mjs"), ...args], {
    cwd: repoRoot, encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env },
  });
  return { ...result, seconds: (Date.now() - started) / 1000 };
}

function lineMs(output: string, label: string): number {
  const line = output.split("\n").find((l) => l.startsWith(label));
  expect(line, label).toBeDefined();
  return Number(/([\d.]+) ms/.exec(line!)![1]);
}

test.each([
  ["the in-memory backend", () => ({ TSCACHING_SERVERS: "" })],
  ["memcached", () => ({ TSCACHING_SERVERS: inject("memcached"), TSCACHING_NAMESPACE: `demo${Date.now()}` })],
])("npm run demo:quickstart on %s exits by itself; the bodies run once per key", (backend, env) => {
  const result = demo(env());
  expect(result.error).toBeUndefined();
  expect(result.status).toBe(0);
  expect(result.stdout).toContain(`tscaching demo on ${backend === "memcached" ? "memcached" : backend}`);
  expect(lineMs(result.stdout, "getEmail('alice')  first call")).toBeGreaterThan(250);
  expect(result.stdout).toMatch(/after replace\s+[\d.]+ ms {2}-> "alice@new.example"/);
  expect(result.stdout).toContain("original function bodies ran 6 times");
}, 90_000);

test("npm run demo:tour drives the email server and shows the cache working", () => {
  const result = demo({ TSCACHING_SERVERS: "", EMAIL_DB_DELAY_MS: "300" }, ["email-server", "--tour"]);
  expect(result.error).toBeUndefined();
  expect(result.status).toBe(0);
  expect(result.stdout).toContain("second GET identical");
  // After the POST the page shows the new email; bob's page is still served from the cache.
  expect(result.stdout).toMatch(/GET {2}\/page\/alice +200 +\d+ ms {2}Email: alice@new\.example/);
  expect(result.stdout.split("\n").filter((l) => l === "Reading from store")).toHaveLength(3);
  // DB.get once (the POST replaces its entry, after invalidating the tag user("carol") too);
  // DB.domainOf once before the POST, and once after it (the tag invalidated its entry).
  expect(result.stdout).toMatch(/GET {2}\/storage\/carol +200 +\d+ ms {2}Email: carol@new\.example/);
  expect(result.stdout).toMatch(/GET {2}\/domain\/carol +200 +\d+ ms {2}new\.example/);
  expect(result.stdout.split("\n").filter((l) => l === "Reading from DB")).toHaveLength(3);
}, 90_000);
