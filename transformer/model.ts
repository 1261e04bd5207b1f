/**
 * The model tscaching works on: a cached function as the scanner finds it (its id, key parts, tag),
 * and how ids are spelled. The scanner produces it; the rewrite, the keys.ts generator, the checks
 * and the CLI read it. Types and id rules only: no TypeScript program is consulted here.
 */
import type * as TS from "typescript";
import type { Problem } from "./diagnostics";
import type { CacheTag } from "./tags";

export type { CacheTag, KeyPart } from "./tags";

export type CachedFunctionNode = TS.FunctionDeclaration | TS.MethodDeclaration | TS.ArrowFunction | TS.FunctionExpression;

/** A key part resolved against the function: a parameter, names bound by a destructured parameter, or a field of `this`. */
export type ResolvedKeyPart =
  | { readonly kind: "param"; readonly name: string; readonly declaration: TS.ParameterDeclaration | TS.BindingElement }
  | { readonly kind: "pattern"; readonly names: readonly string[]; readonly declaration: TS.ParameterDeclaration }
  | { readonly kind: "this"; readonly name: string };

/** One cached function as the transformer and the CLI see it. */
export interface CachedFunction {
  /** The key's stable id: `name=` or `<module path>#<qualified name>`. */
  readonly id: string;
  /** `getEmail`, `DB.get`, `api.users.get`, `default`: the path from module level, as code reaches it. */
  readonly qualifiedName: string;
  /**
   * The name part of the id and the helper's path in keys.ts: `name=` when given, else the qualified
   * name, with `static` before the member name of a static class member (`Repo.static.find`), so a
   * static method never shares an id with the instance method of the same name (`Repo.find`).
   */
  readonly idName: string;
  readonly node: CachedFunctionNode;
  readonly tag: CacheTag;
  readonly keyParts: readonly ResolvedKeyPart[];
  readonly isAsync: boolean;
  readonly isStatic: boolean;
  /** The class or object literal whose method this is, if any. */
  readonly owner?: TS.ClassLikeDeclaration | TS.ObjectLiteralExpression;
  /** 1-based line of the function, for listings. */
  readonly line: number;
  /** `tags=`: each tag's name and its arguments resolved like key parts. */
  readonly tags?: readonly { readonly name: string; readonly args: readonly ResolvedKeyPart[] }[];
  /** An HTTP handler: `node` for `(req, res)` handlers, `fetch` for `(request: Request) => Response`. */
  readonly http?: "node" | "fetch";
  /**
   * The version its entries are keyed under (version.ts): `version=`, else a hash of its code, its
   * result type (its structure with a checker, its declared text without), its key parts and its tags.
   */
  readonly version: string;
}

export interface ScanResult {
  readonly functions: CachedFunction[];
  readonly problems: Problem[];
}

/** Module part of an id: the file's path relative to `rootDir`, with `/` separators and no extension. */
export function modulePath(rootDir: string, fileName: string): string {
  const norm = (p: string) => p.replace(/\\/g, "/").replace(/\/+$/, "");
  const root = norm(rootDir);
  let file = norm(fileName);
  if (file.startsWith(root + "/")) file = file.slice(root.length + 1);
  else file = relative(root, file);
  return file.replace(/\.d\.[cm]?ts$/, "").replace(/\.[cm]?[jt]sx?$/, "");
}

function relative(from: string, to: string): string {
  const a = from.split("/").filter(Boolean);
  const b = to.split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/");
}

/** The id of a cached function: `name=` when given, else module path plus qualified name. */
export function functionId(rootDir: string, fileName: string, qualifiedName: string, name?: string): string {
  return name ?? `${modulePath(rootDir, fileName)}#${qualifiedName}`;
}

/** `Repo.find` of a static member → `Repo.static.find`; everything else as it is. */
export function staticName(qualifiedName: string, isStatic: boolean): string {
  if (!isStatic) return qualifiedName;
  const dot = qualifiedName.lastIndexOf(".");
  return `${qualifiedName.slice(0, dot)}.static${qualifiedName.slice(dot)}`;
}
