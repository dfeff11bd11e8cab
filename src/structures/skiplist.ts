// The on-disk skip list (format: skiplist-format.ts): a builder from a set of
// pairs with seeded levels, user-space point lookups and range scans that make
// exactly the reads the storage functions make (bpf/structures/skiplist.bpf.c),
// and in-place inserts and deletes for a file that changes between queries.

import { Prng } from '../base/prng.ts';
import { corruptError, paramError } from './errors.ts';
import { readExact, runWalk, type BlockSource, type BlockWalk, type WriteSink } from './io.ts';
import {
  checkKey,
  checkValue,
  decodeNode,
  emptyForwards,
  encodeNode,
  headCount,
  headNode,
  SL_HEAD_OFFSET,
  SL_LEVEL_MAX,
  SL_MAGIC_DEAD,
  SL_MAGIC_HEAD,
  SL_MAGIC_NODE,
  SL_NODE_BYTES,
  SL_VALUE_BYTES,
  type SlForward,
  type SlNode,
  type SlPair,
} from './skiplist-format.ts';
import { at } from '../base/checked.ts';

/** Nodes per file (a limit: 2^22 nodes are 2 GiB). */
export const SL_NODES_MAX = 2 ** 22;

export interface SkipListEntry {
  key: bigint;
  /** at most 64 bytes; zero-padded to 64 on disk */
  value: Uint8Array;
}

export interface SkipListLevels {
  /** seed of the node levels */
  seed: number;
  /** a node reaches level l + 1 from level l with probability 1 / promoteOneIn (2 to 16, default 2) */
  promoteOneIn?: number;
}

/** Draws node levels: 1 + the number of promotions, at most SL_LEVEL_MAX. */
export class LevelDrawer {
  private readonly rng: Prng;
  private readonly threshold: number;

  constructor(options: SkipListLevels) {
    const oneIn = options.promoteOneIn ?? 2;
    if (!Number.isInteger(oneIn) || oneIn < 2 || oneIn > 16) throw paramError(`skip list: promoteOneIn must be 2..16, got ${String(oneIn)}`);
    this.rng = new Prng(options.seed);
    this.threshold = Math.floor(0x1_0000_0000 / oneIn);
  }

  next(): number {
    let level = 1;
    while (level < SL_LEVEL_MAX && this.rng.nextU32() < this.threshold) level++;
    return level;
  }
}

export interface SkipListBuildSummary {
  nodes: number;
  fileBytes: number;
  /** nodes per level count: levelCounts[h - 1] nodes have level h */
  levelCounts: number[];
}

function padValue(value: Uint8Array): Uint8Array {
  const out = new Uint8Array(SL_VALUE_BYTES);
  out.set(value);
  return out;
}

