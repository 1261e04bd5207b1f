/**
 * The scanner: finds every function a `@cache` tag applies to, computes its stable id and key
 * parts, and collects the problems. It is shared by the transformer and the CLI so that both always
 * agree on ids and keys. It takes the TypeScript module as an argument (the user's `typescript`
 * under tspc, ts-morph's bundled copy in the CLI) and never mixes nodes of two copies.
 */
import type * as TS from "typescript";
import { problem, type Problem } from "./diagnostics";
import { findCacheTags, isJSDocComment, tagCommentReach, type CacheTag } from "./tags";
import { checkTypes } from "./checks";
import { classifyThisReads } from "./this-reads";
import { findNearMissTags } from "./near-miss";
import type { VersionSource } from "./settings";
import { functionVersion } from "./version";
import { functionId, staticName, type CachedFunction, type CachedFunctionNode, type ResolvedKeyPart, type ScanResult } from "./model";
import { callParameters, memberName, syntaxTypes, type ScanTypes } from "./types";

// The model's types, for modules that still import them from here.
export type { CachedFunction, CachedFunctionNode, ResolvedKeyPart, ScanResult } from "./model";

export interface ScanOptions {
  /** Folder that module paths in ids are relative to (the tsconfig's folder). */
  readonly rootDir: string;
  /**
   * Where type questions are answered (a non-async function's result, handlers, fields of `this`):
   * `checkerTypes` also checks that key parts and results can be cached. @default syntaxTypes
   */
  readonly types?: ScanTypes;
  /** Versions from the checker's types (when `types` has a checker) or from the syntax. @default "checker" */
  readonly versions?: VersionSource;
}

/** Quick test used to skip files: no `@cache` text in any case (near misses such as `@Cache` warn), nothing to do. */
export function mayHaveCacheTags(text: string): boolean {
  return /@cache/i.test(text);
}

