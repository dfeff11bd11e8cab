// Experiment 4: range queries against range length, and aggregations over
// ranges (the storage function returns one value instead of the pairs).

import { KV_MODES, runKvRanges } from '../../kv/modes.ts';
import { RANGE_AGGS } from '../../kv/user-ops.ts';
import type { RangeAgg } from '../../kv/user-ops.ts';
import { kvImage, kvStatsRow, MODE_ORDER } from '../kv-setup.ts';
import { lineChart } from '../plot.ts';
import type { Experiment } from '../types.ts';

export const rangeExperiment: Experiment = {
  id: 'range',
  number: 4,
  title: 'Range-query throughput against range length, and aggregations',
  description:
    'One thread runs range queries [b, b+length) over a depth-6 BPF-KV tree: "none" returns the key-value pairs (kv_range, at ' +
    'most 32 pairs per call, resumed from the saved leaf), the aggregations (count, sum, ...) return one value computed by ' +
    'the storage function. Panels: one per aggregation; y is keys scanned per second of virtual time (log scale); x is the ' +
    'range length in keys (log scale). Each key costs a read of its value block except for count, which reads only leaves.',
  params: [
    { name: 'mode', unit: '', description: 'how the query reads', kind: 'choice', choices: KV_MODES },
    { name: 'agg', unit: '', description: 'aggregation (none = the pairs)', kind: 'choice', choices: RANGE_AGGS },
    { name: 'lengthKeys', unit: 'keys', description: 'keys per range', kind: 'int', min: 1, max: 100_000 },
    { name: 'depth', unit: 'levels', description: 'index levels', kind: 'int', min: 1, max: 6 },
    { name: 'requests', unit: '', description: 'range queries measured', kind: 'int', min: 1, max: 1_000_000 },
  ],
  axes: (c) => ({
    mode: c.full ? [...KV_MODES] : ['read', 'xrp'],
    agg: c.full ? [...RANGE_AGGS] : ['none', 'count', 'sum'],
    lengthKeys: c.full ? [1, 2, 5, 10, 20, 50, 100] : [1, 10, 100],
    depth: [6],
    requests: [c.full ? 1_000 : 100],
  }),
  cost: (p) => (Number(p['requests']) * (Number(p['lengthKeys']) + 7)) / 7000,
  async run(point, ctx) {
    const db = await kvImage(ctx.tmpDir, Number(point['depth']));
    const s = runKvRanges({
      db, mode: point['mode'] as (typeof KV_MODES)[number], agg: point['agg'] as RangeAgg, lengthKeys: Number(point['lengthKeys']),
      requests: Number(point['requests']), threads: 1, seed: ctx.pointSeed, cores: ctx.cores, profile: ctx.device, collect: false,
    });
    return [kvStatsRow(s)];
  },
  columns: [
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'agg', label: 'agg', unit: '' },
    { key: 'lengthKeys', label: 'length', unit: 'keys' },
    { key: 'kRequestsPerSec', label: 'queries', unit: 'k/s', digits: 2 },
    { key: 'kKeysPerSec', label: 'keys', unit: 'k/s', digits: 1 },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'readsPerRequest', label: 'reads/query', unit: '', digits: 1 },
  ],
  plot(rows) {
    return lineChart({
      rows,
      x: { field: 'lengthKeys', title: 'range length (keys, log scale)', log: true },
      y: { field: 'kKeysPerSec', title: 'keys scanned (k keys/s, log scale)', log: true },
      color: { field: 'mode', title: 'mode', sort: MODE_ORDER },
      column: { field: 'agg', title: 'aggregation', sort: RANGE_AGGS },
      width: 200,
    });
  },
  headline(rows) {
    const out: string[] = [];
    const longest = Math.max(...rows.map((r) => r['lengthKeys'] as number));
    for (const agg of [...new Set(rows.map((r) => r['agg'] as string))]) {
      const at = (m: string) => rows.find((r) => r['mode'] === m && r['agg'] === agg && r['lengthKeys'] === longest);
      const xrp = at('xrp');
      const read = at('read');
      if (xrp === undefined || read === undefined) continue;
      out.push(`${agg}, ${longest} keys: XRP ${(xrp['kRequestsPerSec'] as number).toFixed(2)}k vs read() ${(read['kRequestsPerSec'] as number).toFixed(2)}k queries/s (${((xrp['kRequestsPerSec'] as number) / (read['kRequestsPerSec'] as number)).toFixed(2)}x)`);
    }
    return out;
  },
};
