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
  /** A class instance as a key part: opaque (error) or keyed only through a key method (warning). */
  readonly instance?: { readonly opaque: boolean; readonly className: string };
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
    if (finding.instance) {
      problems.push(problem(finding.instance.opaque ? "opaqueKeyPart" : "classKeyPart", ...at, described, fn.qualifiedName,
        finding.reason, finding.instance.className));
      return;
    }
    problems.push(finding.fatal
      ? problem("uncacheableType", ...at, described, fn.qualifiedName, finding.reason)
      : problem("lossyType", ...at, described, fn.qualifiedName, finding.reason));
  };
  for (const part of fn.keyParts) {
    if (part.kind === "param") report(`parameter '${part.name}'`, checker.getTypeAtLocation(part.declaration), true);
    else if (part.kind === "pattern") {
      // A destructured parameter keys by the names it binds, not by the object it was taken from.
      const type = checker.getTypeAtLocation(part.declaration);
      if (classInstance(ts, checker, type)) {
        for (const element of bindingElements(ts, part.declaration.name)) {
          report(`parameter {${part.names.join(", ")}}: '${element.name.getText()}'`, checker.getTypeAtLocation(element), true);
        }
      } else {
        report(`parameter {${part.names.join(", ")}}`, type, true);
      }
    }
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
    if (finding) return { ...finding, reason: `its property '${property.getName()}': ${finding.reason}` };
  }
  const isClass = !!type.getSymbol()?.declarations?.some((d) => ts.isClassLike(d));
  if (keyPart && isClass) return instanceFinding(ts, checker, type, name);
  if (!keyPart && isClass && methods) {
    return { fatal: false, reason: `is an instance of class ${name}; it comes back from the cache as a plain object without its methods` };
  }
  return undefined;
}

/** Is this the type of an instance of a (user's) class? */
function classInstance(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type): boolean {
  if (!(type.flags & ts.TypeFlags.Object) || checker.isArrayType(type) || checker.isTupleType(type)) return false;
  const symbol = type.getSymbol();
  return !!symbol?.declarations?.some((d) => ts.isClassLike(d)) && !FAITHFUL.has(symbol.getName()) && !CONTAINERS.has(symbol.getName());
}

function bindingElements(ts: typeof TS, name: TS.BindingName): TS.BindingElement[] {
  if (ts.isIdentifier(name)) return [];
  return name.elements.flatMap((e) => ts.isOmittedExpression(e) ? [] : ts.isIdentifier(e.name) ? [e] : bindingElements(ts, e.name));
}

/**
 * A class instance as a key part. At run time it keys only through a `[cacheKey]()` or `toJSON()`
 * method (the encoder cannot see #private fields, accessors or non-enumerable state); here a class
 * whose state is visibly hidden (#private fields, no data fields at all) is an error, one with only
 * visible fields a warning (it would run uncached).
 */
function instanceFinding(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type, name: string): Finding | undefined {
  const className = name || "the class";
  for (const property of checker.getPropertiesOfType(type)) {
    // `[cacheKey]` is a unique symbol: its property is named `__@cacheKey@<id>` whatever the import's alias.
    if (/^__@cacheKey@\d+$/.test(property.getName())) return undefined;
    // A built-in's toJSON (a Date subclass inherits Date's) is not the class's own key: the runtime ignores it too.
    if (property.getName() === "toJSON" && !property.declarations?.every((d) => d.getSourceFile().hasNoDefaultLib)) return undefined;
  }
  const hidden = privateState(ts, checker, type, new Set());
  if (hidden) {
    return { fatal: true, reason: `class ${className} keeps state in its #private member '${hidden}', which no key can see`,
      instance: { opaque: true, className } };
  }
  const dataFields = checker.getPropertiesOfType(type).some((property) => {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    return !!declaration && (ts.isPropertyDeclaration(declaration) || ts.isParameter(declaration) ||
      ts.isPropertySignature(declaration)) &&
      checker.getTypeOfSymbolAtLocation(property, declaration).getCallSignatures().length === 0;
  });
  if (!dataFields) {
    return { fatal: true, reason: `class ${className} has no data fields a key can see (only methods and accessors)`,
      instance: { opaque: true, className } };
  }
  return { fatal: false, reason: `is an instance of class ${className}`, instance: { opaque: false, className } };
}

/** The first #private field or accessor of the class or a base class, if any. */
function privateState(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type, seen: Set<TS.Type>): string | undefined {
  if (seen.has(type)) return undefined;
  seen.add(type);
  for (const declaration of type.getSymbol()?.declarations ?? []) {
    if (!ts.isClassLike(declaration)) continue;
    for (const member of declaration.members) {
      const isStatic = ts.getModifiers(member as TS.HasModifiers)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
      if (!isStatic && member.name && ts.isPrivateIdentifier(member.name) &&
          (ts.isPropertyDeclaration(member) || ts.isAccessor(member))) return member.name.text;
    }
  }
  const target = (type as TS.TypeReference).target ?? type;
  if (target.isClassOrInterface()) {
    for (const base of checker.getBaseTypes(target)) {
      const found = privateState(ts, checker, base, seen);
      if (found) return found;
    }
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
