/**
 * A cached function's version: a short hash of what decides the shape and meaning of its entries.
 * Entries written by one version are never read by another (the runtime puts the version in the
 * key), so a deploy that changes a function or its result's shape starts from empty entries while
 * the old processes of a rolling deploy keep theirs.
 *
 * Hashed: the function's code as the compiler parsed it (its token stream, so comments and
 * formatting do not count), its result type, its key parts and its tags. With a checker the result
 * type is its awaited type's structure as the checker resolves it (through aliases, interfaces,
 * imports); without one (the per-file bundler rewrite) it is the declared return type's text, so a
 * change to an interface in another file does not change a bundler-built version. `version=` pins
 * it by hand (then a change of its tags needs a new `version=`, as any change of its entries does).
 */
import { createHash } from "node:crypto";
import type * as TS from "typescript";
import type { CachedFunctionNode, ResolvedKeyPart } from "./model";
import type { CacheTag } from "./tags";

/** How deep a result type's structure is followed; deeper types count by their name. */
const MAX_DEPTH = 8;
/** Most properties described per object type: a huge type counts by its name past this. */
const MAX_PROPERTIES = 200;
/** Most types described per function (types shared by many properties are described each time). */
const MAX_TYPES = 2_000;

/** The version of one function: `tag.version` when pinned, else 10 chars of a sha256. */
export function functionVersion(ts: typeof TS, sf: TS.SourceFile, node: CachedFunctionNode, tag: CacheTag,
                                keyParts: readonly ResolvedKeyPart[], checker: TS.TypeChecker | undefined): string {
  if (tag.version !== undefined) return tag.version;
  const code = tokens(ts, sf, node);
  const result = checker ? resultStructure(ts, checker, node) : `text:${node.type ? tokens(ts, sf, node.type) : ""}`;
  const key = keyParts.map((p) => p.kind === "pattern" ? `pattern(${p.names.join(",")})` : `${p.kind}:${p.name}`).join(",");
  const parts: unknown[] = [code, result, tag.key ? key : `default:${key}`];
  // An entry's tag stamp holds its tags' generations by position: renamed, reordered or re-argued
  // tags must not read the old entries' stamps against other counters. (Untagged: unchanged text.)
  if (tag.tags?.length) parts.push(tag.tags.map((t) => `${t.name}(${t.args.map((a) => `${a.kind}:${a.name}`).join(",")})`).join(","));
  const text = JSON.stringify(parts);
  return createHash("sha256").update(text, "utf8").digest("base64url").slice(0, 10).replace(/-/g, "_");
}

/**
 * The node's tokens as the parser read them (a regular expression or a template is one token),
 * one a line: comments, JSDoc and whitespace are trivia between tokens, so they do not count.
 */
function tokens(ts: typeof TS, sf: TS.SourceFile, node: TS.Node): string {
  const out: string[] = [];
  const visit = (n: TS.Node): void => {
    if (n.kind >= ts.SyntaxKind.FirstJSDocNode && n.kind <= ts.SyntaxKind.LastJSDocNode) return;
    const children = n.getChildren(sf);
    if (children.length > 0) children.forEach(visit);
    else if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) out.push(JSON.stringify(n.text));
    else out.push(n.getText(sf));
  };
  visit(node);
  return out.join("\n");
}

/** The structure of the function's awaited result type, as the checker resolves it. */
function resultStructure(ts: typeof TS, checker: TS.TypeChecker, node: CachedFunctionNode): string {
  const signature = checker.getSignatureFromDeclaration(node);
  if (!signature) return "type:?";
  const returned = checker.getReturnTypeOfSignature(signature);
  return `type:${describe(ts, checker, checker.getAwaitedType(returned) ?? returned, 0, [], { left: MAX_TYPES })}`;
}

/** Is `type` declared only in TypeScript's default libraries (Date, Map, Promise)? */
function isLibType(type: TS.Type): boolean {
  const decls = (type.aliasSymbol ?? type.getSymbol())?.declarations;
  return !!decls?.length && decls.every((d) => d.getSourceFile().hasNoDefaultLib);
}

/**
 * A deterministic text of `type`'s structure: primitives and literals by name, unions and
 * intersections as sorted members, arrays and tuples by element, library types by name and type
 * arguments, other object types by their sorted properties, index signatures and call signatures.
 * Past the depth bound a type counts by its name, past the budget as a mark; a type met again inside itself is
 * a cycle, written by its distance.
 */
function describe(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type, depth: number, stack: TS.Type[],
                  budget: { left: number }): string {
  const name = () => checker.typeToString(type, undefined, ts.TypeFormatFlags.NoTruncation);
  // Past the budget nothing more is asked of the checker: the rest of a huge type counts as one mark.
  if (--budget.left < 0) return "…";
  if (depth > MAX_DEPTH) return `~${name()}`;
  if (stack.includes(type)) return `<cycle ${stack.length - stack.indexOf(type)}>`;
  const flags = type.flags;
  if (!(flags & (ts.TypeFlags.Object | ts.TypeFlags.UnionOrIntersection))) return name(); // primitives, literals
  stack.push(type);
  try {
    const sub = (t: TS.Type) => describe(ts, checker, t, depth + 1, stack, budget);
    if (type.isUnion() || type.isIntersection()) {
      return type.types.map(sub).sort().join(type.isUnion() ? "|" : "&");
    }
    const args = checker.getTypeArguments?.(type as TS.TypeReference) ?? [];
    if (checker.isArrayType(type)) return `${sub(args[0])}[]`;
    if (checker.isTupleType(type)) return `[${args.map(sub).join(",")}]`;
    if (isLibType(type)) {
      const symbol = type.aliasSymbol ?? type.getSymbol();
      const typeArgs = type.aliasTypeArguments ?? args;
      return typeArgs.length ? `${symbol!.name}<${typeArgs.map(sub).join(",")}>` : name();
    }
    const props = checker.getPropertiesOfType(type);
    if (props.length > MAX_PROPERTIES) return `~${name()}`;
    const parts = props.map((p) => {
      const optional = p.flags & ts.SymbolFlags.Optional ? "?" : "";
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      const readonly = decl && ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly ? "readonly " : "";
      const t = decl ? checker.getTypeOfSymbolAtLocation(p, decl) : checker.getTypeOfSymbol(p);
      return `${readonly}${JSON.stringify(p.name)}${optional}:${sub(t)}`;
    }).sort();
    for (const info of checker.getIndexInfosOfType(type)) parts.push(`[${checker.typeToString(info.keyType)}]:${sub(info.type)}`);
    for (const sig of type.getCallSignatures()) parts.push(`(${checker.signatureToString(sig)})`);
    return `{${parts.join(";")}}`;
  } finally {
    stack.pop();
  }
}
