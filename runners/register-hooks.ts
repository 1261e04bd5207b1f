/**
 * Node module loader hooks of `tscaching/register` (registered by it with `module.register`). Hooks
 * registered later run first, so with `--import tsx --import tscaching/register` this `load` sees a
 * tagged .ts file before tsx does, compiles it itself (rewrite + type stripping) and short-circuits;
 * every other file goes on to tsx untouched.
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { compileTaggedFile, isTaggedSource, moduleFormatOf } from "./compile-file";

interface LoadContext { format?: string | null; conditions?: string[]; importAttributes?: Record<string, string> }
interface LoadResult { format?: string | null; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean }
type NextLoad = (url: string, context?: LoadContext) => LoadResult | Promise<LoadResult>;

/** The `load` hook: tagged TypeScript files compiled here, the rest passed on. */
export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  if (url.startsWith("file:")) {
    const fileName = fileURLToPath(url);
    if (/\.[cm]?tsx?$/.test(fileName) && fs.existsSync(fileName)) {
      const text = fs.readFileSync(fileName, "utf8");
      if (isTaggedSource(fileName, text)) {
        const format = moduleFormatOf(fileName);
        const source = compileTaggedFile(fileName, text, format);
        if (source !== undefined) return { format, source, shortCircuit: true };
      }
    }
  }
  return nextLoad(url, context);
}
