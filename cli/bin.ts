#!/usr/bin/env node
/** The `tscaching` executable: the only file that exits the process. */
import { run } from "./program";

run(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`tscaching: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(70);
});
