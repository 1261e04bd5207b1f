#!/usr/bin/env node
// Build examples/quickstart with the real tspc and the tscaching plugin, then run it.
// `npm run demo` (in-memory backend) or `TSCACHING_SERVERS=127.0.0.1:11211 npm run demo`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(root, "examples", process.argv[2] ?? "quickstart");

// The examples import the package by name, as users do: link it into node_modules once.
const self = join(root, "node_modules", "tscaching");
if (!existsSync(self)) {
  mkdirSync(dirname(self), { recursive: true });
  symlinkSync("..", self, "dir");
}

const run = (args, options = {}) => {
  const result = spawnSync(process.execPath, args, { stdio: "inherit", cwd: example, ...options });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
console.log(`building ${example} with tspc + tscaching/transformer`);
run([join(root, "node_modules/ts-patch/bin/tspc.js"), "-p", "tsconfig.json"]);
run([join(example, "dist/main.js")]);
