// The scratch-page layouts of the BPF-KV storage functions (bpf/kv/kv.h), as
// the original's db_types.h lays them out on x86-64: ScatterGatherQuery for
// point lookups and RangeQuery (plus the xrp-ts aggregation extension) for
// ranges. All integers little-endian.

import { XrpError } from '../base/errors.ts';
import { BLOCK_BYTES, NODE_BYTES, VALUE_BYTES } from './format.ts';
import { isEmptyRange, type KeyValue } from './lookups.ts';

export const SCRATCH_BYTES = 4096;

export class KvScratchError extends XrpError {
  constructor(message: string) {
    super('KV_SCRATCH', message);
  }
}

function checkPage(page: Uint8Array, minBytes: number, what: string): DataView {
  if (page.length < minBytes) throw new KvScratchError(`${what} needs a ${minBytes}-byte page, got ${page.length} bytes`);
  return new DataView(page.buffer, page.byteOffset, page.length);
}

// ---- ScatterGatherQuery ----

export const SG = {
  ROOT_POINTER: 0,
  VALUE_PTR: 8,
  STATE_FLAGS: 16,
  CURRENT_INDEX: 20,
  N_KEYS: 24,
  KEYS: 32,
  VALUES: 288,
  /** { u8 found; u8 value[64] } */
  VALUE_ENTRY_BYTES: 65,
  KEYS_MAX: 32,
  BYTES: 2368,
} as const;

/** state_flags: the leaf found the key and value_ptr is set (REACHED_LEAF and AT_VALUE are both 1 in the original) */
export const SG_AT_VALUE = 1;

export interface MaybeValue {
  found: boolean;
  value: Uint8Array;
}

export interface ScatterGatherQuery {
  rootPointer: bigint;
  valuePtr: bigint;
  stateFlags: number;
  currentIndex: number;
  nKeys: number;
  /** SG.KEYS_MAX entries */
  keys: bigint[];
  /** SG.KEYS_MAX entries */
  values: MaybeValue[];
}

/** Zeroes the page and writes a fresh query for `keys` (1 to 32), as the original's traverse() does. */
export function writeSgQuery(page: Uint8Array, keys: readonly bigint[], rootPointer = 0n): void {
  const view = checkPage(page, SG.BYTES, 'ScatterGatherQuery');
  if (keys.length < 1 || keys.length > SG.KEYS_MAX) {
    throw new KvScratchError(`a scatter-gather query takes 1 to ${SG.KEYS_MAX} keys, got ${keys.length}`);
  }
  page.fill(0, 0, Math.min(page.length, SCRATCH_BYTES));
  view.setBigUint64(SG.ROOT_POINTER, rootPointer, true);
  view.setInt32(SG.N_KEYS, keys.length, true);
  keys.forEach((key, i) => view.setBigUint64(SG.KEYS + i * 8, key, true));
}

export function readSgQuery(page: Uint8Array): ScatterGatherQuery {
  const view = checkPage(page, SG.BYTES, 'ScatterGatherQuery');
  const keys: bigint[] = [];
  const values: MaybeValue[] = [];
  for (let i = 0; i < SG.KEYS_MAX; i++) {
    keys.push(view.getBigUint64(SG.KEYS + i * 8, true));
    const at = SG.VALUES + i * SG.VALUE_ENTRY_BYTES;
    values.push({ found: page[at] !== 0, value: page.slice(at + 1, at + 1 + VALUE_BYTES) });
  }
  return {
    rootPointer: view.getBigUint64(SG.ROOT_POINTER, true),
    valuePtr: view.getBigUint64(SG.VALUE_PTR, true),
    stateFlags: view.getUint32(SG.STATE_FLAGS, true),
    currentIndex: view.getInt32(SG.CURRENT_INDEX, true),
    nKeys: view.getInt32(SG.N_KEYS, true),
    keys,
    values,
  };
}