/** Scan one source file. Never throws for user code: problems are returned. */
export function scanSourceFile(ts: typeof TS, sf: TS.SourceFile, options: ScanOptions): ScanResult {
  const functions: CachedFunction[] = [];
  const problems: Problem[] = findNearMissTags(ts, sf);
  if (!sf.text.includes("@cache")) return { functions, problems };
  const types = options.types ?? syntaxTypes(ts);
  const tagged = new Map<TS.Node, CacheTag[]>();
  const seen = new Set<number>();
  const seenComments = new Set<number>();
  const mayReachTag = tagCommentReach(sf.text);
  const visit = (node: TS.Node): void => {
    if (!mayReachTag(node.pos, node.end)) return; // nothing in this subtree can take a tag comment
    if (node.kind !== ts.SyntaxKind.SourceFile && !seen.has(node.pos)) {
      seen.add(node.pos);
      // A comment on the same line as the previous token counts as "trailing" for TypeScript
      // (`map(/** @cache */ async () => ...)`): look at both, so no tag goes unseen.
      const ranges = [...ts.getTrailingCommentRanges(sf.text, node.pos) ?? [], ...ts.getLeadingCommentRanges(sf.text, node.pos) ?? []];
      for (const range of ranges) {
        if (seenComments.has(range.pos)) continue;
        seenComments.add(range.pos);
        const text = sf.text.slice(range.pos, range.end);
        if (!isJSDocComment(text) || !mayHaveCacheTags(text)) continue;
        const found = findCacheTags(text, range.pos);
        problems.push(...found.problems);
        if (found.tags.length === 0) continue;
        const owner = resolveOwner(ts, node);
        tagged.set(owner, [...(tagged.get(owner) ?? []), ...found.tags]);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  for (const [owner, tags] of tagged) {
    if (tags.length > 1) problems.push(problem("multipleTags", tags[1].start, 6));
    try {
      const fn = analyse(ts, sf, owner, tags[0], options.rootDir, types, problems, options.versions ?? "checker");
      if (fn) functions.push(fn);
    } catch (error) {
      // A crash on one function must not take the build down: report it, leave it uncached.
      problems.push(problem("internal", tags[0].start, 6, error instanceof Error ? error.message : String(error)));
    }
  }
  return { functions, problems };
}

/** A comment after decorators leads a modifier or the name: the declaration is the owner. */
function resolveOwner(ts: typeof TS, node: TS.Node): TS.Node {
  const parent = node.parent;
  if (parent && (ts.isModifier(node) || ts.isDecorator(node) || (parent as { name?: TS.Node }).name === node)) {
    if (ts.isMethodDeclaration(parent) || ts.isFunctionDeclaration(parent) || ts.isPropertyDeclaration(parent) ||
        ts.isGetAccessorDeclaration(parent) || ts.isSetAccessorDeclaration(parent) || ts.isConstructorDeclaration(parent)) {
      return parent;
    }
  }
  return node;
}

function unwrapFunction(ts: typeof TS, expr: TS.Expression | undefined): TS.ArrowFunction | TS.FunctionExpression | undefined {
  while (expr && (ts.isParenthesizedExpression(expr) || ts.isSatisfiesExpression(expr) || ts.isAsExpression(expr))) {
    expr = expr.expression;
  }
  return expr && (ts.isArrowFunction(expr) || ts.isFunctionExpression(expr)) ? expr : undefined;
}

function analyse(ts: typeof TS, sf: TS.SourceFile, owner: TS.Node, tag: CacheTag, rootDir: string, types: ScanTypes,
                 problems: Problem[], versions: VersionSource): CachedFunction | undefined {
  const at = (node: TS.Node) => [node.getStart(sf), Math.max(1, node.getEnd() - node.getStart(sf))] as const;
  const displayName = (node: TS.Node) => ((node as { name?: TS.Node }).name?.getText(sf) ?? "default");
  let fn: CachedFunctionNode | undefined;
  let declaration: TS.Node = owner;
  if (ts.isFunctionDeclaration(owner) || ts.isMethodDeclaration(owner)) {
    fn = owner;
  } else if (ts.isConstructorDeclaration(owner)) {
    // At its first JSDoc comment, where getChildAt(0) points when JSDoc is parsed: the same in every parsing mode.
    const doc = ts.getLeadingCommentRanges(sf.text, owner.pos)?.find((r) => isJSDocComment(sf.text.slice(r.pos, r.end)));
    problems.push(problem("constructor", ...(doc ? [doc.pos, doc.end - doc.pos] as const : at(owner.getChildAt(0, sf)))));
    return undefined;
  } else if (ts.isGetAccessorDeclaration(owner) || ts.isSetAccessorDeclaration(owner)) {
    problems.push(problem("accessor", ...at(owner.name), displayName(owner)));
    return undefined;
  } else if (ts.isMethodSignature(owner)) {
    problems.push(problem("noBody", ...at(owner.name), displayName(owner)));
    return undefined;
  } else if (ts.isVariableStatement(owner)) {
    const decls = owner.declarationList.declarations;
    const fns = decls.filter((d) => unwrapFunction(ts, d.initializer));
    if (fns.length === 0) {
      problems.push(problem("unsupportedPlace", tag.start, 6));
      return undefined;
    }
    if (decls.length > 1) {
      problems.push(problem("multipleDeclarations", ...at(owner.declarationList)));
      return undefined;
    }
    declaration = decls[0];
    fn = unwrapFunction(ts, decls[0].initializer);
  } else if (ts.isPropertyDeclaration(owner) || ts.isPropertyAssignment(owner)) {
    fn = unwrapFunction(ts, owner.initializer);
  } else if (ts.isArrowFunction(owner) || ts.isFunctionExpression(owner)) {
    // `const f = /** @cache */ async () => ...`: the tag sits on the initialiser itself.
    let holder: TS.Node = owner.parent;
    while (ts.isParenthesizedExpression(holder) || ts.isSatisfiesExpression(holder) || ts.isAsExpression(holder)) holder = holder.parent;
    if ((ts.isVariableDeclaration(holder) || ts.isPropertyDeclaration(holder) || ts.isPropertyAssignment(holder)) &&
        unwrapFunction(ts, holder.initializer) === owner) {
      declaration = holder;
      fn = owner;
    }
  }
  if (!fn) {
    problems.push(problem("unsupportedPlace", tag.start, 6));
    return undefined;
  }
  const nameNode = (declaration as { name?: TS.Node }).name;
  const place = qualify(ts, sf, declaration);
  const shortName = nameNode ? nameNode.getText(sf) : "default";
  const reportAt = at(nameNode ?? fn);
  if (!place) {
    problems.push(problem("nested", ...reportAt, shortName));
    return undefined;
  }
  const qualifiedName = place.path;
  if (fn.asteriskToken) {
    problems.push(problem("generator", ...reportAt, qualifiedName));
    return undefined;
  }
  if (!fn.body) {
    const overloaded = ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn) ? hasImplementation(ts, sf, fn) : false;
    problems.push(problem(overloaded ? "overloadSignature" : "noBody", ...reportAt, qualifiedName));
    return undefined;
  }
  const isAsync = !!ts.getModifiers(fn)?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
  const http = tag.http ?? types.handlerKind(fn);
  if (http && !handlerParameters(ts, fn, http)) {
    problems.push(problem("badHandler", ...reportAt, qualifiedName, http === "node" ? "(req, res)" : "(request)"));
    return undefined;
  }
  // Handlers answer through `res` or a Response; they need not be async.
  if (!http && !isAsync && !types.returnsPromise(fn)) {
    problems.push(problem("notAsync", ...reportAt, qualifiedName));
    return undefined;
  }
  const isStatic = !!place.owner && !ts.isObjectLiteralExpression(place.owner) &&
    !!ts.getModifiers(declaration as TS.HasModifiers)?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword);
  // A handler without key= is keyed by its request (method, path, query, vary headers) at run time.
  const keyParts = http && !tag.key ? []
    : resolveKeyParts(ts, sf, fn, tag, place.owner, isStatic, types, qualifiedName, problems);
  if (!keyParts) return undefined;
  let tags: { name: string; args: ResolvedKeyPart[] }[] | undefined;
  if (tag.tags) {
    if (http) {
      problems.push(problem("tagsOnHandler", ...reportAt, qualifiedName));
      return undefined;
    }
    tags = [];
    for (const t of tag.tags) {
      const args = resolveKeyParts(ts, sf, fn, { ...tag, key: t.args, keySpan: tag.tagsSpan }, place.owner, isStatic, types,
        qualifiedName, problems, t.name);
      if (!args) return undefined;
      tags.push({ name: t.name, args });
    }
  }
  if (!tag.key && !http && place.owner && readsThis(ts, fn)) {
    if (types.checker) {
      // By meaning: data fields are key inputs (an error without key=), collaborators are not.
      const reads = classifyThisReads(ts, types.checker, fn);
      if (reads.data.length > 0) {
        const params = keyParts.flatMap((p) => p.kind === "param" ? [p.name] : p.kind === "pattern" ? p.names : []);
        problems.push(problem("readsThisData", ...reportAt, qualifiedName, reads.data.join(", "),
          [...reads.data, ...params].join(",")));
      } else if (reads.unclear.length > 0) {
        problems.push(problem("readsThis", ...reportAt, qualifiedName));
      }
    } else {
      problems.push(problem("readsThis", ...reportAt, qualifiedName));
    }
  }
  const idName = tag.name ?? staticName(qualifiedName, isStatic);
  const result: CachedFunction = {
    id: functionId(rootDir, sf.fileName, idName, tag.name),
    qualifiedName, idName, node: fn, tag, keyParts, ...(tags ? { tags } : {}), isAsync, isStatic, owner: place.owner,
    line: sf.getLineAndCharacterOfPosition(fn.getStart(sf)).line + 1,
    http,
    version: functionVersion(ts, sf, fn, tag, keyParts, versions === "checker" ? types.checker : undefined),
  };
  if (types.checker) problems.push(...checkTypes(ts, sf, result, types.checker, reportAt));
  return result;
}

/**
 * The dotted path of a declaration from module level (`DB.get`, `api.users.get`, `NS.f`), or
 * undefined when it sits inside a function or block, where captured variables would escape the key.
 */
function qualify(ts: typeof TS, sf: TS.SourceFile, decl: TS.Node):
    { path: string; owner?: TS.ClassLikeDeclaration | TS.ObjectLiteralExpression } | undefined {
  const nameOf = (n: TS.Node) => {
    const name = (n as { name?: TS.Node }).name;
    if (!name) return "default";
    return ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)
      ? name.text : name.getText(sf);
  };
  const segments = [nameOf(decl)];
  let owner: TS.ClassLikeDeclaration | TS.ObjectLiteralExpression | undefined;
  let node: TS.Node = decl;
  for (;;) {
    const parent = node.parent;
    if (ts.isVariableDeclaration(node)) {
      const statement = node.parent.parent;
      if (!ts.isVariableStatement(statement)) return undefined;
      node = statement;
      continue;
    }
    if (ts.isSourceFile(parent)) break;
    if (ts.isModuleBlock(parent) || ts.isModuleDeclaration(parent)) {
      const module = ts.isModuleBlock(parent) ? parent.parent : parent;
      segments.unshift(module.name.getText(sf));
      node = module;
      continue;
    }
    if (ts.isClassDeclaration(parent) || ts.isClassExpression(parent) || ts.isObjectLiteralExpression(parent)) {
      owner ??= parent;
      if (ts.isClassDeclaration(parent)) {
        segments.unshift(nameOf(parent));
        node = parent;
        continue;
      }
      const holder = parent.parent;
      if (ts.isVariableDeclaration(holder) && ts.isIdentifier(holder.name)) {
        segments.unshift(holder.name.text);
        node = holder;
        continue;
      }
      if (ts.isPropertyAssignment(holder) && ts.isObjectLiteralExpression(holder.parent)) {
        segments.unshift(nameOf(holder));
        // The next round sees the outer object literal as this node's parent.
        node = holder;
        continue;
      }
      return undefined;
    }
    return undefined;
  }
  return { path: segments.join("."), owner };
}

