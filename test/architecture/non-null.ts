// The non-null assertions (`x!`) of a TypeScript source, read from its syntax
// tree (typescript's NonNullExpression), so that `a !== b`, `!a` and a `!`
// inside a string or a comment never count. A site is "reasoned" when a comment
// `non-null: <why, in a few words>` precedes it or one of its enclosing
// statements, loops, case clauses, functions or class members, or precedes an
// earlier statement of an enclosing block (a reason covers the rest of its
// block): one comment per function or loop covers its sites.

import ts from 'typescript';

export interface NonNullSite {
  /** 1-based line of the asserted expression */
  line: number;
  /** a `non-null:` comment covers the site */
  reasoned: boolean;
}

/** `non-null:` followed by at least three words of reason. */
export const REASON = /non-null:\s*\S+(?:\s+\S+){2,}/;

/** Every non-null assertion of `source` (the text of a file named `fileName`). */
export function nonNullSites(fileName: string, source: string): NonNullSite[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const reasonedNodes = new Map<ts.Node, boolean>();
  const hasReason = (node: ts.Node): boolean => {
    const known = reasonedNodes.get(node);
    if (known !== undefined) return known;
    // The file's own header does not count: a reason belongs to a function, a loop or a statement.
    if (ts.isSourceFile(node)) return false;
    const reasonBefore = (n: ts.Node): boolean => (ts.getLeadingCommentRanges(source, n.pos) ?? []).some((r) => REASON.test(source.slice(r.pos, r.end)));
    // a reason inside a block covers what follows it there: the comment before a statement covers
    // that statement and the later ones of the same block
    const parent = node.parent;
    const siblings = ts.isBlock(parent) ? parent.statements : undefined;
    const at = siblings?.indexOf(node as ts.Statement) ?? -1;
    const own = reasonBefore(node) || (siblings !== undefined && siblings.slice(0, Math.max(at, 0)).some(reasonBefore));
    const result = own || hasReason(node.parent);
    reasonedNodes.set(node, result);
    return result;
  };
  const sites: NonNullSite[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isNonNullExpression(node)) {
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      sites.push({ line: line + 1, reasoned: hasReason(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return sites;
}
