// From a control-flow graph to WebAssembly's structured control flow.
//
// Reducible graphs (everything clang emits) are translated with the dominator-tree
// algorithm of Ramsey, "Beyond Relooper" (ICFP 2022): each node is emitted once,
// inside a `loop` if it is a loop header; the dominator-tree children that are
// merge nodes (two or more forward in-edges) follow it, each after a `block` whose
// end it is, so forward branches are `br` to that block, back edges are `br` to
// the loop, and a node with a single forward in-edge is emitted inline. No
// dispatch variable, no code duplication: V8 sees plain loops and branches.
//
// Irreducible graphs (a loop with two entries; only hand-written bytecode has them)
// fall back to a dispatch loop: a label local and a `br_table` over all nodes.

import { ByteWriter, Op, VOID as IMPORTED_VOID } from './wasm-writer.ts';

// Local copies: under tsx each access to an imported binding is a getter call.
const O = { ...Op };
const VOID = IMPORTED_VOID;

/** A branch target: a node index, or a negative value naming a target outside the graph. */
export type Target = number;

export type Exit =
  | { kind: 'goto'; target: Target }
  /** branch to `taken` when the condition pushed by `condition()` is non-zero, else to `fall` */
  | { kind: 'cond'; taken: Target; fall: Target }
  /** the node's code ends control itself (return, trap) */
  | { kind: 'end' };

export interface Graph {
  /** exits[i] is the exit of node i; node 0 is the entry */
  readonly exits: readonly Exit[];
}

export interface NodeEmitter {
  readonly w: ByteWriter;
  /** the straight-line code of a node; `loopHead` nodes must check the instruction limit */
  node(id: number, loopHead: boolean): void;
  /** push the i32 condition of a node whose exit is 'cond' */
  condition(id: number): void;
  /** code for a branch to an outside target; must not fall through */
  outside(target: Target): void;
  /** an i32 local the dispatch loop may use */
  readonly labelLocal: number;
}

export type Shape = 'structured' | 'dispatch';

/** Above this many nodes in one function, use the dispatch loop (the recursive translation would likely exhaust the JS stack; compile.ts also falls back when it does). */
const STRUCTURED_NODES_MAX = 16000;

interface Analysis {
  /** reverse-postorder number of each node (-1: unreachable) */
  rpo: Int32Array;
  order: number[];
  idom: Int32Array;
  reducible: boolean;
  loopHeader: Uint8Array;
  merge: Uint8Array;
  /** dominator-tree children of node x, in reverse postorder: domKids[domStart[x] .. domStart[x + 1]) */
  domStart: Int32Array;
  domKids: Int32Array;
}