function hasImplementation(ts: typeof TS, sf: TS.SourceFile, fn: TS.FunctionDeclaration | TS.MethodDeclaration): boolean {
  const siblings: readonly TS.Node[] = ts.isFunctionDeclaration(fn)
    ? (fn.parent as TS.SourceFile | TS.ModuleBlock).statements ?? []
    : (fn.parent as TS.ClassLikeDeclaration).members ?? [];
  const name = memberName(ts, fn.name);
  return name !== undefined && siblings.some((s) => s !== fn && s.kind === fn.kind && (s as typeof fn).body &&
    memberName(ts, (s as typeof fn).name) === name);
}

function resolveKeyParts(ts: typeof TS, sf: TS.SourceFile, fn: CachedFunctionNode, tag: CacheTag,
                         owner: TS.ClassLikeDeclaration | TS.ObjectLiteralExpression | undefined, isStatic: boolean,
                         types: ScanTypes, qualifiedName: string, problems: Problem[],
                         /** Set when resolving the arguments of this tag rather than the key. */ tagName?: string):
    ResolvedKeyPart[] | undefined {
  const params = callParameters(ts, fn);
  if (!tag.key) {
    return params.map((p) => ts.isIdentifier(p.name)
      ? { kind: "param", name: p.name.text, declaration: p }
      : { kind: "pattern", names: boundNames(ts, p.name), declaration: p });
  }
  const span = tag.keySpan ?? { start: tag.start, length: 6 };
  const parts: ResolvedKeyPart[] = [];
  let ok = true;
  for (const part of tag.key) {
    if (part.kind === "this") {
      if (!owner) {
        problems.push(problem("keyThisOutsideMethod", span.start, span.length, `this.${part.name}`));
        ok = false;
      } else if (!types.hasField(owner, part.name, isStatic)) {
        const ownerName = owner && "name" in owner && owner.name ? owner.name.getText(sf) : "this";
        problems.push(problem("keyNoField", span.start, span.length, part.name, ownerName));
        ok = false;
      } else {
        parts.push({ kind: "this", name: part.name });
      }
      continue;
    }
    const declaration = findBinding(ts, params, part.name);
    if (!declaration) {
      const names = params.flatMap((p) => ts.isIdentifier(p.name) ? [p.name.text] : boundNames(ts, p.name));
      problems.push(tagName === undefined
        ? problem("keyNoParameter", span.start, span.length, part.name, qualifiedName, names.join(", ") || "none")
        : problem("tagNoParameter", span.start, span.length, part.name, tagName, qualifiedName, names.join(", ") || "none"));
      ok = false;
    } else {
      parts.push({ kind: "param", name: part.name, declaration });
    }
  }
  return ok ? parts : undefined;
}

