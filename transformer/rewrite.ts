/**
 * The rewrite. Each cached function keeps its declaration (name, modifiers, decorators, parameters,
 * overloads, hoisting) and gets a new body that hands its original body to the runtime:
 *
 * ```js
 * async function getEmail(username) {
 *   return tscaching_1.cachedCall(tscaching_spec_1, [username], async () => { ...original body... });
 * }
 * ```
 *
 * The inner arrow keeps `this`, `arguments` and `super` of the function. One namespace import of the
 * runtime and one spec constant per function are added at the top of the file; nothing else changes.
 */
import type * as TS from "typescript";
import type { CachedFunction, ResolvedKeyPart } from "./scan";

export interface RewriteOptions {
  /** Module specifier of the runtime the rewritten code imports. */
  readonly runtime: string;
  /**
   * The file is emitted as CommonJS: import with `import x = require()`, which becomes a plain
   * `const x = require()` without the `__importStar` helper that a namespace import needs there.
   */
  readonly commonjs: boolean;
}

/** Spec format understood by the runtime's `defineCached`; bump when its shape changes. */
export const SPEC_VERSION = 1;

/** Tag options copied into the spec, in this order. */
const SPEC_FIELDS = ["ttl", "stale", "errors", "lock", "ignoreQuery", "vary", "status", "shared", "timeout", "local"] as const;

export function rewriteSourceFile(ts: typeof TS, context: TS.TransformationContext, sf: TS.SourceFile,
                                  functions: readonly CachedFunction[], options: RewriteOptions): TS.SourceFile {
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
    if (fn) return transformFunction(ts, f, fn, runtime, specs.get(node)!);
    // Fast path: only the spine leading to a cached function is rebuilt.
    return onPath.has(node) ? ts.visitEachChild(node, visitor, context) : node;
  };
  const visited = ts.visitEachChild(sf, visitor, context);

  const importDecl = options.commonjs
    ? f.createImportEqualsDeclaration(/*modifiers*/ undefined, /*isTypeOnly*/ false, runtime,
      f.createExternalModuleReference(f.createStringLiteral(options.runtime)))
    : f.createImportDeclaration(/*modifiers*/ undefined,
      f.createImportClause(/*isTypeOnly*/ false, /*name*/ undefined, f.createNamespaceImport(runtime)),
      f.createStringLiteral(options.runtime));
  const statements = [...visited.statements];
  // Prologue directives ("use strict") must stay first.
  let prologue = 0;
  while (prologue < statements.length && isPrologue(ts, statements[prologue])) prologue++;
  statements.splice(prologue, 0, importDecl, ...specStatements);
  return f.updateSourceFile(visited, statements);
}

function createSpecStatement(ts: typeof TS, f: TS.NodeFactory, runtime: TS.Identifier, spec: TS.Identifier,
                             fn: CachedFunction): TS.Statement {
  const props = [
    f.createPropertyAssignment("v", f.createNumericLiteral(SPEC_VERSION)),
    f.createPropertyAssignment("id", f.createStringLiteral(fn.id)),
  ];
  const literal = (value: unknown): TS.Expression => typeof value === "number" ? f.createNumericLiteral(value)
    : typeof value === "boolean" ? (value ? f.createTrue() : f.createFalse())
    : Array.isArray(value) ? f.createArrayLiteralExpression(value.map(literal)) : f.createStringLiteral(String(value));
  for (const field of SPEC_FIELDS) {
    const value = fn.tag[field];
    if (value !== undefined) props.push(f.createPropertyAssignment(field, literal(value)));
  }
  if (fn.http) props.push(f.createPropertyAssignment("http", f.createStringLiteral(fn.http)));
  const init = f.createCallExpression(
    f.createPropertyAccessExpression(runtime, "defineCached"), /*typeArguments*/ undefined,
    [f.createObjectLiteralExpression(props, /*multiLine*/ false)],
  );
  return f.createVariableStatement(/*modifiers*/ undefined, f.createVariableDeclarationList(
    [f.createVariableDeclaration(spec, /*exclamationToken*/ undefined, /*type*/ undefined, init)], ts.NodeFlags.Const));
}

function createKeyExpression(f: TS.NodeFactory, part: ResolvedKeyPart): TS.Expression {
  switch (part.kind) {
    case "param": return f.createIdentifier(part.name);
    case "pattern": return f.createArrayLiteralExpression(part.names.map((n) => f.createIdentifier(n)));
    case "this": return f.createPropertyAccessExpression(f.createThis(), part.name);
  }
}

function transformFunction(ts: typeof TS, f: TS.NodeFactory, fn: CachedFunction, runtime: TS.Identifier,
                           spec: TS.Identifier): TS.Node {
  const node = fn.node;
  const body = node.body!;
  const inner = f.createArrowFunction(
    fn.isAsync ? [f.createModifier(ts.SyntaxKind.AsyncKeyword)] : undefined,
    /*typeParameters*/ undefined, /*parameters*/ [], /*type*/ undefined,
    f.createToken(ts.SyntaxKind.EqualsGreaterThanToken), body,
  );
  const keyArgs = fn.http && !fn.tag.key ? f.createVoidZero()
    : f.createArrayLiteralExpression(fn.keyParts.map((p) => createKeyExpression(f, p)));
  const handlerArgs = fn.http ? handlerParameterNames(ts, fn).map((name) => f.createIdentifier(name)) : [];
  const entry = fn.http === "node" ? "cachedHandler" : fn.http === "fetch" ? "cachedFetch" : "cachedCall";
  const call = f.createCallExpression(
    f.createPropertyAccessExpression(runtime, entry), /*typeArguments*/ undefined,
    [spec, keyArgs, ...handlerArgs, inner],
  );
  let newBody: TS.ConciseBody;
  if (ts.isBlock(body)) {
    newBody = ts.setTextRange(f.createBlock([f.createReturnStatement(call)], /*multiLine*/ true), body);
    // The original block, comments included, is printed inside the arrow; do not print them twice.
    ts.setEmitFlags(newBody, ts.EmitFlags.NoComments);
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

/**
 * The rewritten function's modifiers. `cachedCall` never throws and always returns a promise, so
 * an `async` outer function would only add a promise and two microtask turns to every call; it is
 * dropped when nothing else in the outer function can throw: every parameter a plain name without a
 * default (a default or a destructuring pattern that throws must still reject, not throw) and no
 * `this.x` key part (a getter could throw). HTTP handlers keep theirs: frameworks may inspect it.
 */
function outerModifiers(ts: typeof TS, fn: CachedFunction): TS.NodeArray<TS.ModifierLike> | readonly TS.ModifierLike[] | undefined {
  const modifiers = fn.node.modifiers;
  if (!modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword) || fn.http) return modifiers;
  const simple = fn.node.parameters.every((p) => ts.isIdentifier(p.name) && p.initializer === undefined)
    && fn.keyParts.every((part) => part.kind === "param");
  return simple ? modifiers.filter((m) => m.kind !== ts.SyntaxKind.AsyncKeyword) : modifiers;
}

function isPrologue(ts: typeof TS, statement: TS.Statement): boolean {
  return ts.isExpressionStatement(statement) && ts.isStringLiteral(statement.expression);
}

/** `req, res` (node) or `request` (fetch): the handler's own parameter names. */
function handlerParameterNames(ts: typeof TS, fn: CachedFunction): string[] {
  const params = fn.node.parameters.filter((p) => !(ts.isIdentifier(p.name) && p.name.text === "this"));
  return params.slice(0, fn.http === "node" ? 2 : 1).map((p) => (p.name as TS.Identifier).text);
}
