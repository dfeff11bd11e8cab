// The untimed user-space answers (the oracle of lookups.ts) in the shapes the
// timed modes return, so that a run can be checked answer for answer.

import type { BlockSource } from '../base/block-source.ts';
import { aggregateRange, lookupKey, rangeScan, type KeyRange } from './lookups.ts';
import type { LookupAnswer, RangeAgg, RangeAnswer } from './user-ops.ts';

export function referenceLookup(source: BlockSource, key: bigint): LookupAnswer {
  const r = lookupKey(source, key);
  return { key, found: r.found, value: r.value ?? null };
}

export function referenceRange(source: BlockSource, range: KeyRange, agg: RangeAgg): RangeAnswer {
  if (agg === 'none') {
    const { pairs } = rangeScan(source, range, true);
    return { agg, count: pairs.length, pairs, calls: 0 };
  }
  if (agg === 'count') {
    const { pairs } = rangeScan(source, range, false);
    return { agg, count: pairs.length, value: BigInt(pairs.length), calls: 0 };
  }
  const a = aggregateRange(source, range);
  const answer: RangeAnswer = { agg, count: Number(a.count), calls: 0 };
  if (agg === 'array') answer.numbers = a.array;
  else if (agg === 'set') answer.numbers = a.set;
  else {
    const value = agg === 'sum' ? a.sum : agg === 'min' ? a.min : agg === 'max' ? a.max : a.avg;
    if (value !== undefined) answer.value = value;
  }
  return answer;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Where two lookup answers differ, or null. */
export function lookupDifference(a: LookupAnswer, b: LookupAnswer): string | null {
  if (a.key !== b.key) return `keys ${a.key} and ${b.key}`;
  if (a.found !== b.found) return `key ${a.key}: found ${a.found} vs ${b.found}`;
  if (!sameBytes(a.value, b.value)) return `key ${a.key}: values differ`;
  return null;
}

/** Where two range answers differ (calls aside), or null. */
export function rangeDifference(a: RangeAnswer, b: RangeAnswer): string | null {
  if (a.agg !== b.agg) return `aggregations ${a.agg} and ${b.agg}`;
  if (a.count !== b.count) return `${a.agg}: count ${a.count} vs ${b.count}`;
  if (a.value !== b.value) return `${a.agg}: value ${String(a.value)} vs ${String(b.value)}`;
  const na = a.numbers ?? [];
  const nb = b.numbers ?? [];
  if ((a.numbers === undefined) !== (b.numbers === undefined) || na.length !== nb.length || na.some((x, i) => x !== nb[i])) {
    return `${a.agg}: numbers [${na.slice(0, 8).join(',')}...] (${na.length}) vs [${nb.slice(0, 8).join(',')}...] (${nb.length})`;
  }
  const pa = a.pairs ?? [];
  const pb = b.pairs ?? [];
  if ((a.pairs === undefined) !== (b.pairs === undefined) || pa.length !== pb.length) return `${a.agg}: ${pa.length} pairs vs ${pb.length}`;
  for (let i = 0; i < pa.length; i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined || y === undefined || x.key !== y.key || !sameBytes(x.value, y.value)) return `${a.agg}: pair ${i} (key ${x?.key} vs ${y?.key}) differs`;
  }
  return null;
}
