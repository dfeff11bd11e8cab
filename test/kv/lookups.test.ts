import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKvFile } from '../../src/kv/builder.ts';
import { FileBlockSource, KvReadError, MemoryBlockSource } from '../../src/base/block-source.ts';
import { formatValue, kvGeometry, valueText } from '../../src/kv/format.ts';
import {
  aggregateRange,
  isEmptyRange,
  KvLookupError,
  lookupKey,
  rangeScan,
  RNG_BEGIN_EXCLUSIVE,
  RNG_END_INCLUSIVE,
  TopLevelCache,
  U64_MAX,
} from '../../src/kv/lookups.ts';
import { KvStructureError } from '../../src/kv/checks.ts';
import { kvBytes, kvSource, TestRng } from './kv-helpers.ts';

test('every key of a 2-layer file, and absent keys', async () => {
  const source = await kvSource(2);
  for (let key = 0; key < 961; key++) {
    const r = lookupKey(source, BigInt(key));
    assert.ok(r.found);
    assert.deepEqual(r.value, formatValue(key));
    assert.equal(r.reads, 3);
  }
  for (const key of [961n, 962n, 10_000n, U64_MAX]) assert.equal(lookupKey(source, key).found, false, `key ${key}`);
  assert.throws(() => lookupKey(source, -1n), KvLookupError);
  assert.throws(() => lookupKey(source, U64_MAX + 1n), KvLookupError);
});

test('the top-level cache (like --cache) gives the same answers with fewer reads', async () => {
  const source = await kvSource(4);
  const rng = new TestRng(44);
  for (let layers = 0; layers <= 3; layers++) {
    const cache = new TopLevelCache(source, layers);
    assert.equal(cache.size, [0, 1, 32, 993][layers]);
    for (let i = 0; i < 50; i++) {
      const key = BigInt(rng.below(923_521));
      const r = lookupKey(source, key, { cache });
      assert.ok(r.found);
      assert.equal(valueText(r.value!), String(key));
      assert.equal(r.reads, 5 - layers, `cache of ${layers} layers`);
    }
  }
  // a cache never holds leaves: a 2-layer file caches only the root
  assert.equal(new TopLevelCache(await kvSource(2), 3).size, 1);
  assert.throws(() => new TopLevelCache(source, 4), KvLookupError);
});