function boundNames(ts: typeof TS, name: TS.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((e) => ts.isOmittedExpression(e) ? [] : boundNames(ts, e.name));
}

function findBinding(ts: typeof TS, params: readonly TS.ParameterDeclaration[], name: string):
    TS.ParameterDeclaration | TS.BindingElement | undefined {
  for (const p of params) {
    if (ts.isIdentifier(p.name)) {
      if (p.name.text === name) return p;
      continue;
    }
    const search = (pattern: TS.BindingPattern): TS.BindingElement | undefined => {
      for (const e of pattern.elements) {
        if (ts.isOmittedExpression(e)) continue;
        if (ts.isIdentifier(e.name) && e.name.text === name) return e;
        if (!ts.isIdentifier(e.name)) {
          const found = search(e.name);
          if (found) return found;
        }
      }
      return undefined;
    };
    const found = search(p.name);
    if (found) return found;
  }
  return undefined;
}

/** Does the body read `this` or `super` (not counting nested functions and classes with their own `this`)? */
function readsThis(ts: typeof TS, fn: CachedFunctionNode): boolean {
  const walk = (node: TS.Node): boolean => {
    if (node.kind === ts.SyntaxKind.ThisKeyword || node.kind === ts.SyntaxKind.SuperKeyword) return true;
    if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isClassLike(node) ||
        ts.isMethodDeclaration(node) || ts.isAccessor(node)) return false;
    return !!ts.forEachChild(node, walk);
  };
  return !!fn.body && walk(fn.body);
}

function handlerParameters(ts: typeof TS, fn: CachedFunctionNode, kind: "node" | "fetch"): boolean {
  const params = callParameters(ts, fn);
  const count = kind === "node" ? 2 : 1;
  return params.length >= count && params.slice(0, count).every((p) => ts.isIdentifier(p.name) && !p.dotDotDotToken);
}
