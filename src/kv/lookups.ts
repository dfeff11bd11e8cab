// The user-space reference: point lookups, range scans and aggregations over
// any BlockSource with synchronous positioned reads, following the original's
// user-space code (helpers.c nxt_node/key_exists, get.c
// read_value_the_hard_way, range.c's scan). Every other mode (io_uring, SPDK,
// XRP storage functions) must give the same answers.

import { XrpError } from '../base/errors.ts';
import { readExact, type BlockSource } from '../base/block-source.ts';
import {
  BLOCK_BYTES,
  decodeNode,
  decodePtr,
  isFileOffset,
  NODE_BYTES,
  NODE_CAPACITY,
  NODE_TYPE_INTERNAL,
  NODE_TYPE_LEAF,
  ROOT_NODE_OFFSET,
  VALUE_BYTES,
  valueNumber,
  type KvNode,
} from './format.ts';

export class KvLookupError extends XrpError {
  constructor(message: string) {
    super('KV_LOOKUP', message);
  }
}

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
/** A descent longer than this is a cycle or a corrupt file (6 layers need 6). */
export const DESCENT_HOPS_MAX = 64;

/** nxt_node: ptr[i-1] for the first i >= 1 with key < key[i], else ptr[30]. */
export function nextPtr(key: bigint, node: KvNode): bigint {
  for (let i = 1; i < NODE_CAPACITY; i++) if (key < node.keys[i]!) return node.ptrs[i - 1]!;
  return node.ptrs[NODE_CAPACITY - 1]!;
}

export function keyExists(key: bigint, node: KvNode): boolean {
  return node.keys.includes(key);
}

export function checkKey(key: bigint, what = 'key'): void {
  if (typeof key !== 'bigint' || key < 0n || key > U64_MAX) throw new KvLookupError(`${what} ${String(key)} is not a u64`);
}

/** A pointer as a file offset; `where` names its holder for the error message. */
function toOffset(ptr: bigint, where: string): number {
  const offset = decodePtr(ptr);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new KvLookupError(`${where} points at ${offset}, past any file`);
  return Number(offset);
}

/** The top layers of the index held in user memory, like the original's `--cache` (at most 3 layers). */
export class TopLevelCache {
  private readonly nodes = new Map<number, KvNode>();
  constructor(
    source: BlockSource,
    readonly cachedLayers: number,
  ) {
    if (!Number.isInteger(cachedLayers) || cachedLayers < 0 || cachedLayers > 3) {
      throw new KvLookupError(`cache layers must be 0 to 3, got ${String(cachedLayers)}`);
    }
    let layer = [ROOT_NODE_OFFSET];
    for (let l = 0; l < cachedLayers; l++) {
      const below: number[] = [];
      for (const offset of layer) {
        const node = decodeNode(readExact(source, offset, NODE_BYTES, 'node'));
        // A leaf ends the cache: its pointers are values, not nodes (the original would read a value block as a node).
        if (node.type !== NODE_TYPE_INTERNAL) return;
        this.nodes.set(offset, node);
        for (const ptr of node.ptrs) below.push(toOffset(ptr, `node at offset ${offset}`));
      }
      layer = below;
    }
  }
  get size(): number {
    return this.nodes.size;
  }
  /** The offset where the on-disk descent for `key` starts. */
  startOffset(key: bigint): number {
    let offset = ROOT_NODE_OFFSET;
    for (let hop = 0; hop <= 3; hop++) {
      const node = this.nodes.get(offset);
      if (node === undefined) return offset;
      offset = toOffset(nextPtr(key, node), `cached node at offset ${offset}`);
    }
    return offset;
  }
}

export interface LeafResult {
  leaf: KvNode;
  leafOffset: number;
  reads: number;
}

