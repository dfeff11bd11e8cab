// The structures' storage functions on real files through the native read_xrp
// engine (worker threads), against the user-space walks over the same files;
// with the resubmission limit cutting long array chains.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrayChainQuery, buildArrayChain, walkArrayChain } from '../../src/structures/array-chain.ts';
import { MemoryFile } from '../../src/structures/io.ts';
import { EmulatedXrpEngine } from '../../src/kernel/xrp/engine.ts';
import { NativeXrpEngine } from '../../src/native/engine.ts';
import { engineArrayChain, engineSkipListGet, engineSkipListRange } from '../../src/structures/engine-client.ts';
import { buildSkipList, skipListGet, skipListRange, stridedEntries } from '../../src/structures/skiplist.ts';
import { Prng } from '../../src/base/prng.ts';

/** The native engine, one worker, no O_DIRECT (tmpdir may be tmpfs). */
const native = (path: string): Promise<NativeXrpEngine> => NativeXrpEngine.open(path, { workers: 1, direct: false });

const dir = mkdtempSync(join(tmpdir(), 'structures-native-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fileOf(name: string, fill: (f: MemoryFile) => void): { path: string; memory: MemoryFile } {
  const memory = new MemoryFile();
  fill(memory);
  const path = join(dir, name);
  writeFileSync(path, memory.bytes);
  return { path, memory };
}

test('array chain on a real file: native read_xrp = user-space walk; LIMIT finished by the walk or by read_xrp again', async () => {
  const nElems = 30_011;
  const { path, memory } = fileOf('array', (f) => buildArrayChain(f, { nElems, seed: 12 }));
  const rng = new Prng(77);
  const queries = [1, 2, 64, 500, 4097, 10_000].map((k) => arrayChainQuery(nElems, rng.nextBelow(nElems), k));
  const expected = queries.map((q) => walkArrayChain(memory, q).state);
  const user = await engineArrayChain(path, queries, { openEngine: native });
  assert.deepEqual(user.answers, expected);
  assert.equal(user.limitHits, 1, 'only k = 10,000 passes the default limit of 4096 resubmissions');
  assert.equal(user.fallbackReads, 10_000 - 4097);
  assert.equal(user.reads + user.fallbackReads, 1 + 2 + 64 + 500 + 4097 + 10_000);
  const again = await engineArrayChain(path, queries, { openEngine: native, resubmitLimit: 99, fallback: 'xrp' });
  assert.deepEqual(again.answers, expected);
  assert.equal(again.fallbackReads, 0);
  assert.equal(again.reads, 1 + 2 + 64 + 500 + 4097 + 10_000);
  assert.equal(again.calls, [1, 2, 64, 500, 4097, 10_000].reduce((n, k) => n + Math.ceil(k / 100), 0));
});

test('skip list on a real file: native get and range = user space', async () => {
  const entries = stridedEntries(3000, 3n);
  const { path, memory } = fileOf('skiplist', (f) => buildSkipList(f, entries, { seed: 4 }));
  const rng = new Prng(5);
  const keys = Array.from({ length: 200 }, () => BigInt(rng.nextBelow(9100)));
  const got = await engineSkipListGet(path, keys, { openEngine: native });
  keys.forEach((key, i) => {
    const ref = skipListGet(memory, key);
    assert.equal(got.answers[i]!.found, ref.found, `key ${key}`);
    assert.deepEqual(got.answers[i]!.value, ref.value, `key ${key}`);
  });
  assert.ok(got.answers.filter((a) => a.found).length > 40);
  const ranges = Array.from({ length: 30 }, () => {
    const begin = BigInt(rng.nextBelow(9100));
    return { begin, end: begin + BigInt(rng.nextBelow(400)) };
  });
  const scans = await engineSkipListRange(path, ranges, { openEngine: native, resubmitLimit: 7 });
  ranges.forEach((r, i) => assert.deepEqual(scans.answers[i], skipListRange(memory, r.begin, r.end).pairs, `range ${r.begin}..${r.end}`));
  assert.ok(scans.limitHits > 0, 'a limit of 7 cuts the longer scans; read_xrp again finishes them');
});

test('skip list through the XrpEngine interface: the emulated engine gives the native engine\'s answers, reads and limit hits', async () => {
  const entries = stridedEntries(1000, 3n);
  const { path } = fileOf('skiplist-both', (f) => buildSkipList(f, entries, { seed: 9 }));
  const rng = new Prng(6);
  const ranges = Array.from({ length: 12 }, () => {
    const begin = BigInt(rng.nextBelow(3100));
    return { begin, end: begin + BigInt(rng.nextBelow(200)) };
  });
  const onNative = await engineSkipListRange(path, ranges, { openEngine: native, resubmitLimit: 7 });
  const onEmulated = await engineSkipListRange(path, ranges, { openEngine: (p) => EmulatedXrpEngine.open(p, { seed: 2 }), resubmitLimit: 7 });
  assert.deepEqual(onEmulated.answers, onNative.answers);
  assert.equal(onEmulated.reads, onNative.reads);
  assert.equal(onEmulated.calls, onNative.calls);
  assert.equal(onEmulated.limitHits, onNative.limitHits);
  assert.ok(onNative.limitHits > 0);
});
