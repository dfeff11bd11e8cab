// The structures on the emulated machine (src/structures/run.ts): read_xrp with
// the storage functions and the pread() walks give the answers of the host-side
// walk (every run verifies each answer and throws on a mismatch), make the same
// device reads, and the resubmission limit cuts long chains that the fallback
// finishes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StructureError } from '../../src/structures/errors.ts';
import { prepareArrayChain, prepareSkipList, runArrayChain, runSkipList } from '../../src/structures/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'structures-run-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const array = prepareArrayChain({ dir, nElems: 50_021, seed: 3 });
const skiplist = prepareSkipList({ dir, keys: 20_000, seed: 5 });

test('array chain: xrp = read = host walk for k = 1 to 10,000; one read per hop; one read_xrp per query', () => {
  for (const [hops, queries] of [[1, 20], [2, 20], [37, 10], [1000, 3], [4097, 1]] as const) {
    const read = runArrayChain(array, { mode: 'read', hops, queries, seed: hops });
    const xrp = runArrayChain(array, { mode: 'xrp', hops, queries, seed: hops });
    for (const r of [read, xrp]) {
      assert.equal(r.verified, queries, `k=${hops} ${r.mode}`);
      assert.equal(r.deviceReads, hops * queries, `k=${hops} ${r.mode}: one device read per hop`);
    }
    assert.equal(read.calls, hops * queries);
    assert.equal(xrp.calls, queries, `k=${hops}: the whole chain in one read_xrp (limit 4096 resubmissions)`);
    assert.deepEqual(xrp.xrp, { limitHits: 0, fallbackReads: 0, resubmissions: (hops - 1) * queries, partial: 0 });
    if (hops > 1) assert.ok(xrp.latency.meanNs < read.latency.meanNs, `k=${hops}: xrp ${xrp.latency.meanNs} ns vs read ${read.latency.meanNs} ns`);
  }
});

test('array chain, k = 10,000 with the default limit: LIMIT after 4097 reads, the user-space walk finishes', () => {
  const r = runArrayChain(array, { mode: 'xrp', hops: 10_000, queries: 1, seed: 9 });
  assert.equal(r.verified, 1);
  assert.deepEqual(r.xrp, { limitHits: 1, fallbackReads: 10_000 - 4097, resubmissions: 4096, partial: 0 });
  assert.equal(r.calls, 1 + (10_000 - 4097), 'one read_xrp, then a pread per remaining hop');
  assert.equal(r.deviceReads, 10_000);
});

