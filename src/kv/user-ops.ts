// BPF-KV point lookups and range queries done in user space by a simulated
// thread, one block read per hop through a KvBlockIo (pread, io_uring or SPDK).
// The logic is the original's user-space code (helpers.c nxt_node/key_exists,
// get.c read_value_the_hard_way, range.c's leaf walk), the same as the
// untimed oracle of lookups.ts; here every block comes through the emulated
// storage stack in virtual time.

import type { SimThread, Task } from '../sim/thread.ts';
import type { KvBlockIo } from './block-io.ts';
import {
  BLOCK_BYTES,
  NODE_CAPACITY,
  NODE_KEYS_OFFSET,
  NODE_NEXT_OFFSET,
  NODE_PTRS_OFFSET,
  ROOT_NODE_OFFSET,
  VALUE_BYTES,
  valueNumber,
} from './format.ts';
import { KvVisited, leafTypeError, nextLeafPointer, nodePointer, nodeTypeOf, valuePointer, type KvWalkPlace } from './checks.ts';
import { isEmptyRange, KvLookupError, RNG_BEGIN_EXCLUSIVE, RNG_END_INCLUSIVE, U64_MAX, type KeyRange, type KeyValue, type TopLevelCache } from './lookups.ts';

/** Range answers: the pairs themselves, or one of the aggregations. */
export type RangeAgg = 'none' | 'count' | 'sum' | 'min' | 'max' | 'avg' | 'array' | 'set';
export const RANGE_AGGS: readonly RangeAgg[] = ['none', 'count', 'sum', 'min', 'max', 'avg', 'array', 'set'];

export interface LookupAnswer {
  key: bigint;
  found: boolean;
  /** the 64 value bytes, when found */
  value: Uint8Array | null;
}

export interface RangeAnswer {
  agg: RangeAgg;
  /** keys in the range */
  count: number;
  /** count, sum, min, max, avg (undefined for min, max, avg of an empty range); avg is the floor, as the storage function computes it */
  value?: bigint;
  /** sum and avg: the sum of the numbers, so that avg can be shown exactly (sum / count) */
  sum?: bigint;
  /** array: the values' numbers in key order; set: distinct numbers in order of first appearance */
  numbers?: bigint[];
  /** none: the pairs */
  pairs?: KeyValue[];
  /** storage-function calls (xrp mode); 0 in user space */
  calls: number;
  /** xrp mode: the request's read budget ran out (LIMIT): the answer holds what was reached before */
  partial?: boolean;
}

/** What a worker thread does per request, whatever the mode (the user-space walks of this file, or xrp-ops.ts's storage-function calls). */
export interface KvThreadOps {
  lookup(t: SimThread, keys: readonly bigint[]): Task<LookupAnswer[]>;
  range(t: SimThread, range: KeyRange, agg: RangeAgg): Task<RangeAnswer>;
}

export interface UserOpsCosts {
  /** user CPU to search one node or pick one value out of a block */
  blockCpuNs: number;
}

/** The file a walk reads: its name (in errors) and size (the checks' bound). */
export interface KvWalkFile {
  readonly file: string;
  readonly fileBytes: number;
}

/** For callers that do not name the file: reads past its end fail in the block io instead of the range check. */
const UNNAMED_FILE: KvWalkFile = { file: 'the BPF-KV file', fileBytes: Number.MAX_SAFE_INTEGER };

function u32(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> 0;
}

function u64(b: Uint8Array, at: number): bigint {
  return (BigInt(u32(b, at + 4)) << 32n) | BigInt(u32(b, at));
}

/** key < key[i] on split halves (no BigInt in the hot loop). */
function keyBelow(keyHi: number, keyLo: number, b: Uint8Array, i: number): boolean {
  const at = NODE_KEYS_OFFSET + i * 8;
  const hi = u32(b, at + 4);
  return keyHi < hi || (keyHi === hi && keyLo < u32(b, at));
}

function keyEquals(keyHi: number, keyLo: number, b: Uint8Array, i: number): boolean {
  const at = NODE_KEYS_OFFSET + i * 8;
  return u32(b, at + 4) === keyHi && u32(b, at) === keyLo;
}

/** nxt_node: index of ptr[i-1] for the first i >= 1 with key < key[i], else 30. */
function nextIndex(keyHi: number, keyLo: number, b: Uint8Array): number {
  for (let i = 1; i < NODE_CAPACITY; i++) if (keyBelow(keyHi, keyLo, b, i)) return i - 1;
  return NODE_CAPACITY - 1;
}

