// BPF-KV on the emulated machine (virtual time): lookup latency vs depth for
// the four modes, throughput vs threads at depth 6, range queries and
// aggregations, and multi-key XRP calls. Prints tables and the host time of
// each point (for sizing sweeps).
// Run: node --import tsx bench/kv-modes.ts [--requests N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKvImage } from '../src/kv/kv-db.ts';
import { KV_MODES, runKvLookups, runKvRanges, type KvRunStats } from '../src/kv/modes.ts';
import type { RangeAgg } from '../src/kv/user-ops.ts';
import { benchArgs } from './args.ts';

const cl = benchArgs({
  script: 'bench/kv-modes.ts',
  usage: 'Usage: node --import tsx bench/kv-modes.ts [--requests N]\n  --requests N  lookups per latency point (default 2000)',
  options: { requests: { type: 'string', default: '2000' } },
});
const requests = cl.positiveInt('--requests', cl.values.requests);

const dir = mkdtempSync(join(tmpdir(), 'kv-modes-bench-'));
const us = (ns: number): string => (ns / 1000).toFixed(2);
const k = (perSec: number): string => (perSec / 1000).toFixed(1);
const row = (cells: (string | number)[]): void => console.log(`| ${cells.join(' | ')} |`);
// Host time of each run, for sizing sweeps (the simulated core itself reads no clock).
const hostMs = new WeakMap<object, number>();
function timed<T extends object>(fn: () => T): T {
  const start = performance.now();
  const r = fn();
  hostMs.set(r, performance.now() - start);
  return r;
}
const wall = (s: KvRunStats): string => `${((hostMs.get(s) ?? 0) / 1000).toFixed(1)} s`;

try {
  const images: string[] = [];
  for (let layers = 1; layers <= 6; layers++) {
    images[layers] = join(dir, `L${layers}.img`);
    await createKvImage(images[layers]!, { layers });
  }

  console.log(`\nLookup latency vs depth (1 thread, ${requests} random keys, optane-p5800x; mean / p99 in us; host time per point)`);
  row(['layers', ...KV_MODES.map((m) => `${m} mean`), ...KV_MODES.map((m) => `${m} p99`), 'read/xrp', 'host']);
  row(Array(2 + 2 * KV_MODES.length + 1).fill('---'));
  for (let layers = 1; layers <= 6; layers++) {
    const runs = KV_MODES.map((mode) => timed(() => runKvLookups({ db: images[layers]!, mode, requests, collect: false })));
    row([
      layers,
      ...runs.map((r) => us(r.latency.meanNs)),
      ...runs.map((r) => us(r.latency.p99Ns)),
      (runs[0]!.latency.meanNs / runs[3]!.latency.meanNs).toFixed(2),
      runs.map(wall).join(', '),
    ]);
  }

  console.log('\nThroughput vs threads at depth 6 (6 cores; steady state: lookups completed in 2..20 ms of virtual time; k lookups/s)');
  row(['threads', ...KV_MODES, 'host (xrp)']);
  row(Array(2 + KV_MODES.length).fill('---'));
  for (const threads of [1, 2, 4, 6, 8, 12, 24]) {
    const runs = KV_MODES.map((mode) => timed(() => runKvLookups({ db: images[6]!, mode, threads, requests: 10_000, durationNs: 20_000_000, warmupNs: 2_000_000 })));
    row([threads, ...runs.map((r) => k(r.requestsPerSec)), wall(runs[3]!)]);
  }

  console.log('\nRange queries at depth 6 (1 thread, 200 ranges; mean latency in us)');
  const aggs: RangeAgg[] = ['none', 'count', 'sum', 'min', 'max', 'avg', 'array', 'set'];
  row(['length', 'agg', ...KV_MODES, 'xrp calls/query', 'host (xrp)']);
  row(Array(4 + KV_MODES.length).fill('---'));
  for (const [lengthKeys, agg] of [[1, 'none'], [10, 'none'], [32, 'none'], [100, 'none'], ...aggs.slice(1).map((a) => [100, a])] as [number, RangeAgg][]) {
    const runs = KV_MODES.map((mode) => timed(() => runKvRanges({ db: images[6]!, mode, requests: 200, lengthKeys, agg, collect: mode === 'xrp' })));
    const calls = runs[3]!.answers!.reduce((s, a) => s + a.calls, 0) / 200;
    row([lengthKeys, agg, ...runs.map((r) => us(r.latency.meanNs)), calls.toFixed(1), wall(runs[3]!)]);
  }

  console.log(`\nKeys per request at depth 6 (1 thread, about ${requests} keys; k keys/s, and mean latency per request in us)`);
  row(['keys/request', 'read', 'uring', 'uring batched', 'spdk', 'xrp', 'xrp latency', 'uring batched latency', 'host (xrp)']);
  row(Array(9).fill('---'));
  for (const keysPerRequest of [1, 2, 4, 8, 16, 32]) {
    const base = { db: images[6]!, keysPerRequest, requests: Math.ceil(requests / keysPerRequest), collect: false };
    const [rd, ur, ub, sp, x] = [
      timed(() => runKvLookups({ ...base, mode: 'read' })),
      timed(() => runKvLookups({ ...base, mode: 'uring' })),
      timed(() => runKvLookups({ ...base, mode: 'uring', uringBatch: true })),
      timed(() => runKvLookups({ ...base, mode: 'spdk' })),
      timed(() => runKvLookups({ ...base, mode: 'xrp' })),
    ];
    row([keysPerRequest, k(rd.keysPerSec), k(ur.keysPerSec), k(ub.keysPerSec), k(sp.keysPerSec), k(x.keysPerSec), us(x.latency.meanNs), us(ub.latency.meanNs), wall(x)]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
