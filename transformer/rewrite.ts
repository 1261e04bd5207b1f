/**
 * The rewrite. Each cached function keeps its declaration (name, modifiers, decorators, parameters,
 * overloads, hoisting) and gets a new body that hands its original body to the runtime:
 *
 * ```js
 * function getEmail(username) {
 *   return tscaching_1.cachedCall(tscaching_spec_1, [username], { getEmail: async () => { ...original body... } }.getEmail);
 * }
 * ```
 *
 * The inner arrow keeps `this` and `super` of the function, and its `arguments` through a constant
 * captured before the arrow (see `arguments.ts`). One import of the runtime and one spec constant per
 * function are added at the top of the file; nothing else changes. A function with an error-severity
 * problem is not rewritten at all.
 */
import type * as TS from "typescript";
import { captureArguments } from "./arguments";
import type { Problem } from "./diagnostics";
import { createKeyExpression, createRuntimeImport, createSpecStatement, fromNode, tagValues } from "./factory";
import type { CachedFunction } from "./model";

export { SPEC_VERSION } from "./factory";

export interface RewriteOptions {
  /** Module specifier of the runtime the rewritten code imports. */
  readonly runtime: string;
  /**
   * The file runs as CommonJS (module commonjs, a .cts or CJS-scoped file under node16+, or a script
   * in a CommonJS package): the runtime comes in through a plain `const x = require()`.
   */
  readonly commonjs: boolean;
  /**
   * The file's problems. A function with an error among them is left exactly as it is: a tag with
   * errors must not cache at some default the user did not ask for.
   */
  readonly problems?: readonly Problem[];
}

export function rewriteSourceFile(ts: typeof TS, context: TS.TransformationContext, sf: TS.SourceFile,
                                  allFunctions: readonly CachedFunction[], options: RewriteOptions): TS.SourceFile {
  const functions = rewritableFunctions(allFunctions, options.problems ?? []);
  if (functions.length === 0) return sf;
  const f = context.factory;
  const runtime = f.createUniqueName("tscaching");
  const specs = new Map<TS.Node, TS.Identifier>();
  const onPath = new Set<TS.Node>();
  const specStatements: TS.Statement[] = [];
  for (const fn of functions) {
    const spec = f.createUniqueName("tscaching_spec");
    specs.set(fn.node, spec);
    for (let n: TS.Node | undefined = fn.node; n && !onPath.has(n); n = n.parent) onPath.add(n);
    specStatements.push(createSpecStatement(ts, f, runtime, spec, fn));
  }
  const byNode = new Map(functions.map((fn) => [fn.node as TS.Node, fn]));

  const visitor = (node: TS.Node): TS.Node => {
    const fn = byNode.get(node);
    if (fn) return transformFunction(ts, context, fn, runtime, specs.get(node)!);
    // Fast path: only the spine leading to a cached function is rebuilt.
    return onPath.has(node) ? ts.visitEachChild(node, visitor, context) : node;
  };
  const visited = ts.visitEachChild(sf, visitor, context);

  const importDecl = createRuntimeImport(ts, f, runtime, options.runtime, options.commonjs ? "require" : "import");
  const statements = [...visited.statements];
  // Prologue directives ("use strict") must stay first.
  let prologue = 0;
  while (prologue < statements.length && isPrologue(ts, statements[prologue])) prologue++;
  statements.splice(prologue, 0, importDecl, ...specStatements);
  return f.updateSourceFile(visited, statements);
}

/**
 * The functions to rewrite: those without an error-severity problem. A function's problems lie
 * between its tag (which may sit on an enclosing statement) and its body: the tag's options, the
 * name, parameters and return type. A problem inside the body belongs to something nested there.
 */
