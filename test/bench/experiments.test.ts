// What the experiments report, on tiny sweeps: rows carry the right
// quantities (Table 1's layers, d+1 reads per depth-d lookup, fan-out node
// counts, LIMIT hits) and the orderings the model must produce.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findExperiment } from '../../src/bench/registry.ts';
import { planSuite, runSuite } from '../../src/bench/runner.ts';
import type { Row } from '../../src/bench/types.ts';

const CONFIG = { seed: 11, device: 'optane-p5800x', cores: 2, full: false };

async function rowsOf(id: string, sets: [string, string[]][]): Promise<Row[]> {
  const r = await runSuite(planSuite([findExperiment(id)], CONFIG, new Map(sets)), { workers: 0 });
  return r.experiments[0]!.points.flatMap((p) => p.rows);
}

test('breakdown: Table 1 layers, software share, and a resubmitted XRP hop that skips the kernel layers', async () => {
  const rows = await rowsOf('breakdown', [['reads', ['64']]]);
  const read = (layer: string) => rows.find((r) => r['source'] === 'model' && r['layer'] === layer)!;
  assert.equal(read('file system (ext4)')['meanNs'], 2006);
  // The device's mean over 64 reads of a distribution (Table 1's 3224 ns within a few %), plus the reader's wake-up.
  const device = read('storage device')['meanNs'] as number;
  assert.ok(Math.abs(device - 3224) < 0.05 * 3224, `device ${device}`);
  assert.ok(Math.abs((read('total')['meanNs'] as number) - (6272 - 3224 + device + (read('wake-up / scheduling')['meanNs'] as number))) < 0.5);
  assert.ok((read('software share')['sharePct'] as number) > 48, 'software is about half of a read');
  const hop = (layer: string) => rows.find((r) => r['source'] === 'xrp' && r['layer'] === layer)!;
  assert.equal(hop('storage device')['meanNs'], 3224);
  const total = hop('total')['meanNs'] as number;
  assert.ok(total > 3224 && total < 6272 - 2006, `an XRP hop (${total} ns) costs the device plus less than the file system`);
  const parts = ['NVMe driver', 'storage function (XRP hook)', 'storage device'].map((l) => hop(l)['meanNs'] as number);
  assert.ok(Math.abs(parts.reduce((a, b) => a + b, 0) - total) < 0.5, 'the parts add up to the hop');
  assert.ok(parts.every((p) => p > 0));
});

test('latency: a depth-d lookup reads d+1 blocks in every mode; XRP beats read() and io_uring at depth 4', async () => {
  const rows = await rowsOf('latency', [['depth', ['1', '4']], ['requests', ['6']]]);
  assert.equal(rows.length, 8);
  for (const r of rows) assert.equal(r['readsPerRequest'], (r['depth'] as number) + 1, `${String(r['mode'])} depth ${String(r['depth'])}`);
  const at = (mode: string, depth: number) => rows.find((r) => r['mode'] === mode && r['depth'] === depth)!['meanNs'] as number;
  assert.ok(at('xrp', 4) < at('read', 4) && at('xrp', 4) < at('uring', 4));
  assert.ok(at('spdk', 4) < at('read', 4), 'SPDK skips the kernel on every read');
  for (const m of ['read', 'uring', 'spdk', 'xrp']) assert.ok(at(m, 4) > at(m, 1), `${m}: deeper is slower`);
});

test('fanout: every mode visits 1 + f + f² nodes; parallel resubmission is faster than serial and uses several commands', async () => {
  const rows = await rowsOf('fanout', [['fanout', ['4']], ['levels', ['3']], ['requests', ['2']]]);
  const at = (mode: string) => rows.find((r) => r['mode'] === mode)!;
  for (const m of ['xrp', 'xrp-serial', 'read', 'uring']) assert.equal(at(m)['nodes'], 21);
  assert.ok((at('xrp')['meanNs'] as number) < (at('xrp-serial')['meanNs'] as number));
  assert.ok((at('xrp')['commandsPeak'] as number) > 1);
  assert.equal(at('xrp-serial')['commandsPeak'], 1);
  assert.equal(at('xrp')['readsPerWalk'], 21);
});

test('resubmit-limit: a limit below the chain length cuts it; the fallbacks still finish every query (verified)', async () => {
  const rows = await rowsOf('resubmit-limit', [['limit', ['4', '4096']], ['hops', ['40']], ['queries', ['2']]]);
  const at = (fallback: string, limit: number) => rows.find((r) => r['fallback'] === fallback && r['limit'] === limit)!;
  assert.ok((at('user', 4)['limitHits'] as number) > 0 && (at('user', 4)['fallbackReads'] as number) > 0);
  assert.ok((at('xrp', 4)['limitHits'] as number) >= 40 / 5 - 1, 'another read_xrp after each cut');
  assert.equal(at('xrp', 4096)['limitHits'], 0);
  for (const r of rows) assert.equal(r['verified'], 2);
  assert.ok((at('xrp', 4096)['meanNs'] as number) < (at('xrp', 4096)['readMeanNs'] as number));
});

test('scheduling: pinned compute threads get exactly their cores; the rows name the policy and the I/O mode', async () => {
  const rows = await rowsOf('scheduling', [['io', ['xrp']], ['computeThreads', ['1']], ['ioThreads', ['2']], ['durationMs', ['2']]]);
  const pinned = rows.find((r) => r['policy'] === 'pinned')!;
  // Useful work counts whole 20 µs chunks: one may straddle the end of the 2 ms window (the first switch-in shifts them).
  assert.ok(Math.abs((pinned['computeSharePct'] as number) - 50) <= 0.5, `one compute thread on a reserved core of 2: ${String(pinned['computeSharePct'])}%`);
  // Charged CPU is snapshotted at the first chunk boundary after the warm-up: up to one chunk's misalignment.
  assert.ok(Math.abs((pinned['computeChargedPct'] as number) - 50) <= 0.5, `no interrupt lands on the reserved core: ${String(pinned['computeChargedPct'])}%`);
  assert.ok((pinned['computeChargedPct'] as number) <= 50, 'nothing beyond its own core is charged to it');
  for (const r of rows) {
    assert.equal(r['io'], 'xrp');
    assert.ok((r['ioKlookupsPerSec'] as number) > 0);
    assert.ok((r['computeChargedPct'] as number) >= (r['computeSharePct'] as number), 'charged CPU includes the useful work');
  }
});

test('multikey: k keys per request read k(d+1) blocks; io_uring with the keys batched per level beats one key after another', async () => {
  const rows = await rowsOf('multikey', [['mode', ['uring', 'uring-batch', 'xrp']], ['keysPerRequest', ['4']], ['depth', ['2']], ['requests', ['4']]]);
  const at = (mode: string) => rows.find((r) => r['mode'] === mode)!;
  for (const r of rows) assert.equal(r['readsPerRequest'], 12, String(r['mode']));
  assert.ok((at('uring-batch')['meanNs'] as number) < (at('uring')['meanNs'] as number));
  assert.ok((at('xrp')['meanNs'] as number) < (at('uring')['meanNs'] as number));
});
