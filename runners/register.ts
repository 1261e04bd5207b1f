/**
 * `tscaching/register`: caching where TypeScript runs from source.
 *
 * @example
 * ```sh
 * tsx --import tscaching/register src/main.ts
 * node --import tsx --import tscaching/register src/main.ts
 * ```
 *
 * Two paths, since Node loads a file one of two ways: `import` goes through module loader hooks
 * (ours, registered after tsx's, runs first: see register-hooks.ts) and `require` through
 * `require.extensions`, where tsx's handler for `.ts` is wrapped. Either way a file with a `@cache`
 * tag is rewritten one file at a time (as the bundler plugins do: same ids as tspc) and compiled
 * to JavaScript with the project's `typescript`; files without a tag are left to tsx.
 */
import * as fs from "node:fs";
import * as nodeModule from "node:module";
import { pathToFileURL } from "node:url";
import { compileTaggedFile, isTaggedSource } from "./compile-file";

type Handler = (module: NodeModule & { _compile(code: string, fileName: string): void }, fileName: string) => void;

const EXTENSIONS = [".ts", ".cts", ".mts", ".tsx"];
const wrapped = Symbol.for("tscaching.register.wrapped");

/** Wrap the `require` handler of one extension: tagged files compiled here, the rest to the runner's handler. */
function wrap(inner: Handler | undefined): Handler {
  const handler: Handler = (module, fileName) => {
    const text = fs.readFileSync(fileName, "utf8");
    const source = isTaggedSource(fileName, text) ? compileTaggedFile(fileName, text, "commonjs") : undefined;
    if (source !== undefined) return module._compile(source, fileName);
    if (!inner) throw new Error(`tscaching/register: no loader for ${fileName}; load tsx first (--import tsx)`);
    return inner(module, fileName);
  };
  (handler as unknown as Record<symbol, boolean>)[wrapped] = true;
  return handler;
}

/**
 * Keep our wrapper in front of whatever handler the runner installs, now or later (tsx may install
 * its `require` hook after this module ran): the property's setter wraps each new handler.
 */
function guardExtension(extensions: Record<string, Handler | undefined>, extension: string): void {
  let current = wrap(extensions[extension]);
  Object.defineProperty(extensions, extension, {
    configurable: true, enumerable: true,
    get: () => current,
    set: (next: Handler) => {
      current = (next as unknown as Record<symbol, boolean>)[wrapped] ? next : wrap(next);
    },
  });
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const extensions = (require as NodeJS.Require).extensions as unknown as Record<string, Handler | undefined>;
for (const extension of EXTENSIONS) guardExtension(extensions, extension);

const register = (nodeModule as { register?: (specifier: string, parentURL?: string | URL) => void }).register;
if (register) register(pathToFileURL(require.resolve("./register-hooks")).href);
else process.emitWarning("tscaching/register: this Node has no module.register (Node >= 20.6); only require() is covered");