export function rewritableFunctions(functions: readonly CachedFunction[], problems: readonly Problem[]): CachedFunction[] {
  const spans = functions.map((fn) => ({ fn, start: Math.min(fn.tag.start, fn.node.pos), end: fn.node.body?.pos ?? fn.node.end }));
  const failed = new Set<CachedFunction>();
  for (const p of problems) {
    if (p.severity !== "error") continue;
    let owner: (typeof spans)[number] | undefined;
    for (const span of spans) {
      if (p.start >= span.start && p.start < span.end && (!owner || span.start >= owner.start)) owner = span;
    }
    if (owner) failed.add(owner.fn);
  }
  return functions.filter((fn) => !failed.has(fn));
}

function transformFunction(ts: typeof TS, context: TS.TransformationContext, fn: CachedFunction, runtime: TS.Identifier,
                           spec: TS.Identifier): TS.Node {
  const f = context.factory;
  const node = fn.node;
  const body = node.body!;
  // A function's own `arguments` is captured before the arrow (an arrow function's is its scope's).
  let innerBody: TS.ConciseBody = body;
  let capture: TS.Statement | undefined;
  if (ts.isBlock(body) && !ts.isArrowFunction(node)) {
    const captured = f.createUniqueName("arguments");
    const replaced = captureArguments(ts, context, body, captured);
    if (replaced) {
      innerBody = replaced;
      capture = f.createVariableStatement(/*modifiers*/ undefined, f.createVariableDeclarationList([f.createVariableDeclaration(
        captured, /*exclamationToken*/ undefined, /*type*/ undefined, f.createIdentifier("arguments"))], ts.NodeFlags.Const));
    }
  }
  // The arrow stands for the user's function: its original node is that function (TypeScript's
  // async lowering reads the declared return type and the checker's flags from it), its range the body.
  const arrow = f.createArrowFunction(
    fn.isAsync ? [f.createModifier(ts.SyntaxKind.AsyncKeyword)] : undefined,
    /*typeParameters*/ undefined, /*parameters*/ [], /*type*/ undefined,
    f.createToken(ts.SyntaxKind.EqualsGreaterThanToken), innerBody,
  );
  const inner = namedAfter(ts, f, fn, setNoComments(ts, ts.setOriginalNode(ts.setTextRange(arrow, body), node)));
  const keyArgs = fn.http && !fn.tag.key ? f.createVoidZero()
    : f.createArrayLiteralExpression(fn.keyParts.map((p) => createKeyExpression(f, p)));
  const handlerArgs = fn.http ? handlerParameterNames(ts, fn).map((name) => f.createIdentifier(name)) : [];
  const entry = fn.http === "node" ? "cachedHandler" : fn.http === "fetch" ? "cachedFetch" : "cachedCall";
  // The call maps to the body's lines; no original node, as it is no rewrite of any one user node.
  const call = setNoComments(ts, ts.setTextRange(f.createCallExpression(
    f.createPropertyAccessExpression(runtime, entry), /*typeArguments*/ undefined,
    [spec, keyArgs, ...handlerArgs, inner,
      // A tagged function also passes its tag arguments' values (the spec says which tag takes which).
      ...(fn.tags ? [f.createArrayLiteralExpression(tagValues(fn).parts.map((p) => createKeyExpression(f, p)))] : [])],
  ), body));
  let newBody: TS.ConciseBody;
  if (ts.isBlock(body)) {
    const statements = [...(capture ? [capture] : []), ts.setTextRange(f.createReturnStatement(call), body)];
    newBody = fromNode(ts, f.createBlock(statements, /*multiLine*/ true), body);
    // The original block, comments included, is printed inside the arrow; do not print them twice.
    ts.setEmitFlags(newBody, ts.EmitFlags.NoComments);
    ts.setEmitFlags(statements[statements.length - 1], ts.EmitFlags.NoComments);
  } else {
    newBody = call;
  }
  const modifiers = outerModifiers(ts, fn);
  if (ts.isFunctionDeclaration(node)) {
    return f.updateFunctionDeclaration(node, modifiers as readonly TS.ModifierLike[] | undefined, node.asteriskToken, node.name, node.typeParameters,
      node.parameters, node.type, newBody as TS.Block);
  }
  if (ts.isMethodDeclaration(node)) {
    return f.updateMethodDeclaration(node, modifiers as readonly TS.ModifierLike[] | undefined, node.asteriskToken, node.name, node.questionToken,
      node.typeParameters, node.parameters, node.type, newBody as TS.Block);
  }
  if (ts.isFunctionExpression(node)) {
    return f.updateFunctionExpression(node, modifiers as readonly TS.Modifier[] | undefined, node.asteriskToken, node.name, node.typeParameters,
      node.parameters, node.type, newBody as TS.Block);
  }
  return f.updateArrowFunction(node, modifiers as readonly TS.Modifier[] | undefined, node.typeParameters, node.parameters, node.type,
    node.equalsGreaterThanToken, newBody);
}

