/**
 * The type questions tscaching asks, behind two interfaces: what the scanner needs to know of a
 * function (does it return a Promise, is it an HTTP handler, has `this` this field) and what the
 * keys.ts generator needs (how a function is exported, the simple spelling of a type). Each has a
 * checker-backed implementation (tspc, the editor plugin, the CLI) and one without a checker: the
 * syntax alone for the per-file rewrite (bundlers), and for `tscaching keys`' fast path the
 * annotations and the symbols of a bound program (cli/keys-fast.ts).
 */
import type * as TS from "typescript";
import { isPromiseLike } from "./checks";
import type { CachedFunctionNode } from "./model";

export type Owner = TS.ClassLikeDeclaration | TS.ObjectLiteralExpression;

/** What the scanner asks about a tagged function. */
export interface ScanTypes {
  /** The checker, when there is one: the full type checks (checks.ts) run only with it. */
  readonly checker?: TS.TypeChecker;
  /** Does a function that is not `async` return a Promise? */
  returnsPromise(fn: CachedFunctionNode): boolean;
  /** Is this an HTTP handler: `node` (`(req, res)`), `fetch` (`(request) => Response`), or neither? */
  handlerKind(fn: CachedFunctionNode): "node" | "fetch" | undefined;
  /** Has `this` (the instance, the class for a static, the object literal) a member `field`? */
  hasField(owner: Owner, field: string, isStatic: boolean): boolean;
}

/** What the keys.ts generator asks. */
export interface KeysTypes {
  /** The name `declaration` (at module level in `sf`) is exported under, or undefined when it is not exported. */
  exportName(sf: TS.SourceFile, declaration: TS.Node): string | undefined;
  /** The member `name` of `this`, and whether it is private or protected; undefined when there is none. */
  thisProperty(owner: Owner, isStatic: boolean, name: string): { readonly hidden: boolean; readonly type: () => string | undefined } | undefined;
  /** The self-contained spelling of a parameter's (or bound name's) type, when it is simple (`string`, `Date[]`). */
  simpleTypeOf(node: TS.ParameterDeclaration | TS.BindingElement): string | undefined;
  /** The simple spelling of the function's awaited result, when it has one. */
  awaitedResultType(fn: CachedFunctionNode): string | undefined;
}

/** Parameters a caller passes (not a `this` annotation). */
export function callParameters(ts: typeof TS, fn: TS.SignatureDeclaration): TS.ParameterDeclaration[] {
  return fn.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === "this"));
}

/** A member's name as written (`a`, `"a"`, `1`, `#a`); undefined for a computed name. */
export function memberName(ts: typeof TS, name: TS.Node | undefined): string | undefined {
  if (!name) return undefined;
  return ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)
    ? name.text : undefined;
}

/** Does the type annotation name one of `names` anywhere in it (`http.IncomingMessage`, `Request | undefined`)? */
function mentions(ts: typeof TS, type: TS.TypeNode | undefined, names: ReadonlySet<string>): boolean {
  const visit = (node: TS.Node): boolean => (ts.isIdentifier(node) && names.has(node.text)) || !!ts.forEachChild(node, visit);
  return !!type && visit(type);
}

const NODE_REQUEST = new Set(["IncomingMessage", "Request"]);
const NODE_RESPONSE = new Set(["ServerResponse", "Response"]);
const FETCH_REQUEST = new Set(["Request"]);
const FETCH_RESPONSE = new Set(["Response"]);

/** The scanner's answers from the syntax alone: annotations and the members a class or object declares. */
export function syntaxTypes(ts: typeof TS): ScanTypes {
  return {
    // An explicit `Promise<...>` annotation (`| undefined` or `| null` beside it, as without strictNullChecks).
    returnsPromise: (fn) => {
      const isPromise = (type: TS.TypeNode) => ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName) &&
        type.typeName.text === "Promise" && !!type.typeArguments?.length;
      const isNothing = (type: TS.TypeNode) => type.kind === ts.SyntaxKind.UndefinedKeyword ||
        (ts.isLiteralTypeNode(type) && type.literal.kind === ts.SyntaxKind.NullKeyword);
      const members = fn.type && ts.isUnionTypeNode(fn.type) ? fn.type.types : fn.type ? [fn.type] : [];
      return members.some(isPromise) && members.every((t) => isPromise(t) || isNothing(t));
    },
    handlerKind: (fn) => {
      const params = callParameters(ts, fn);
      if (params.length === 0) return undefined;
      if (params.length >= 2 && mentions(ts, params[0].type, NODE_REQUEST) && mentions(ts, params[1].type, NODE_RESPONSE)) return "node";
      if (mentions(ts, params[0].type, FETCH_REQUEST) && mentions(ts, fn.type, FETCH_RESPONSE)) return "fetch";
      return undefined;
    },
    hasField: (owner, field) => {
      // Own members and constructor parameter properties; an inherited field cannot be seen, so a subclass is trusted.
      if (!ts.isObjectLiteralExpression(owner) && owner.heritageClauses?.length) return true;
      const members: readonly TS.Node[] = ts.isObjectLiteralExpression(owner) ? owner.properties : owner.members;
      return members.some((m) => memberName(ts, (m as { name?: TS.Node }).name) === field ||
        (ts.isConstructorDeclaration(m) && m.parameters.some((p) => !!ts.getModifiers(p)?.length && memberName(ts, p.name) === field)));
    },
  };
}

