// The array chain ("easyArray" of a follow-up study of XRP): a file of N
// integers where a query starts at an index and hops `index = 2 * value mod N`
// for k hops, one dependent 512-byte read per hop.
//
// Layout (bpf/structures/array_chain.h): N little-endian u64 elements, element i
// at byte 8 * i, 64 per 512-byte block, no header; the file is zero-padded to a
// whole block so that the last block is a full 512-byte read. The builder
// stores seeded values uniform in [0, N). The hop is u64 arithmetic:
// index' = ((2 * value) mod 2^64) mod N, so any value (even a corrupt one)
// gives an index inside the file.
//
// Scratch (struct ArrayChainQuery, 48 bytes): n_elems@0, hops_total@8,
// hops_done@16, index@24, last_value@32, sum@40 (all u64). The state is whole
// after every hop, so a chain cut short by the resubmission limit is finished
// by walkArrayChain from the scratch page.

import { Prng } from '../base/prng.ts';
import { paramError } from './errors.ts';
import { runWalk, type BlockSource, type BlockWalk, type WriteSink } from './io.ts';

export const AC_ELEM_BYTES = 8;
export const AC_BLOCK_BYTES = 512;
/** N * 8 stays a safe integer far beyond any image */
export const AC_ELEMS_MAX = 2 ** 40;
/** k per query (a limit on everything: a runaway count is an error, not a hang) */
export const AC_HOPS_MAX = 2 ** 32;
export const AC_QUERY_BYTES = 48;
export const AC_ERR_BAD_QUERY = 1n;

/** Scratch offsets of struct ArrayChainQuery */
export const ACQ = { nElems: 0, hopsTotal: 8, hopsDone: 16, index: 24, lastValue: 32, sum: 40 } as const;

const U64_MASK = (1n << 64n) - 1n;

export interface ArrayChainState {
  nElems: number;
  hopsTotal: number;
  hopsDone: number;
  /** the next element to read; once hopsDone === hopsTotal, the final index */
  index: number;
  /** value read by the last hop (0n before the first) */
  lastValue: bigint;
  /** sum of the values read, modulo 2^64 */
  sum: bigint;
}

export function checkElems(nElems: number): void {
  if (!Number.isSafeInteger(nElems) || nElems < 1 || nElems > AC_ELEMS_MAX) {
    throw paramError(`array chain: N must be an integer from 1 to ${AC_ELEMS_MAX}, got ${String(nElems)}`);
  }
}

/** Bytes of the file of N elements (rounded up to a whole 512-byte block). */
export function arrayChainFileBytes(nElems: number): number {
  checkElems(nElems);
  return Math.ceil((nElems * AC_ELEM_BYTES) / AC_BLOCK_BYTES) * AC_BLOCK_BYTES;
}

/** Offset of the 512-byte block holding element `index`. */
export function blockOffsetOf(index: number): number {
  return Math.floor((index * AC_ELEM_BYTES) / AC_BLOCK_BYTES) * AC_BLOCK_BYTES;
}

/** The index after reading `value` (u64 arithmetic, as the storage function). */
export function nextIndex(value: bigint, nElems: number): number {
  // Exact in doubles while 2 * value < 2^53 (always, for values the builder writes).
  if (value < 1n << 52n) return (Number(value) * 2) % nElems;
  return Number(((value * 2n) & U64_MASK) % BigInt(nElems));
}

export interface ArrayChainBuildOptions {
  nElems: number;
  /** seed of the values (src/sim/prng.ts); the same seed gives the same file */
  seed: number;
  /** the value of element i instead of a seeded one (tests: crafted chains) */
  valueAt?: (index: number) => bigint;
  /** bytes per sink write, a multiple of 512 (default 1 MiB) */
  chunkBytes?: number;
}

export interface ArrayChainBuildSummary {
  nElems: number;
  fileBytes: number;
}

/** Writes the array file into `sink`: element i = valueAt(i), or a seeded value uniform in [0, N). */
export function buildArrayChain(sink: WriteSink, options: ArrayChainBuildOptions): ArrayChainBuildSummary {
  const { nElems } = options;
  const fileBytes = arrayChainFileBytes(nElems);
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < AC_BLOCK_BYTES || chunkBytes % AC_BLOCK_BYTES !== 0) {
    throw paramError(`array chain: chunkBytes must be a positive multiple of ${AC_BLOCK_BYTES}, got ${String(chunkBytes)}`);
  }
  const rng = new Prng(options.seed);
  const chunk = new Uint8Array(chunkBytes);
  const view = new DataView(chunk.buffer);
  for (let offset = 0; offset < fileBytes; offset += chunkBytes) {
    const length = Math.min(chunkBytes, fileBytes - offset);
    chunk.fill(0);
    const first = offset / AC_ELEM_BYTES;
    const last = Math.min(nElems, first + length / AC_ELEM_BYTES);
    for (let i = first; i < last; i++) {
      const at = (i - first) * AC_ELEM_BYTES;
      if (options.valueAt !== undefined) {
        view.setBigUint64(at, BigInt.asUintN(64, options.valueAt(i)), true);
      } else {
        const value = rng.nextBelow(nElems);
        view.setUint32(at, value >>> 0, true);
        view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
      }
    }
    sink.write(offset, chunk.subarray(0, length));
  }
  return { nElems, fileBytes };
}