function setNoComments<T extends TS.Node>(ts: typeof TS, node: T): T {
  return ts.setEmitFlags(node, ts.EmitFlags.NoComments);
}

/**
 * `{ getUser: async () => ... }.getUser`: the arrow takes the function's own name (an arrow is named
 * after the property it initialises), so a stack frame of the body names the user's function
 * instead of `<anonymous>`. Names that are not plain identifiers leave the arrow as it is.
 */
function namedAfter(ts: typeof TS, f: TS.NodeFactory, fn: CachedFunction, arrow: TS.ArrowFunction): TS.Expression {
  const name = fn.qualifiedName.slice(fn.qualifiedName.lastIndexOf(".") + 1);
  // `__proto__: x` in a literal sets the prototype instead of a property.
  if (!/^[A-Za-z_$][\w$]*$/.test(name) || name === "__proto__") return arrow;
  const holder = f.createObjectLiteralExpression([f.createPropertyAssignment(name, arrow)], /*multiLine*/ false);
  return f.createPropertyAccessExpression(holder, name);
}

/**
 * The rewritten function's modifiers. `cachedCall` never throws and always returns a promise, so
 * an `async` outer function would only add a promise and two microtask turns to every call; it is
 * dropped when nothing else in the outer function can throw: every parameter a plain name without a
 * default (a default or a destructuring pattern that throws must still reject, not throw) and no
 * `this.x` key part (a getter could throw). HTTP handlers keep theirs: frameworks may inspect it.
 */
function outerModifiers(ts: typeof TS, fn: CachedFunction): TS.NodeArray<TS.ModifierLike> | readonly TS.ModifierLike[] | undefined {
  const modifiers = fn.node.modifiers;
  if (!modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) || fn.http || isDecorated(ts, fn.node)) return modifiers;
  const simple = fn.node.parameters.every((p) => ts.isIdentifier(p.name) && p.initializer === undefined)
    && fn.keyParts.every((part) => part.kind === "param");
  return simple ? modifiers.filter((m) => m.kind !== ts.SyntaxKind.AsyncKeyword) : modifiers;
}

/**
 * Decorators see the function as declared: with `emitDecoratorMetadata` TypeScript records an
 * unannotated async method's `design:returntype` as `Promise` only while it is `async`.
 */
function isDecorated(ts: typeof TS, node: TS.Node): boolean {
  const decorated = (n: TS.Node) => ts.canHaveDecorators(n) && (ts.getDecorators(n)?.length ?? 0) > 0;
  return decorated(node) || (ts.isFunctionLike(node) && node.parameters.some(decorated));
}

function isPrologue(ts: typeof TS, statement: TS.Statement): boolean {
  return ts.isExpressionStatement(statement) && ts.isStringLiteral(statement.expression);
}

/** `req, res` (node) or `request` (fetch): the handler's own parameter names. */
function handlerParameterNames(ts: typeof TS, fn: CachedFunction): string[] {
  const params = fn.node.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === "this"));
  return params.slice(0, fn.http === "node" ? 2 : 1).map((p) => (p.name as TS.Identifier).text);
}
