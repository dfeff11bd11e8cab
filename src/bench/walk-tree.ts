// Complete f-ary trees in the node format of bpf/xrp/walk.bpf.c, the storage
// function that fans out to every child of a node (up to 16). Used by the
// fan-out experiment: the whole tree is visited, so the answer (visits, sum of
// values, sum of tail words) is known in closed form and checks every walk.
//
// Node (512 bytes, little-endian): op u32 @0 (0 END, 1 NEXT, 3 FANOUT), n u32 @4,
// value u64 @8, self_size u64 @16, addr[16] u64 @24, size[16] u64 @152, and a
// tail word at self_size - 8.

import { BenchError } from './errors.ts';

export const WALK_NODE_BYTES = 512;
export const WALK_FANOUT_MAX = 16;
export const WALK_NODES_MAX = 100_000;
const OP_END = 0;
const OP_NEXT = 1;
const OP_FANOUT = 3;
/** Offset of node 0 (the root); nodes follow in breadth-first order. */
export const WALK_ROOT_OFFSET = 4096;

export interface WalkTree {
  bytes: Uint8Array;
  fanout: number;
  levels: number;
  nodes: number;
  /** Offsets of the nodes of each level, root level first. */
  levelOffsets: number[][];
  expected: { visits: bigint; sum: bigint; tail: bigint };
}

export function walkTreeNodes(fanout: number, levels: number): number {
  let nodes = 0;
  let width = 1;
  for (let l = 0; l < levels; l++) {
    nodes += width;
    width *= fanout;
  }
  return nodes;
}

export function buildWalkTree(fanout: number, levels: number): WalkTree {
  if (!Number.isInteger(fanout) || fanout < 1 || fanout > WALK_FANOUT_MAX) throw new BenchError(`walk tree: fan-out must be 1..${WALK_FANOUT_MAX}, got ${fanout}`);
  if (!Number.isInteger(levels) || levels < 1) throw new BenchError(`walk tree: levels must be a positive integer, got ${levels}`);
  const nodes = walkTreeNodes(fanout, levels);
  if (nodes > WALK_NODES_MAX) throw new BenchError(`walk tree: fan-out ${fanout} with ${levels} levels has ${nodes} nodes, more than ${WALK_NODES_MAX}`);
  const bytes = new Uint8Array(WALK_ROOT_OFFSET + nodes * WALK_NODE_BYTES);
  const view = new DataView(bytes.buffer);
  const offsetOf = (i: number): number => WALK_ROOT_OFFSET + i * WALK_NODE_BYTES;
  const levelOffsets: number[][] = [];
  let first = 0;
  let width = 1;
  let sum = 0n;
  for (let l = 0; l < levels; l++) {
    const offs: number[] = [];
    for (let j = 0; j < width; j++) {
      const i = first + j;
      const off = offsetOf(i);
      offs.push(off);
      const value = BigInt(i + 1);
      sum += value;
      const leaf = l === levels - 1;
      view.setUint32(off, leaf ? OP_END : fanout === 1 ? OP_NEXT : OP_FANOUT, true);
      view.setUint32(off + 4, leaf ? 0 : fanout, true);
      view.setBigUint64(off + 8, value, true);
      view.setBigUint64(off + 16, BigInt(WALK_NODE_BYTES), true);
      if (!leaf) {
        const firstChild = first + width + j * fanout;
        for (let c = 0; c < fanout; c++) {
          view.setBigUint64(off + 24 + 8 * c, BigInt(offsetOf(firstChild + c)), true);
          view.setBigUint64(off + 152 + 8 * c, BigInt(WALK_NODE_BYTES), true);
        }
      }
      view.setBigUint64(off + WALK_NODE_BYTES - 8, value * 3n + 1n, true);
    }
    levelOffsets.push(offs);
    first += width;
    width *= fanout;
  }
  return { bytes, fanout, levels, nodes, levelOffsets, expected: { visits: BigInt(nodes), sum, tail: 3n * sum + BigInt(nodes) } };
}

/** The user-space side of walk.bpf.c for one node: its value, tail word and children. */
export function parseWalkNode(block: Uint8Array): { value: bigint; tail: bigint; children: number[] } {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const op = view.getUint32(0, true);
  const n = op === OP_NEXT ? 1 : op === OP_FANOUT ? Math.min(view.getUint32(4, true), WALK_FANOUT_MAX) : 0;
  if (op !== OP_END && op !== OP_NEXT && op !== OP_FANOUT) throw new BenchError(`walk tree: bad node op ${op}`);
  const children: number[] = [];
  for (let c = 0; c < n; c++) children.push(Number(view.getBigUint64(24 + 8 * c, true)));
  return { value: view.getBigUint64(8, true), tail: view.getBigUint64(WALK_NODE_BYTES - 8, true), children };
}
