// One read budget per request across resumed calls (XrpLookupBudget): a request
// that spends it answers LIMIT with a partial flag and the keys answered so
// far; a pointer cycle ends with CYCLE in the first call, however high the
// per-call limit.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { buildKvFile } from '../../src/kv/builder.ts';
import { KvStructureError } from '../../src/kv/checks.ts';
import { NativeXrpEngine } from '../../src/native/engine.ts';
import { nativeKvGet, nativeKvRange } from '../../src/kv/xrp-client.ts';
import { lookupReadsDefault, XrpLookupBudget } from '../../src/xrp/budget.ts';
import { TempDir } from './helpers.ts';

const dir = new TempDir();
after(() => dir.remove());

test('the lookup budget: limits of the next call, spent after its reads', () => {
  const b = new XrpLookupBudget(10);
  assert.equal(b.nextLimit(4096), 9);
  b.charge(7);
  assert.ok(b.open);
  assert.equal(b.nextLimit(4096), 2);
  b.charge(3);
  assert.ok(!b.open);
  assert.match(b.limitDetail(), /budget of 10 reads is spent \(2 calls\)/);
  assert.equal(lookupReadsDefault(3, 32), 2 * 4 * 32 + 16);
  assert.throws(() => new XrpLookupBudget(0), RangeError);
});

test('a request that spends its budget is partial: the keys answered before, LIMIT said', async () => {
  const path = `${dir.path}/kv3.raw`;
  await buildKvFile(path, { layers: 3 });
  const engine = await NativeXrpEngine.open(path, { workers: 1, resubmitLimit: 3 });
  await engine.load('bpf/kv/get.bpf.o', 'kv_get');
  try {
    const keys = [1n, 2n, 3n, 4n, 5n, 6n];
    const full = await nativeKvGet(path, keys, { engine });
    assert.equal(full.partial, false);
    assert.equal(full.answers.length, 6);
    // 3 layers: 4 reads per found key; 10 reads answer two keys
    const cut = await nativeKvGet(path, keys, { engine, readsMax: 10 });
    assert.equal(cut.partial, true);
    assert.match(cut.limitDetail ?? '', /^LIMIT: kv_get of 6 keys: the lookup's budget of 10 reads is spent/);
    assert.deepEqual(cut.answers.map((a) => a.key), [1n, 2n]);
    assert.ok(cut.reads <= 10);
  } finally {
    await engine.close();
  }
  const range = await nativeKvRange(path, 0n, 1000n, { readsMax: 40, workers: 1 });
  assert.equal(range.partial, true);
  assert.ok(range.pairs.length > 0 && range.pairs.length < 1000 && range.reads <= 40);
});

test('a pointer cycle ends with CYCLE in the first call, whatever the per-call limit', async () => {
  const path = `${dir.path}/cycle.raw`;
  await buildKvFile(path, { layers: 2 });
  const bytes = new Uint8Array(readFileSync(path));
  new DataView(bytes.buffer).setBigUint64(264, 1n << 63n, true); // the root's ptr[0] points at the root
  writeFileSync(path, bytes);
  const engine = await NativeXrpEngine.open(path, { workers: 1, resubmitLimit: 1 << 20 });
  await engine.load('bpf/kv/get.bpf.o', 'kv_get');
  try {
    await assert.rejects(nativeKvGet(path, [5n], { engine }), (e: unknown) => e instanceof KvStructureError && e.check === 'CYCLE' && e.key === 5n && e.offsetBytes === 0);
  } finally {
    await engine.close();
  }
});
