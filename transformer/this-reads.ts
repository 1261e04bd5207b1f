/**
 * What a cached method reads from `this`, judged by meaning (the declared types), not by spelling.
 *
 * A data field (a string, a number, a plain object, an array, a Date…) can change the result: a
 * method that reads `this.tenant` with a key of its parameters only would hand one tenant's answer
 * to another. A collaborator (a field whose type is an object with methods, or a function: a
 * repository, an HTTP client, an injected service) is how the method computes, not what it
 * computes from, so reading it is not a key input. Calls to the class's own methods are followed,
 * so a helper method that reads a data field counts as a read of that field.
 */
import type * as TS from "typescript";

/** Types the key encoder and the codec carry as data, though their interfaces have methods. */
const DATA_CLASSES = new Set([
  "Date", "RegExp", "URL", "Buffer", "ArrayBuffer", "SharedArrayBuffer", "DataView", "Uint8Array", "Int8Array",
  "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
  "BigInt64Array", "BigUint64Array", "String", "Number", "Boolean", "BigInt", "Map", "ReadonlyMap", "Set", "ReadonlySet",
  "Array", "ReadonlyArray", "URLSearchParams",
]);

/** The reads of one method: fields that are data, and reads whose meaning the types do not tell. */
export interface ThisReads {
  /** `this.tenant`, `this.options`: data fields read, in first-read order. */
  readonly data: string[];
  /** Reads the types cannot classify (an `any` field, `this[expr]`): worth a warning, not an error. */
  readonly unclear: string[];
}

type Kind = "data" | "collaborator" | "unclear";

/** Classify every read of `this` (and `super`) in `fn`'s body, following calls to its own class's methods. */
export function classifyThisReads(ts: typeof TS, checker: TS.TypeChecker, fn: TS.FunctionLikeDeclaration): ThisReads {
  const data: string[] = [];
  const unclear: string[] = [];
  const add = (list: string[], name: string) => {
    if (!list.includes(name)) list.push(name);
  };
  const visited = new Set<TS.Node>([fn]);

  const visitMember = (access: TS.PropertyAccessExpression | TS.ElementAccessExpression): void => {
    const nameNode = ts.isPropertyAccessExpression(access) ? access.name : access.argumentExpression;
    const literal = ts.isPropertyAccessExpression(access) ? access.name.text
      : ts.isStringLiteralLike(access.argumentExpression) || ts.isNumericLiteral(access.argumentExpression)
        ? access.argumentExpression.text : undefined;
    if (literal === undefined) {
      add(unclear, `this[${nameNode.getText()}]`);
      return;
    }
    const label = `this.${literal}`;
    const symbol = checker.getSymbolAtLocation(nameNode);
    const declaration = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
    if (!symbol || !declaration) {
      add(unclear, label);
      return;
    }
    if (ts.isMethodDeclaration(declaration) || ts.isGetAccessorDeclaration(declaration)) {
      // Own (or inherited) code: what it reads is what this method reads.
      if (declaration.body && !visited.has(declaration)) {
        visited.add(declaration);
        walk(declaration.body);
      } else if (!declaration.body && ts.isGetAccessorDeclaration(declaration)) {
        classifyField(label, checker.getTypeOfSymbolAtLocation(symbol, access));
      }
      return;
    }
    if (ts.isMethodSignature(declaration) || ts.isSetAccessorDeclaration(declaration)) return;
    // `helper = () => this.tenant`: a method written as an arrow-function field.
    const initializer = ts.isPropertyDeclaration(declaration) ? declaration.initializer : undefined;
    if (initializer && ts.isArrowFunction(initializer)) {
      if (!visited.has(initializer)) {
        visited.add(initializer);
        walk(initializer.body);
      }
      return;
    }
    classifyField(label, checker.getTypeOfSymbolAtLocation(symbol, access));
  };

  const classifyField = (label: string, type: TS.Type) => {
    const kind = kindOf(ts, checker, type, 0);
    if (kind === "data") add(data, label);
    else if (kind === "unclear") add(unclear, label);
  };

  // `this` as a whole (passed on, spread, returned): every data field of it may be read.
  const visitWhole = (node: TS.Node) => {
    const type = checker.getTypeAtLocation(node);
    for (const property of checker.getPropertiesOfType(type)) {
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      if (!declaration || ts.isMethodDeclaration(declaration) || ts.isMethodSignature(declaration) || ts.isAccessor(declaration)) continue;
      const kind = kindOf(ts, checker, checker.getTypeOfSymbolAtLocation(property, node), 0);
      if (kind === "data") add(data, `this.${property.getName()}`);
      else if (kind === "unclear") add(unclear, `this.${property.getName()}`);
    }
  };

  const walk = (node: TS.Node): void => {
    if (node.kind === ts.SyntaxKind.ThisKeyword || node.kind === ts.SyntaxKind.SuperKeyword) {
      const parent = node.parent;
      if ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) && parent.expression === node) {
        visitMember(parent);
      } else {
        visitWhole(node);
      }
      return;
    }
    // Functions and classes of their own have their own `this`; arrow functions share it.
    if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node) || ts.isClassLike(node) ||
        ts.isMethodDeclaration(node) || ts.isAccessor(node)) return;
    ts.forEachChild(node, walk);
  };

  if (fn.body) walk(fn.body);
  return { data, unclear };
}

/** Is a field of this type data (can change a result), a collaborator, or unknown to the types? */
function kindOf(ts: typeof TS, checker: TS.TypeChecker, type: TS.Type, depth: number): Kind {
  const F = ts.TypeFlags;
  if (depth > 4) return "unclear";
  if (type.flags & (F.Any | F.Unknown)) return "unclear";
  if (type.flags & F.TypeParameter) {
    const constraint = checker.getBaseConstraintOfType(type);
    return constraint && constraint !== type ? kindOf(ts, checker, constraint, depth + 1) : "unclear";
  }
  if (type.isUnion()) {
    // `repo?: Repo` is a collaborator; `string | undefined` is data.
    const members = type.types.filter((t) => !(t.flags & (F.Undefined | F.Null | F.Void)));
    if (members.length === 0) return "data";
    const kinds = members.map((t) => kindOf(ts, checker, t, depth + 1));
    if (kinds.includes("data")) return "data";
    return kinds.every((k) => k === "collaborator") ? "collaborator" : "unclear";
  }
  if (!(type.flags & F.Object) && !(type.flags & F.Intersection)) return "data"; // primitives, literals, enums
  if (type.getCallSignatures().length > 0 || type.getConstructSignatures().length > 0) return "collaborator";
  const name = (type.aliasSymbol ?? type.getSymbol())?.getName() ?? "";
  if (DATA_CLASSES.has(name) || checker.isArrayType(type) || checker.isTupleType(type)) return "data";
  const then = checker.getPropertyOfType(type, "then");
  if (then) {
    // A lazily made connection (`Promise<Db>`) is as much a collaborator as the Db itself.
    const awaited = checker.getAwaitedType(type);
    return awaited && awaited !== type ? kindOf(ts, checker, awaited, depth + 1) : "unclear";
  }
  for (const property of checker.getPropertiesOfType(type)) {
    const declaration = property.valueDeclaration ?? property.declarations?.[0];
    if (!declaration) continue;
    if (ts.isMethodDeclaration(declaration) || ts.isMethodSignature(declaration)) return "collaborator";
    if (ts.isPropertyDeclaration(declaration) || ts.isPropertySignature(declaration)) {
      const propertyType = checker.getTypeOfSymbolAtLocation(property, declaration);
      if (propertyType.getCallSignatures().length > 0) return "collaborator";
    }
  }
  return "data";
}
