/**
 * What `tscaching key` and `get` need besides the project: an id checked against the project (with
 * close matches when it is not there), arguments read from the command line, and the namespace.
 */
import { requestKeyHelper } from "../runtime/http";
import type { CacheKey } from "../runtime/index";
import { buildKey, isValidNamespace } from "../runtime/keys";
import { registeredVersion } from "../runtime/registry";
import { state } from "../runtime/state";
import { learnKeyTags } from "../runtime/tag-keys";
import { tagKeyPositions, tagValues } from "../transformer/factory";
import type { CachedFunction } from "../transformer/model";
import { CliError } from "./errors";
import type { FoundFunction } from "./project";

/**
 * One command-line argument as a key part: JSON when it parses (`42`, `true`, `null`, `'"bob"'`,
 * `'{"a":1}'`), else the text itself (`bob`).
 */
export function parseArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The namespace the runtime would use: `--namespace`, else TSCACHING_NAMESPACE, else "tscaching". */
export function resolveNamespace(option: string | undefined, env: NodeJS.ProcessEnv): string {
  const namespace = option ?? (env.TSCACHING_NAMESPACE || undefined) ?? "tscaching";
  if (!isValidNamespace(namespace)) {
    const source = option !== undefined ? "--namespace" : "TSCACHING_NAMESPACE";
    throw new CliError(`${source} ${JSON.stringify(namespace)} is not a valid namespace (1-60 characters of letters, digits and _ . $ / @ + -)`);
  }
  return namespace;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Ids close to `id`: same function name in another module, a substring, or a few edits away. */
export function closeMatches(id: string, ids: readonly string[], limit = 3): string[] {
  const wanted = id.toLowerCase();
  const name = wanted.slice(wanted.indexOf("#") + 1);
  const scored = ids.map((candidate) => {
    const lower = candidate.toLowerCase();
    const candidateName = lower.slice(lower.indexOf("#") + 1);
    let score = distance(wanted, lower);
    if (candidateName === name || lower.includes(wanted) || (wanted.length >= 3 && candidateName.endsWith(name))) score = Math.min(score, 1);
    return { candidate, score };
  });
  const threshold = Math.max(2, Math.floor(id.length / 5));
  const close = scored.filter((s) => s.score <= threshold).sort((a, b) => a.score - b.score || (a.candidate < b.candidate ? -1 : 1));
  // Only the best few: a near miss should not drown in loosely similar ids.
  return close.filter((s) => s.score <= close[0].score + 1).slice(0, limit).map((s) => s.candidate);
}

/** The cached function with this id, or a CliError naming close matches. */
export function findFunction(functions: readonly FoundFunction[], id: string): FoundFunction {
  const found = functions.find((f) => f.fn.id === id);
  if (found) return found;
  const matches = closeMatches(id, functions.map((f) => f.fn.id));
  const hint = matches.length > 0 ? `; did you mean ${matches.join(", ")}?`
    : functions.length > 0 ? " (`tscaching list` shows every id)" : " (the project has no cached functions)";
  throw new CliError(`unknown id '${id}'${hint}`);
}

/** An HTTP handler keyed by its request (no `key=`): its key is built from a URL and headers, not from arguments. */
export function isRequestKeyed(fn: CachedFunction | undefined): fn is CachedFunction {
  return !!fn?.http && !fn.tag.key;
}

/**
 * The key of a call, in the configured runtime's namespace: for a handler keyed by its request, the
 * key `keys.X(url, headers)` gives, through the runtime's own `requestKeyHelper` (so the CLI follows
 * whatever parts the runtime keys a request by); otherwise the key of the arguments.
 */
export function callKey(fn: CachedFunction | undefined, id: string, args: readonly unknown[]): CacheKey<unknown> {
  // The version the function was built with is part of its keys (`id:@version:`); built without the
  // "not registered in this process" warning of cache.keyOf: the CLI reads other processes' entries.
  const version = fn?.version;
  const tagged = fn?.tags ? fn : undefined; // (isRequestKeyed narrows fn to undefined below)
  if (!isRequestKeyed(fn)) {
    const { namespace } = state().options;
    const key = buildKey(namespace, id, args, version ?? registeredVersion(id));
    // A tagged function's entry carries its tag values' generations: `get` checks them as a call would
    // (when every tag argument is a key part; otherwise its tag values cannot be known from the arguments).
    if (tagged?.tags) {
      const { positions } = tagValues(tagged);
      learnKeyTags({ v: 1, id, tags: tagged.tags.map((tag, i) => ({ name: tag.name, args: positions[i] })),
        tagKeys: tagKeyPositions(tagged) }, namespace, key, args);
    }
    return key as CacheKey<unknown>;
  }
  const [url, headers, ...rest] = args;
  const isHeaders = (value: unknown) => value === undefined ||
    (typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string"));
  if (typeof url !== "string" || !isHeaders(headers) || rest.length > 0) {
    throw new CliError(`${id} is an HTTP handler keyed by its request: give its URL and, optionally, its headers as a JSON object ` +
      `(e.g. tscaching key ${id} '/users?id=1'${fn.tag.vary ? ` '{"${fn.tag.vary[0]}":"..."}'` : ""})`);
  }
  const helper = requestKeyHelper(id, { ignoreQuery: fn.tag.ignoreQuery, vary: fn.tag.vary, version: fn.version });
  return helper(url, headers as Record<string, string> | undefined) as unknown as CacheKey<unknown>;
}

/** `username`, `this.region`, `[text, limit]`: how a key part reads in listings. */
export function keyPartNames(fn: FoundFunction["fn"]): string[] {
  return fn.keyParts.map((part) => part.kind === "this" ? `this.${part.name}`
    : part.kind === "pattern" ? `[${part.names.join(", ")}]` : part.name);
}
