/**
 * Near misses: a comment on a function that was surely meant as a `@cache` tag but is not one, such
 * as `/** @cached ttl=5m *\/`, `/** @Cache *\/`, `// @cache` or `/* @cache *\/`. Such a function is
 * not cached, and nothing else would say so: each earns a warning pointing at the comment.
 */
import type * as TS from "typescript";
import { problem, type Problem } from "./diagnostics";
import { findCacheTags, isJSDocComment } from "./tags";

/** Tag names that mean `cache` to a reader but not to the grammar (which is case-sensitive). */
const NEAR_NAME = /^cach(e|ed)$/i;
/** A tag as TypeScript reads one: `@name` at a line start or after whitespace. */
const TAG = /(^|\s)@([A-Za-z_][\w-]*)/g;

/**
 * Text that may hold a near miss: `@cached` or `@Cache` in any case but `@cache`, or `@cache` right
 * after `//` or a plain `/*`. A file with none (only real tags, or none at all) is not walked.
 */
const MAY_NEAR_MISS = [/@cached\b/i, /@(?!cache)[cC][aA][cC][hH][eE]\b/, /\/\/\s*@cach/i, /\/\*(?!\*)\s*@cach/i];

/** Warnings for the near-miss tags on the functions of `sf`; cheap for files without one. */
export function findNearMissTags(ts: typeof TS, sf: TS.SourceFile): Problem[] {
  const problems: Problem[] = [];
  if (!MAY_NEAR_MISS.some((re) => re.test(sf.text))) return problems;
  const seen = new Set<number>();
  const visit = (node: TS.Node): void => {
    if (holdsFunction(ts, node)) {
      const ranges = [...ts.getTrailingCommentRanges(sf.text, node.pos) ?? [], ...ts.getLeadingCommentRanges(sf.text, node.pos) ?? []];
      for (const range of ranges) {
        if (seen.has(range.pos)) continue;
        seen.add(range.pos);
        const found = nearMissIn(sf.text.slice(range.pos, range.end), range.pos);
        if (found) problems.push(problem("nearMissTag", found.start, found.length, found.text));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return problems;
}

/** The near-miss tag of one comment (`start` is the comment's offset in the file), if any. */
export function nearMissIn(comment: string, start: number): { text: string; start: number; length: number } | undefined {
  const jsDoc = isJSDocComment(comment);
  // A JSDoc comment with a real @cache tag is the scanner's business, right or wrong.
  if (jsDoc && findCacheTags(comment, start).tags.length > 0) return undefined;
  // Delimiters blanked in place, so that `//@cache` reads as a tag and offsets hold.
  const body = comment.replace(/^\/[/*]\**/, (m) => " ".repeat(m.length));
  for (const m of body.matchAll(TAG)) {
    const name = m[2];
    const at = m.index! + m[1].length;
    // Outside JSDoc only a comment that is nothing but the tag counts: prose may mention @cache.
    if (!NEAR_NAME.test(name) || (jsDoc && name === "cache") || (!jsDoc && body.slice(0, at).trim() !== "")) continue;
    const text = jsDoc ? `'@${name}'` : `'@${name}' in a ${comment.startsWith("//") ? "line" : "block"} comment (not JSDoc)`;
    return { text, start: start + at, length: name.length + 1 };
  }
  return undefined;
}

/** Can a `@cache` tag in the comments at this node's start apply to a function? */
function holdsFunction(ts: typeof TS, node: TS.Node): boolean {
  const isFunction = (e: TS.Node | undefined): boolean => {
    while (e && (ts.isParenthesizedExpression(e) || ts.isSatisfiesExpression(e) || ts.isAsExpression(e))) e = e.expression;
    return !!e && (ts.isArrowFunction(e) || ts.isFunctionExpression(e));
  };
  if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || isFunction(node)) return true;
  if (ts.isVariableStatement(node)) return node.declarationList.declarations.some((d) => isFunction(d.initializer));
  if (ts.isPropertyDeclaration(node) || ts.isPropertyAssignment(node)) return isFunction(node.initializer);
  return false;
}