/** The state of a new query: k = `hops` hops from `start`. */
export function arrayChainQuery(nElems: number, start: number, hops: number): ArrayChainState {
  checkElems(nElems);
  if (!Number.isSafeInteger(start) || start < 0 || start >= nElems) {
    throw paramError(`array chain: start index must be 0..${nElems - 1}, got ${String(start)}`);
  }
  if (!Number.isSafeInteger(hops) || hops < 1 || hops > AC_HOPS_MAX) {
    throw paramError(`array chain: hops must be 1..${AC_HOPS_MAX}, got ${String(hops)}`);
  }
  return { nElems, hopsTotal: hops, hopsDone: 0, index: start, lastValue: 0n, sum: 0n };
}

/** Writes the query state into a scratch page (struct ArrayChainQuery). */
export function writeArrayChainQuery(scratch: Uint8Array, state: ArrayChainState): void {
  const view = new DataView(scratch.buffer, scratch.byteOffset, AC_QUERY_BYTES);
  view.setBigUint64(ACQ.nElems, BigInt(state.nElems), true);
  view.setBigUint64(ACQ.hopsTotal, BigInt(state.hopsTotal), true);
  view.setBigUint64(ACQ.hopsDone, BigInt(state.hopsDone), true);
  view.setBigUint64(ACQ.index, BigInt(state.index), true);
  view.setBigUint64(ACQ.lastValue, state.lastValue, true);
  view.setBigUint64(ACQ.sum, state.sum, true);
}

/** Reads the state back from a scratch page, checking it is one a query can be in. */
export function readArrayChainQuery(scratch: Uint8Array): ArrayChainState {
  const view = new DataView(scratch.buffer, scratch.byteOffset, AC_QUERY_BYTES);
  const big = (at: number): bigint => view.getBigUint64(at, true);
  const nElems = big(ACQ.nElems);
  const hopsTotal = big(ACQ.hopsTotal);
  const hopsDone = big(ACQ.hopsDone);
  const index = big(ACQ.index);
  if (nElems < 1n || nElems > BigInt(AC_ELEMS_MAX) || hopsTotal > BigInt(AC_HOPS_MAX) || hopsDone > hopsTotal || index >= nElems) {
    throw paramError(`array chain: scratch holds no valid query (N ${nElems}, hops ${hopsDone}/${hopsTotal}, index ${index})`);
  }
  return {
    nElems: Number(nElems),
    hopsTotal: Number(hopsTotal),
    hopsDone: Number(hopsDone),
    index: Number(index),
    lastValue: big(ACQ.lastValue),
    sum: big(ACQ.sum),
  };
}

/** One hop: fold the value of element state.index into the state (the storage function's body). */
export function applyHop(state: ArrayChainState, value: bigint): void {
  state.hopsDone += 1;
  state.sum = (state.sum + value) & U64_MASK;
  state.lastValue = value;
  state.index = nextIndex(value, state.nElems);
}

/** The value of element `index` from the 512-byte block holding it. */
export function elementOfBlock(block: Uint8Array, index: number): bigint {
  const within = (index * AC_ELEM_BYTES) % AC_BLOCK_BYTES;
  return new DataView(block.buffer, block.byteOffset, block.byteLength).getBigUint64(within, true);
}

export interface ArrayWalk {
  state: ArrayChainState;
  /** 512-byte blocks read by this walk */
  reads: number;
}

/**
 * The user-space walk as a coroutine (io.ts BlockWalk): from `state` (a new
 * query, or the scratch of a chain cut short) to the end, one 512-byte block
 * per hop. Does not change `from`.
 */
export function* arrayChainWalk(from: ArrayChainState): BlockWalk<ArrayWalk> {
  const state = { ...from };
  let reads = 0;
  while (state.hopsDone < state.hopsTotal) {
    const block = yield blockOffsetOf(state.index);
    reads++;
    applyHop(state, elementOfBlock(block, state.index));
  }
  return { state, reads };
}

/** The user-space walk over a synchronous source (a file, memory). */
export function walkArrayChain(source: BlockSource, from: ArrayChainState): ArrayWalk {
  if (from.nElems * AC_ELEM_BYTES > source.sizeBytes) {
    throw paramError(`array chain: N = ${from.nElems} needs ${from.nElems * AC_ELEM_BYTES} bytes, the file has ${source.sizeBytes}`);
  }
  return runWalk(source, arrayChainWalk(from));
}
