// The caller side of the original authors' range query program (xrp-bpf/range.c
// of github.com/xrp-project/BPF-KV) on any XrpEngine, emulated or native.
//
// It does what their user code does (range.c: set_range, read_xrp from
// _resume_from_leaf, prep_range_resume until empty_range) and one thing their
// code never needed: a chain cut by the resubmission limit (an AGG_SUM over
// more keys than the limit, since their aggregation never fills the 32-pair
// buffer) is CONTINUED where it stopped: the pending read, the scratch page
// untouched, as src/kv/xrp-client.ts's range client does too (continuationOf).
// Resuming it from the saved leaf is not exact for theirs:
//  - range.c advances range_begin past a key when it SUBMITS the key's value
//    read, so a chain cut before that value arrives loses it (measured: a SUM
//    over [100, 5000) of a 3-layer file short by exactly one value per cut);
//  - the first leaf of a descent never sets _resume_from_leaf (it stays at the
//    root), and a cut while the next leaf is read leaves _current_node stale.
// Their layout is ours (src/kv/scratch.ts RQ: the original's struct is the
// first 2,880 bytes); their AGG_SUM adds each value's first 8 bytes read as a
// long, which is not our kv_range's SUM (the value's number).

import { XrpLookupBudget } from '../xrp/budget.ts';
import { XrpStatus } from '../xrp/status.ts';
import type { XrpEngine } from '../xrp/engine.ts';
import { kvGeometry } from './format.ts';
import { checkKey, isEmptyRange, type KeyValue } from './lookups.ts';
import { AggOp, readRangeQuery, RangeState, RQ, writeRangeQuery } from './scratch.ts';
import { continuationOf, NativeKvError } from './xrp-client.ts';

/** The aggregations range.c knows: AGG_NONE (the pairs) and AGG_SUM. */
export type OriginalRangeAgg = 'none' | 'sum';

export interface OriginalRangeOptions {
  /** RNG_BEGIN_EXCLUSIVE (1) | RNG_END_INCLUSIVE (2); default [begin, end) */
  flags?: number;
  agg?: OriginalRangeAgg;
  /** depth of the file: bounds the reads of the whole query (every node and value twice over) unless readsMax is given */
  layers: number;
  readsMax?: number;
}

export interface OriginalRangeResult {
  /** the pairs in key order (agg 'none') */
  pairs: KeyValue[];
  /** their agg_value (agg 'sum'): the values' first 8 bytes as longs, summed modulo 2^64 */
  aggValue: bigint;
  /** read_xrp calls: one per 32 pairs, plus the continuations of cut chains */
  calls: number;
  /** chains cut by the resubmission limit and continued */
  continuations: number;
  reads: number;
  /** the read budget ran out: the answer is what was reached */
  partial: boolean;
}

/** prep_range_resume of db_types.h: len = 0, _state = RNG_RESUME. */
function prepRangeResume(scratch: Uint8Array): void {
  const view = new DataView(scratch.buffer, scratch.byteOffset, scratch.length);
  view.setInt32(RQ.LEN, 0, true);
  view.setUint32(RQ.STATE, RangeState.RESUME, true);
}

/** A range query [begin, end) by their range.c, loaded in `engine`, until empty_range says it is complete. */
export async function originalRange(engine: XrpEngine, begin: bigint, end: bigint, options: OriginalRangeOptions): Promise<OriginalRangeResult> {
  checkKey(begin, 'range begin');
  checkKey(end, 'range end');
  const flags = options.flags ?? 0;
  const agg = options.agg ?? 'none';
  const geometry = kvGeometry(options.layers);
  const budget = new XrpLookupBudget(options.readsMax ?? 2 * (geometry.totalNodes + geometry.keyCount) + 16);
  const scratch = new Uint8Array(4096);
  writeRangeQuery(scratch, begin, end, flags, agg === 'sum' ? AggOp.SUM : AggOp.NONE); // set_range
  const result: OriginalRangeResult = { pairs: [], aggValue: 0n, calls: 0, continuations: 0, reads: 0, partial: false };
  const what = `range.c [${begin}, ${end}) flags ${flags} agg ${agg}`;
  let offset = 0;
  let sizeBytes = 512;
  while (budget.open) {
    const r = await engine.readXrp(offset, scratch, { resubmitLimit: budget.nextLimit(engine.resubmitLimit), sizeBytes });
    budget.charge(r.reads);
    result.calls++;
    result.reads += r.reads;
    if (r.status === XrpStatus.LIMIT) {
      const next = continuationOf(r, what);
      result.continuations++;
      offset = next.offsetBytes;
      sizeBytes = next.sizeBytes;
      continue;
    }
    if (r.status !== XrpStatus.DONE) throw new NativeKvError(`${what}: the chain ended with ${r.statusName} at offset ${r.stopOffsetBytes}: ${r.detail}`);
    const query = readRangeQuery(scratch);
    result.pairs.push(...query.kv);
    result.aggValue = query.aggValue;
    prepRangeResume(scratch);
    const after = readRangeQuery(scratch);
    if (isEmptyRange({ begin: after.rangeBegin, end: after.rangeEnd, flags: after.flags })) return result;
    offset = Number(after.resumeFromLeaf);
    sizeBytes = 512;
  }
  result.partial = true;
  return result;
}
