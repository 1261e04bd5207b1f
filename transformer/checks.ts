/**
 * Type-based checks: a key part or a result whose type cannot be cached faithfully (a function, a
 * symbol, a Promise, a stream, a weak collection) is an error; a class instance with methods, which
 * comes back from the cache as a plain object, is a warning. Needs the type checker, so it runs
 * under tspc, `tscaching check` and the editor plugin, not in a per-file transpile.
 */
import type * as TS from "typescript";
import { problem, type Problem } from "./diagnostics";
import type { CachedFunction } from "./scan";

/** Built-in classes the codec and the key encoder carry faithfully. */
const FAITHFUL = new Set([
  "Date", "RegExp", "URL", "Buffer", "ArrayBuffer", "DataView", "Uint8Array", "Int8Array", "Uint8ClampedArray",
  "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array",
  "BigUint64Array", "String", "Number", "Boolean",
]);
const CONTAINERS = new Set(["Map", "ReadonlyMap", "Set", "ReadonlySet", "Array", "ReadonlyArray"]);
const UNCACHEABLE: Record<string, string> = {
  Promise: "it is a Promise", PromiseLike: "it is a Promise", WeakMap: "it is a WeakMap", WeakSet: "it is a WeakSet",
  WeakRef: "it is a WeakRef", ReadableStream: "it is a stream", WritableStream: "it is a stream",
  AbortSignal: "it is an AbortSignal", Function: "it is a function",
};

/**
 * Is this a name `inspect` judges a type by (uncacheable, faithful or a container)? For code that
 * must know `inspect` has nothing to say about a type without running it (the CLI's keys-fast).
 */
export function hasSpecialTypeName(name: string): boolean {
  return !!UNCACHEABLE[name] || FAITHFUL.has(name) || CONTAINERS.has(name);
}

interface Finding {
  readonly fatal: boolean;
  readonly reason: string;
}

/**
 * What one checker has already answered, by type: the same types (`string`, `User`, `Promise<User>`)
 * come back across a project's cached functions, and types are the checker's own objects. Kept per
 * checker, so per program, and dropped with it.
 */
interface TypeAnswers {
  readonly keyPart: Map<TS.Type, Finding | undefined>;
  readonly result: Map<TS.Type, Finding | undefined>;
  readonly awaited: Map<TS.Type, TS.Type | undefined>;
}

const answersByChecker = new WeakMap<TS.TypeChecker, TypeAnswers>();

function answersOf(checker: TS.TypeChecker): TypeAnswers {
  let answers = answersByChecker.get(checker);
  if (!answers) {
    answers = { keyPart: new Map(), result: new Map(), awaited: new Map() };
    answersByChecker.set(checker, answers);
  }
  return answers;
}

export function checkTypes(ts: typeof TS, sf: TS.SourceFile, fn: CachedFunction, checker: TS.TypeChecker,
                           at: readonly [number, number]): Problem[] {
  const problems: Problem[] = [];
  const answers = answersOf(checker);
  const report = (what: string, type: TS.Type, keyPart: boolean) => {
    const known = keyPart ? answers.keyPart : answers.result;
    let finding = known.get(type);
    if (finding === undefined && !known.has(type)) {
      finding = inspect(ts, checker, type, 0, new Set(), keyPart);
      known.set(type, finding);
    }
    if (!finding) return;
    const described = `${what} (${checker.typeToString(type)})`;
    problems.push(finding.fatal
      ? problem("uncacheableType", ...at, described, fn.qualifiedName, finding.reason)
      : problem("lossyType", ...at, described, fn.qualifiedName, finding.reason));
  };
  for (const part of fn.keyParts) {
    if (part.kind === "param") report(`parameter '${part.name}'`, checker.getTypeAtLocation(part.declaration), true);
    else if (part.kind === "pattern") report(`parameter {${part.names.join(", ")}}`, checker.getTypeAtLocation(part.declaration), true);
  }
  const signature = checker.getSignatureFromDeclaration(fn.node);
  // A handler's response is captured by the runtime, not its return value.
  if (signature && !fn.http) {
    const returned = checker.getReturnTypeOfSignature(signature);
    let awaited = answers.awaited.get(returned);
    if (awaited === undefined && !answers.awaited.has(returned)) {
      awaited = checker.getAwaitedType(returned);
      answers.awaited.set(returned, awaited);
    }
    report("the result", awaited ?? returned, false);
  }
  return problems;
}

function inspect(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type, depth: number, seen: Set<TS.Type>,
                 keyPart: boolean): Finding | undefined {
  if (depth > 6 || seen.has(type)) return undefined;
  seen.add(type);
  const F = ts.TypeFlags;
  if (type.flags & (F.Any | F.Unknown | F.Never | F.TypeParameter | F.Void | F.Undefined | F.Null)) return undefined;
  if (type.flags & F.ESSymbolLike) return { fatal: true, reason: "it is a symbol" };
  if (type.isUnionOrIntersection()) {
    for (const member of type.types) {
      const finding = inspect(ts, checker, member, depth + 1, seen, keyPart);
      if (finding) return finding;
    }
    return undefined;
  }
  if (!(type.flags & F.Object)) return undefined;
  if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) {
    return { fatal: true, reason: "it is a function" };
  }
  const name = (type.aliasSymbol ?? type.getSymbol())?.getName() ?? "";
  if (UNCACHEABLE[name]) return { fatal: true, reason: UNCACHEABLE[name] };
  if (FAITHFUL.has(name)) return undefined;
  if (isPromiseLike(checker, type)) {
    return { fatal: true, reason: "it is a Promise" };
  }
  if (checker.getPropertyOfType(type, "pipe") && checker.getPropertyOfType(type, "on")) {
    return { fatal: true, reason: "it is a stream" };
  }
  if (CONTAINERS.has(name) || checker.isArrayType(type) || checker.isTupleType(type)) {
    for (const arg of checker.getTypeArguments(type as TS.TypeReference)) {
      const finding = inspect(ts, checker, arg, depth + 1, seen, keyPart);
      if (finding) return finding;
    }
    return undefined;
  }
  let methods = false;
  for (const property of type.getProperties()) {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    if (declaration && (ts.isMethodDeclaration(declaration) || ts.isMethodSignature(declaration))) {
      methods = true;
      continue;
    }
    if (!declaration) continue;
    const finding = inspect(ts, checker, checker.getTypeOfSymbolAtLocation(property, declaration), depth + 1, seen, keyPart);
    if (finding) return { fatal: finding.fatal, reason: `its property '${property.getName()}': ${finding.reason}` };
  }
  const isClass = !!type.getSymbol()?.declarations?.some((d) => ts.isClassLike(d));
  if (!keyPart && isClass && methods) {
    return { fatal: false, reason: `is an instance of class ${name}; it comes back from the cache as a plain object without its methods` };
  }
  return undefined;
}

/** A type with a callable `then`: a Promise or a thenable. */
export function isPromiseLike(checker: TS.TypeChecker, type: TS.Type): boolean {
  if (type.isUnion()) return type.types.every((t) => isPromiseLike(checker, t));
  const then = checker.getPropertyOfType(type, "then");
  const declaration = then?.valueDeclaration ?? then?.declarations?.[0];
  return !!then && !!declaration && checker.getTypeOfSymbolAtLocation(then, declaration).getCallSignatures().length > 0;
}