test('a file on disk reads as the same bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kv-lookup-'));
  try {
    const path = join(dir, 'db');
    await buildKvFile(path, { layers: 3 });
    const file = new FileBlockSource(path);
    assert.equal(file.sizeBytes, kvGeometry(3).fileBytes);
    assert.equal(valueText(lookupKey(file, 29_790n).value!), '29790');
    file.close();
    assert.throws(() => lookupKey(file, 1n), KvReadError);
    assert.throws(() => new FileBlockSource(join(dir, 'missing')), KvReadError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('range scans: bounds and flags as the original (default [begin, end))', async () => {
  const source = await kvSource(3);
  const keys = (begin: bigint, end: bigint, flags = 0): bigint[] => rangeScan(source, { begin, end, flags }).pairs.map((p) => p.key);
  const span = (a: number, b: number): bigint[] => Array.from({ length: b - a }, (_, i) => BigInt(a + i));
  assert.deepEqual(keys(10n, 20n), span(10, 20));
  assert.deepEqual(keys(10n, 20n, RNG_BEGIN_EXCLUSIVE), span(11, 20));
  assert.deepEqual(keys(10n, 20n, RNG_END_INCLUSIVE), span(10, 21));
  assert.deepEqual(keys(10n, 20n, 3), span(11, 21));
  assert.deepEqual(keys(29_780n, 40_000n), span(29_780, 29_791), 'past the last key');
  assert.deepEqual(keys(5n, 5n), []);
  assert.deepEqual(keys(5n, 5n, RNG_END_INCLUSIVE), [5n]);
  assert.deepEqual(keys(6n, 5n, 3), []);
  const scan = rangeScan(source, { begin: 0n, end: 2000n });
  assert.equal(scan.pairs.length, 2000);
  scan.pairs.forEach((p, i) => assert.deepEqual(p.value, formatValue(i)));
  assert.equal(scan.reads, 3 + 2000 + 64, 'descent, one read per value, 64 further leaves');
  assert.equal(rangeScan(source, { begin: 0n, end: 2000n }, false).reads, 3 + 64, 'keys only');
  assert.throws(() => rangeScan(source, { begin: 0n, end: 5n, flags: 4 }), KvLookupError);
});

test('isEmptyRange is empty_range of db_types.h', () => {
  assert.equal(isEmptyRange({ begin: 5n, end: 4n }), true);
  assert.equal(isEmptyRange({ begin: 5n, end: 5n }), true);
  assert.equal(isEmptyRange({ begin: 5n, end: 5n, flags: RNG_END_INCLUSIVE }), false);
  assert.equal(isEmptyRange({ begin: 5n, end: 5n, flags: 3 }), true);
  assert.equal(isEmptyRange({ begin: 5n, end: 6n, flags: RNG_BEGIN_EXCLUSIVE }), true);
  assert.equal(isEmptyRange({ begin: 5n, end: 6n, flags: 3 }), false);
  assert.equal(isEmptyRange({ begin: 5n, end: 6n }), false);
});

test('aggregations over ranges match closed forms', async () => {
  const source = await kvSource(3);
  const rng = new TestRng(7);
  for (let i = 0; i < 20; i++) {
    const a = rng.below(29_791);
    const b = a + rng.below(3000);
    const agg = aggregateRange(source, { begin: BigInt(a), end: BigInt(b), flags: RNG_END_INCLUSIVE });
    const hi = Math.min(b, 29_790);
    const n = hi - a + 1;
    assert.equal(agg.count, BigInt(n));
    assert.equal(agg.sum, BigInt(((a + hi) * n) / 2));
    assert.equal(agg.min, BigInt(a));
    assert.equal(agg.max, BigInt(hi));
    assert.equal(agg.avg, BigInt(Math.floor((a + hi) / 2)));
    assert.equal(agg.array.length, n);
    assert.deepEqual(agg.set, agg.array);
  }
  const empty = aggregateRange(source, { begin: 9n, end: 9n });
  assert.equal(empty.count, 0n);
  assert.equal(empty.min, undefined);
  assert.equal(empty.avg, undefined);
  const dup = new MemoryBlockSource(await kvBytes(2, { valueForSlot: (n) => n % 7 }, 'mod7'));
  const agg = aggregateRange(dup, { begin: 100n, end: 200n });
  assert.deepEqual(agg.set, [2n, 3n, 4n, 5n, 6n, 0n, 1n]);
  assert.equal(agg.max, 6n);
});

test('corrupt files get the structural errors of every mode (src/kv/checks.ts), never a hang', async () => {
  const good = await kvBytes(2);
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset);
  const check = (name: string, offsetBytes: number, key: bigint | null) => (e: unknown): boolean =>
    e instanceof KvStructureError && e.check === name && e.offsetBytes === offsetBytes && e.key === key && e.file === 'db.raw';
  const cyclic = good.slice();
  for (let k = 0; k < 31; k++) view(cyclic).setBigUint64(264 + k * 8, 1n << 63n, true); // root points at itself
  assert.throws(() => lookupKey(new MemoryBlockSource(cyclic), 5n, { file: 'db.raw' }), check('CYCLE', 0, 5n));
  const badType = good.slice();
  view(badType).setBigUint64(8, 9n, true);
  assert.throws(() => lookupKey(new MemoryBlockSource(badType), 5n, { file: 'db.raw' }), check('ROOT_TYPE', 0, null));
  const leafType = good.slice();
  view(leafType).setBigUint64(512 + 8, 7n, true); // the first leaf's type
  assert.throws(() => lookupKey(new MemoryBlockSource(leafType), 5n, { file: 'db.raw' }), check('NODE_TYPE', 512, 5n));
  const noMask = good.slice();
  view(noMask).setBigUint64(264, 512n, true);
  assert.throws(() => lookupKey(new MemoryBlockSource(noMask), 5n, { file: 'db.raw' }), check('POINTER_MASK', 0, 5n));
  const misaligned = good.slice();
  view(misaligned).setBigUint64(264, (1n << 63n) | 520n, true);
  assert.throws(() => lookupKey(new MemoryBlockSource(misaligned), 5n, { file: 'db.raw' }), check('POINTER_ALIGN', 520, 5n));
  const crossing = good.slice();
  view(crossing).setBigUint64(512 + 264, (1n << 63n) | BigInt(32 * 512 + 480), true); // key 0's value crosses a block
  assert.throws(() => lookupKey(new MemoryBlockSource(crossing), 0n, { file: 'db.raw' }), check('VALUE_BLOCK', 512, 0n));
  assert.throws(() => lookupKey(new MemoryBlockSource(good.slice(0, 600)), 5n, { file: 'db.raw' }), check('FILE_SIZE', 600, null));
  assert.throws(() => lookupKey(new MemoryBlockSource(good.slice(0, 100)), 5n, { file: 'db.raw' }), check('FILE_SIZE', 100, null));
  assert.throws(() => rangeScan(new MemoryBlockSource(good.slice(0, 600)), { begin: 9n, end: 9n }, true, 'db.raw'), check('FILE_SIZE', 600, null), 'an empty range checks the file too');
  const loop = good.slice();
  view(loop).setBigUint64(512 * 2, 512n, true); // leaf 2's next -> leaf 1
  assert.throws(() => rangeScan(new MemoryBlockSource(loop), { begin: 0n, end: 900n }, true, 'db.raw'), check('CYCLE', 512, 0n));
  const text = good.slice();
  text.fill(0x41, 32 * 512 + 3 * 64, 32 * 512 + 3 * 64 + 8);
  assert.throws(() => aggregateRange(new MemoryBlockSource(text), { begin: 0n, end: 10n }), /key 3 is not a decimal/);
});
