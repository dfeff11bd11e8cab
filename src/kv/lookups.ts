// The user-space reference: point lookups, range scans and aggregations over
// any BlockSource with synchronous positioned reads, following the original's
// user-space code (helpers.c nxt_node/key_exists, get.c
// read_value_the_hard_way, range.c's scan). Every other mode (io_uring, SPDK,
// XRP storage functions) must give the same answers, and a corrupt file the
// same error: the walk makes the structural checks of src/kv/checks.ts, the
// one definition every mode and engine uses (KvStructureError).

import { XrpError } from '../base/errors.ts';
import { readExact, type BlockSource } from '../base/block-source.ts';
import { checkRoot, kvLayersOfSize, KvStructureError, KvVisited, leafTypeError, nextLeafPointer, nodePointer, nodeTypeOf, valuePointer, type KvWalkPlace } from './checks.ts';
import {
  BLOCK_BYTES,
  decodeNode,
  NODE_BYTES,
  NODE_CAPACITY,
  NODE_NEXT_OFFSET,
  NODE_PTRS_OFFSET,
  ROOT_NODE_OFFSET,
  VALUE_BYTES,
  valueNumber,
  type KvNode,
} from './format.ts';

/** A bad argument of a lookup (a key that is not a u64, bad flags); a bad FILE is a KvStructureError (checks.ts). */
export class KvLookupError extends XrpError {
  constructor(message: string) {
    super('KV_LOOKUP', message);
  }
}

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** The file's name in errors when the caller does not give one. */
const UNNAMED_FILE = 'the BPF-KV file';

/** nxt_node: the index of ptr[i-1] for the first i >= 1 with key < key[i], else 30. */
function nextIndex(key: bigint, node: KvNode): number {
  for (let i = 1; i < NODE_CAPACITY; i++) if (key < (node.keys[i] ?? 0n)) return i - 1;
  return NODE_CAPACITY - 1;
}

function keyExists(key: bigint, node: KvNode): boolean {
  return node.keys.includes(key);
}

export function checkKey(key: bigint, what = 'key'): void {
  if (typeof key !== 'bigint' || key < 0n || key > U64_MAX) throw new KvLookupError(`${what} ${String(key)} is not a u64`);
}

/**
 * The node at `offsetBytes` (inside the file: every pointer followed was
 * checked by checks.ts), with the root's checks when it is the root (the
 * file's size names its depth, the root's type is that depth's): the
 * open-time checks of every other mode.
 */
function readNode(source: BlockSource, place: KvWalkPlace, offsetBytes: number): Uint8Array {
  // the size first: a file shorter than a node is FILE_SIZE, not a short read
  if (offsetBytes === ROOT_NODE_OFFSET) kvLayersOfSize(place.file, place.fileBytes);
  const block = readExact(source, offsetBytes, NODE_BYTES, 'node');
  if (offsetBytes === ROOT_NODE_OFFSET) checkRoot(place.file, place.fileBytes, block);
  return block;
}

/** The top layers of the index held in user memory, like the original's `--cache` (at most 3 layers). */
export class TopLevelCache {
  private readonly nodes = new Map<number, Uint8Array>();
  private readonly file: string;
  private readonly fileBytes: number;
  constructor(
    source: BlockSource,
    readonly cachedLayers: number,
    file = UNNAMED_FILE,
  ) {
    if (!Number.isInteger(cachedLayers) || cachedLayers < 0 || cachedLayers > 3) {
      throw new KvLookupError(`cache layers must be 0 to 3, got ${String(cachedLayers)}`);
    }
    this.file = file;
    this.fileBytes = source.sizeBytes;
    const place: KvWalkPlace = { file, fileBytes: source.sizeBytes, key: null };
    let layer = [ROOT_NODE_OFFSET];
    for (let l = 0; l < cachedLayers; l++) {
      const below: number[] = [];
      for (const offset of layer) {
        if (this.nodes.has(offset)) continue;
        const block = readNode(source, place, offset);
        // A leaf ends the cache: its pointers are values, not nodes (the original would read a value block as a node).
        if (nodeTypeOf(place, block, offset) !== 0) return;
        this.nodes.set(offset, block);
        for (let i = 0; i < NODE_CAPACITY; i++) {
          // a bad pointer is not cached: the lookup that follows it meets the check with its key (startOffset)
          try {
            below.push(nodePointer(place, block, NODE_PTRS_OFFSET + i * 8, offset));
          } catch (e) {
            if (!(e instanceof KvStructureError)) throw e;
          }
        }
      }
      layer = below;
    }
  }
  get size(): number {
    return this.nodes.size;
  }
  /** The offset where the on-disk descent for `key` starts (the pointers followed are checked as the walk checks them). */
  startOffset(key: bigint): number {
    const place: KvWalkPlace = { file: this.file, fileBytes: this.fileBytes, key };
    let offset = ROOT_NODE_OFFSET;
    for (let hop = 0; hop <= 3; hop++) {
      const block = this.nodes.get(offset);
      if (block === undefined) return offset;
      offset = nodePointer(place, block, NODE_PTRS_OFFSET + nextIndex(key, decodeNode(block)) * 8, offset);
    }
    return offset;
  }
}

