/**
 * `arguments` in a cached body. The body moves into an arrow, whose `arguments` is the enclosing
 * function's only where arrows are native and not lowered: below ES2017 an async arrow becomes a
 * generator function with its own `arguments`, and below ES2015 every arrow becomes a function. So
 * the rewrite captures the function's `arguments` in a constant before the arrow and points the
 * body's references at it, which is right at every target.
 */
import type * as TS from "typescript";
import { fromNode } from "./factory";

/**
 * The body with every reference to the function's own `arguments` replaced by `captured`, or
 * `undefined` when it has none (or declares its own `arguments`, which then is what it reads).
 */
export function captureArguments(ts: typeof TS, context: TS.TransformationContext, body: TS.Block,
                                 captured: TS.Identifier): TS.Block | undefined {
  const f = context.factory;
  let found = false;
  let declared = false;
  const isName = (node: TS.Identifier): boolean => {
    const parent = node.parent as (TS.Node & { name?: TS.Node; propertyName?: TS.Node; label?: TS.Node }) | undefined;
    return !!parent && (parent.name === node || parent.propertyName === node || parent.label === node);
  };
  const visit = (node: TS.Node): TS.Node => {
    // A non-arrow function has its own `arguments`; types are erased.
    if (ts.isFunctionLike(node) && !ts.isArrowFunction(node)) return node;
    if (ts.isTypeNode(node)) return node;
    if (ts.isShorthandPropertyAssignment(node) && node.name.text === "arguments") {
      found = true;
      return fromNode(ts, f.createPropertyAssignment("arguments", captured), node);
    }
    if (ts.isIdentifier(node) && node.text === "arguments") {
      const parent = node.parent;
      if (parent && (ts.isBindingElement(parent) || ts.isVariableDeclaration(parent) || ts.isParameter(parent)
        || ts.isFunctionDeclaration(parent) || ts.isClassDeclaration(parent)) && parent.name === node) declared = true;
      if (isName(node)) return node;
      found = true;
      // The one generated name, shared by every reference (TypeScript reuses its `_this` the same way).
      return captured;
    }
    return ts.visitEachChild(node, visit, context);
  };
  const result = ts.visitEachChild(body, visit, context);
  return found && !declared ? result : undefined;
}
