/**
 * The README's demo command, as a user runs it: builds examples/quickstart with tspc and runs it,
 * on the in-memory backend and on memcached. The script must exit by itself (idle sockets do not
 * hold the process open).
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect, inject, test } from "vitest";
import { repoRoot } from "../helpers/project";

function demo(env: Record<string, string>) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(repoRoot, "scripts/demo.mjs")], {
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
])("npm run demo on %s exits by itself; the bodies run once per key", (backend, env) => {
  const result = demo(env());
  expect(result.error).toBeUndefined();
  expect(result.status).toBe(0);
  expect(result.stdout).toContain(`tscaching demo on ${backend === "memcached" ? "memcached" : backend}`);
  expect(lineMs(result.stdout, "getEmail('alice')  first call")).toBeGreaterThan(250);
  expect(result.stdout).toMatch(/after replace\s+[\d.]+ ms {2}-> "alice@new.example"/);
  expect(result.stdout).toContain("original function bodies ran 6 times");
}, 90_000);
