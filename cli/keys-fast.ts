/**
 * `tscaching keys` without the type checker, wherever the syntax already gives the checker's answers.
 *
 * The keys file names the user's types (`Parameters<typeof m0.f>[0]`, `Awaited<ReturnType<…>>`)
 * rather than printing them, so most of it needs no types. What does need the checker, and how this
 * path answers it instead:
 * - The scanner's type questions: is the function an HTTP handler, does a non-async function return
 *   a Promise, has `this` the field a `key=` names, is a key part or the result uncacheable (only the
 *   error count of `keys` shows the last). The project is scanned without types, then each answer
 *   is proved from the annotations: `id: string` is no request, `Promise<Row[]>` with `Row` an
 *   interface of plain fields is cacheable.
 * - Symbols (a module's exports, overloads, class members): asked of a program without the lib
 *   files, bound but never type-checked. Symbols do not depend on the lib.
 * - Types printed into keys.ts (for a function keys.ts cannot name, or a private field in `key=`):
 *   written from simple annotations (`string`, `number[]`), the way the checker prints them.
 *
 * Whatever is not certain (a parameter typed by an inferred or generic type, a class, a global
 * declared outside the lib, …) sends the whole project down the checker path, so the text, the
 * helper count and the error count are always those of the checker path. The lib is the one ts-morph
 * bundles; globals the project or its @types add to the lib's (`interface String …`) are read and
 * must not add the members these answers depend on. test/cli/keys-fast.test.ts holds both paths to
 * the same output.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as TS from "typescript";
import { hasSpecialTypeName } from "../transformer/checks";
import { CHECKER_ONLY, type ProblemCode } from "../transformer/diagnostics";
import { generateKeysFile } from "../transformer/keys-file";
import type { CachedFunction } from "../transformer/model";
import { exportNameOf, memberName, type KeysTypes } from "../transformer/types";
import { loadProject, morphTs, scanProject, type ProjectFiles } from "./project";

/** The generated keys file, its helper count and the number of @cache errors in the project. */
export interface KeysResult {
  readonly text: string;
  readonly count: number;
  readonly errors: number;
  /** False when the keys were written without the type checker. */
  readonly checked: boolean;
}

/** Problems whose presence depends on the checker's answers (in a scan without types, they may be wrong). */
const TYPE_DEPENDENT: ReadonlySet<ProblemCode> = new Set<ProblemCode>(["notAsync", "keyNoField", "badHandler", "internal"]);

/** Members whose presence on a lib type would change an answer: a request's, a thenable's, a stream's. */
const TELLING_MEMBERS = new Set(["method", "url", "headers", "then", "pipe", "on"]);

/** Lib types whose members the answers below rely on; a global of the project adding to one is checked. */
const LIB_TYPES = ["Object", "Function", "String", "Number", "Boolean", "BigInt", "Symbol", "Array", "ReadonlyArray",
  "Date", "Promise"];

/** Raised when an answer needs the type checker after all. */
class NeedsChecker extends Error {}

function needsChecker(what = "a type"): never {
  throw new NeedsChecker(what);
}

/**
 * The keys of the project without the type checker, or undefined when some answer needs it. The
 * result is then the checker path's, exactly.
 */
export function keysWithoutChecker(configPath: string, parsed: TS.ParsedCommandLine, outFile: string, files: ProjectFiles,
                                   why: (reason: string) => void = () => {}): KeysResult | undefined {
  const ts = morphTs();
  const fallBack = (reason: string) => {
    why(reason);
    return undefined;
  };
  if (!standardLib(files.options, configPath)) return fallBack("the lib is not the standard one");
  const loaded = loadProject(configPath, { exclude: [outFile], parsed, files, noLib: true });
  const sourceFiles = loaded.program.getSourceFiles();
  // A file that brings its own lib (`/// <reference no-default-lib="true"/>`) replaces the lib.
  if (sourceFiles.some((sf) => sf.hasNoDefaultLib)) return fallBack("a file brings its own lib");
  // Binds every file (symbols, parent nodes); no type is ever computed with this checker.
  const symbols = loaded.program.getTypeChecker();
  const syntax = new Syntax(ts, symbols);
  const changed = LIB_TYPES.find((name) => !syntax.libTypeIntact(name));
  if (changed) return fallBack(`the project adds to the lib's ${changed}`);
  const scan = scanProject(loaded, { types: false });
  const problem = scan.problems.find(({ problem }) => TYPE_DEPENDENT.has(problem.kind));
  if (problem) return fallBack(`a problem depends on types: ${problem.problem.kind}`);
  for (const sf of scan.scans.keys()) {
    if (sf.flags & ts.NodeFlags.JavaScriptFile) return fallBack(`${sf.fileName} is JavaScript (JSDoc types)`);
  }
  for (const { fn } of scan.functions) {
    // Without a checker a version is the syntax's: right only when the build makes it so too.
    if (loaded.settings.versions === "checker" && fn.tag.version === undefined) return fallBack(`${fn.id}: its version needs the type checker`);
    const differs = syntax.differsFromChecker(fn);
    if (differs) return fallBack(`${fn.id}: ${differs}`);
  }
  let text: string;
  try {
    text = generateKeysFile(ts, loaded.program, scan.scans, outFile, loaded.settings.runtime, syntax.keysTypes());
  } catch (error) {
    if (error instanceof NeedsChecker) return fallBack(`keys.ts needs a type: ${error.message}`);
    throw error;
  }
  const errors = scan.problems.filter(({ problem }) => problem.severity === "error" && !CHECKER_ONLY.has(problem.kind)).length;
  return { text, count: scan.functions.length, errors, checked: false };
}

