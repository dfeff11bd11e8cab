import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvReadError } from '../../src/base/block-source.ts';
import { ComputedKvStore } from '../../src/kv/computed-store.ts';
import { kvGeometry, valueText } from '../../src/kv/format.ts';
import { lookupKey } from '../../src/kv/lookups.ts';
import { kvBytes, TestRng, xrpGet } from './kv-helpers.ts';

test('computed blocks equal a written file byte for byte, L = 1..4', async () => {
  for (let layers = 1; layers <= 4; layers++) {
    const written = await kvBytes(layers);
    const store = new ComputedKvStore(layers);
    assert.equal(store.sizeBytes, written.length);
    const computed = new Uint8Array(written.length);
    assert.equal(store.pread(computed, 0), written.length);
    assert.equal(Buffer.compare(computed, written), 0, `L=${layers} whole file`);
    // block by block, into an offset of a larger buffer
    const out = new Uint8Array(1024);
    for (let b = 0; b < written.length / 512; b += layers < 4 ? 1 : 97) {
      store.computeBlock(b, out, 256);
      assert.equal(Buffer.compare(out.subarray(256, 768), written.subarray(b * 512, b * 512 + 512)), 0, `L=${layers} block ${b}`);
    }
  }
});

test('any byte range, unaligned and across blocks, as written (seeded)', async () => {
  const rng = new TestRng(0x6b76);
  for (const layers of [2, 3, 4]) {
    const written = await kvBytes(layers);
    const store = new ComputedKvStore(layers);
    for (let i = 0; i < 200; i++) {
      const offset = rng.below(written.length);
      const length = 1 + rng.below(3000);
      const out = new Uint8Array(length);
      const got = store.pread(out, offset);
      const expected = written.subarray(offset, offset + length);
      assert.equal(got, expected.length, `seed ${rng.seed} L=${layers} read ${length}@${offset}`);
      assert.equal(Buffer.compare(out.subarray(0, got), expected), 0, `seed ${rng.seed} L=${layers} bytes ${length}@${offset}`);
    }
    assert.equal(store.pread(new Uint8Array(10), written.length), 0, 'past the end');
  }
});

test('the computed store answers 6-layer lookups (68 GB, nothing stored)', () => {
  const store = new ComputedKvStore(6);
  const g = kvGeometry(6);
  assert.equal(store.sizeBytes, g.fileBytes);
  const rng = new TestRng(6);
  const keys = [0, 1, 30, 31, 961, 887_503_680, 443_751_840];
  for (let i = 0; i < 40; i++) keys.push(rng.below(g.keyCount));
  for (const key of keys) {
    const before = store.blocksComputed;
    const r = lookupKey(store, BigInt(key));
    assert.ok(r.found, `key ${key}`);
    assert.equal(valueText(r.value!), String(key));
    assert.equal(r.reads, 7, '6 nodes and the value block');
    assert.equal(store.blocksComputed - before, 7);
  }
  assert.equal(lookupKey(store, BigInt(g.keyCount)).found, false, 'one past the last key');
  // and through the storage function on the interpreter: 32 keys, one call
  const batch = keys.slice(0, 32).map(BigInt);
  const { values, chain } = xrpGet(store, batch);
  assert.equal(chain.status, 'done');
  assert.equal(chain.reads, 32 * 7);
  values.forEach((v, i) => {
    assert.ok(v.found, `key ${batch[i]}`);
    assert.equal(valueText(v.value), String(batch[i]));
  });
});

test('bad reads get typed errors', () => {
  const store = new ComputedKvStore(2);
  assert.throws(() => store.pread(new Uint8Array(1), -1), KvReadError);
  assert.throws(() => store.pread(new Uint8Array(1), 0.5), KvReadError);
  assert.throws(() => store.computeBlock(153, new Uint8Array(512)), KvReadError);
  assert.throws(() => new ComputedKvStore(0), /layers must be/);
});
