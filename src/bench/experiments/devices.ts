// Experiment 9: the same lookups on three devices. On Optane the kernel is half
// of a read's latency, so XRP's savings are large; on NAND the device takes
// tens of microseconds per read and the software XRP removes is a small share.
// On the data-center NAND profile (P4610 class) read() and XRP are also run
// under host variants that change how a completion reaches the CPU, to see
// which mechanism, if any, makes a resubmitted read slower than a fresh one
// (users of the original reported XRP slower on average but better at p99.9
// on such a drive, 5 levels, one thread).

import { present } from '../../base/checked.ts';
import { DEVICE_PROFILES } from '../../device/profiles.ts';
import { Machine } from '../../kernel/machine.ts';
import type { NvmeDriverOptions } from '../../kernel/nvme-driver.ts';
import { kvDeviceStore } from '../../kv/kv-db.ts';
import { KV_MODES, runKvLookups } from '../../kv/modes.ts';
import type { KvMode } from '../../kv/modes.ts';
import { kvImage, kvStatsRow, MODE_ORDER } from '../kv-setup.ts';
import { round2 } from '../round.ts';
import { barChart, concatCharts } from '../plot.ts';
import type { Experiment, Row } from '../types.ts';

const DEVICES = [...DEVICE_PROFILES.keys()];
const NAND_DC = 'nand-p4610';

/** Host variants of the NAND investigation: how a completion reaches the CPU. */
const VARIANTS: Record<string, (cores: number) => NvmeDriverOptions> = {
  // Linux's defaults: the vector of each queue on its own core, no coalescing.
  default: () => ({}),
  // Every completion interrupt on the last core: the reader (on another core) is woken by an IPI.
  'irq-remote': (cores) => ({ irqCore: cores - 1 }),
  // NVMe interrupt coalescing: 8 entries or one 100 us aggregation-time unit.
  coalescing: () => ({ coalescing: { threshold: 8, timeNs: 100_000 } }),
};

