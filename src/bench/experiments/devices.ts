// Experiment 9: the same lookups on two devices. On Optane the kernel is half
// of a read's latency, so XRP's savings are large; on TLC NAND the device
// takes ~45 µs per read and the software XRP removes is a small share.

import { DEVICE_PROFILES } from '../../device/profiles.ts';
import { KV_MODES, runKvLookups } from '../../kv/modes.ts';
import { kvImage, kvStatsRow, MODE_ORDER } from '../kv-setup.ts';
import { round2 } from '../round.ts';
import { barChart, concatCharts } from '../plot.ts';
import type { Experiment, Row } from '../types.ts';

const DEVICES = [...DEVICE_PROFILES.keys()];

export const devicesExperiment: Experiment = {
  id: 'devices',
  number: 9,
  title: 'Devices: Optane P5800X against TLC NAND',
  description:
    'Depth-6 lookups by one thread on each device profile (optane-p5800x: 3.2 µs per 512 B read; tlc-980pro: 45 µs). ' +
    'Left: mean lookup latency per mode in microseconds (each device on its own scale). Right: the speed-up of each mode over read() ' +
    '(mean latency of read() divided by the mode\'s). XRP removes the same software time per hop on both devices, so its ' +
    'relative gain shrinks where the device dominates.',
  params: [
    { name: 'device', unit: '', description: 'device profile', kind: 'choice', choices: DEVICES },
    { name: 'mode', unit: '', description: 'how the lookup reads', kind: 'choice', choices: KV_MODES },
    { name: 'depth', unit: 'levels', description: 'index levels', kind: 'int', min: 1, max: 6 },
    { name: 'requests', unit: '', description: 'lookups measured', kind: 'int', min: 1, max: 1_000_000 },
  ],
  axes: (c) => ({ device: DEVICES, mode: [...KV_MODES], depth: c.full ? [3, 6] : [6], requests: [c.full ? 5_000 : 500] }),
  cost: (p) => (Number(p['requests']) * (Number(p['depth']) + 1)) / 7000,
  async run(point, ctx) {
    const db = await kvImage(ctx.tmpDir, Number(point['depth']));
    const s = runKvLookups({
      db, mode: point['mode'] as (typeof KV_MODES)[number], requests: Number(point['requests']), threads: 1,
      seed: ctx.pointSeed, cores: ctx.cores, profile: String(point['device']), collect: false,
    });
    return [kvStatsRow(s)];
  },
  columns: [
    { key: 'device', label: 'device', unit: '' },
    { key: 'depth', label: 'depth', unit: 'levels' },
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'kRequestsPerSec', label: 'throughput', unit: 'k lookups/s', digits: 2 },
  ],
  plot(rows) {
    const data: Row[] = rows.map((r) => {
      const read = rows.find((x) => x['device'] === r['device'] && x['depth'] === r['depth'] && x['mode'] === 'read');
      return {
        config: `${String(r['device'])}, depth ${String(r['depth'])}`,
        mode: r['mode'] as string,
        meanUs: (r['meanNs'] as number) / 1000,
        speedup: read === undefined ? null : round2((read['meanNs'] as number) / (r['meanNs'] as number)),
      };
    });
    return concatCharts([
      { ...barChart({ rows: data, x: { field: 'mode', title: 'mode', type: 'nominal', sort: MODE_ORDER }, y: { field: 'meanUs', title: 'mean lookup latency (µs)' }, color: { field: 'mode', title: 'mode', sort: MODE_ORDER }, column: { field: 'config', title: 'device' }, width: 160 }) },
      { ...barChart({ rows: data, x: { field: 'mode', title: 'mode', type: 'nominal', sort: MODE_ORDER }, y: { field: 'speedup', title: 'speed-up over read() (x)' }, color: { field: 'mode', title: 'mode', sort: MODE_ORDER }, column: { field: 'config', title: 'device' }, width: 160 }) },
    ]);
  },
  headline(rows) {
    const out: string[] = [];
    for (const device of [...new Set(rows.map((r) => r['device'] as string))]) {
      for (const depth of [...new Set(rows.map((r) => r['depth'] as number))]) {
        const at = (m: string) => rows.find((r) => r['device'] === device && r['depth'] === depth && r['mode'] === m);
        const xrp = at('xrp');
        const read = at('read');
        if (xrp === undefined || read === undefined) continue;
        out.push(`${device}, depth ${depth}: XRP ${((read['meanNs'] as number) / (xrp['meanNs'] as number)).toFixed(2)}x faster than read() (${((xrp['meanNs'] as number) / 1000).toFixed(1)} vs ${((read['meanNs'] as number) / 1000).toFixed(1)} µs)`);
      }
    }
    return out;
  },
};