test('a query\'s read budget (readsMax) across read_xrp, its resumes and the fallbacks: spent, the query is partial (LIMIT), not verified', () => {
  const hops = 300;
  for (const fallback of ['user', 'xrp'] as const) {
    const r = runArrayChain(array, { mode: 'xrp', hops, queries: 2, resubmitLimit: 50, readsMax: 120, seed: 2, fallback });
    assert.equal(r.xrp?.partial, 2, fallback);
    assert.equal(r.verified, 0, fallback);
    assert.match(r.xrp?.limitDetail ?? '', /^LIMIT: array chain from \d+, 300 hops: the lookup's budget of 120 reads is spent/, fallback);
    assert.equal(r.deviceReads, 2 * 120, `${fallback}: exactly the budget's reads`);
  }
  const whole = runArrayChain(array, { mode: 'xrp', hops, queries: 2, resubmitLimit: 50, readsMax: 301, seed: 2 });
  assert.equal(whole.xrp?.partial, 0);
  assert.equal(whole.verified, 2);
});

test('array chain, resubmission limit in play: both fallbacks give the verified answer', () => {
  const hops = 300;
  const limit = 50;
  const user = runArrayChain(array, { mode: 'xrp', hops, queries: 4, resubmitLimit: limit, seed: 2 });
  assert.deepEqual(user.xrp, { limitHits: 4, fallbackReads: 4 * (hops - limit - 1), resubmissions: 4 * limit, partial: 0 });
  assert.equal(user.verified, 4);
  const again = runArrayChain(array, { mode: 'xrp', hops, queries: 4, resubmitLimit: limit, seed: 2, fallback: 'xrp' });
  const calls = Math.ceil(hops / (limit + 1));
  assert.equal(again.calls, 4 * calls, 'read_xrp again from the scratch state after each LIMIT');
  assert.deepEqual(again.xrp, { limitHits: 4 * (calls - 1), fallbackReads: 0, resubmissions: 4 * (hops - calls), partial: 0 });
  assert.equal(again.verified, 4);
  assert.equal(again.deviceReads, 4 * hops);
  // a limit of 0: every hop is its own read_xrp
  const zero = runArrayChain(array, { mode: 'xrp', hops: 5, queries: 2, resubmitLimit: 0, fallback: 'xrp' });
  assert.equal(zero.calls, 10);
});

test('skip list: get and range, xrp = read = host walk, same reads; several threads', () => {
  for (const op of ['get', 'range'] as const) {
    const options = { op, queries: 40, threads: 3, missRatio: 0.25, rangeKeys: 70, seed: 11 };
    const read = runSkipList(skiplist, { ...options, mode: 'read' });
    const xrp = runSkipList(skiplist, { ...options, mode: 'xrp' });
    assert.equal(read.verified, 40);
    assert.equal(xrp.verified, 40);
    assert.equal(xrp.deviceReads, read.deviceReads, `${op}: the storage function reads what the user-space walk reads`);
    assert.equal(read.calls, read.deviceReads);
    // a range of 70 keys takes 3 read_xrp calls of at most 32 pairs
    assert.equal(xrp.calls, op === 'get' ? 40 : 120);
    assert.ok(xrp.latency.meanNs < read.latency.meanNs, `${op}: xrp ${xrp.latency.meanNs} vs read ${read.latency.meanNs}`);
    assert.ok(read.readsPerQuery > 8, `${op}: ${read.readsPerQuery} reads per query`);
  }
});

test('skip list with a tiny limit: LIMIT mid-search, finished by the program in user space or by read_xrp again', () => {
  for (const fallback of ['user', 'xrp'] as const) {
    for (const op of ['get', 'range'] as const) {
      const r = runSkipList(skiplist, { mode: 'xrp', op, queries: 10, resubmitLimit: 3, fallback, rangeKeys: 40, seed: 4 });
      assert.equal(r.verified, 10, `${op} ${fallback}`);
      assert.ok(r.xrp!.limitHits >= 10, `${op} ${fallback}: ${r.xrp!.limitHits} LIMIT ends`);
      if (fallback === 'user') assert.ok(r.xrp!.fallbackReads > 0);
      else assert.equal(r.xrp!.fallbackReads, 0);
    }
  }
});

test('runs are deterministic for a seed', () => {
  const a = runSkipList(skiplist, { mode: 'xrp', op: 'get', queries: 20, threads: 2, seed: 8 });
  const b = runSkipList(skiplist, { mode: 'xrp', op: 'get', queries: 20, threads: 2, seed: 8 });
  assert.deepEqual(a, b);
  const c = runArrayChain(array, { mode: 'read', hops: 9, queries: 10, threads: 4, seed: 8 });
  assert.deepEqual(c, runArrayChain(array, { mode: 'read', hops: 9, queries: 10, threads: 4, seed: 8 }));
});

test('bad run options are typed errors', () => {
  assert.throws(() => runArrayChain(array, { mode: 'mmap' as 'read', hops: 1, queries: 1 }), StructureError);
  assert.throws(() => runArrayChain(array, { mode: 'read', hops: 0, queries: 1 }), /hops must be/);
  assert.throws(() => runArrayChain(array, { mode: 'read', hops: 1, queries: 0 }), /queries must be/);
  assert.throws(() => runArrayChain(array, { mode: 'xrp', hops: 1, queries: 1, fallback: 'none' as 'user' }), /fallback/);
  assert.throws(() => runSkipList(skiplist, { mode: 'read', op: 'scan' as 'get', queries: 1 }), /op must be/);
  assert.throws(() => runSkipList(skiplist, { mode: 'read', op: 'get', queries: 1, missRatio: 2 }), /missRatio/);
  assert.throws(() => prepareArrayChain({ dir, nElems: 0 }), /N must be/);
});