/**
 * Is the lib the checker would load ts-morph's own? Not when the project has none (`noLib`, or a
 * `lib` list without an ES lib), nor when `@typescript/lib-*` packages could replace it.
 */
function standardLib(options: TS.CompilerOptions, configPath: string): boolean {
  if (options.noLib) return false;
  if (options.lib && !options.lib.some((lib) => /^lib\.es/i.test(path.basename(lib)))) return false;
  if (options.libReplacement === false) return true;
  // Lib replacement resolves `@typescript/lib-<name>` as a module from the tsconfig's folder: through
  // `paths` (a pattern that could match: not judged here), `baseUrl`, then node_modules folders.
  // Where none of these holds an `@typescript` folder, nothing can be found.
  const prefix = "@typescript/lib-";
  for (const pattern of Object.keys(options.paths ?? {})) {
    const star = pattern.indexOf("*");
    const head = star < 0 ? pattern : pattern.slice(0, star);
    if (star < 0 ? head.startsWith(prefix) : prefix.startsWith(head) || head.startsWith(prefix)) return false;
  }
  if (options.baseUrl && fs.existsSync(path.join(options.baseUrl, "@typescript"))) return false;
  for (let dir = path.dirname(configPath); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "node_modules", "@typescript"))) return false;
    if (path.dirname(dir) === dir) return true;
  }
}

/** The checker's answers, from annotations and the symbols of the bound program without lib. */
class Syntax {
  constructor(private readonly ts: typeof TS, private readonly symbols: TS.TypeChecker) {}