/** The type of `this` in a method of `owner`: the instance type, the constructor type for statics, or the object literal's. */
function thisTypeOf(ts: typeof TS, checker: TS.TypeChecker, owner: Owner, isStatic: boolean): TS.Type | undefined {
  if (ts.isObjectLiteralExpression(owner)) return checker.getTypeAtLocation(owner);
  const symbol = owner.name ? checker.getSymbolAtLocation(owner.name) : checker.getTypeAtLocation(owner).getSymbol();
  if (!symbol) return undefined;
  return isStatic ? checker.getTypeOfSymbolAtLocation(symbol, owner) : checker.getDeclaredTypeOfSymbol(symbol);
}

/** A self-contained spelling of a type made only of primitives, literals, Dates and arrays of them. */
function simpleType(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type): string | undefined {
  const F = ts.TypeFlags;
  const simple = (t: TS.Type): boolean => {
    if (t.isUnion()) return t.types.every(simple);
    if (t.flags & (F.String | F.Number | F.Boolean | F.BigInt | F.Null | F.Undefined | F.Void | F.Unknown | F.Any |
        F.StringLiteral | F.NumberLiteral | F.BooleanLiteral | F.BigIntLiteral)) return true;
    if (checker.isArrayType(t)) return checker.getTypeArguments(t as TS.TypeReference).every(simple);
    return t.getSymbol()?.getName() === "Date";
  };
  return simple(type) ? checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation) : undefined;
}

/**
 * The name `declaration` is exported under from `sf`, asked of `checker` (a full checker, or one
 * of a bound program used for symbols only: exports do not depend on types).
 */
export function exportNameOf(ts: typeof TS, checker: TS.TypeChecker, sf: TS.SourceFile, declaration: TS.Node): string | undefined {
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  if (!moduleSymbol) return undefined;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (target.declarations?.includes(declaration as TS.Declaration)) return exported.name;
  }
  return undefined;
}

/** Both sets of answers from the type checker. */
export function checkerTypes(ts: typeof TS, checker: TS.TypeChecker): ScanTypes & KeysTypes {
  const syntax = syntaxTypes(ts);
  const has = (type: TS.Type, names: readonly string[]) => !(type.flags & ts.TypeFlags.Any) &&
    names.every((name) => checker.getPropertyOfType(checker.getApparentType(type), name));
  return {
    checker,
    returnsPromise: (fn) => {
      const signature = checker.getSignatureFromDeclaration(fn);
      return signature ? isPromiseLike(checker, checker.getReturnTypeOfSignature(signature)) : syntax.returnsPromise(fn);
    },
    // `(req, res)` where req has method/url/headers and res has setHeader/end/statusCode (node:http,
    // Express), or `(request) => Response` where both look like the fetch API's.
    handlerKind: (fn) => {
      const params = callParameters(ts, fn);
      if (params.length === 0) return undefined;
      const first = checker.getTypeAtLocation(params[0]);
      if (params.length >= 2 && has(first, ["method", "url", "headers"]) &&
          has(checker.getTypeAtLocation(params[1]), ["setHeader", "end", "statusCode"])) return "node";
      const signature = checker.getSignatureFromDeclaration(fn);
      if (signature && has(first, ["method", "url", "headers", "arrayBuffer"])) {
        const returned = checker.getReturnTypeOfSignature(signature);
        if (has(checker.getAwaitedType(returned) ?? returned, ["status", "headers", "arrayBuffer"])) return "fetch";
      }
      return undefined;
    },
    hasField: (owner, field, isStatic) => {
      const type = thisTypeOf(ts, checker, owner, isStatic);
      return type ? !!checker.getPropertyOfType(type, field) : syntax.hasField(owner, field, isStatic);
    },
    exportName: (sf, declaration) => exportNameOf(ts, checker, sf, declaration),
    thisProperty: (owner, isStatic, name) => {
      const ownerType = thisTypeOf(ts, checker, owner, isStatic);
      const property = ownerType && checker.getPropertyOfType(ownerType, name);
      if (!property) return undefined;
      const declaration = property.valueDeclaration;
      const hidden = !!declaration && (ts.getCombinedModifierFlags(declaration as TS.Declaration) &
        (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;
      return { hidden, type: () => simpleType(ts, checker, checker.getTypeOfSymbolAtLocation(property, owner)) };
    },
    simpleTypeOf: (node) => simpleType(ts, checker, checker.getTypeAtLocation(node)),
    awaitedResultType: (fn) => {
      const signature = checker.getSignatureFromDeclaration(fn);
      const returned = signature ? checker.getReturnTypeOfSignature(signature) : undefined;
      return returned ? simpleType(ts, checker, checker.getAwaitedType(returned) ?? returned) : undefined;
    },
  };
}
