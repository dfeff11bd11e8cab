// The BPF-KV storage functions (bpf/kv/*.bpf.o), run block by block on the
// interpreter by the test chain driver, against the user-space reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBlockSource } from '../../src/base/block-source.ts';
import { formatValue, kvGeometry } from '../../src/kv/format.ts';
import { aggregateRange, lookupKey, rangeScan, RNG_END_INCLUSIVE, type KeyRange } from '../../src/kv/lookups.ts';
import { AGG_BAD_VALUE, AggOp, KvProgramError, RQ, SG, writeRangeQuery, writeSgQuery } from '../../src/kv/scratch.ts';
import { getProgram, kvBytes, kvSource, rangeProgram, TestRng, xrpGet, xrpRange } from './kv-helpers.ts';

test('point lookups: up to 32 random keys per call equal the reference, L = 1..4 (property, seeded)', async () => {
  for (let layers = 1; layers <= 4; layers++) {
    const source = await kvSource(layers);
    const { keyCount } = kvGeometry(layers);
    const rng = new TestRng(1000 + layers);
    for (let call = 0; call < 25; call++) {
      const n = 1 + rng.below(32);
      const keys: bigint[] = [];
      for (let i = 0; i < n; i++) {
        // one key in eight is absent: past the last key, or far away
        const r = rng.below(8);
        keys.push(r === 0 ? BigInt(keyCount + rng.below(1000)) : r === 1 ? 2n ** 64n - 1n - BigInt(rng.below(5)) : BigInt(rng.below(keyCount)));
      }
      const { values, chain } = xrpGet(source, keys);
      const context = `seed ${rng.seed} L=${layers} call ${call} keys ${keys.join(',')}`;
      assert.equal(chain.status, 'done', context);
      let expectedReads = 0;
      keys.forEach((key, i) => {
        const ref = lookupKey(source, key);
        expectedReads += ref.reads;
        assert.equal(values[i]!.found, ref.found, `${context}: found of ${key}`);
        if (ref.found) assert.deepEqual(values[i]!.value, ref.value, `${context}: value of ${key}`);
      });
      assert.equal(chain.reads, expectedReads, `${context}: reads (L + 1 per found key, L per absent key)`);
    }
  }
});

test('range queries across resumes equal the reference scan; at most 32 pairs per call (seeded)', async () => {
  const rng = new TestRng(2024);
  for (const layers of [1, 2, 3, 4]) {
    const source = await kvSource(layers);
    const { keyCount } = kvGeometry(layers);
    for (let i = 0; i < (layers === 4 ? 4 : 8); i++) {
      const begin = BigInt(rng.below(keyCount + 5));
      const end = begin + BigInt(rng.below(layers === 1 ? 40 : 400)) - 2n;
      const range: KeyRange = { begin, end, flags: rng.below(4) };
      const context = `seed ${rng.seed} L=${layers} range ${begin}..${end} flags ${range.flags}`;
      const ref = rangeScan(source, range);
      const got = xrpRange(source, range);
      assert.equal(got.chains.at(-1)!.status, 'done', context);
      assert.deepEqual(got.pairs.map((p) => p.key), ref.pairs.map((p) => p.key), context);
      got.pairs.forEach((p, j) => assert.deepEqual(p.value, ref.pairs[j]!.value, `${context}: value of ${p.key}`));
      assert.ok(got.lensPerCall.every((n) => n <= 32), context);
      assert.ok(got.lensPerCall.slice(0, -1).every((n) => n === 32), `${context}: only the last call is short`);
      const full = Math.ceil(ref.pairs.length / 32);
      // a range that ends exactly on a full call may need one more, empty, call to find its end (as the original)
      assert.ok(got.lensPerCall.length === Math.max(1, full) || (ref.pairs.length % 32 === 0 && got.lensPerCall.length === full + 1), `${context}: ${got.lensPerCall.length} calls for ${ref.pairs.length} pairs`);
    }
  }
});

test('a full call mid-leaf and at a leaf end both resume at the right key', async () => {
  const source = await kvSource(3);
  // 31 keys per leaf: 32 pairs from key 0 end at key 31, one into the second leaf;
  // from key 30, the 32nd pair is key 61, the last of the second leaf.
  for (const begin of [0n, 30n, 29n, 31n]) {
    const range = { begin, end: begin + 200n };
    const got = xrpRange(source, range);
    assert.deepEqual(got.pairs.map((p) => p.key), rangeScan(source, range).pairs.map((p) => p.key), `from ${begin}`);
  }
});