/** Writes a skip list of `entries` (distinct keys, any order) into `sink`: the head, then the nodes in key order. */
export function buildSkipList(sink: WriteSink, entries: readonly SkipListEntry[], options: SkipListLevels): SkipListBuildSummary {
  if (entries.length > SL_NODES_MAX) throw paramError(`skip list: at most ${SL_NODES_MAX} entries, got ${entries.length}`);
  for (const e of entries) {
    checkKey(e.key);
    checkValue(e.value, e.key);
  }
  const sorted = [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let previous: SkipListEntry | undefined;
  for (const e of sorted) {
    if (previous !== undefined && e.key === previous.key) throw paramError(`skip list: key ${e.key} appears twice`);
    previous = e;
  }
  const drawer = new LevelDrawer(options);
  const nodes = sorted.map((entry) => ({ entry, level: drawer.next(), links: [] as SlForward[] }));
  const levelCounts = new Array<number>(SL_LEVEL_MAX).fill(0);
  for (const { level } of nodes) levelCounts[level - 1] = at(levelCounts, level - 1, 'skip list level count') + 1;

  // Links, from the last node back: on every level, the nearest node to the right.
  const right: SlForward[] = emptyForwards();
  for (const [i, node] of [...nodes.entries()].reverse()) {
    node.links = right.slice(0, node.level).map((f) => ({ ...f }));
    const offset = (i + 1) * SL_NODE_BYTES;
    for (let l = 0; l < node.level; l++) right[l] = { key: node.entry.key, offset };
  }
  const head = headNode(sorted.length);
  head.fwd = right;

  const chunkNodes = 2048;
  const chunk = new Uint8Array(chunkNodes * SL_NODE_BYTES);
  let used = 0;
  let written = 0;
  const put = (node: SlNode): void => {
    encodeNode(node, chunk.subarray(used * SL_NODE_BYTES, (used + 1) * SL_NODE_BYTES));
    if (++used === chunkNodes) flush();
  };
  const flush = (): void => {
    if (used === 0) return;
    sink.write(written, chunk.subarray(0, used * SL_NODE_BYTES));
    written += used * SL_NODE_BYTES;
    used = 0;
  };
  put(head);
  for (const { entry: e, level, links } of nodes) {
    const fwd = emptyForwards();
    links.forEach((f, l) => (fwd[l] = f));
    put({ key: e.key, magic: SL_MAGIC_NODE, level, value: padValue(e.value), fwd });
  }
  flush();
  return { nodes: sorted.length, fileBytes: written, levelCounts };
}

/** Distinct keys 0, stride, 2 * stride, ... with an 8-byte value holding the key (bench workloads). */
export function stridedEntries(count: number, stride = 2n): SkipListEntry[] {
  if (!Number.isSafeInteger(count) || count < 0 || count > SL_NODES_MAX) throw paramError(`skip list: count must be 0..${SL_NODES_MAX}, got ${String(count)}`);
  return Array.from({ length: count }, (_, i) => {
    const key = BigInt(i) * stride;
    const value = new Uint8Array(8);
    new DataView(value.buffer).setBigUint64(0, key, true);
    return { key, value };
  });
}

/** The link of `node` on `level`: every node holds SL_LEVEL_MAX links, so a missing one is a corrupt node. */
function link(node: SlNode, level: number): SlForward {
  const f = node.fwd[level];
  if (f === undefined) throw corruptError(`skip list: the node of key ${node.key} has no link on level ${level}`);
  return f;
}

/** The predecessor of `key` on `level` (predecessors() finds one on every level). */
function predecessor<P>(preds: readonly P[], level: number, key: bigint): P {
  const p = preds[level];
  if (p === undefined) throw corruptError(`skip list: no predecessor of key ${key} on level ${level}`);
  return p;
}

// ---- user-space walks (the same reads as the storage functions) ----

/** Checks a node read at `offset`: the head (expectKey null) or the node its predecessor announced. */
function checkNode(block: Uint8Array, offset: number, expectKey: bigint | null): SlNode {
  const node = decodeNode(block, offset);
  if (expectKey === null) {
    if (node.magic !== SL_MAGIC_HEAD) throw corruptError(`skip list: offset ${offset} holds no head (magic 0x${node.magic.toString(16)})`);
  } else if (node.magic !== SL_MAGIC_NODE || node.key !== expectKey) {
    throw corruptError(`skip list: node at offset ${offset} holds key ${node.key}, its predecessor announced ${expectKey}`);
  }
  return node;
}

/** Reads and checks a node from a synchronous source (the writer). */
function readNode(source: BlockSource, offset: number, expectKey: bigint | null): SlNode {
  return checkNode(readExact(source, offset, SL_NODE_BYTES, 'a skip-list node'), offset, expectKey);
}

function checkLink(node: SlNode, at: number, f: SlForward, atHead: boolean, level: number): void {
  if (!atHead && f.key <= node.key) {
    throw corruptError(`skip list: node at offset ${at} (key ${node.key}) links level ${level} to key ${f.key}: keys must rise`);
  }
}

/** Keys rise strictly along a search, so it visits each node once; this bounds a walk over a corrupt file. */
export const SL_WALK_HOPS_MAX = SL_NODES_MAX + 1;

interface Position {
  node: SlNode;
  offset: number;
  atHead: boolean;
  reads: number;
}

/**
 * Descends from the head to the last node whose key is below `bound` (strictly),
 * or, with `stopAtEqual`, stops at the first link to `bound` itself. Returns
 * that node and, if found, the link to the key.
 */
function* descend(bound: bigint, stopAtEqual: boolean): BlockWalk<{ at: Position; equal: SlForward | null }> {
  let at: Position = { node: checkNode(yield SL_HEAD_OFFSET, SL_HEAD_OFFSET, null), offset: SL_HEAD_OFFSET, atHead: true, reads: 1 };
  let level = SL_LEVEL_MAX - 1;
  for (let hop = 0; hop <= SL_WALK_HOPS_MAX; hop++) {
    level = Math.min(level, at.node.level - 1);
    let next: SlForward | null = null;
    for (; level >= 0; level--) {
      const f = link(at.node, level);
      if (f.offset === 0 || f.key > bound || (!stopAtEqual && f.key === bound)) continue;
      checkLink(at.node, at.offset, f, at.atHead, level);
      if (f.key === bound) return { at, equal: f };
      next = f;
      break;
    }
    if (next === null) return { at, equal: null };
    at = { node: checkNode(yield next.offset, next.offset, next.key), offset: next.offset, atHead: false, reads: at.reads + 1 };
  }
  throw corruptError(`skip list: the search for ${bound} made more than ${SL_WALK_HOPS_MAX} hops`);
}

export interface SkipListGet {
  found: boolean;
  value?: Uint8Array;
  /** nodes read, the head included (the storage function's scratch `reads`) */
  reads: number;
}

/** Point lookup as a coroutine: the head, the nodes on the search path, then the node holding the key. */
export function* skipListGetWalk(key: bigint): BlockWalk<SkipListGet> {
  checkKey(key);
  const { at, equal } = yield* descend(key, true);
  if (equal === null) return { found: false, reads: at.reads };
  const node = checkNode(yield equal.offset, equal.offset, equal.key);
  return { found: true, value: node.value, reads: at.reads + 1 };
}

/** Point lookup over a synchronous source. */
export function skipListGet(source: BlockSource, key: bigint): SkipListGet {
  return runWalk(source, skipListGetWalk(key));
}

export interface SkipListRange {
  pairs: SlPair[];
  reads: number;
}

/** Range scan as a coroutine: every pair with begin <= key <= end, in key order. */
export function* skipListRangeWalk(begin: bigint, end: bigint): BlockWalk<SkipListRange> {
  checkKey(begin, 'range begin');
  checkKey(end, 'range end');
  const { at } = yield* descend(begin, false);
  let { node, offset, atHead, reads } = at;
  const pairs: SlPair[] = [];
  for (let hop = 0; hop <= SL_WALK_HOPS_MAX; hop++) {
    const f = link(node, 0);
    if (f.offset === 0 || f.key > end) return { pairs, reads };
    checkLink(node, offset, f, atHead, 0);
    node = checkNode(yield f.offset, f.offset, f.key);
    offset = f.offset;
    atHead = false;
    reads++;
    pairs.push({ key: node.key, value: node.value });
  }
  throw corruptError(`skip list: the scan from ${begin} made more than ${SL_WALK_HOPS_MAX} hops`);
}

/** Range scan over a synchronous source. */
export function skipListRange(source: BlockSource, begin: bigint, end: bigint): SkipListRange {
  return runWalk(source, skipListRangeWalk(begin, end));
}

// ---- changes in place ----

export type ReadWriteFile = BlockSource & WriteSink;

/**
 * Inserts and deletes on a skip-list file, as a user-space writer would between
 * queries: a new node goes at the end of the file and its predecessors' links
 * are rewritten in place; a deleted node is unlinked on every level and marked
 * "XSLD" (its space is not reused until a rebuild).
 */
export class SkipListWriter {
  private readonly drawer: LevelDrawer;

  constructor(
    private readonly file: ReadWriteFile,
    levels: SkipListLevels,
  ) {
    this.drawer = new LevelDrawer(levels);
    if (file.sizeBytes === 0) file.write(SL_HEAD_OFFSET, encodeNode(headNode(0)));
    if (file.sizeBytes % SL_NODE_BYTES !== 0) throw corruptError(`skip list: file of ${file.sizeBytes} bytes is not whole 512-byte nodes`);
    readNode(file, SL_HEAD_OFFSET, null);
  }

  /** The live-node count kept in the head. */
  get count(): number {
    return headCount(readNode(this.file, SL_HEAD_OFFSET, null));
  }

  /** The last node below `key` on every level (offsets and nodes), and the node holding `key` if any. */
  private predecessors(key: bigint): { preds: Array<{ offset: number; node: SlNode }>; hit: SlForward | null } {
    const preds: Array<{ offset: number; node: SlNode }> = new Array(SL_LEVEL_MAX);
    let offset = SL_HEAD_OFFSET;
    let node = readNode(this.file, offset, null);
    let hit: SlForward | null = null;
    const hopsMax = Math.floor(this.file.sizeBytes / SL_NODE_BYTES) + 1;
    let hops = 0;
    for (let level = SL_LEVEL_MAX - 1; level >= 0; level--) {
      for (;;) {
        const f = link(node, level);
        if (f.offset === 0 || f.key >= key) {
          if (f.offset !== 0 && f.key === key) hit = f;
          break;
        }
        checkLink(node, offset, f, offset === SL_HEAD_OFFSET, level);
        if (++hops > hopsMax) throw corruptError(`skip list: the search for ${key} made more hops than the file has nodes`);
        node = readNode(this.file, f.offset, f.key);
        offset = f.offset;
      }
      preds[level] = { offset, node };
    }
    return { preds, hit };
  }

  /** Writes every changed node once (a node can be the predecessor on several levels). */
  private writeNodes(changed: Map<number, SlNode>): void {
    for (const [offset, node] of changed) this.file.write(offset, encodeNode(node));
  }

  private setCount(changed: Map<number, SlNode>, delta: number): void {
    const head = changed.get(SL_HEAD_OFFSET) ?? readNode(this.file, SL_HEAD_OFFSET, null);
    const count = headCount(head) + delta;
    new DataView(head.value.buffer, head.value.byteOffset, 8).setBigUint64(0, BigInt(count), true);
    changed.set(SL_HEAD_OFFSET, head);
  }

  /** Inserts `key` (or replaces its value): 'inserted' or 'updated'. */
  insert(key: bigint, value: Uint8Array): 'inserted' | 'updated' {
    checkKey(key);
    checkValue(value, key);
    const { preds, hit } = this.predecessors(key);
    if (hit !== null) {
      const node = readNode(this.file, hit.offset, key);
      node.value = padValue(value);
      this.file.write(hit.offset, encodeNode(node));
      return 'updated';
    }
    const offset = this.file.sizeBytes;
    if (offset / SL_NODE_BYTES >= SL_NODES_MAX) throw paramError(`skip list: the file already holds ${SL_NODES_MAX} nodes`);
    const level = this.drawer.next();
    const fwd = emptyForwards();
    const changed = new Map<number, SlNode>();
    for (let l = 0; l < level; l++) {
      const p = predecessor(preds, l, key);
      const pred = changed.get(p.offset) ?? p.node;
      fwd[l] = { ...link(pred, l) };
      pred.fwd[l] = { key, offset };
      changed.set(p.offset, pred);
    }
    const added: SlNode = { key, magic: SL_MAGIC_NODE, level, value: padValue(value), fwd };
    changed.set(offset, added);
    this.setCount(changed, +1);
    // the new node first, so the file never links to a node that is not there yet
    this.file.write(offset, encodeNode(changed.get(offset) ?? added));
    changed.delete(offset);
    this.writeNodes(changed);
    return 'inserted';
  }

  /** Deletes `key`; false when it is not there. */
  delete(key: bigint): boolean {
    checkKey(key);
    const { preds, hit } = this.predecessors(key);
    if (hit === null) return false;
    const target = readNode(this.file, hit.offset, key);
    const changed = new Map<number, SlNode>();
    for (let l = 0; l < target.level; l++) {
      const p = predecessor(preds, l, key);
      const pred = changed.get(p.offset) ?? p.node;
      if (link(pred, l).offset !== hit.offset) throw corruptError(`skip list: key ${key} is not linked on level ${l}`);
      pred.fwd[l] = { ...link(target, l) };
      changed.set(p.offset, pred);
    }
    this.setCount(changed, -1);
    this.writeNodes(changed);
    this.file.write(hit.offset, encodeNode({ ...target, magic: SL_MAGIC_DEAD }));
    return true;
  }
}