// non-null: node numbers index typed arrays of n entries (hot translation path)
export function analyse(graph: Graph): Analysis {
  // Typed arrays throughout: this runs once per function on every compile, and
  // per-node arrays and closures were a third of the JIT's translation time.
  // Every index below is a node number (0..n-1) or a count within n, so each `!`
  // only drops the undefined that noUncheckedIndexedAccess adds to a typed-array
  // read: this is the hottest loop of the translation, kept free of checks.
  const n = graph.exits.length;
  const succA = new Int32Array(n).fill(-1);
  const succB = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const exit = graph.exits[i];
    if (exit?.kind === 'goto') succA[i] = exit.target;
    else if (exit?.kind === 'cond') {
      succA[i] = exit.taken;
      succB[i] = exit.fall;
    }
  }
  const rpo = new Int32Array(n).fill(-1);
  // Iterative depth-first search for the postorder: node and next successor index.
  const post = new Int32Array(n);
  let postLen = 0;
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const stackNode = new Int32Array(n);
  const stackNext = new Uint8Array(n);
  let sp = 0;
  if (n > 0) {
    stackNode[0] = 0;
    stackNext[0] = 0;
    sp = 1;
    state[0] = 1;
  }
  while (sp > 0) {
    const top = stackNode[sp - 1]!;
    const k = stackNext[sp - 1]!;
    if (k < 2) {
      stackNext[sp - 1] = k + 1;
      const s = k === 0 ? succA[top]! : succB[top]!;
      if (s >= 0 && state[s] === 0) {
        state[s] = 1;
        stackNode[sp] = s;
        stackNext[sp] = 0;
        sp++;
      }
    } else {
      state[top] = 2;
      post[postLen++] = top;
      sp--;
    }
  }
  const order: number[] = new Array<number>(postLen);
  for (let i = 0; i < postLen; i++) {
    const node = post[postLen - 1 - i]!;
    order[i] = node;
    rpo[node] = i;
  }

  // Predecessors (of reachable nodes) in compressed rows.
  const predStart = new Int32Array(n + 1);
  for (let i = 0; i < postLen; i++) {
    const u = order[i]!;
    const a = succA[u]!;
    const b = succB[u]!;
    if (a >= 0) predStart[a + 1]!++;
    if (b >= 0) predStart[b + 1]!++;
  }
  for (let i = 0; i < n; i++) predStart[i + 1]! += predStart[i]!;
  const preds = new Int32Array(predStart[n]!);
  const fill = predStart.slice(0, n);
  for (let i = 0; i < postLen; i++) {
    const u = order[i]!;
    const a = succA[u]!;
    const b = succB[u]!;
    if (a >= 0) preds[fill[a]!++] = u;
    if (b >= 0) preds[fill[b]!++] = u;
  }

  // Dominators: Cooper, Harvey and Kennedy, "A Simple, Fast Dominance Algorithm".
  // Without a retreating edge every predecessor comes first in reverse postorder,
  // so one pass is final; otherwise iterate until nothing changes.
  let retreating = false;
  for (let i = 0; i < postLen && !retreating; i++) {
    const u = order[i]!;
    const a = succA[u]!;
    const b = succB[u]!;
    if ((a >= 0 && rpo[a]! <= i) || (b >= 0 && rpo[b]! <= i)) retreating = true;
  }
  const idom = new Int32Array(n).fill(-1);
  if (n > 0) idom[0] = 0;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < postLen; i++) {
      const b = order[i]!;
      let next = -1;
      for (let j = predStart[b]!; j < predStart[b + 1]!; j++) {
        const p = preds[j]!;
        if (idom[p] === -1) continue;
        if (next === -1) next = p;
        else {
          // intersect(p, next)
          let x = p;
          let y = next;
          while (x !== y) {
            while (rpo[x]! > rpo[y]!) x = idom[x]!;
            while (rpo[y]! > rpo[x]!) y = idom[y]!;
          }
          next = x;
        }
      }
      if (next !== idom[b]) {
        idom[b] = next;
        changed = retreating;
      }
    }
  }

  let reducible = true;
  const loopHeader = new Uint8Array(n);
  const forwardIn = new Int32Array(n);
  for (let i = 0; i < postLen; i++) {
    const u = order[i]!;
    for (let k = 0; k < 2; k++) {
      const s = k === 0 ? succA[u]! : succB[u]!;
      if (s < 0) continue;
      if (rpo[s]! <= rpo[u]!) {
        loopHeader[s] = 1;
        // a back edge must go to a dominator of its source
        let x = u;
        for (;;) {
          if (x === s) break;
          if (x === 0) {
            reducible = false;
            break;
          }
          x = idom[x]!;
        }
      } else {
        forwardIn[s]!++;
      }
    }
  }
  const merge = new Uint8Array(n);
  for (let i = 0; i < n; i++) merge[i] = forwardIn[i]! >= 2 ? 1 : 0;
  // Dominator-tree children in compressed rows, each row in reverse postorder.
  const domStart = new Int32Array(n + 1);
  for (let i = 1; i < postLen; i++) domStart[idom[order[i]!]! + 1]!++;
  for (let i = 0; i < n; i++) domStart[i + 1]! += domStart[i]!;
  const domKids = new Int32Array(Math.max(postLen - 1, 0));
  const at = domStart.slice(0, n);
  for (let i = 1; i < postLen; i++) {
    const b = order[i]!;
    domKids[at[idom[b]!]!++] = b;
  }
  return { rpo, order, idom, reducible, loopHeader, merge, domStart, domKids };
}

