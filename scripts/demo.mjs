#!/usr/bin/env node
// Build an example with `tscaching keys` and the real tspc + tscaching plugin, then run it:
//   node scripts/demo.mjs [example=email-server] [arguments for the example...]
// `npm run demo` starts the email server (in-memory backend; TSCACHING_SERVERS=host:port for memcached),
// `npm run demo:tour` makes the requests itself and prints the timings, `npm run demo:quickstart`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const example = join(root, "examples", process.argv[2] ?? "email-server");

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
console.log(`building ${example}: tscaching keys, then tspc with tscaching/transformer`);
run([join(root, "dist/cli/bin.js"), "keys", "-p", "tsconfig.json"]);
run([join(root, "node_modules/ts-patch/bin/tspc.js"), "-p", "tsconfig.json"]);
run([join(example, "dist/main.js"), ...process.argv.slice(3)]);
