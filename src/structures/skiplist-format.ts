// The on-disk skip list format (bpf/structures/skiplist.h) and the scratch
// pages of its storage functions, byte for byte.
//
//   | head (offset 0) | node | node | ... |      512-byte nodes
//
// Node: key u64 @0, magic u32 @8, level u32 @12 (1..16), value u8[64] @16,
// fwd[16] @80 of { key u64, offset u64 }: the next node on each level and its
// key (offset 0 = none; the head is at 0, so 0 never names a successor). The
// successor's key sits beside its offset so a search reads only the nodes on
// its path. The head has magic "XSLH", level 16, key 0, and keeps its
// live-node count in value[0..8). A deleted node gets magic "XSLD".

import { corruptError, paramError } from './errors.ts';

export const SL_NODE_BYTES = 512;
export const SL_LEVEL_MAX = 16;
export const SL_VALUE_BYTES = 64;
export const SL_MAGIC_NODE = 0x4e4c5358; // "XSLN"
export const SL_MAGIC_HEAD = 0x484c5358; // "XSLH"
export const SL_MAGIC_DEAD = 0x444c5358; // "XSLD"
export const SL_HEAD_OFFSET = 0;
export const SL_FWD_OFFSET = 80;
export const U64_MAX = (1n << 64n) - 1n;

/** query states (struct SlGetQuery / SlRangeQuery .state; 1, searching, is set only by the storage functions) */
export const SL_AT_HEAD = 0;
export const SL_AT_TARGET = 2;
export const SL_FINISHED = 3;

/** storage-function return values */
export const SL_ERR_BAD_NODE = 1n;
export const SL_ERR_BAD_QUERY = 2n;

export interface SlForward {
  key: bigint;
  /** 0 = none */
  offset: number;
}

export interface SlNode {
  key: bigint;
  magic: number;
  level: number;
  value: Uint8Array;
  /** always SL_LEVEL_MAX entries; those at level >= `level` are empty */
  fwd: SlForward[];
}

export function checkKey(key: bigint, what = 'key'): void {
  if (typeof key !== 'bigint' || key < 0n || key > U64_MAX) throw paramError(`skip list: ${what} ${String(key)} is not a u64`);
}

export function checkValue(value: Uint8Array, key: bigint): void {
  if (!(value instanceof Uint8Array) || value.length > SL_VALUE_BYTES) {
    throw paramError(`skip list: the value of key ${key} must be a Uint8Array of at most ${SL_VALUE_BYTES} bytes`);
  }
}

export function emptyForwards(): SlForward[] {
  return Array.from({ length: SL_LEVEL_MAX }, () => ({ key: 0n, offset: 0 }));
}

export function headNode(liveCount = 0): SlNode {
  const value = new Uint8Array(SL_VALUE_BYTES);
  new DataView(value.buffer).setBigUint64(0, BigInt(liveCount), true);
  return { key: 0n, magic: SL_MAGIC_HEAD, level: SL_LEVEL_MAX, value, fwd: emptyForwards() };
}

/** Encodes a node into `out` (512 bytes, zero beyond the used part). */
export function encodeNode(node: SlNode, out: Uint8Array = new Uint8Array(SL_NODE_BYTES)): Uint8Array {
  if (out.length < SL_NODE_BYTES) throw paramError(`skip list: a node needs ${SL_NODE_BYTES} bytes, got ${out.length}`);
  const view = new DataView(out.buffer, out.byteOffset, SL_NODE_BYTES);
  out.fill(0, 0, SL_NODE_BYTES);
  view.setBigUint64(0, node.key, true);
  view.setUint32(8, node.magic, true);
  view.setUint32(12, node.level, true);
  out.set(node.value.subarray(0, SL_VALUE_BYTES), 16);
  for (let l = 0; l < SL_LEVEL_MAX; l++) {
    const f = node.fwd[l];
    if (f === undefined || f.offset === 0) continue;
    view.setBigUint64(SL_FWD_OFFSET + l * 16, f.key, true);
    view.setBigUint64(SL_FWD_OFFSET + l * 16 + 8, BigInt(f.offset), true);
  }
  return out;
}

/** Decodes the node at `offsetBytes` (named in errors); checks magic, level, and link alignment. */
export function decodeNode(block: Uint8Array, offsetBytes: number): SlNode {
  if (block.length < SL_NODE_BYTES) throw corruptError(`skip list: node at offset ${offsetBytes} is ${block.length} bytes, not ${SL_NODE_BYTES}`);
  const view = new DataView(block.buffer, block.byteOffset, SL_NODE_BYTES);
  const magic = view.getUint32(8, true);
  const level = view.getUint32(12, true);
  if (magic !== SL_MAGIC_NODE && magic !== SL_MAGIC_HEAD) {
    throw corruptError(`skip list: block at offset ${offsetBytes} is not a live node (magic 0x${magic.toString(16)})`);
  }
  if (level < 1 || level > SL_LEVEL_MAX || (magic === SL_MAGIC_HEAD && level !== SL_LEVEL_MAX)) {
    throw corruptError(`skip list: node at offset ${offsetBytes} has level ${level}`);
  }
  const fwd = emptyForwards();
  for (let l = 0; l < level; l++) {
    const offset = view.getBigUint64(SL_FWD_OFFSET + l * 16 + 8, true);
    if (offset === 0n) continue;
    if (offset % BigInt(SL_NODE_BYTES) !== 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw corruptError(`skip list: node at offset ${offsetBytes} links level ${l} to offset ${offset}, not a node`);
    }
    fwd[l] = { key: view.getBigUint64(SL_FWD_OFFSET + l * 16, true), offset: Number(offset) };
  }
  return { key: view.getBigUint64(0, true), magic, level, value: block.slice(16, 16 + SL_VALUE_BYTES), fwd };
}

