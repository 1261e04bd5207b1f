/**
 * Compile a snippet with the real transformer (in memory, CommonJS) and evaluate it against this
 * test's own runtime instance, so that the test can move the runtime's clock and configure it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as runtime from "../../runtime/index";
import { compileFiles } from "./compile";

/** The exports of `source` compiled with the plugin; throws on any diagnostic. */
export function loadCompiled(source: string): Record<string, any> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tscaching-compiled-"));
  try {
    const input = path.join(dir, "input.ts");
    fs.writeFileSync(input, source);
    const { outputs, diagnostics } = compileFiles([input]);
    if (diagnostics.length > 0) throw new Error(`diagnostics: ${JSON.stringify(diagnostics)}`);
    const js = outputs.get("input.js")!;
    const module = { exports: {} as Record<string, any> };
    const requireRuntime = (specifier: string) => {
      if (specifier === "tscaching") return runtime;
      throw new Error(`unexpected require(${specifier})`);
    };
    new Function("require", "module", "exports", js)(requireRuntime, module, module.exports);
    return module.exports;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
