/**
 * Every problem tscaching reports at build time, in one table: a stable code (shown as `TS<code>`),
 * a severity and a message template. The transformer, `tscaching check` and the editor plugin all
 * report through this table, so a code means the same thing everywhere.
 */
export type Severity = "error" | "warning";

interface ProblemKind {
  readonly code: number;
  readonly severity: Severity;
  readonly message: (...args: string[]) => string;
}

function kind(code: number, severity: Severity, message: (...args: string[]) => string): ProblemKind {
  return { code, severity, message };
}

/** The table. Codes are part of the contract: never renumber, only add. */
export const Problems = {
  notAsync: kind(93001, "error", (name) =>
    `@cache on '${name}': a cached function is always async. Mark it 'async' (or make it return a Promise).`),
  unknownOption: kind(93002, "error", (option, hint) =>
    `@cache: unknown option '${option}'.${hint}`),
  badTtl: kind(93003, "error", (value) =>
    `@cache: malformed ttl '${value}'. Use seconds (90) or units in order d, h, m, s (5m, 2h, 1d, 1h30m); 0 means no expiry.`),
  keyNoParameter: kind(93004, "error", (part, name, params) =>
    `@cache key=: '${part}' is not a parameter of '${name}' (parameters: ${params}).`),
  keyNoField: kind(93005, "error", (field, owner) =>
    `@cache key=: '${owner}' has no field '${field}'.`),
  keyThisOutsideMethod: kind(93006, "error", (part) =>
    `@cache key=: '${part}' uses 'this', which only a class or object method has.`),
  badKey: kind(93007, "error", (value) =>
    `@cache: malformed key '${value}'. Use a comma-separated list of parameter names and this.field parts, e.g. key=this.username,id.`),
  badName: kind(93008, "error", (value) =>
    `@cache: malformed name '${value}'. Use dot-separated identifiers, e.g. name=users.byName.`),
  duplicateOption: kind(93009, "error", (option) => `@cache: option '${option}' is given twice.`),
  missingValue: kind(93010, "error", (option) => `@cache: option '${option}' needs a value (${option}=...).`),
  generator: kind(93011, "error", (name) =>
    `@cache on '${name}': generators cannot be cached; their values are produced lazily.`),
  constructor: kind(93012, "error", () => `@cache cannot be put on a constructor.`),
  accessor: kind(93013, "error", (name) =>
    `@cache cannot be put on the accessor '${name}'. Make it an async method.`),
  noBody: kind(93014, "error", (name) =>
    `@cache on '${name}', which has no body (abstract, declared or an interface member): tag the implementation.`),
  overloadSignature: kind(93015, "error", (name) =>
    `@cache on an overload signature of '${name}': put the tag on the implementation signature.`),
  duplicateId: kind(93016, "error", (id, other) =>
    `@cache: id '${id}' is already used by ${other}. Give one of them a distinct name=.`),
  readsThis: kind(93017, "warning", (name) =>
    `@cache on '${name}': the method reads 'this' but the key holds only its parameters, so instances share entries. Add key=this.field,... (or an explicit key= to confirm).`),
  uncacheableType: kind(93018, "error", (what, name, reason) =>
    `@cache on '${name}': ${what} cannot be cached faithfully: ${reason}.`),
  unsupportedPlace: kind(93019, "error", () =>
    `@cache must tag a function declaration, a class or object method, or a const/let/property initialised with a function.`),
  nested: kind(93020, "error", (name) =>
    `@cache on '${name}', which is declared inside a function or block: the variables it captures are not part of the key. Move it to module level, a class or a module-level object.`),
  multipleTags: kind(93021, "error", () => `@cache is given twice on one function.`),
  multipleDeclarations: kind(93022, "error", () =>
    `@cache on a declaration list: tag a statement that declares one function.`),
  lossyType: kind(93023, "warning", (what, name, reason) =>
    `@cache on '${name}': ${what} ${reason}.`),
  staleKeys: kind(93024, "warning", (file) =>
    `${file} is stale: it no longer matches the cached functions. Run \`tscaching keys\` to refresh it.`),
  badOptionValue: kind(93025, "error", (option, value, expected) =>
    `@cache: option '${option}' takes ${expected}; got '${value}'.`),
  badHandler: kind(93026, "error", (name, shape) =>
    `@cache on '${name}': an HTTP handler needs its first parameters to be plain names ${shape}.`),
  readsThisData: kind(93027, "error", (name, fields, key) =>
    `@cache on '${name}': the method reads ${fields}, which can change its result, but the key holds only its parameters, so calls on different instances share entries (one tenant's answer served to another). Add ${fields.includes(",") ? "them" : "it"} to the key: key=${key}. (Collaborators such as repositories, clients and injected services need no key.)`),
  opaqueKeyPart: kind(93028, "error", (what, name, reason, cls) =>
    `@cache on '${name}': ${what} cannot form a cache key: ${reason}, so distinct instances would share one entry (at run time every call runs uncached with an EKEY report). Key by what identifies it (a parameter such as 'id: string', or destructure it: '({ id }: ${cls})'), or give ${cls} a [cacheKey]() method (import { cacheKey } from "tscaching") or a toJSON() method.`),
  classKeyPart: kind(93029, "warning", (what, name, reason, cls) =>
    `@cache on '${name}': ${what} ${reason}; an instance keys only through a [cacheKey]() or toJSON() method, so without one every call runs uncached (EKEY). Give ${cls} a [cacheKey]() method (import { cacheKey } from "tscaching") or a toJSON() method, or destructure the fields that identify it.`),
  nearMissTag: kind(93030, "warning", (found) =>
    `${found} is not a @cache tag, so this function is not cached. Did you mean /** @cache */?`),
  outOfRange: kind(93031, "error", (option, value, max) =>
    `@cache: option '${option}' must be a duration above 0 and at most ${max}; got '${value}'.`),
  internal: kind(93099, "error", (message) =>
    `tscaching could not process this function (${message}); it was left uncached. Please report this.`),
  missingKeys: kind(93040, "error", (specifier) =>
    `'${specifier}' is the key registry tscaching generates, and it does not exist yet. Run \`tscaching keys\` to write it (in CI, build with \`tscaching keys && tspc\`).`),
  badTags: kind(93041, "error", (value) =>
    `@cache: tags '${value}' is malformed: use tags=name(param,this.field),name (a tag is an identifier, with arguments drawn from the parameters or fields of this).`),
  tagNoParameter: kind(93042, "error", (part, tag, name, params) =>
    `@cache on '${name}': tag '${tag}' names '${part}', which is not a parameter of the function (parameters: ${params}).`),
  tagTypeMismatch: kind(93043, "error", (tag, types, other, otherTypes) =>
    `@cache: tag '${tag}' takes (${types}) here but (${otherTypes}) at ${other}; one tag name must take the same argument types in every function, so that tags.${tag}(...) means one thing.`),
  tagsOnHandler: kind(93044, "error", (name) =>
    `@cache on '${name}': tags= is not supported on HTTP handlers yet; invalidate the handler's key or group instead.`),
} as const;

export type ProblemCode = keyof typeof Problems;

/**
 * Problems only the type checker finds (what a field of `this` or a key part's class is), which a
 * scan without types cannot see at all. `tscaching keys` leaves them out of its error count, so that
 * its checker-free path and its checked path always agree; `tscaching check` and the build report them.
 */
export const CHECKER_ONLY: ReadonlySet<ProblemCode> = new Set<ProblemCode>(["readsThisData", "opaqueKeyPart", "classKeyPart"]);

/** A problem found at a position of a source file. */
export interface Problem {
  readonly kind: ProblemCode;
  readonly code: number;
  readonly severity: Severity;
  readonly message: string;
  /** Absolute offset in the file's text and length of the span to underline. */
  readonly start: number;
  readonly length: number;
}

/** Create a problem of the given kind at `[start, start+length)`. */
export function problem(kindName: ProblemCode, start: number, length: number, ...args: string[]): Problem {
  const k = Problems[kindName];
  return { kind: kindName, code: k.code, severity: k.severity, message: k.message(...args), start, length };
}