export interface LeafResult {
  leaf: KvNode;
  /** the leaf's bytes (its pointers are checked where they are followed) */
  leafBlock: Uint8Array;
  leafOffset: number;
  reads: number;
}

/**
 * Descends from `startOffset` (the root by default) to the leaf that may hold
 * `key`, with the checks of every mode (src/kv/checks.ts): a node visited
 * twice is a CYCLE, a node's type and the pointers followed are checked.
 */
function findLeaf(source: BlockSource, place: KvWalkPlace, key: bigint, startOffset: number): LeafResult {
  checkKey(key);
  const visited = new KvVisited(place);
  let offset = startOffset;
  for (let reads = 1; ; reads++) {
    visited.visit(offset);
    const block = readNode(source, place, offset);
    const node = decodeNode(block);
    if (nodeTypeOf(place, block, offset) === 1) return { leaf: node, leafBlock: block, leafOffset: offset, reads };
    offset = nodePointer(place, block, NODE_PTRS_OFFSET + nextIndex(key, node) * 8, offset);
  }
}

/** read_value_the_hard_way: the 512-byte block holding the value, then the 64 bytes within it. */
function readValueAt(source: BlockSource, valueOffset: number): Uint8Array {
  const within = valueOffset % BLOCK_BYTES;
  return readExact(source, valueOffset - within, BLOCK_BYTES, 'value block').slice(within, within + VALUE_BYTES);
}

export interface LookupResult {
  found: boolean;
  /** 64 bytes, when found */
  value?: Uint8Array;
  /** positioned reads made (L + 1 for a found key without cache) */
  reads: number;
}

export interface LookupOptions {
  cache?: TopLevelCache;
  /** the file's name in errors (default "the BPF-KV file") */
  file?: string;
}

export function lookupKey(source: BlockSource, key: bigint, options: LookupOptions = {}): LookupResult {
  checkKey(key);
  const place: KvWalkPlace = { file: options.file ?? UNNAMED_FILE, fileBytes: source.sizeBytes, key };
  const start = options.cache?.startOffset(key) ?? ROOT_NODE_OFFSET;
  const { leaf, leafBlock, leafOffset, reads } = findLeaf(source, place, key, start);
  if (!keyExists(key, leaf)) return { found: false, reads };
  // nxt_node on the leaf, as the original: the slot of the last key <= key
  const valueOffset = valuePointer(place, leafBlock, NODE_PTRS_OFFSET + nextIndex(key, leaf) * 8, leafOffset);
  return { found: true, value: readValueAt(source, valueOffset), reads: reads + 1 };
}

// ---- ranges ----

/** RangeQuery flags */
export const RNG_BEGIN_EXCLUSIVE = 1;
export const RNG_END_INCLUSIVE = 2;

export interface KeyRange {
  begin: bigint;
  end: bigint;
  /** RNG_BEGIN_EXCLUSIVE | RNG_END_INCLUSIVE; default [begin, end) */
  flags?: number;
}

