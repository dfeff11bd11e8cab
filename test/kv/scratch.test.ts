import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatValue } from '../../src/kv/format.ts';
import {
  AggOp,
  KvScratchError,
  prepRangeResume,
  RangeState,
  readRangeQuery,
  readSgQuery,
  RQ,
  SG,
  writeRangeQuery,
  writeSgQuery,
} from '../../src/kv/scratch.ts';

const u64 = (page: Uint8Array, at: number): bigint => new DataView(page.buffer).getBigUint64(at, true);
const u32 = (page: Uint8Array, at: number): number => new DataView(page.buffer).getUint32(at, true);

test('ScatterGatherQuery: the original layout (keys@32, values@288 of 65 bytes, 2368 bytes)', () => {
  const page = new Uint8Array(4096).fill(0xee);
  writeSgQuery(page, [7n, 900n, 2n ** 64n - 1n], 0n);
  assert.equal(u64(page, 0), 0n, 'root_pointer');
  assert.equal(u32(page, 16), 0, 'state_flags');
  assert.equal(new DataView(page.buffer).getInt32(20, true), 0, 'current_index');
  assert.equal(new DataView(page.buffer).getInt32(24, true), 3, 'n_keys');
  assert.equal(u64(page, 32), 7n);
  assert.equal(u64(page, 40), 900n);
  assert.equal(u64(page, 48), 2n ** 64n - 1n);
  assert.ok(page.every((b, i) => i < 32 || i >= 56 || b === page[i]) && page.subarray(56).every((b) => b === 0), 'rest zeroed');
  // a found value as the program leaves it: values[1] = { 1, "%63lu" }
  page[SG.VALUES + SG.VALUE_ENTRY_BYTES] = 1;
  page.set(formatValue(900), SG.VALUES + SG.VALUE_ENTRY_BYTES + 1);
  const q = readSgQuery(page);
  assert.equal(q.nKeys, 3);
  assert.deepEqual(q.keys.slice(0, 3), [7n, 900n, 2n ** 64n - 1n]);
  assert.equal(q.values[0]!.found, false);
  assert.equal(q.values[1]!.found, true);
  assert.deepEqual(q.values[1]!.value, formatValue(900));
  assert.equal(SG.VALUES + SG.KEYS_MAX * SG.VALUE_ENTRY_BYTES, SG.BYTES);
  assert.throws(() => writeSgQuery(page, []), KvScratchError);
  assert.throws(() => writeSgQuery(page, new Array(33).fill(1n)), KvScratchError);
  assert.throws(() => writeSgQuery(new Uint8Array(100), [1n]), KvScratchError);
});

test('RangeQuery: the original layout to 2880 bytes, then the extension', () => {
  assert.equal(RQ.KV + RQ.KV_MAX * RQ.KV_ENTRY_BYTES, RQ.AGG_VALUE);
  assert.equal(RQ.CURRENT_NODE + 512, RQ.ORIGINAL_BYTES);
  assert.equal(RQ.OUT + RQ.OUT_MAX * 8, RQ.SET_INDEX);
  assert.equal(RQ.SET_INDEX + RQ.SET_SLOTS, RQ.BYTES);
  const page = new Uint8Array(4096).fill(0xaa);
  writeRangeQuery(page, 10n, 20n, 2, AggOp.SET);
  assert.equal(u64(page, 0), 10n);
  assert.equal(u64(page, 8), 20n);
  assert.equal(u32(page, 16), 2);
  assert.equal(u32(page, 20), AggOp.SET);
  assert.equal(u32(page, 2344), RangeState.TRAVERSE);
  assert.equal(u64(page, 2352), 0n);
  assert.ok(page.subarray(2880).every((b) => b === 0));
  // as a program would leave it after a full call
  const view = new DataView(page.buffer);
  view.setInt32(RQ.LEN, 2, true);
  view.setBigUint64(RQ.KV, 11n, true);
  page.set(formatValue(11), RQ.KV + 8);
  view.setBigUint64(RQ.KV + 72, 12n, true);
  view.setUint32(RQ.OUT_LEN, 1, true);
  view.setBigUint64(RQ.OUT, 99n, true);
  page[RQ.SET_INDEX + 5] = 1;
  view.setBigUint64(RQ.RESUME_FROM_LEAF, 5120n, true);
  view.setBigUint64(RQ.RANGE_BEGIN, 12n, true);
  view.setUint32(RQ.FLAGS, 3, true);
  const q = readRangeQuery(page);
  assert.equal(q.len, 2);
  assert.deepEqual(q.kv.map((p) => p.key), [11n, 12n]);
  assert.deepEqual(q.kv[0]!.value, formatValue(11));
  assert.deepEqual(q.out, [99n]);
  const resume = prepRangeResume(page);
  assert.deepEqual(resume, { complete: false, resumeFromLeaf: 5120n });
  assert.equal(u32(page, RQ.LEN), 0);
  assert.equal(u32(page, RQ.OUT_LEN), 0);
  assert.equal(page[RQ.SET_INDEX + 5], 0);
  assert.equal(u32(page, RQ.STATE), RangeState.RESUME);
  // mark_range_query_complete: begin = end, begin-exclusive, not end-inclusive
  view.setBigUint64(RQ.RANGE_BEGIN, 20n, true);
  view.setUint32(RQ.FLAGS, 1, true);
  assert.equal(prepRangeResume(page).complete, true);
  view.setInt32(RQ.LEN, 33, true);
  assert.throws(() => readRangeQuery(page), KvScratchError);
  assert.throws(() => writeRangeQuery(page, 1n, 2n, 4), KvScratchError);
  assert.throws(() => writeRangeQuery(page, 1n, 2n, 0, 8), KvScratchError);
});