test('aggregations COUNT, SUM, MIN, MAX, AVG return one value equal to the reference (seeded)', async () => {
  const source = await kvSource(3);
  const rng = new TestRng(55);
  for (let i = 0; i < 6; i++) {
    const begin = BigInt(rng.below(29_791));
    const range: KeyRange = { begin, end: begin + BigInt(rng.below(500)), flags: rng.below(4) };
    const ref = aggregateRange(source, range);
    const context = `seed ${rng.seed} range ${range.begin}..${range.end} flags ${range.flags}`;
    for (const [op, expected] of [
      [AggOp.COUNT, ref.count],
      [AggOp.SUM, ref.sum],
      [AggOp.MIN, ref.min],
      [AggOp.MAX, ref.max],
      [AggOp.AVG, ref.avg],
    ] as const) {
      const got = xrpRange(source, range, op);
      assert.equal(got.chains.length, 1, `${context} op ${op}: one call`);
      assert.equal(got.last.aggCount, ref.count, `${context} op ${op}: agg_count`);
      if (expected !== undefined) assert.equal(got.last.aggValue, expected, `${context} op ${op}`);
      assert.equal(got.pairs.length, 0);
    }
  }
  // COUNT reads the leaves only; SUM one value block per key
  const range = { begin: 100n, end: 1100n };
  const count = xrpRange(source, range, AggOp.COUNT);
  assert.equal(count.last.aggValue, 1000n);
  assert.equal(count.chains[0]!.reads, 3 + 32, 'descent to the first leaf, then 32 more leaves');
  const sum = xrpRange(source, range, AggOp.SUM);
  assert.equal(sum.last.aggValue, 599_500n);
  assert.equal(sum.chains[0]!.reads, 3 + 32 + 1000);
  const avg = xrpRange(source, { begin: 0n, end: 29_790n, flags: RNG_END_INCLUSIVE }, AggOp.AVG);
  assert.equal(avg.last.aggValue, 14_895n, 'the whole 3-layer file');
  assert.equal(avg.last.aggSum, (29_790n * 29_791n) / 2n);
  const empty = xrpRange(source, { begin: 50n, end: 50n }, AggOp.MIN);
  assert.equal(empty.last.aggCount, 0n, 'empty range: nothing aggregated');
});

test('ARRAY returns the values beyond 96 by resuming; SET returns distinct values', async () => {
  const source = await kvSource(3);
  const range = { begin: 1000n, end: 1250n };
  const ref = aggregateRange(source, range);
  const array = xrpRange(source, range, AggOp.ARRAY);
  assert.deepEqual(array.out, ref.array);
  assert.deepEqual(array.outPerCall.map((o) => o.length), [96, 96, 58]);

  const dup = new MemoryBlockSource(await kvBytes(3, { valueForSlot: (n) => (n * 7) % 13 }, 'mod13'));
  const dupRange = { begin: 5n, end: 700n };
  const set = xrpRange(dup, dupRange, AggOp.SET);
  assert.equal(set.chains.length, 1);
  assert.deepEqual(set.out, aggregateRange(dup, dupRange).set, 'distinct, in order of first appearance');

  // more distinct values than one call holds: each call is distinct, the union is the set
  const halves = new MemoryBlockSource(await kvBytes(3, { valueForSlot: (n) => Math.floor(n / 2) }, 'half'));
  const wide = { begin: 0n, end: 500n };
  const many = xrpRange(halves, wide, AggOp.SET);
  for (const call of many.outPerCall) assert.equal(new Set(call).size, call.length, 'distinct within a call');
  assert.ok(many.outPerCall.length >= 3);
  assert.deepEqual([...new Set(many.out)], aggregateRange(halves, wide).set);
});