  /**
   * Do the project's globals leave lib type `name` without the members and signatures the answers
   * depend on? @types/node's `interface String extends RelativeIndexable<string> {}` does.
   */
  libTypeIntact(name: string): boolean {
    const ts = this.ts;
    const symbol = this.symbols.resolveName(name, undefined, ts.SymbolFlags.Type, false);
    if (!symbol) return true;
    const seen = new Set<TS.Symbol>();
    const intact = (s: TS.Symbol): boolean => {
      if (seen.has(s)) return true;
      seen.add(s);
      return (s.declarations ?? []).every((declaration) => {
        // A class or type alias merging into a lib interface: not worth reading.
        if (ts.isClassLike(declaration) || ts.isTypeAliasDeclaration(declaration)) return false;
        // Values and namespaces of the same name (`declare var Array: …`) leave the type alone.
        if (!ts.isInterfaceDeclaration(declaration)) return true;
        const members = declaration.members.every((member) => !ts.isCallSignatureDeclaration(member) &&
          !ts.isConstructSignatureDeclaration(member) && !(member.name && this.#mayBeNamed(member.name, TELLING_MEMBERS)));
        return members && (declaration.heritageClauses ?? []).every((clause) => clause.types.every((base) => {
          const target = this.#symbolOf(base.expression);
          return target !== undefined && intact(target);
        }));
      });
    };
    return intact(symbol);
  }

  /**
   * Would the checker path's scanner see this function otherwise than the scan without types did
   * (or report a type problem on it)? Says why, or undefined when both surely agree.
   */
  differsFromChecker(fn: CachedFunction): string | undefined {
    const ts = this.ts;
    // Handler: with no http= the checker tells one by its parameter types.
    if (fn.tag.http === undefined && (fn.http !== undefined || !this.#notARequest(fn.node))) return "may be an HTTP handler";
    // A non-async function must return a Promise; the scan without types trusted `Promise<` in the annotation.
    if (!fn.http && !fn.isAsync && !this.#libPromise(fn.node.type)) return "may not return a Promise";
    for (const part of fn.keyParts) {
      if (part.kind === "this") {
        // The scan without types finds own members (and trusts a base class); the checker finds the property of `this`.
        if (!fn.owner || !this.#ownMember(fn.owner, part.name, fn.isStatic)) return `this.${part.name} is not declared in its owner`;
      } else if (!ts.isParameter(part.declaration) || !this.#parameterPlain(part.declaration, fn.node)) {
        // checkTypes: a key part of an uncacheable type
        return `key part ${part.kind === "param" ? part.name : part.names.join(",")} may be uncacheable`;
      }
    }
    // checkTypes: the awaited result (a handler's response is captured, not its value)
    if (!fn.http) {
      const returned = fn.node.type;
      if (!returned || !ts.isTypeReferenceNode(returned) || !this.#libPromise(returned) || returned.typeArguments?.length !== 1 ||
          !this.#plain(returned.typeArguments[0], new Set())) return "the result may be uncacheable";
    }
    return undefined;
  }

  /** What generateKeysFile asks, answered from annotations and symbols, or NeedsChecker thrown. */
  keysTypes(): KeysTypes {
    const ts = this.ts;
    return {
      // Exports are symbols: the same in a program without lib.
      exportName: (sf, declaration) => exportNameOf(ts, this.symbols, sf, declaration),
      thisProperty: (owner, isStatic, name) => {
        const member = this.#ownMember(owner, name, isStatic) ?? needsChecker();
        const hidden = (ts.getCombinedModifierFlags(member) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0;
        return { hidden, type: () => this.#fieldType(member) };
      },
      simpleTypeOf: (node) => (ts.isParameter(node) ? this.#parameterType(node) : needsChecker()),
      awaitedResultType: (fn) => this.#awaitedResult(fn),
    };
  }

  // ----- Symbols -------------------------------------------------------------------------------

  /** The symbol a name stands for, through imports; undefined when the program without lib has none. */
  #symbolOf(name: TS.Node): TS.Symbol | undefined {
    const symbol = this.symbols.getSymbolAtLocation(name);
    if (!symbol) return undefined;
    return symbol.flags & this.ts.SymbolFlags.Alias ? this.symbols.getAliasedSymbol(symbol) : symbol;
  }

  /**
   * What a type name refers to: a name of the lib (found nowhere in the project, so the lib's own
   * declaration), or a symbol declared in modules only (a global of the project may merge with the
   * lib's declarations, which this program does not have). Undefined when neither.
   */
  #target(name: TS.EntityName): { lib: string } | { symbol: TS.Symbol } | undefined {
    const ts = this.ts;
    const symbol = this.#symbolOf(name);
    const declarations = symbol?.declarations ?? [];
    // Unresolved (the checker's `unknown` symbol has no declarations either): a name of the lib.
    if (declarations.length === 0) return ts.isIdentifier(name) ? { lib: name.text } : undefined;
    for (const declaration of declarations) {
      if (!ts.isExternalModule(declaration.getSourceFile())) return undefined;
      for (let n: TS.Node | undefined = declaration.parent; n; n = n.parent) {
        if (ts.isModuleDeclaration(n) && n.flags & ts.NodeFlags.GlobalAugmentation) return undefined;
      }
    }
    return { symbol: symbol! };
  }

  /**
   * The declaration of member `name` of `this` in a method of `owner`, declared in the class (static
   * members for a static method; fields, methods, accessors and parameter properties otherwise) or
   * in the object literal; undefined when it declares none (an inherited or merged member included).
   */
  #ownMember(owner: TS.ClassLikeDeclaration | TS.ObjectLiteralExpression, name: string, isStatic: boolean): TS.Declaration | undefined {
    const ts = this.ts;
    const named = (member: TS.Node) => memberName(ts, (member as { name?: TS.Node }).name) === name;
    if (ts.isObjectLiteralExpression(owner)) {
      return owner.properties.find((p) => named(p) && (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p) ||
        ts.isMethodDeclaration(p) || ts.isAccessor(p)));
    }
    const hasStatic = (member: TS.Node) => !!ts.getModifiers(member as TS.HasModifiers)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
    for (const member of owner.members) {
      if (ts.isConstructorDeclaration(member)) {
        const parameter = isStatic ? undefined : member.parameters.find((p) => ts.isParameterPropertyDeclaration(p, member) && named(p));
        if (parameter) return parameter;
        continue;
      }
      if (named(member) && hasStatic(member) === isStatic &&
          (ts.isPropertyDeclaration(member) || ts.isMethodDeclaration(member) || ts.isAccessor(member))) return member;
    }
    return undefined;
  }

  /** Could this member name be one of `names`? (`[Symbol.iterator]` cannot; `[key]` could.) */
  #mayBeNamed(name: TS.PropertyName, names: ReadonlySet<string>): boolean {
    const ts = this.ts;
    if (ts.isComputedPropertyName(name)) {
      const expression = name.expression;
      if (ts.isStringLiteralLike(expression) || ts.isNumericLiteral(expression)) return names.has(expression.text);
      return !(ts.isPropertyAccessExpression(expression) && ts.isIdentifier(expression.expression) && expression.expression.text === "Symbol");
    }
    return names.has(this.#memberName(name)!);
  }

  #memberName(name: TS.PropertyName): string | undefined {
    const ts = this.ts;
    return ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name) || ts.isPrivateIdentifier(name)
      ? name.text : undefined;
  }

  // ----- Questions of the scanner ----------------------------------------------------------------

  /** Is `type` the lib's `Promise<…>`? */
  #libPromise(type: TS.TypeNode | undefined): boolean {
    if (!type || !this.ts.isTypeReferenceNode(type)) return false;
    const target = this.#target(type.typeName);
    return !!target && "lib" in target && target.lib === "Promise";
  }

  /**
   * Does the checker surely not take this function for an HTTP handler? It looks for `method`, `url`
   * and `headers` on the first parameter's type: a type lacking one of them is no request.
   */
  #notARequest(fn: TS.SignatureDeclaration): boolean {
    const ts = this.ts;
    const params = fn.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === "this"));
    if (params.length === 0) return true;
    const first = params[0];
    if (first.type) return this.#lacksRequestMembers(first.type, new Set());
    // No annotation: the type of a literal default, unless the function is typed by its context.
    return (ts.isFunctionDeclaration(fn) || (ts.isMethodDeclaration(fn) && ts.isClassLike(fn.parent))) &&
      !!first.initializer && this.#primitiveLiteral(first.initializer);
  }