function split(key: bigint): [number, number] {
  if (key < 0n || key > U64_MAX) throw new KvLookupError(`key ${key} is not a u64`);
  return [Number(key >> 32n), Number(key & 0xffff_ffffn)];
}

function* chargeBlock(t: SimThread, costs: UserOpsCosts): Task {
  if (costs.blockCpuNs > 0) yield t.cpu(costs.blockCpuNs);
}

/** Descends to the leaf for `key`; returns the leaf's offset (the leaf is the io's current view). */
function* descend(t: SimThread, io: KvBlockIo, place: KvWalkPlace, key: bigint, startOffset: number, costs: UserOpsCosts): Task<{ leaf: Uint8Array; leafOffset: number }> {
  const [keyHi, keyLo] = split(key);
  const visited = new KvVisited(place);
  let offset = startOffset;
  for (;;) {
    visited.visit(offset);
    const b = yield* io.read(t, offset);
    yield* chargeBlock(t, costs);
    if (nodeTypeOf(place, b, offset) === 1) return { leaf: b, leafOffset: offset };
    offset = nodePointer(place, b, NODE_PTRS_OFFSET + nextIndex(keyHi, keyLo, b) * 8, offset);
  }
}

/** read_value_the_hard_way: the block holding the value, then its 64 bytes (copied). */
function* readValueAt(t: SimThread, io: KvBlockIo, valueOffset: number, costs: UserOpsCosts): Task<Uint8Array> {
  const within = valueOffset % BLOCK_BYTES;
  const b = yield* io.read(t, valueOffset - within);
  yield* chargeBlock(t, costs);
  return b.slice(within, within + VALUE_BYTES);
}

/** One point lookup: L reads to the leaf (fewer with a cache), one more for a found key's value. */
export function* userLookup(t: SimThread, io: KvBlockIo, key: bigint, cache: TopLevelCache | null, costs: UserOpsCosts, file: KvWalkFile = UNNAMED_FILE): Task<LookupAnswer> {
  const place: KvWalkPlace = { ...file, key };
  const start = cache === null ? ROOT_NODE_OFFSET : cache.startOffset(key);
  const { leaf, leafOffset } = yield* descend(t, io, place, key, start, costs);
  const [keyHi, keyLo] = split(key);
  let slot = -1;
  for (let i = 0; i < NODE_CAPACITY && slot < 0; i++) if (keyEquals(keyHi, keyLo, leaf, i)) slot = i;
  if (slot < 0) return { key, found: false, value: null };
  // nxt_node on the leaf, as the original: the slot of the last key <= key.
  const valueOffset = valuePointer(place, leaf, NODE_PTRS_OFFSET + nextIndex(keyHi, keyLo, leaf) * 8, leafOffset);
  return { key, found: true, value: yield* readValueAt(t, io, valueOffset, costs) };
}

/**
 * The lookups of several keys advanced together, one hop of every unfinished
 * key per batch (io_uring: one io_uring_enter per level): the same reads and
 * answers as one lookup after another, in about L+1 round trips instead of
 * k(L+1).
 */
export function* userLookupBatch(t: SimThread, io: KvBlockIo, keys: readonly bigint[], cache: TopLevelCache | null, costs: UserOpsCosts, file: KvWalkFile = UNNAMED_FILE): Task<LookupAnswer[]> {
  const readMany = io.readMany?.bind(io);
  if (readMany === undefined) throw new KvLookupError(`mode ${io.mode} cannot batch reads`);
  // one lane per key: where it is, and whether the next block is its value's
  const lanes = keys.map((key) => {
    const [keyHi, keyLo] = split(key);
    const place: KvWalkPlace = { ...file, key };
    const answer: LookupAnswer = { key, found: false, value: null };
    return { key, keyHi, keyLo, place, answer, visited: new KvVisited(place), offset: cache === null ? ROOT_NODE_OFFSET : cache.startOffset(key), atValue: false, within: 0 };
  });
  for (;;) {
    const pending = lanes.filter((lane) => lane.offset >= 0);
    if (pending.length === 0) return lanes.map((lane) => lane.answer);
    for (const lane of pending) if (!lane.atValue) lane.visited.visit(lane.offset);
    const blocks = yield* readMany(t, pending.map((lane) => lane.offset));
    for (let p = 0; p < pending.length; p++) {
      const lane = pending[p];
      const b = blocks[p];
      if (lane === undefined || b === undefined) throw new KvLookupError(`mode ${io.mode}: a batch of ${pending.length} reads returned ${blocks.length} blocks`);
      const { place, offset, keyHi, keyLo } = lane;
      yield* chargeBlock(t, costs);
      if (lane.atValue) {
        lane.answer = { key: lane.key, found: true, value: b.slice(lane.within, lane.within + VALUE_BYTES) };
        lane.offset = -1;
        continue;
      }
      const at = NODE_PTRS_OFFSET + nextIndex(keyHi, keyLo, b) * 8;
      if (nodeTypeOf(place, b, offset) === 0) {
        lane.offset = nodePointer(place, b, at, offset);
        continue;
      }
      let found = false;
      for (let k = 0; k < NODE_CAPACITY && !found; k++) found = keyEquals(keyHi, keyLo, b, k);
      if (!found) {
        lane.offset = -1;
        continue;
      }
      const next = valuePointer(place, b, at, offset);
      lane.within = next % BLOCK_BYTES;
      lane.atValue = true;
      lane.offset = next - lane.within;
    }
  }
}