/** empty_range of db_types.h. */
export function isEmptyRange(range: KeyRange): boolean {
  const flags = range.flags ?? 0;
  const beginExclusive = (flags & RNG_BEGIN_EXCLUSIVE) !== 0;
  const endInclusive = (flags & RNG_END_INCLUSIVE) !== 0;
  if (range.begin > range.end) return true;
  if (range.begin === range.end && (beginExclusive || !endInclusive)) return true;
  if (range.begin + 1n === range.end && beginExclusive && !endInclusive) return true;
  return false;
}

export interface KeyValue {
  key: bigint;
  value: Uint8Array;
}

export interface RangeScan {
  pairs: KeyValue[];
  reads: number;
}

/**
 * All pairs of the range in key order (range.c's user-space scan, without the
 * 32-pair batching). `withValues: false` scans the keys only (no value reads).
 */
export function rangeScan(source: BlockSource, range: KeyRange, withValues = true, file = UNNAMED_FILE): RangeScan {
  checkKey(range.begin, 'range begin');
  checkKey(range.end, 'range end');
  const flags = range.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 3) throw new KvLookupError(`range flags must be 0..3, got ${String(flags)}`);
  const place: KvWalkPlace = { file, fileBytes: source.sizeBytes, key: range.begin };
  if (isEmptyRange(range)) {
    // no walk, but the file is checked as every mode checks it when it opens it (its size, its root)
    readNode(source, place, ROOT_NODE_OFFSET);
    return { pairs: [], reads: 0 };
  }
  const firstKey = flags & RNG_BEGIN_EXCLUSIVE ? range.begin + 1n : range.begin;
  const endInclusive = (flags & RNG_END_INCLUSIVE) !== 0;
  let { leaf, leafBlock, leafOffset, reads } = findLeaf(source, place, range.begin, ROOT_NODE_OFFSET);
  const pairs: KeyValue[] = [];
  // a leaf visited twice is a CYCLE, as in every mode
  const leaves = new KvVisited(place);
  leaves.visit(leafOffset);
  for (;;) {
    for (let i = 0; i < NODE_CAPACITY; i++) {
      const key = leaf.keys[i] ?? 0n;
      if (key > range.end || (key === range.end && !endInclusive)) return { pairs, reads };
      if (key >= firstKey) {
        let value: Uint8Array = new Uint8Array(0);
        if (withValues) {
          value = readValueAt(source, valuePointer(place, leafBlock, NODE_PTRS_OFFSET + i * 8, leafOffset));
          reads++;
        }
        pairs.push({ key, value });
      }
    }
    const nextOffset = nextLeafPointer(place, leafBlock, NODE_NEXT_OFFSET);
    if (nextOffset === 0) return { pairs, reads };
    leaves.visit(nextOffset);
    leafBlock = readNode(source, place, nextOffset);
    reads++;
    if (nodeTypeOf(place, leafBlock, nextOffset) !== 1) throw leafTypeError(place, nextOffset);
    leaf = decodeNode(leafBlock);
    leafOffset = nextOffset;
  }
}

// ---- aggregations ----

export type AggKind = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'array' | 'set';

export interface Aggregate {
  /** keys in the range */
  count: bigint;
  /** sum of the values' numbers, modulo 2^64 (the storage function's u64) */
  sum: bigint;
  /** undefined for an empty range */
  min?: bigint;
  max?: bigint;
  /** floor(sum / count); undefined for an empty range */
  avg?: bigint;
  /** the values' numbers in key order */
  array: bigint[];
  /** distinct numbers in order of first appearance */
  set: bigint[];
}

/** Every aggregation of the range at once; values must be numbers ("%63lu" text). */
export function aggregateRange(source: BlockSource, range: KeyRange): Aggregate {
  const { pairs } = rangeScan(source, range, true);
  const array: bigint[] = [];
  for (const { key, value } of pairs) {
    const n = valueNumber(value);
    if (n === undefined) throw new KvLookupError(`the value of key ${key} is not a decimal number`);
    array.push(n);
  }
  const count = BigInt(array.length);
  let sum = 0n;
  for (const n of array) sum = (sum + n) & U64_MAX;
  const result: Aggregate = { count, sum, array, set: [...new Set(array)] };
  if (array.length > 0) {
    result.min = array.reduce((a, b) => (b < a ? b : a));
    result.max = array.reduce((a, b) => (b > a ? b : a));
    result.avg = sum / count;
  }
  return result;
}