test('bad files and bad scratch end the chain with the documented return values', async () => {
  const good = await kvBytes(2);
  const set = (bytes: Uint8Array, at: number, v: bigint) => new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, v, true);
  const badType = good.slice();
  set(badType, 512 + 8, 5n); // first leaf's type
  const badSource = new MemoryBlockSource(badType);
  assert.equal(xrpGet(badSource, [3n]).chain.r0, BigInt(KvProgramError.BAD_NODE));
  assert.equal(xrpRange(badSource, { begin: 3n, end: 9n }).chains[0]!.r0, BigInt(KvProgramError.BAD_NODE));

  const text = good.slice();
  text.set(Uint8Array.from('not a number'.split('').map((c) => c.charCodeAt(0))), 32 * 512 + 4 * 64);
  const textRange = xrpRange(new MemoryBlockSource(text), { begin: 0n, end: 9n }, AggOp.SUM);
  assert.equal(textRange.chains[0]!.r0, BigInt(KvProgramError.BAD_VALUE));
  assert.equal(textRange.last.aggStatus, AGG_BAD_VALUE);
  assert.equal(textRange.last.aggCount, 4n, 'keys 0..3 were summed first');
  // plain pairs do not parse values, so they pass through
  assert.deepEqual(xrpRange(new MemoryBlockSource(text), { begin: 4n, end: 5n }).pairs[0]!.value.subarray(0, 3), Uint8Array.from([110, 111, 116]));

  // a value pointer that is not 8-aligned takes the byte-by-byte path and still matches the reference
  const shifted = good.slice();
  set(shifted, 512 + 264 + 8, (1n << 63n) | BigInt(32 * 512 + 64 + 3)); // key 1 -> its value + 3
  set(shifted, 512 + 264 + 16, (1n << 63n) | BigInt(32 * 512 + 128 + 5)); // key 2 -> its value + 5 (into key 3's)
  const shiftedSource = new MemoryBlockSource(shifted);
  for (const op of [AggOp.SUM, AggOp.ARRAY]) {
    const range = { begin: 0n, end: 3n };
    const ref = aggregateRange(shiftedSource, range);
    const got = xrpRange(shiftedSource, range, op);
    if (op === AggOp.SUM) assert.equal(got.last.aggValue, ref.sum);
    else assert.deepEqual(got.out, ref.array);
  }
  assert.deepEqual(aggregateRange(shiftedSource, { begin: 0n, end: 3n }).array, [0n, 1n, 2n]);
  const driver = rangeProgram();
  writeRangeQuery(driver.scratchBytes, 0n, 5n);
  new DataView(driver.scratchBytes.buffer, driver.scratchBytes.byteOffset).setUint32(RQ.AGG_OP, 8, true);
  assert.equal(driver.run(await kvSource(2), 0).r0, BigInt(KvProgramError.BAD_STATE));
  writeRangeQuery(driver.scratchBytes, 0n, 5n);
  new DataView(driver.scratchBytes.buffer, driver.scratchBytes.byteOffset).setUint32(RQ.STATE, 0, true);
  assert.equal(driver.run(await kvSource(2), 0).r0, BigInt(KvProgramError.BAD_STATE), 'a zeroed page was never set up');
});

test('a scatter-gather query with no keys ends at once; absent keys stay unfound', async () => {
  const source = await kvSource(2);
  const { values } = xrpGet(source, [5n, 10_000n, 6n]);
  assert.deepEqual(values.map((v) => v.found), [true, false, true]);
  assert.deepEqual(values[2]!.value, formatValue(6));
  const driver = getProgram();
  writeSgQuery(driver.scratchBytes, [1n]);
  const view = new DataView(driver.scratchBytes.buffer, driver.scratchBytes.byteOffset);
  view.setInt32(SG.N_KEYS, 0, true);
  const r = driver.run(source, 0);
  assert.deepEqual([r.status, r.reads], ['done', 1]);
  assert.equal(driver.scratchBytes[SG.VALUES], 0, 'values[0] untouched');
  view.setInt32(SG.N_KEYS, 1, true);
  view.setInt32(SG.CURRENT_INDEX, 1, true);
  assert.deepEqual(driver.run(source, 0).reads, 1, 'a finished query handed back');
});