/**
 * Where an unfinished scatter-gather query goes on (after a chain was cut, for
 * example by a resubmission limit): the value block when a leaf has already
 * found the key, else the root; undefined when every key is done.
 */
export function sgResumeOffset(page: Uint8Array): bigint | undefined {
  const view = checkPage(page, SG.BYTES, 'ScatterGatherQuery');
  const current = view.getInt32(SG.CURRENT_INDEX, true);
  const nKeys = view.getInt32(SG.N_KEYS, true);
  if (current < 0 || current >= nKeys || current >= SG.KEYS_MAX) return undefined;
  if ((view.getUint32(SG.STATE_FLAGS, true) & SG_AT_VALUE) !== 0) {
    const valuePtr = view.getBigUint64(SG.VALUE_PTR, true);
    return valuePtr - (valuePtr % BigInt(BLOCK_BYTES));
  }
  return view.getBigUint64(SG.ROOT_POINTER, true);
}

// ---- RangeQuery ----

export const RQ = {
  RANGE_BEGIN: 0,
  RANGE_END: 8,
  FLAGS: 16,
  AGG_OP: 20,
  LEN: 24,
  KV: 32,
  /** { u64 key; u8 value[64] } */
  KV_ENTRY_BYTES: 72,
  KV_MAX: 32,
  AGG_VALUE: 2336,
  STATE: 2344,
  RESUME_FROM_LEAF: 2352,
  NODE_KEY_IX: 2360,
  CURRENT_NODE: 2368,
  /** the original's struct ends here */
  ORIGINAL_BYTES: 2880,
  AGG_COUNT: 2880,
  AGG_SUM: 2888,
  OUT_LEN: 2896,
  AGG_STATUS: 2900,
  OUT: 2904,
  OUT_MAX: 96,
  SET_INDEX: 3672,
  SET_SLOTS: 128,
  BYTES: 3800,
} as const;

export const RangeState = { RESUME: 1, TRAVERSE: 2, READ_VALUE: 3, READ_NODE: 4 } as const;
export const AggOp = { NONE: 0, SUM: 1, COUNT: 2, MIN: 3, MAX: 4, AVG: 5, ARRAY: 6, SET: 7 } as const;
export type AggOpName = Lowercase<keyof typeof AggOp>;
export const AGG_BAD_VALUE = 1;
/** return values of the storage functions */
export const KvProgramError = { BAD_NODE: 1, BAD_STATE: 2, BAD_VALUE: 3 } as const;

export interface RangeQuery {
  rangeBegin: bigint;
  rangeEnd: bigint;
  flags: number;
  aggOp: number;
  len: number;
  /** the first `len` (at most 32) pairs */
  kv: KeyValue[];
  aggValue: bigint;
  state: number;
  resumeFromLeaf: bigint;
  nodeKeyIx: number;
  currentNode: Uint8Array;
  aggCount: bigint;
  aggSum: bigint;
  outLen: number;
  aggStatus: number;
  /** the first `outLen` (at most 96) numbers */
  out: bigint[];
}

/** set_range: zeroes the page and starts a query of [begin, end) (flags change the ends). */
export function writeRangeQuery(page: Uint8Array, begin: bigint, end: bigint, flags = 0, aggOp: number = AggOp.NONE): void {
  const view = checkPage(page, RQ.BYTES, 'RangeQuery');
  if (!Number.isInteger(flags) || flags < 0 || flags > 3) throw new KvScratchError(`range flags must be 0..3, got ${String(flags)}`);
  if (!Number.isInteger(aggOp) || aggOp < AggOp.NONE || aggOp > AggOp.SET) throw new KvScratchError(`unknown aggregation op ${String(aggOp)}`);
  page.fill(0, 0, Math.min(page.length, SCRATCH_BYTES));
  view.setBigUint64(RQ.RANGE_BEGIN, begin, true);
  view.setBigUint64(RQ.RANGE_END, end, true);
  view.setUint32(RQ.FLAGS, flags, true);
  view.setUint32(RQ.AGG_OP, aggOp, true);
  view.setUint32(RQ.STATE, RangeState.TRAVERSE, true);
  view.setBigUint64(RQ.RESUME_FROM_LEAF, 0n, true);
}

