/**
 * Node builders for the rewrite: the runtime import, the spec constants and key expressions. Every
 * node built from a user's node carries that node as its original and its text range, as
 * TypeScript's own transformers do, so source maps and later transformers see the user's code.
 */
import * as path from "node:path";
import type * as TS from "typescript";
import type { CachedFunction, ResolvedKeyPart } from "./scan";

/** Spec format understood by the runtime's `defineCached`; bump when its shape changes. */
export const SPEC_VERSION = 1;

/** Tag options copied into the spec, in this order. */
const SPEC_FIELDS = ["ttl", "stale", "errors", "lock", "ignoreQuery", "vary", "status", "shared", "timeout", "local"] as const;

/** `new` with `old` as its original node and text range. */
export function fromNode<T extends TS.Node>(ts: typeof TS, node: T, old: TS.Node): T {
  return ts.setOriginalNode(ts.setTextRange(node, old), old);
}

/**
 * The runtime import. `require` gives a plain `const x = require(...)`, valid JavaScript in a
 * CommonJS module and in a script alike (an `import x = require()` is left as TypeScript syntax in a
 * file the CommonJS transform skips, such as a script); `import` a namespace import for ES modules.
 */
export function createRuntimeImport(ts: typeof TS, f: TS.NodeFactory, name: TS.Identifier, runtime: string,
                                    form: "require" | "import"): TS.Statement {
  if (form === "import") {
    return f.createImportDeclaration(/*modifiers*/ undefined,
      f.createImportClause(/*isTypeOnly*/ false, /*name*/ undefined, f.createNamespaceImport(name)),
      f.createStringLiteral(runtime));
  }
  const call = f.createCallExpression(f.createIdentifier("require"), /*typeArguments*/ undefined, [f.createStringLiteral(runtime)]);
  return f.createVariableStatement(/*modifiers*/ undefined, f.createVariableDeclarationList(
    [f.createVariableDeclaration(name, /*exclamationToken*/ undefined, /*type*/ undefined, call)], ts.NodeFlags.Const));
}

/**
 * Is `sf` a script (no import or export) that Node will load as CommonJS? Such a file emitted
 * as an ES module by its compiler options (TypeScript 6's default `module`) still runs as CommonJS
 * when its package is not `"type": "module"`; an added `import` would make it a SyntaxError there.
 */
export function isCommonJSScript(ts: typeof TS, sf: TS.SourceFile): boolean {
  if (ts.isExternalModule(sf) || /\.d\.[cm]?ts$/.test(sf.fileName)) return false;
  if (/\.m[jt]sx?$/.test(sf.fileName)) return false;
  if (/\.c[jt]sx?$/.test(sf.fileName)) return true;
  for (let dir = path.dirname(sf.fileName); ; dir = path.dirname(dir)) {
    const text = ts.sys?.readFile(path.join(dir, "package.json"));
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type !== "module";
      } catch {
        return true; // Node refuses to load from a broken package.json anyway; CommonJS is its default
      }
    }
    if (path.dirname(dir) === dir) return true;
  }
}

/** `const tscaching_spec_1 = tscaching_1.defineCached({ v: 1, id: "...", ...options });` */
export function createSpecStatement(ts: typeof TS, f: TS.NodeFactory, runtime: TS.Identifier, spec: TS.Identifier,
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
  if (fn.tags) {
    const { positions } = tagValues(fn);
    props.push(f.createPropertyAssignment("tags", f.createArrayLiteralExpression(fn.tags.map((tag, i) =>
      f.createObjectLiteralExpression([
        f.createPropertyAssignment("name", f.createStringLiteral(tag.name)),
        f.createPropertyAssignment("args", f.createArrayLiteralExpression(positions[i].map((n) => f.createNumericLiteral(n)))),
      ], /*multiLine*/ false)))));
    const keys = tagKeyPositions(fn);
    if (keys) props.push(f.createPropertyAssignment("tagKeys", f.createArrayLiteralExpression(keys.map((n) => f.createNumericLiteral(n)))));
  }
  props.push(f.createPropertyAssignment("version", f.createStringLiteral(fn.version)));
  const init = f.createCallExpression(
    f.createPropertyAccessExpression(runtime, "defineCached"), /*typeArguments*/ undefined,
    [f.createObjectLiteralExpression(props, /*multiLine*/ false)],
  );
  // Hoisted to the top of the file like TypeScript's helpers, and like them without an original node
  // or range: later transformers ask the checker about a statement's original node (an import whose
  // original is not an import is elided as unused), and the spec is no line of the user's.
  return f.createVariableStatement(/*modifiers*/ undefined, f.createVariableDeclarationList(
    [f.createVariableDeclaration(spec, /*exclamationToken*/ undefined, /*type*/ undefined, init)], ts.NodeFlags.Const));
}

/** One key argument: a parameter, a destructured parameter's names, or `this.field`. */
export function createKeyExpression(f: TS.NodeFactory, part: ResolvedKeyPart): TS.Expression {
  // Fresh identifiers by name, no original node: later transformers must treat them as the
  // parameter's references, not as its declaration.
  switch (part.kind) {
    case "param": return f.createIdentifier(part.name);
    case "pattern": return f.createArrayLiteralExpression(part.names.map((n) => f.createIdentifier(n)));
    case "this": return f.createPropertyAccessExpression(f.createThis(), part.name);
  }
}

/**
 * The values a tagged call passes for its tags (each parameter or field once, in order of first
 * use) and, per tag, the positions of its arguments among them: the spec's `tags[i].args`.
 */
export function tagValues(fn: CachedFunction): { parts: ResolvedKeyPart[]; positions: number[][] } {
  const parts: ResolvedKeyPart[] = [];
  const seen = new Map<string, number>();
  const positions = (fn.tags ?? []).map((tag) => tag.args.map((part) => {
    const id = partId(part);
    let at = seen.get(id);
    if (at === undefined) {
      at = parts.push(part) - 1;
      seen.set(id, at);
    }
    return at;
  }));
  return { parts, positions };
}

const partId = (part: ResolvedKeyPart): string =>
  part.kind === "pattern" ? `pattern:${part.names.join(",")}` : `${part.kind}:${part.name}`;

/**
 * Per tag value (as {@link tagValues} orders them), its position among the key's arguments: the
 * spec's `tagKeys`, which lets a key alone tell its tag values (keys.ts writes stamp them). Undefined
 * when a tag argument is no key part (say `this.tenant` with `key=id`), or when the key is built from
 * an HTTP request rather than from the key parts.
 */
export function tagKeyPositions(fn: CachedFunction): number[] | undefined {
  if (!fn.tags || (fn.http && !fn.tag.key)) return undefined;
  const keyIds = fn.keyParts.map(partId);
  const positions = tagValues(fn).parts.map((part) => keyIds.indexOf(partId(part)));
  return positions.every((i) => i >= 0) ? positions : undefined;
}