  #primitiveLiteral(expression: TS.Expression): boolean {
    const ts = this.ts;
    const K = ts.SyntaxKind;
    if (ts.isPrefixUnaryExpression(expression) && expression.operator === K.MinusToken) return ts.isNumericLiteral(expression.operand);
    return ts.isNumericLiteral(expression) || ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression) ||
      ts.isBigIntLiteral(expression) || expression.kind === K.TrueKeyword || expression.kind === K.FalseKeyword;
  }

  #lacksRequestMembers(type: TS.TypeNode, visiting: Set<TS.Symbol>): boolean {
    const ts = this.ts;
    const K = ts.SyntaxKind;
    switch (type.kind) {
      case K.StringKeyword: case K.NumberKeyword: case K.BooleanKeyword: case K.BigIntKeyword: case K.SymbolKeyword:
      case K.AnyKeyword: case K.UnknownKeyword: case K.NeverKeyword: case K.UndefinedKeyword: case K.VoidKeyword:
      case K.ObjectKeyword: case K.LiteralType: case K.TemplateLiteralType: case K.ArrayType: case K.TupleType:
      case K.FunctionType:
        return true;
      case K.TypeOperator:
        return (type as TS.TypeOperatorNode).operator === K.ReadonlyKeyword;
      case K.ParenthesizedType:
        return this.#lacksRequestMembers((type as TS.ParenthesizedTypeNode).type, visiting);
      case K.UnionType: case K.IntersectionType:
        return (type as TS.UnionOrIntersectionTypeNode).types.every((t) => this.#lacksRequestMembers(t, visiting));
      case K.TypeReference: {
        const reference = type as TS.TypeReferenceNode;
        const target = this.#target(reference.typeName);
        if (!target) return false;
        if ("lib" in target) return ["Date", "Array", "ReadonlyArray", "Promise"].includes(target.lib);
        const symbol = target.symbol;
        const F = ts.SymbolFlags;
        if (visiting.has(symbol)) return true;
        visiting.add(symbol);
        if (symbol.flags & (F.Enum | F.EnumMember)) return true;
        if ((symbol.flags & F.Type) === F.TypeAlias) {
          const alias = symbol.declarations?.find(ts.isTypeAliasDeclaration);
          return !!alias && !alias.typeParameters && !reference.typeArguments && this.#lacksRequestMembers(alias.type, visiting);
        }
        if ((symbol.flags & F.Type) !== F.Interface) return false;
        const declarations = symbol.declarations ?? [];
        if (!declarations.every((d) => ts.isInterfaceDeclaration(d) && !d.heritageClauses?.length)) return false;
        return this.#lacksRequestNames(declarations.flatMap((d) => [...(d as TS.InterfaceDeclaration).members]));
      }
      case K.TypeLiteral:
        return this.#lacksRequestNames((type as TS.TypeLiteralNode).members);
    }
    return false;
  }

  /** Do these members (of an object type without base types) miss `method`, `url` or `headers`? */
  #lacksRequestNames(members: readonly TS.TypeElement[]): boolean {
    const names = new Set<string>();
    for (const member of members) {
      if (!member.name) continue;
      const name = this.#memberName(member.name);
      if (name === undefined) return false;
      names.add(name);
    }
    return !names.has("method") || !names.has("url") || !names.has("headers");
  }

  /** Does checkTypes surely find nothing to say about this parameter's type? */
  #parameterPlain(parameter: TS.ParameterDeclaration, fn: TS.SignatureDeclaration): boolean {
    const ts = this.ts;
    if (parameter.type) return this.#plain(parameter.type, new Set());
    return ts.isIdentifier(parameter.name) && (ts.isFunctionDeclaration(fn) || (ts.isMethodDeclaration(fn) && ts.isClassLike(fn.parent))) &&
      !!parameter.initializer && this.#primitiveLiteral(parameter.initializer);
  }

  /**
   * Does checkTypes' `inspect` surely find nothing in the type this annotation denotes (no function,
   * symbol, Promise, stream or weak collection anywhere in it)? Primitives and literals never have
   * anything; objects must be interfaces or type literals of plain fields, arrays or tuples of plain
   * types, or Dates.
   */
  #plain(type: TS.TypeNode, visiting: Set<TS.Symbol>): boolean {
    const ts = this.ts;
    const K = ts.SyntaxKind;
    switch (type.kind) {
      case K.StringKeyword: case K.NumberKeyword: case K.BooleanKeyword: case K.BigIntKeyword: case K.AnyKeyword:
      case K.UnknownKeyword: case K.NeverKeyword: case K.UndefinedKeyword: case K.VoidKeyword: case K.ObjectKeyword:
      case K.LiteralType: case K.TemplateLiteralType:
        return true;
      case K.ParenthesizedType:
        return this.#plain((type as TS.ParenthesizedTypeNode).type, visiting);
      case K.UnionType: case K.IntersectionType:
        return (type as TS.UnionOrIntersectionTypeNode).types.every((t) => this.#plain(t, visiting));
      case K.ArrayType:
        return this.#plain((type as TS.ArrayTypeNode).elementType, visiting);
      case K.TypeOperator: {
        const operator = type as TS.TypeOperatorNode;
        return operator.operator === K.ReadonlyKeyword && (ts.isArrayTypeNode(operator.type) || ts.isTupleTypeNode(operator.type)) &&
          this.#plain(operator.type, visiting);
      }
      case K.TupleType:
        return (type as TS.TupleTypeNode).elements.every((element) => ts.isNamedTupleMember(element)
          ? !element.dotDotDotToken && !element.questionToken && this.#plain(element.type, visiting)
          : !ts.isOptionalTypeNode(element) && !ts.isRestTypeNode(element) && this.#plain(element, visiting));
      case K.TypeLiteral:
        return this.#plainMembers((type as TS.TypeLiteralNode).members, visiting);
      case K.TypeReference:
        return this.#plainReference(type as TS.TypeReferenceNode, visiting);
    }
    return false;
  }

  #plainReference(reference: TS.TypeReferenceNode, visiting: Set<TS.Symbol>): boolean {
    const ts = this.ts;
    const F = ts.SymbolFlags;
    const target = this.#target(reference.typeName);
    if (!target) return false;
    const args = reference.typeArguments ?? [];
    if ("lib" in target) {
      if (target.lib === "Date") return args.length === 0;
      return (target.lib === "Array" || target.lib === "ReadonlyArray") && args.length === 1 && this.#plain(args[0], visiting);
    }
    const symbol = target.symbol;
    if (visiting.has(symbol)) return true;
    if (args.length > 0) return false;
    if (symbol.flags & (F.Enum | F.EnumMember)) return true;
    // `inspect` judges some types by name (a type alias lends its name to the type it stands for).
    if (hasSpecialTypeName(symbol.getName())) return false;
    visiting.add(symbol);
    const declarations = symbol.declarations ?? [];
    if ((symbol.flags & F.Type) === F.TypeAlias) {
      const alias = declarations.find(ts.isTypeAliasDeclaration);
      return !!alias && !alias.typeParameters && this.#plain(alias.type, visiting);
    }
    if ((symbol.flags & F.Type) !== F.Interface) return false;
    return declarations.every((declaration) => ts.isInterfaceDeclaration(declaration) && !declaration.typeParameters &&
      !declaration.heritageClauses?.length && this.#plainMembers(declaration.members, visiting));
  }

  /** Fields only (no methods, call or index signatures), none named like a thenable's or a stream's member. */
  #plainMembers(members: TS.NodeArray<TS.TypeElement>, visiting: Set<TS.Symbol>): boolean {
    const ts = this.ts;
    return members.every((member) => {
      if (!ts.isPropertySignature(member) || !member.type) return false;
      const name = this.#memberName(member.name);
      return name !== undefined && !TELLING_MEMBERS.has(name) && this.#plain(member.type, visiting);
    });
  }

  // ----- Types keys-file prints ------------------------------------------------------------------

  /** The simple spelling of the awaited result of a function annotated `Promise<T>`: T's. */
  #awaitedResult(declaration: TS.SignatureDeclaration): string | undefined {
    const type = declaration.type;
    if (!type || !this.ts.isTypeReferenceNode(type) || !this.#libPromise(type) || type.typeArguments?.length !== 1) return needsChecker();
    return this.#simpleText(type.typeArguments[0]);
  }

  /** The simple spelling of a parameter's plain annotation. */
  #parameterType(parameter: TS.ParameterDeclaration): string | undefined {
    if (!parameter.type || parameter.questionToken || parameter.initializer) return needsChecker();
    return this.#simpleText(parameter.type);
  }

  /** The simple spelling of a field's plain annotation (a property or a constructor parameter property). */
  #fieldType(declaration: TS.Declaration): string | undefined {
    const ts = this.ts;
    if (!(ts.isPropertyDeclaration(declaration) || ts.isParameter(declaration)) || !declaration.type || declaration.questionToken) {
      return needsChecker();
    }
    return this.#simpleText(declaration.type);
  }

  /**
   * The checker's spelling of the type an annotation denotes when that type is simple (primitives,
   * Dates and arrays of them: what keys.ts may copy), undefined when it is not; NeedsChecker when
   * only the checker can tell.
   */
  #simpleText(type: TS.TypeNode): string | undefined {
    const ts = this.ts;
    const K = ts.SyntaxKind;
    const keywords: Partial<Record<TS.SyntaxKind, string>> = {
      [K.StringKeyword]: "string", [K.NumberKeyword]: "number", [K.BooleanKeyword]: "boolean",
      [K.BigIntKeyword]: "bigint", [K.AnyKeyword]: "any", [K.UnknownKeyword]: "unknown",
    };
    const keyword = keywords[type.kind];
    if (keyword) return keyword;
    const array = (element: TS.TypeNode, prefix: string) => {
      const inner = this.#simpleText(element);
      return inner === undefined ? undefined : `${prefix}${inner}[]`;
    };
    if (ts.isArrayTypeNode(type)) return array(type.elementType, "");
    if (ts.isTypeOperatorNode(type) && type.operator === K.ReadonlyKeyword && ts.isArrayTypeNode(type.type)) {
      return array(type.type.elementType, "readonly ");
    }
    if (ts.isTypeLiteralNode(type) || ts.isFunctionTypeNode(type) || ts.isTupleTypeNode(type)) return undefined;
    if (ts.isTypeReferenceNode(type) && !type.typeArguments) {
      const target = this.#target(type.typeName);
      if (target && "lib" in target && target.lib === "Date") return "Date";
      if (target && "symbol" in target) {
        const kind = target.symbol.flags & ts.SymbolFlags.Type;
        if ((kind === ts.SymbolFlags.Interface || kind === ts.SymbolFlags.Class) && target.symbol.getName() !== "Date") return undefined;
      }
    }
    return needsChecker();
  }
}