export const devicesExperiment: Experiment = {
  id: 'devices',
  number: 9,
  title: 'Devices: Optane P5800X against TLC and data-center NAND',
  description:
    'Lookups by one thread on each device profile (optane-p5800x: 3.2 µs per 512 B read; tlc-980pro: 45 µs; nand-p4610: 77 µs, ' +
    'channels x dies, each with its published QD1 latency shape). Panels: mean and p99.9 lookup latency per mode in ' +
    'microseconds, the speed-up of each mode over read() (mean latency of read() divided by the mode\'s), and the NAND ' +
    'investigation\'s mean and p99.9 per host variant. XRP removes the same software ' +
    'time per hop on every device, so its relative gain shrinks where the device dominates. Rows with a variant other than ' +
    '"default" are the NAND investigation (read() against XRP on nand-p4610): irq-remote sends every completion interrupt ' +
    'to another core than the reader\'s, coalescing turns on NVMe interrupt coalescing (8 entries or 100 µs). What the ' +
    'mechanisms allow: at one thread a chain\'s reads are serial, so they never meet on a die; a resubmitted read takes the ' +
    'same device time and the same interrupt delivery as a fresh one and skips the syscall, file system, block layer and the ' +
    'wake-up. Coalescing delays every hop of both paths alike (at queue depth 1 the threshold is never reached, the timer ' +
    'fires); a remote interrupt costs read() an IPI and an idle exit per hop, XRP once per lookup. None of them can make ' +
    'XRP slower on the mean here; its p99.9 and read()\'s are both the device\'s own tail (compare across seeds with --full).',
  params: [
    { name: 'device', unit: '', description: 'device profile', kind: 'choice', choices: DEVICES },
    { name: 'mode', unit: '', description: 'how the lookup reads', kind: 'choice', choices: KV_MODES },
    { name: 'depth', unit: 'levels', description: 'index levels', kind: 'int', min: 1, max: 6 },
    { name: 'requests', unit: '', description: 'lookups measured', kind: 'int', min: 1, max: 1_000_000 },
    { name: 'replica', unit: '', description: 'repetition with its own seed (spread across seeds)', kind: 'int', min: 1, max: 100 },
  ],
  axes: (c) => ({ device: DEVICES, mode: [...KV_MODES], depth: c.full ? [3, 5, 6] : [5], requests: [c.full ? 10_000 : 1_000], replica: c.full ? [1, 2, 3, 4, 5] : [1] }),
  cost: (p) => (Number(p['requests']) * (Number(p['depth']) + 1)) / 7000,
  async run(point, ctx) {
    const device = String(point['device']);
    const mode = point['mode'] as KvMode;
    const db = await kvImage(ctx.tmpDir, Number(point['depth']));
    const variants = device === NAND_DC && (mode === 'read' || mode === 'xrp') ? Object.keys(VARIANTS) : ['default'];
    const rows: Row[] = [];
    for (const variant of variants) {
      const machine = Machine.boot({
        imagePath: db, deviceStore: kvDeviceStore, profile: device, cores: ctx.cores, seed: ctx.pointSeed,
        driver: present(VARIANTS[variant], `driver variant ${variant}`)(ctx.cores),
      });
      try {
        const s = runKvLookups({ db: machine, mode, requests: Number(point['requests']), threads: 1, seed: ctx.pointSeed, collect: false });
        rows.push({ variant, ...kvStatsRow(s) });
      } finally {
        machine.shutdown();
      }
    }
    return rows;
  },
  columns: [
    { key: 'device', label: 'device', unit: '' },
    { key: 'depth', label: 'depth', unit: 'levels' },
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'variant', label: 'host variant', unit: '' },
    { key: 'replica', label: 'seed #', unit: '' },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'p999Ns', label: 'p99.9', unit: 'ns' },
    { key: 'kRequestsPerSec', label: 'throughput', unit: 'k lookups/s', digits: 2 },
  ],
  plot(rows) {
    const main = rows.filter((r) => r['variant'] === 'default' && r['replica'] === 1);
    const data: Row[] = main.map((r) => {
      const read = main.find((x) => x['device'] === r['device'] && x['depth'] === r['depth'] && x['mode'] === 'read');
      return {
        config: `${String(r['device'])}, depth ${String(r['depth'])}`,
        mode: r['mode'] as string,
        meanUs: (r['meanNs'] as number) / 1000,
        p999Us: (r['p999Ns'] as number) / 1000,
        speedup: read === undefined ? null : round2((read['meanNs'] as number) / (r['meanNs'] as number)),
      };
    });
    const nand: Row[] = [];
    for (const r of rows.filter((x) => x['device'] === NAND_DC && x['replica'] === 1)) {
      if (r['mode'] !== 'read' && r['mode'] !== 'xrp') continue;
      for (const [stat, key] of [['mean', 'meanNs'], ['p99.9', 'p999Ns']] as const) {
        nand.push({ case: `${String(r['variant'])}, ${stat}`, mode: r['mode'] as string, latencyUs: (r[key] as number) / 1000 });
      }
    }
    return concatCharts([
      { ...barChart({ rows: data, x: { field: 'mode', title: 'mode', type: 'nominal', sort: MODE_ORDER }, y: { field: 'meanUs', title: 'mean lookup latency (µs)' }, color: { field: 'mode', title: 'mode', sort: MODE_ORDER }, column: { field: 'config', title: 'device' }, width: 140 }) },
      { ...barChart({ rows: data, x: { field: 'mode', title: 'mode', type: 'nominal', sort: MODE_ORDER }, y: { field: 'p999Us', title: 'p99.9 lookup latency (µs)' }, color: { field: 'mode', title: 'mode', sort: MODE_ORDER }, column: { field: 'config', title: 'device' }, width: 140 }) },
      { ...barChart({ rows: data, x: { field: 'mode', title: 'mode', type: 'nominal', sort: MODE_ORDER }, y: { field: 'speedup', title: 'speed-up over read() (x)' }, color: { field: 'mode', title: 'mode', sort: MODE_ORDER }, column: { field: 'config', title: 'device' }, width: 140 }) },
      { ...barChart({ rows: nand, x: { field: 'mode', title: 'mode', type: 'nominal', sort: ['read', 'xrp'] }, y: { field: 'latencyUs', title: 'nand-p4610 lookup latency (µs)' }, color: { field: 'mode', title: 'mode', sort: MODE_ORDER }, column: { field: 'case', title: 'NAND investigation: host variant, statistic' }, width: 60 }) },
    ]);
  },
  headline(rows) {
    const out: string[] = [];
    const of = (device: string, depth: number, mode: string, variant: string) => rows.filter((r) => r['device'] === device && r['depth'] === depth && r['mode'] === mode && r['variant'] === variant);
    const us = (v: number): string => (v / 1000).toFixed(1);
    /** "a" or, across several seeds, "mean [min..max]" of a statistic. */
    const spread = (rs: Row[], key: string): string => {
      const v = rs.map((r) => r[key] as number);
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return v.length === 1 ? us(m) : `${us(m)} [${us(Math.min(...v))}..${us(Math.max(...v))}]`;
    };
    for (const device of [...new Set(rows.map((r) => r['device'] as string))]) {
      for (const depth of [...new Set(rows.map((r) => r['depth'] as number))]) {
        for (const variant of [...new Set(rows.filter((r) => r['device'] === device).map((r) => r['variant'] as string))]) {
          const xrp = of(device, depth, 'xrp', variant);
          const read = of(device, depth, 'read', variant);
          if (xrp.length === 0 || read.length === 0) continue;
          const mean = (rs: Row[]): number => rs.reduce((a, r) => a + (r['meanNs'] as number), 0) / rs.length;
          const ratio = mean(read) / mean(xrp);
          const seeds = xrp.length === 1 ? '' : ` (${xrp.length} seeds: mean [min..max])`;
          out.push(
            `${device}${variant === 'default' ? '' : ` (${variant})`}, depth ${depth}: XRP ${ratio >= 1 ? `${ratio.toFixed(3)}x faster` : `${(1 / ratio).toFixed(3)}x slower`} than read() on the mean ` +
              `(${spread(xrp, 'meanNs')} vs ${spread(read, 'meanNs')} µs), p99.9 ${spread(xrp, 'p999Ns')} vs ${spread(read, 'p999Ns')} µs${seeds}`,
          );
        }
      }
    }
    return out;
  },
};
