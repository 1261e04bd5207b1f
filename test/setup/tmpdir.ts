import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * vitest globalSetup: the whole run (test workers and every process they start: tspc, node,
 * memcached, the CLI) makes its temporary folders inside one folder of its own, removed when the
 * run ends, so the suite leaves the system temp folder as it found it even when a test fails
 * half-way. `TMPDIR` is what `os.tmpdir()` and `mktemp` read, and child processes inherit it.
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-run-"));
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    fs.rmSync(root, { recursive: true, force: true });
  };
}
