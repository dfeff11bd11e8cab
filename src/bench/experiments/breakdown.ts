// Experiment 1: latency breakdown of one 512-byte read per layer (the XRP
// paper's Table 1), measured on the emulated read() path. The paper's values
// are the model's calibration input, so the point is the check: every layer
// must come out where Table 1 puts it, and the software share (48.6 % on
// Optane) is what XRP can save per hop.

import { DEVICE_PROFILES } from '../../device/profiles.ts';
import { runStackBreakdown } from '../../kernel/stack-breakdown.ts';
import { barChart } from '../plot.ts';
import { round1 } from '../round.ts';
import type { Experiment, Row } from '../types.ts';
import { measureXrpHop } from '../xrp-hop.ts';

/** Length of the chain whose slope gives the cost of one resubmitted XRP hop. */
const XRP_CHAIN_HOPS = 32;

const DEVICES = [...DEVICE_PROFILES.keys()];

export const breakdownExperiment: Experiment = {
  id: 'breakdown',
  number: 1,
  title: 'Latency breakdown of one read per layer (Table 1)',
  description:
    'Random O_DIRECT pread()s at queue depth 1 through the emulated Linux read path (syscall, ext4-like file system, block layer, ' +
    'NVMe driver, device); the bar shows the mean virtual time spent in each layer. The "paper Table 1" bar is the XRP paper\'s ' +
    'measurement on Optane P5800X, the model\'s calibration input, for comparison. Everything except the device is software ' +
    'that XRP skips on every resubmitted hop. The "XRP resubmitted hop" bar is measured too: the latency slope of ' +
    'read_xrp() over a chain of 512-byte blocks (bpf/examples/chain.bpf.c), split into the device, the completion hook ' +
    '(storage function and resubmission) and the rest of the driver and interrupt path.',
  params: [
    { name: 'device', unit: '', description: 'device profile', kind: 'choice', choices: DEVICES },
    { name: 'readBytes', unit: 'B', description: 'bytes per read', kind: 'int', min: 512, max: 131072 },
    { name: 'reads', unit: '', description: 'reads measured', kind: 'int', min: 1, max: 10_000_000 },
  ],
  axes: (c) => ({ device: [c.device], readBytes: c.full ? [512, 4096] : [512], reads: [c.full ? 20_000 : 2_000] }),
  cost: (p) => Number(p['reads']) / 4000,
  run(point, ctx) {
    const r = runStackBreakdown({ device: String(point['device']), reads: Number(point['reads']), readBytes: Number(point['readBytes']), seed: ctx.pointSeed });
    const config = `${r.device}, ${r.readBytes} B`;
    const rows: Row[] = r.rows.map((row) => ({
      source: 'model',
      config,
      layer: row.name,
      meanNs: round1(row.meanNs),
      sharePct: round1((100 * row.meanNs) / r.totalMeanNs),
      table1Ns: r.device === 'optane-p5800x' && r.readBytes === 512 ? row.table1Ns : null,
    }));
    rows.push({ source: 'model', config, layer: 'total', meanNs: round1(r.totalMeanNs), sharePct: 100, table1Ns: r.device === 'optane-p5800x' && r.readBytes === 512 ? 6272 : null });
    rows.push({ source: 'model', config, layer: 'software share', meanNs: null, sharePct: round1(100 * r.softwareShare), table1Ns: null });
    if (r.readBytes !== 512) return rows; // XRP's resubmissions read 512 bytes here (chain.bpf.c)
    const calls = Math.max(4, Math.ceil(Number(point['reads']) / XRP_CHAIN_HOPS));
    const hop = measureXrpHop({ tmpDir: ctx.tmpDir, device: r.device, seed: ctx.pointSeed, hops: XRP_CHAIN_HOPS, calls });
    const xrpConfig = `XRP resubmitted hop, ${r.device}`;
    const driverNs = hop.perHopNs - hop.deviceNs - hop.hookPerReadNs;
    const xrpRow = (layer: string, ns: number): Row => ({ source: 'xrp', config: xrpConfig, layer, meanNs: round1(ns), sharePct: round1((100 * ns) / hop.perHopNs), table1Ns: null });
    rows.push(xrpRow('NVMe driver', driverNs));
    rows.push(xrpRow('storage function (XRP hook)', hop.hookPerReadNs));
    rows.push(xrpRow('storage device', hop.deviceNs));
    rows.push(xrpRow('total', hop.perHopNs));
    rows.push({ source: 'xrp', config: xrpConfig, layer: 'software share', meanNs: null, sharePct: round1(100 * (1 - hop.deviceNs / hop.perHopNs)), table1Ns: null });
    return rows;
  },
  columns: [
    { key: 'config', label: 'path', unit: '' },
    { key: 'layer', label: 'layer', unit: '' },
    { key: 'meanNs', label: 'mean', unit: 'ns', digits: 1 },
    { key: 'sharePct', label: 'share', unit: '%', digits: 1 },
    { key: 'table1Ns', label: 'paper Table 1', unit: 'ns' },
  ],
  plot(rows) {
    const layers = rows.filter((r) => r['meanNs'] !== null && r['layer'] !== 'total');
    // Path order for every bar, the XRP hook last (it exists only on the XRP path).
    const order = [...rows.filter((r) => r['source'] === 'model'), ...rows.filter((r) => r['source'] === 'xrp')]
      .filter((r) => r['meanNs'] !== null && r['layer'] !== 'total')
      .map((r) => String(r['layer']))
      .filter((v, i, a) => a.indexOf(v) === i);
    const bars: Row[] = layers.map((r) => ({ config: r['config'] as string, layer: r['layer'] as string, meanNs: r['meanNs'] as number, layerIndex: order.indexOf(String(r['layer'])) }));
    // The paper's Table 1 as a reference bar, from the rows that carry it.
    const seen = new Set<string>();
    for (const r of layers) {
      if (r['table1Ns'] === null || r['table1Ns'] === undefined || seen.has(String(r['layer']))) continue;
      seen.add(String(r['layer']));
      bars.push({ config: 'paper Table 1 (optane, 512 B)', layer: r['layer'] as string, meanNs: r['table1Ns'] as number, layerIndex: order.indexOf(String(r['layer'])) });
    }
    return barChart({
      rows: bars,
      x: { field: 'meanNs', title: 'mean latency per read (ns)' },
      y: { field: 'config', title: 'path', type: 'nominal', sort: [...new Set([...bars.filter((b) => !String(b['config']).startsWith('XRP')), ...bars.filter((b) => String(b['config']).startsWith('XRP'))].map((b) => String(b['config'])))] },
      color: { field: 'layer', title: 'layer', sort: order },
      order: 'layerIndex',
      width: 520,
      height: 160,
    });
  },
  headline(rows) {
    const out = rows
      .filter((r) => r['layer'] === 'software share' && r['source'] === 'model')
      .map((r) => `${String(r['config'])}: software is ${String(r['sharePct'])}% of a read()'s latency`);
    for (const x of rows.filter((r) => r['source'] === 'xrp' && r['layer'] === 'total')) {
      const read = rows.find((r) => r['source'] === 'model' && r['layer'] === 'total' && r['device'] === x['device'] && r['readBytes'] === x['readBytes']);
      if (read === undefined) continue;
      out.push(`${String(x['config'])}: ${String(x['meanNs'])} ns against ${String(read['meanNs'])} ns for a read() (${(((read['meanNs'] as number) - (x['meanNs'] as number)) / 1000).toFixed(2)} µs of kernel layers skipped per hop)`);
    }
    return out;
  },
};