/** The live-node count the head keeps. */
export function headCount(head: SlNode): number {
  return Number(new DataView(head.value.buffer, head.value.byteOffset, 8).getBigUint64(0, true));
}

// ---- scratch pages ----

/** struct SlGetQuery (96 bytes) */
export const SGQ = { key: 0, expectKey: 8, state: 16, level: 20, found: 24, reads: 28, value: 32, bytes: 96 } as const;
/** struct SlRangeQuery (2368 bytes) */
export const SRQ = { begin: 0, end: 8, expectKey: 16, state: 24, level: 28, count: 32, reads: 36, resumeOffset: 40, pairs: 64, pairBytes: 72, bytes: 2368 } as const;
export const SL_RANGE_PAIRS = 32;

function scratchView(scratch: Uint8Array, bytes: number): DataView {
  if (scratch.length < bytes) throw paramError(`skip list: a scratch page of at least ${bytes} bytes is needed, got ${scratch.length}`);
  return new DataView(scratch.buffer, scratch.byteOffset, bytes);
}

/** A new point lookup in a scratch page; the first read is the head (offset 0, 512 bytes). */
export function writeSlGetQuery(scratch: Uint8Array, key: bigint): void {
  checkKey(key);
  const view = scratchView(scratch, SGQ.bytes);
  scratch.fill(0, 0, SGQ.bytes);
  view.setBigUint64(SGQ.key, key, true);
  view.setUint32(SGQ.state, SL_AT_HEAD, true);
  view.setInt32(SGQ.level, SL_LEVEL_MAX - 1, true);
}

export interface SlGetOutcome {
  state: number;
  found: boolean;
  /** the 64-byte value when found */
  value?: Uint8Array;
  reads: number;
}

export function readSlGetQuery(scratch: Uint8Array): SlGetOutcome {
  const view = scratchView(scratch, SGQ.bytes);
  const found = view.getUint32(SGQ.found, true) === 1;
  const outcome: SlGetOutcome = { state: view.getUint32(SGQ.state, true), found, reads: view.getUint32(SGQ.reads, true) };
  if (found) outcome.value = scratch.slice(SGQ.value, SGQ.value + SL_VALUE_BYTES);
  return outcome;
}

/** A new range scan of begin <= key <= end in a scratch page; the first read is the head. */
export function writeSlRangeQuery(scratch: Uint8Array, begin: bigint, end: bigint): void {
  checkKey(begin, 'range begin');
  checkKey(end, 'range end');
  const view = scratchView(scratch, SRQ.bytes);
  scratch.fill(0, 0, SRQ.bytes);
  view.setBigUint64(SRQ.begin, begin, true);
  view.setBigUint64(SRQ.end, end, true);
  view.setUint32(SRQ.state, SL_AT_HEAD, true);
  view.setInt32(SRQ.level, SL_LEVEL_MAX - 1, true);
}

export interface SlPair {
  key: bigint;
  value: Uint8Array;
}

export interface SlRangeCall {
  state: number;
  pairs: SlPair[];
  /** where the next call starts (0: the scan is complete) */
  resumeOffset: number;
  reads: number;
}

/** The pairs and state a range call left in the scratch page. */
export function readSlRangeQuery(scratch: Uint8Array): SlRangeCall {
  const view = scratchView(scratch, SRQ.bytes);
  const count = view.getUint32(SRQ.count, true);
  if (count > SL_RANGE_PAIRS) throw corruptError(`skip list: range scratch holds ${count} pairs (at most ${SL_RANGE_PAIRS})`);
  const pairs: SlPair[] = [];
  for (let i = 0; i < count; i++) {
    const at = SRQ.pairs + i * SRQ.pairBytes;
    pairs.push({ key: view.getBigUint64(at, true), value: scratch.slice(at + 8, at + 8 + SL_VALUE_BYTES) });
  }
  const resume = view.getBigUint64(SRQ.resumeOffset, true);
  if (resume > BigInt(Number.MAX_SAFE_INTEGER)) throw corruptError(`skip list: resume offset ${resume} is past any file`);
  return { state: view.getUint32(SRQ.state, true), pairs, resumeOffset: Number(resume), reads: view.getUint32(SRQ.reads, true) };
}

/** Prepares the scratch page for the next call of a scan (the pairs were taken). */
export function resumeSlRangeQuery(scratch: Uint8Array): void {
  scratchView(scratch, SRQ.bytes).setUint32(SRQ.count, 0, true);
}