test('chains cut after any number of reads (a resubmission limit) resume from scratch to the same answers (seeded)', async () => {
  const rng = new TestRng(77);
  const cutAfter = (): number => 1 + rng.below(6);
  for (const layers of [2, 3]) {
    const source = await kvSource(layers);
    const { keyCount } = kvGeometry(layers);
    for (let i = 0; i < 8; i++) {
      const keys = Array.from({ length: 1 + rng.below(32) }, () => BigInt(rng.below(keyCount + 50)));
      const { values, cuts } = xrpGet(source, keys, { cutAfter });
      assert.ok(cuts > 0);
      keys.forEach((key, j) => {
        const ref = lookupKey(source, key);
        assert.equal(values[j]!.found, ref.found, `seed ${rng.seed} L=${layers} key ${key}`);
        if (ref.found) assert.deepEqual(values[j]!.value, ref.value);
      });
    }
    for (const op of [AggOp.NONE, AggOp.SUM, AggOp.COUNT, AggOp.MIN, AggOp.AVG, AggOp.ARRAY, AggOp.SET]) {
      const begin = BigInt(rng.below(keyCount));
      const range: KeyRange = { begin, end: begin + BigInt(rng.below(300)), flags: rng.below(4) };
      const context = `seed ${rng.seed} L=${layers} op ${op} range ${range.begin}..${range.end} flags ${range.flags}`;
      const got = xrpRange(source, range, op, { cutAfter });
      assert.ok(got.chains.some((c) => c.status === 'cut') || got.chains.length === 1, context);
      const ref = aggregateRange(source, range);
      if (op === AggOp.NONE) {
        const scan = rangeScan(source, range);
        assert.deepEqual(got.pairs.map((p) => p.key), scan.pairs.map((p) => p.key), context);
        got.pairs.forEach((p, j) => assert.deepEqual(p.value, scan.pairs[j]!.value, context));
      } else if (op === AggOp.ARRAY) {
        assert.deepEqual(got.out, ref.array, context);
      } else if (op === AggOp.SET) {
        assert.deepEqual([...new Set(got.out)], ref.set, context);
      } else {
        assert.equal(got.last.aggCount, ref.count, context);
        const expected = { [AggOp.SUM]: ref.sum, [AggOp.COUNT]: ref.count, [AggOp.MIN]: ref.min, [AggOp.AVG]: ref.avg }[op];
        if (expected !== undefined) assert.equal(got.last.aggValue, expected, context);
      }
    }
  }
});

test('a chain cut at each position of the first call (descent, leaf, value) resumes correctly', async () => {
  const source = await kvSource(3);
  const range = { begin: 100n, end: 150n };
  const expected = rangeScan(source, range).pairs.map((p) => p.key);
  for (let firstCut = 1; firstCut <= 8; firstCut++) {
    let calls = 0;
    const schedule = (): number => (calls++ === 0 ? firstCut : 1_000);
    const got = xrpRange(source, range, AggOp.NONE, { cutAfter: schedule });
    assert.equal(got.chains[0]!.status, 'cut');
    assert.ok(got.chains.every((c) => c.status !== 'error'), `cut after ${firstCut}: ${got.chains.map((c) => c.r0).join(',')}`);
    assert.deepEqual(got.pairs.map((p) => p.key), expected, `cut after ${firstCut}`);
    calls = 0;
    const keys = [5n, 29_000n, 40_000n];
    const { values } = xrpGet(source, keys, { cutAfter: schedule });
    assert.deepEqual(values.map((v) => v.found), [true, true, false], `get cut after ${firstCut}`);
    assert.deepEqual(values[1]!.value, formatValue(29_000));
  }
});

test('the JIT and the interpreter leave the same scratch, reads and instruction counts', async () => {
  const rng = new TestRng(909);
  for (const layers of [1, 3, 4]) {
    const source = await kvSource(layers);
    const { keyCount } = kvGeometry(layers);
    for (let i = 0; i < 6; i++) {
      const keys = Array.from({ length: 1 + rng.below(32) }, () => BigInt(rng.below(keyCount + 40)));
      const a = xrpGet(source, keys);
      const b = xrpGet(source, keys, { engine: 'jit' });
      assert.deepEqual(b.values, a.values, `seed ${rng.seed} L=${layers} keys ${keys.join(',')}`);
      assert.deepEqual([b.chain.reads, b.chain.insnsExecuted], [a.chain.reads, a.chain.insnsExecuted]);
    }
    for (const op of Object.values(AggOp)) {
      const begin = BigInt(rng.below(keyCount));
      const range: KeyRange = { begin, end: begin + BigInt(rng.below(200)), flags: rng.below(4) };
      const a = xrpRange(source, range, op);
      const b = xrpRange(source, range, op, { engine: 'jit' });
      const context = `seed ${rng.seed} L=${layers} op ${op} range ${range.begin}..${range.end}`;
      assert.deepEqual(b.pairs, a.pairs, context);
      assert.deepEqual(b.out, a.out, context);
      assert.deepEqual(b.last, a.last, context);
      assert.deepEqual(b.chains, a.chains, context);
    }
  }
});
