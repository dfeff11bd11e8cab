// Experiment 5: multi-key lookups. XRP's kv_get takes up to 32 keys in one
// read_xrp call (the scatter-gather query of the original); the other modes
// look the keys up one after another.

import { KV_MODES, runKvLookups } from '../../kv/modes.ts';
import { kvImage, kvStatsRow, MODE_ORDER } from '../kv-setup.ts';
import { concatCharts, lineChart } from '../plot.ts';
import type { Experiment } from '../types.ts';

/** The KV modes, and io_uring with a request's keys advanced together (one io_uring_enter per tree level). */
const MODES = [...KV_MODES, 'uring-batch'] as const;
type Mode = (typeof MODES)[number];

export const multikeyExperiment: Experiment = {
  id: 'multikey',
  number: 5,
  title: 'Multi-key lookups (up to 32 keys per XRP call)',
  description:
    'One thread issues requests of k random keys in a depth-6 tree. XRP: one read_xrp() call per request whose storage ' +
    'function looks up all k keys in turn inside the driver; the user-space modes: k lookups one after another. Left: keys ' +
    'looked up per second of virtual time. Right: latency of a whole request in microseconds. The syscall is paid once per ' +
    'request, so XRP\'s per-key cost falls as k grows. uring-batch goes past the paper: io_uring with the k keys advanced ' +
    'together, one batch of k reads per tree level, so the keys\' reads overlap in the device (kv_get looks the keys up one ' +
    'after another).',
  params: [
    { name: 'mode', unit: '', description: 'how the lookups read', kind: 'choice', choices: MODES },
    { name: 'keysPerRequest', unit: 'keys', description: 'keys per request (per XRP call)', kind: 'int', min: 1, max: 32 },
    { name: 'depth', unit: 'levels', description: 'index levels', kind: 'int', min: 1, max: 6 },
    { name: 'requests', unit: '', description: 'requests measured', kind: 'int', min: 1, max: 1_000_000 },
  ],
  axes: (c) => ({
    mode: c.full ? [...MODES] : ['read', 'spdk', 'xrp', 'uring-batch'],
    keysPerRequest: c.full ? [1, 2, 4, 8, 16, 32] : [1, 4, 16, 32],
    depth: [6],
    requests: [c.full ? 2_000 : 100],
  }),
  cost: (p) => (Number(p['requests']) * Number(p['keysPerRequest']) * (Number(p['depth']) + 1)) / 7000,
  async run(point, ctx) {
    const db = await kvImage(ctx.tmpDir, Number(point['depth']));
    const mode = point['mode'] as Mode;
    const s = runKvLookups({
      db, mode: mode === 'uring-batch' ? 'uring' : mode, uringBatch: mode === 'uring-batch', keysPerRequest: Number(point['keysPerRequest']), requests: Number(point['requests']),
      threads: 1, seed: ctx.pointSeed, cores: ctx.cores, profile: ctx.device, collect: false,
    });
    return [kvStatsRow(s)];
  },
  columns: [
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'keysPerRequest', label: 'keys/request', unit: '' },
    { key: 'kKeysPerSec', label: 'keys', unit: 'k/s', digits: 1 },
    { key: 'meanNs', label: 'request mean', unit: 'ns' },
    { key: 'p99Ns', label: 'request p99', unit: 'ns' },
    { key: 'readsPerRequest', label: 'reads/request', unit: '', digits: 1 },
  ],
  plot(rows) {
    const withUs = rows.map((r) => ({ ...r, meanUs: (r['meanNs'] as number) / 1000 }));
    return concatCharts([
      lineChart({
        rows: withUs,
        x: { field: 'keysPerRequest', title: 'keys per request (count, log scale)', log: true },
        y: { field: 'kKeysPerSec', title: 'throughput (k keys/s)' },
        color: { field: 'mode', title: 'mode', sort: [...MODE_ORDER, 'uring-batch'] },
        width: 320,
      }),
      lineChart({
        rows: withUs,
        x: { field: 'keysPerRequest', title: 'keys per request (count, log scale)', log: true },
        y: { field: 'meanUs', title: 'mean request latency (µs)' },
        color: { field: 'mode', title: 'mode', sort: [...MODE_ORDER, 'uring-batch'] },
        width: 320,
      }),
    ]);
  },
  headline(rows) {
    const most = Math.max(...rows.map((r) => r['keysPerRequest'] as number));
    const at = (m: string, k: number) => rows.find((r) => r['mode'] === m && r['keysPerRequest'] === k);
    const x1 = at('xrp', 1);
    const xk = at('xrp', most);
    const rk = at('read', most);
    const out: string[] = [];
    if (x1 !== undefined && xk !== undefined) out.push(`XRP: ${(x1['kKeysPerSec'] as number).toFixed(1)}k keys/s with 1 key per call, ${(xk['kKeysPerSec'] as number).toFixed(1)}k with ${most}`);
    if (xk !== undefined && rk !== undefined) out.push(`${most} keys per request: XRP ${((xk['kKeysPerSec'] as number) / (rk['kKeysPerSec'] as number)).toFixed(2)}x the keys/s of read()`);
    const bk = at('uring-batch', most);
    if (xk !== undefined && bk !== undefined) out.push(`${most} keys per request: io_uring with the keys batched per level ${(bk['kKeysPerSec'] as number).toFixed(1)}k keys/s vs XRP ${(xk['kKeysPerSec'] as number).toFixed(1)}k`);
    return out;
  },
};
