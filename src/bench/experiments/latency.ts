// Experiment 2: lookup latency (mean, p99, p99.9) against index depth for the
// four ways to read BPF-KV, one thread: read() per hop, io_uring per hop,
// SPDK (polled user-space driver) per hop, and one read_xrp call whose storage
// function walks the tree in the NVMe driver. A depth-d lookup is d+1 reads.

import { KV_MODES, runKvLookups } from '../../kv/modes.ts';
import { kvImage, kvStatsRow, MODE_ORDER } from '../kv-setup.ts';
import { lineChart } from '../plot.ts';
import type { Experiment, Row } from '../types.ts';

export const latencyExperiment: Experiment = {
  id: 'latency',
  number: 2,
  title: 'Lookup latency against index depth, one thread',
  description:
    'One application thread looks up uniformly random keys in a BPF-KV B+-tree of 1 to 6 levels (31 keys per node; a lookup ' +
    'reads depth+1 blocks). read(): one pread() per block; io_uring: one SQE per block; SPDK: a polled user-space queue; XRP: ' +
    'one read_xrp() whose storage function (kv_get) follows the tree inside the NVMe driver. Panels: mean, 99th and 99.9th ' +
    'percentile latency per lookup in microseconds of virtual time. XRP skips the file system, block layer and syscall on every ' +
    'hop but the first, so its advantage grows with depth; SPDK avoids the kernel altogether but burns its core polling. ' +
    'io_uring with one request per enter costs what read() costs (one crossing plus the same layers), so its line lies on read()\'s.',
  params: [
    { name: 'mode', unit: '', description: 'how the lookup reads', kind: 'choice', choices: KV_MODES },
    { name: 'depth', unit: 'levels', description: 'index levels of the B+-tree', kind: 'int', min: 1, max: 6 },
    { name: 'requests', unit: '', description: 'lookups measured', kind: 'int', min: 1, max: 10_000_000 },
  ],
  axes: (c) => ({ mode: [...KV_MODES], depth: [1, 2, 3, 4, 5, 6], requests: [c.full ? 20_000 : 1_000] }),
  cost: (p) => (Number(p['requests']) * (Number(p['depth']) + 1)) / 7000,
  async run(point, ctx) {
    const depth = Number(point['depth']);
    const db = await kvImage(ctx.tmpDir, depth);
    const s = runKvLookups({ db, mode: point['mode'] as (typeof KV_MODES)[number], requests: Number(point['requests']), threads: 1, seed: ctx.pointSeed, cores: ctx.cores, profile: ctx.device, collect: false });
    return [kvStatsRow(s)];
  },
  columns: [
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'depth', label: 'depth', unit: 'levels' },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'p999Ns', label: 'p99.9', unit: 'ns' },
    { key: 'readsPerRequest', label: 'reads/lookup', unit: '', digits: 2 },
    { key: 'kRequestsPerSec', label: 'throughput', unit: 'k lookups/s', digits: 1 },
  ],
  plot(rows) {
    const long: Row[] = [];
    for (const r of rows) {
      for (const [stat, key] of [['mean', 'meanNs'], ['p99', 'p99Ns'], ['p99.9', 'p999Ns']] as const) {
        long.push({ mode: r['mode'] as string, depth: r['depth'] as number, statistic: stat, latencyUs: (r[key] as number) / 1000 });
      }
    }
    return lineChart({
      rows: long,
      x: { field: 'depth', title: 'index depth (levels)', integer: true },
      y: { field: 'latencyUs', title: 'lookup latency (µs)' },
      color: { field: 'mode', title: 'mode', sort: MODE_ORDER },
      column: { field: 'statistic', title: 'statistic', sort: ['mean', 'p99', 'p99.9'] },
      width: 230,
    });
  },
  headline(rows) {
    const deepest = Math.max(...rows.map((r) => r['depth'] as number));
    const at = (mode: string): Row | undefined => rows.find((r) => r['mode'] === mode && r['depth'] === deepest);
    const xrp = at('xrp');
    if (xrp === undefined) return [];
    return ['read', 'uring', 'spdk']
      .map((m) => at(m))
      .filter((r): r is Row => r !== undefined)
      .map((r) => {
        const ratio = (r['meanNs'] as number) / (xrp['meanNs'] as number);
        const verdict = ratio >= 1 ? `XRP ${ratio.toFixed(2)}x faster` : `XRP ${(1 / ratio).toFixed(2)}x slower`;
        return `depth ${deepest}: XRP mean ${((xrp['meanNs'] as number) / 1000).toFixed(2)} µs vs ${String(r['mode'])} ${((r['meanNs'] as number) / 1000).toFixed(2)} µs (${verdict})`;
      });
  },
};