/** The number of a value, or a typed error naming the key. */
function numberOf(key: bigint, value: Uint8Array): bigint {
  const n = valueNumber(value);
  if (n === undefined) throw new KvLookupError(`the value of key ${key} is not a decimal number`);
  return n;
}

/**
 * A range query in user space: descend to the leaf of `begin`, walk the leaves
 * through their `next` pointers, read each value (one block per key) unless
 * the aggregation is COUNT, and aggregate. A leaf visited twice is a CYCLE
 * (src/kv/checks.ts), so a corrupt chain cannot loop.
 */
export function* userRange(
  t: SimThread,
  io: KvBlockIo,
  range: KeyRange,
  agg: RangeAgg,
  cache: TopLevelCache | null,
  costs: UserOpsCosts,
  file: KvWalkFile = UNNAMED_FILE,
): Task<RangeAnswer> {
  const place: KvWalkPlace = { ...file, key: range.begin };
  const flags = range.flags ?? 0;
  const answer: RangeAnswer = { agg, count: 0, calls: 0 };
  const numbers: bigint[] = [];
  const pairs: KeyValue[] = [];
  const seen = new Set<bigint>();
  let sum = 0n;
  let min: bigint | undefined;
  let max: bigint | undefined;
  if (!isEmptyRange(range)) {
    const firstKey = flags & RNG_BEGIN_EXCLUSIVE ? range.begin + 1n : range.begin;
    const endInclusive = (flags & RNG_END_INCLUSIVE) !== 0;
    const start = cache === null ? ROOT_NODE_OFFSET : cache.startOffset(range.begin);
    let { leaf, leafOffset } = yield* descend(t, io, place, range.begin, start, costs);
    const leaves = new KvVisited(place);
    leaves.visit(leafOffset);
    for (;;) {
      // Copy the leaf: value reads reuse the io's buffer.
      const node = leaf.slice(0, BLOCK_BYTES);
      let ended = false;
      for (let i = 0; i < NODE_CAPACITY && !ended; i++) {
        const key = u64(node, NODE_KEYS_OFFSET + i * 8);
        if (key > range.end || (key === range.end && !endInclusive)) {
          ended = true;
          break;
        }
        if (key < firstKey) continue;
        answer.count++;
        if (agg === 'count') continue;
        const value = yield* readValueAt(t, io, valuePointer(place, node, NODE_PTRS_OFFSET + i * 8, leafOffset), costs);
        if (agg === 'none') {
          pairs.push({ key, value });
          continue;
        }
        const n = numberOf(key, value);
        sum = (sum + n) & U64_MAX;
        if (min === undefined || n < min) min = n;
        if (max === undefined || n > max) max = n;
        if (agg === 'array') numbers.push(n);
        else if (agg === 'set' && !seen.has(n)) {
          seen.add(n);
          numbers.push(n);
        }
      }
      if (ended) break;
      const nextOffset = nextLeafPointer(place, node, NODE_NEXT_OFFSET);
      if (nextOffset === 0) break;
      leaves.visit(nextOffset);
      leaf = yield* io.read(t, nextOffset);
      yield* chargeBlock(t, costs);
      if (nodeTypeOf(place, leaf, nextOffset) !== 1) throw leafTypeError(place, nextOffset);
      leafOffset = nextOffset;
    }
  }
  const count = BigInt(answer.count);
  switch (agg) {
    case 'none':
      answer.pairs = pairs;
      break;
    case 'count':
      answer.value = count;
      break;
    case 'sum':
      answer.value = sum;
      break;
    case 'min':
      if (min !== undefined) answer.value = min;
      break;
    case 'max':
      if (max !== undefined) answer.value = max;
      break;
    case 'avg':
      if (count > 0n) answer.value = sum / count;
      answer.sum = sum;
      break;
    case 'array':
    case 'set':
      answer.numbers = numbers;
      break;
  }
  return answer;
}