/** Descends from `startOffset` (the root by default) to the leaf that may hold `key`. */
export function findLeaf(source: BlockSource, key: bigint, startOffset = ROOT_NODE_OFFSET): LeafResult {
  checkKey(key);
  let offset = startOffset;
  for (let hop = 0; hop < DESCENT_HOPS_MAX; hop++) {
    const node = decodeNode(readExact(source, offset, NODE_BYTES, 'node'));
    if (node.type === NODE_TYPE_LEAF) return { leaf: node, leafOffset: offset, reads: hop + 1 };
    if (node.type !== NODE_TYPE_INTERNAL) throw new KvLookupError(`node at offset ${offset} has type ${node.type} (0 internal, 1 leaf)`);
    const ptr = nextPtr(key, node);
    if (!isFileOffset(ptr)) throw new KvLookupError(`node at offset ${offset} has a pointer without FILE_MASK: 0x${ptr.toString(16)}`);
    offset = toOffset(ptr, `node at offset ${offset}`);
  }
  throw new KvLookupError(`no leaf after ${DESCENT_HOPS_MAX} hops from offset ${startOffset}: the index has a cycle`);
}

/** read_value_the_hard_way: the 512-byte block holding the value, then the 64 bytes within it. */
export function readValue(source: BlockSource, ptr: bigint): Uint8Array {
  const offset = toOffset(ptr, 'a value pointer');
  const base = offset - (offset % BLOCK_BYTES);
  const within = offset - base;
  if (within + VALUE_BYTES > BLOCK_BYTES) throw new KvLookupError(`value pointer ${offset} crosses a 512-byte block`);
  return readExact(source, base, BLOCK_BYTES, 'value block').slice(within, within + VALUE_BYTES);
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
}

export function lookupKey(source: BlockSource, key: bigint, options: LookupOptions = {}): LookupResult {
  const start = options.cache?.startOffset(key) ?? ROOT_NODE_OFFSET;
  const { leaf, reads } = findLeaf(source, key, start);
  if (!keyExists(key, leaf)) return { found: false, reads };
  return { found: true, value: readValue(source, nextPtr(key, leaf)), reads: reads + 1 };
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
export function rangeScan(source: BlockSource, range: KeyRange, withValues = true): RangeScan {
  checkKey(range.begin, 'range begin');
  checkKey(range.end, 'range end');
  const flags = range.flags ?? 0;
  if (!Number.isInteger(flags) || flags < 0 || flags > 3) throw new KvLookupError(`range flags must be 0..3, got ${String(flags)}`);
  if (isEmptyRange(range)) return { pairs: [], reads: 0 };
  const firstKey = flags & RNG_BEGIN_EXCLUSIVE ? range.begin + 1n : range.begin;
  const endInclusive = (flags & RNG_END_INCLUSIVE) !== 0;
  let { leaf, leafOffset, reads } = findLeaf(source, range.begin);
  const pairs: KeyValue[] = [];
  const visited = new Set<number>();
  for (;;) {
    if (visited.has(leafOffset)) throw new KvLookupError(`leaf chain loops back to offset ${leafOffset}`);
    visited.add(leafOffset);
    for (let i = 0; i < NODE_CAPACITY; i++) {
      const key = leaf.keys[i]!;
      if (key > range.end || (key === range.end && !endInclusive)) return { pairs, reads };
      if (key >= firstKey) {
        const value = withValues ? readValue(source, leaf.ptrs[i]!) : new Uint8Array(0);
        if (withValues) reads++;
        pairs.push({ key, value });
      }
    }
    if (leaf.next === 0n) return { pairs, reads };
    leafOffset = toOffset(leaf.next, `the next pointer of the leaf at offset ${leafOffset}`);
    leaf = decodeNode(readExact(source, leafOffset, NODE_BYTES, 'leaf'));
    reads++;
    if (leaf.type !== NODE_TYPE_LEAF) throw new KvLookupError(`next of a leaf, offset ${leafOffset}, is not a leaf (type ${leaf.type})`);
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