/** Emit the code of a whole function body (its graph); returns the shape used. */
export function emitStructured(graph: Graph, e: NodeEmitter, forceDispatch = false): Shape {
  const a = analyse(graph);
  if (forceDispatch || !a.reducible || a.order.length > STRUCTURED_NODES_MAX) {
    emitDispatch(graph, a, e);
    return 'dispatch';
  }
  const w = e.w;
  const { rpo, loopHeader, merge, domStart, domKids } = a;
  // The enclosing constructs, innermost last: the position of each node's open
  // `loop` and `block` (-1: not open), so a branch depth is one subtraction.
  const n = graph.exits.length;
  const loopPos = new Int32Array(n).fill(-1);
  const blockPos = new Int32Array(n).fill(-1);
  let depth = 0;

  const labelOf = (kind: 'loop' | 'block', node: number): number => {
    const pos = (kind === 'loop' ? loopPos[node] : blockPos[node]) ?? -1;
    if (pos < 0) throw new Error(`internal JIT error: no enclosing ${kind} for node ${node}`);
    return depth - 1 - pos;
  };
  // non-null: node numbers index typed arrays of n entries (hot translation path)
  const isBr = (x: number, t: Target): boolean => t >= 0 && (rpo[t]! <= rpo[x]! || merge[t] === 1);
  // non-null: the same typed-array reads as isBr
  const brTo = (x: number, t: Target): number => (rpo[t]! <= rpo[x]! ? labelOf('loop', t) : labelOf('block', t));

  const doBranch = (x: number, t: Target): void => {
    if (t < 0) {
      e.outside(t);
    } else if (isBr(x, t)) {
      w.byte(O.br);
      w.u32(brTo(x, t));
    } else {
      doTree(t);
    }
  };

  const emitExit = (x: number): void => {
    const exit = graph.exits[x];
    if (exit?.kind === 'goto') {
      doBranch(x, exit.target);
    } else if (exit?.kind === 'cond') {
      e.condition(x);
      if (isBr(x, exit.taken)) {
        w.byte(O.br_if);
        w.u32(brTo(x, exit.taken));
        doBranch(x, exit.fall);
      } else if (isBr(x, exit.fall)) {
        w.byte(O.i32_eqz);
        w.byte(O.br_if);
        w.u32(brTo(x, exit.fall));
        doBranch(x, exit.taken);
      } else {
        w.byte(O.if);
        w.byte(VOID);
        depth++;
        doBranch(x, exit.taken);
        w.byte(O.else);
        doBranch(x, exit.fall);
        depth--;
        w.byte(O.end);
      }
    }
  };

  const nodeWithin = (x: number, ys: number[], i: number): void => {
    if (i === ys.length) {
      e.node(x, loopHeader[x] === 1);
      emitExit(x);
      return;
    }
    w.byte(O.block);
    w.byte(VOID);
    const y = ys[i] ?? -1;
    blockPos[y] = depth++;
    nodeWithin(x, ys, i + 1);
    blockPos[y] = -1;
    depth--;
    w.byte(O.end);
    doTree(y);
  };

  const doTree = (x: number): void => {
    // Merge children, highest reverse-postorder number first: it is emitted last.
    // (domChildren lists children in reverse postorder already)
    const ys: number[] = [];
    for (let i = (domStart[x + 1] ?? 0) - 1, first = domStart[x] ?? 0; i >= first; i--) {
      const kid = domKids[i] ?? -1;
      if (merge[kid] === 1) ys.push(kid);
    }
    if (loopHeader[x] === 1) {
      w.byte(O.loop);
      w.byte(VOID);
      loopPos[x] = depth++;
      nodeWithin(x, ys, 0);
      loopPos[x] = -1;
      depth--;
      w.byte(O.end);
    } else {
      nodeWithin(x, ys, 0);
    }
  };

  doTree(0);
  w.byte(O.unreachable);
  return 'structured';
}

function emitDispatch(graph: Graph, a: Analysis, e: NodeEmitter): void {
  const w = e.w;
  const nodes = a.order; // reachable nodes; nodes[0] is the entry
  const slot = new Int32Array(graph.exits.length).fill(-1);
  nodes.forEach((node, i) => (slot[node] = i));
  const count = nodes.length;
  w.byte(O.i32_const);
  w.s32(0);
  w.byte(O.local_set);
  w.u32(e.labelLocal);
  w.byte(O.loop);
  w.byte(VOID);
  for (let i = 0; i < count; i++) {
    w.byte(O.block);
    w.byte(VOID);
  }
  w.byte(O.local_get);
  w.u32(e.labelLocal);
  w.byte(O.br_table);
  w.u32(count);
  for (let i = 0; i < count; i++) w.u32(i);
  w.u32(0);
  const jump = (t: Target, loopDepth: number): void => {
    if (t < 0) {
      e.outside(t);
      return;
    }
    w.byte(O.i32_const);
    w.s32(slot[t] ?? -1);
    w.byte(O.local_set);
    w.u32(e.labelLocal);
    w.byte(O.br);
    w.u32(loopDepth);
  };
  for (let i = 0; i < count; i++) {
    w.byte(O.end);
    const x = nodes[i] ?? -1;
    const loopDepth = count - 1 - i;
    // Every cycle contains a retreating edge of the depth-first order, so checking
    // the limit at their targets bounds every loop, irreducible ones included.
    e.node(x, a.loopHeader[x] === 1);
    const exit = graph.exits[x];
    if (exit?.kind === 'goto') {
      jump(exit.target, loopDepth);
    } else if (exit?.kind === 'cond') {
      e.condition(x);
      w.byte(O.if);
      w.byte(VOID);
      jump(exit.taken, loopDepth + 1);
      w.byte(O.end);
      jump(exit.fall, loopDepth);
    }
  }
  w.byte(O.end);
  w.byte(O.unreachable);
}
