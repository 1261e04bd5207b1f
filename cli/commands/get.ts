/**
 * `tscaching get <id> [args...]`: the value cached for a call, read exactly as the runtime reads it
 * (its cache, its key, its codec, its group generations), printed with util.inspect; bytes (a
 * cached HTTP response's body) as text.
 */
import { inspect } from "node:util";
import { Command } from "commander";
import { MemcachedBackend } from "../../runtime/backends/memcached";
import { cache, configure, type CacheError, type CacheKey } from "../../runtime/index";
import { CliError, messageOf } from "../errors";
import { callKey, parseArg, resolveNamespace } from "../lookup";
import { examples, type Context } from "../output";
import { address, openBackend, resolveTarget, resolveTimeout, type StoreTarget, SERVERS_OPTION, TIMEOUT_OPTION, type ServerOptions } from "../servers";
import { verifyCall, type IdOptions } from "./key";

export function getCommand(ctx: Context): Command {
  return new Command("get")
    .summary("print the cached value of a call")
    .description("Print the value a cached call with these arguments would be answered with, or (miss).\n" +
      "Arguments are read as for `tscaching key`: JSON when valid, else a string.")
    .argument("<id>", "the function's id (see `tscaching list`)")
    .argument("[args...]", "the key's arguments, in order")
    .option("-p, --project <path>", "tsconfig.json, or the folder holding it", "tsconfig.json")
    .option("-n, --namespace <name>", "key namespace (default: TSCACHING_NAMESPACE, else \"tscaching\")")
    .option(...SERVERS_OPTION)
    .option(...TIMEOUT_OPTION)
    .option("--no-verify", "do not look the id up in the project (no tsconfig needed; the key then has no version, see README Versions)")
    .addHelpText("after", examples([
      ["tscaching get src/db#DB.get bob --servers 127.0.0.1:11211"],
      ["TSCACHING_SERVERS=cache1:11211 tscaching get users.byId 42"],
      ["tscaching get src/reports#Reports.daily 2024-01-02 --no-verify", "without the sources at hand"],
    ]))
    .action(async (id: string, rawArgs: string[], options: IdOptions & ServerOptions) => {
      const namespace = resolveNamespace(options.namespace, ctx.env);
      const target = resolveTarget(options, ctx.env);
      const servers = target.servers;
      const timeout = resolveTimeout(options);
      const args = rawArgs.map(parseArg);
      const fn = verifyCall(ctx, id, args, options);
      // The runtime fails open (a dead server reads as a miss); the CLI must tell the user instead.
      const failures: CacheError[] = [];
      configure({ servers: target.given, store: target.kind, namespace, timeout, connectTimeout: timeout, onError: (error) => failures.push(error) });
      try {
        let key: CacheKey<unknown>;
        try {
          key = callKey(fn, id, args);
        } catch (error) {
          throw error instanceof CliError ? error : new CliError(messageOf(error), { cause: error });
        }
        // getMulti reads through the same path as get() but tells a cached `undefined` from a miss.
        const found = await cache.getMulti([key]);
        if (failures.length > 0) {
          const cause = messageOf(failures[0].cause ?? failures[0]).replace(/^(memcached|redis) \S+:? /, "");
          throw new CliError(`cannot read from ${target.kind} ${servers.map(address).join(", ")}: ${cause}`, { cause: failures[0] });
        }
        if (!found.has(key)) {
          await confirmMiss(target, timeout, ctx.env, key);
          ctx.out("(miss)");
          return;
        }
        const shown = printable(found.get(key));
        if (shown.note) ctx.err(ctx.errStyle.yellow(`note: ${shown.note}`));
        ctx.out(shown.text ?? inspect(shown.value, { depth: null, colors: ctx.color, maxArrayLength: null, maxStringLength: null }));
      } finally {
        await cache.close();
      }
    });
}

/**
 * A miss is only a miss when the key's server answered. The runtime reports failures through
 * onError, but it may fold one outage into a single report (or none, for a request that failed
 * alongside another): ask the server that holds the key directly, without failing open.
 */
async function confirmMiss(target: StoreTarget, timeout: number, env: NodeJS.ProcessEnv, key: string): Promise<void> {
  const backend = openBackend(target, timeout, env);
  try {
    await backend.get(key);
  } catch (error) {
    const server = backend instanceof MemcachedBackend ? backend.serverFor(key) : target.servers.map(address).join(",");
    throw new CliError(`cannot read from ${target.kind} ${server}: ${messageOf(error).replace(/^(memcached|redis) \S+:? /, "")}`, { cause: error });
  } finally {
    await backend.close();
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Bytes as text: UTF-8 when they are valid UTF-8, else base64 (and a note saying so). */
function bytesAsText(bytes: Uint8Array): { text: string; base64: boolean } {
  try {
    return { text: utf8.decode(bytes), base64: false };
  } catch {
    return { text: Buffer.from(bytes).toString("base64"), base64: true };
  }
}

/**
 * What `get` prints: a cached HTTP response as its status line, headers and body; bare bytes as
 * text; anything else as util.inspect shows it.
 */
export function printable(value: unknown): { text?: string; value?: unknown; note?: string } {
  if (value instanceof Uint8Array) {
    const { text, base64 } = bytesAsText(value);
    return { text, note: base64 ? "the value is not valid UTF-8; printed as base64" : undefined };
  }
  const response = value as { status?: unknown; headers?: unknown; body?: unknown } | undefined;
  if (response && typeof response.status === "number" && typeof response.headers === "object" && response.headers !== null &&
      response.body instanceof Uint8Array) {
    const { text, base64 } = bytesAsText(response.body);
    const headers = Object.entries(response.headers as Record<string, string | readonly string[]>)
      .flatMap(([name, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${name}: ${String(one)}`));
    return {
      text: [`HTTP ${response.status}`, ...headers, "", text].join("\n"),
      note: base64 ? "the body is not valid UTF-8; printed as base64" : undefined,
    };
  }
  return { value };
}