export function readRangeQuery(page: Uint8Array): RangeQuery {
  const view = checkPage(page, RQ.BYTES, 'RangeQuery');
  const len = view.getInt32(RQ.LEN, true);
  const outLen = view.getUint32(RQ.OUT_LEN, true);
  if (len < 0 || len > RQ.KV_MAX) throw new KvScratchError(`RangeQuery.len is ${len}, outside 0..${RQ.KV_MAX}`);
  if (outLen > RQ.OUT_MAX) throw new KvScratchError(`RangeQuery.out_len is ${outLen}, outside 0..${RQ.OUT_MAX}`);
  const kv: KeyValue[] = [];
  for (let i = 0; i < len; i++) {
    const at = RQ.KV + i * RQ.KV_ENTRY_BYTES;
    kv.push({ key: view.getBigUint64(at, true), value: page.slice(at + 8, at + 8 + VALUE_BYTES) });
  }
  const out: bigint[] = [];
  for (let i = 0; i < outLen; i++) out.push(view.getBigUint64(RQ.OUT + i * 8, true));
  return {
    rangeBegin: view.getBigUint64(RQ.RANGE_BEGIN, true),
    rangeEnd: view.getBigUint64(RQ.RANGE_END, true),
    flags: view.getUint32(RQ.FLAGS, true),
    aggOp: view.getUint32(RQ.AGG_OP, true),
    len,
    kv,
    aggValue: view.getBigUint64(RQ.AGG_VALUE, true),
    state: view.getUint32(RQ.STATE, true),
    resumeFromLeaf: view.getBigUint64(RQ.RESUME_FROM_LEAF, true),
    nodeKeyIx: view.getUint32(RQ.NODE_KEY_IX, true),
    currentNode: page.slice(RQ.CURRENT_NODE, RQ.CURRENT_NODE + NODE_BYTES),
    aggCount: view.getBigUint64(RQ.AGG_COUNT, true),
    aggSum: view.getBigUint64(RQ.AGG_SUM, true),
    outLen,
    aggStatus: view.getUint32(RQ.AGG_STATUS, true),
    out,
  };
}

/** The query's remaining range is empty (empty_range of db_types.h): nothing left to fetch. */
export function rangeQueryComplete(page: Uint8Array): boolean {
  const view = checkPage(page, RQ.BYTES, 'RangeQuery');
  return isEmptyRange({
    begin: view.getBigUint64(RQ.RANGE_BEGIN, true),
    end: view.getBigUint64(RQ.RANGE_END, true),
    flags: view.getUint32(RQ.FLAGS, true),
  });
}

/**
 * prep_range_resume: clears this call's output (len, out_len, set_index) and
 * sets _state = RESUME. Returns true when the query is complete (nothing to
 * resume); otherwise the caller reads `resumeFromLeaf` next. This also
 * resumes a chain that was cut anywhere (a resubmission limit): kv_range
 * consumes a key only once its value is in, and a resume that lands on an
 * internal node continues the descent.
 */
export function prepRangeResume(page: Uint8Array): { complete: boolean; resumeFromLeaf: bigint } {
  const view = checkPage(page, RQ.BYTES, 'RangeQuery');
  view.setInt32(RQ.LEN, 0, true);
  view.setUint32(RQ.OUT_LEN, 0, true);
  page.fill(0, RQ.SET_INDEX, RQ.SET_INDEX + RQ.SET_SLOTS);
  view.setUint32(RQ.STATE, RangeState.RESUME, true);
  return { complete: rangeQueryComplete(page), resumeFromLeaf: view.getBigUint64(RQ.RESUME_FROM_LEAF, true) };
}
