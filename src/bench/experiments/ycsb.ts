// Experiment 6 (more structures; here a real database's): YCSB over the WiredTiger-style B+-tree, read() against XRP,
// across workloads, page-cache sizes (a fraction of the table file) and client
// threads. Each point loads a fresh table (the load phase, measured too) and
// runs the workload on it with a cold cache, a warm-up, then the measured
// operations. XRP can only help a lookup whose lower levels miss the cache
// (it walks them in the kernel); scans, inserts and the write half of updates
// go through the user-space path either way.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProperties } from '../../ycsb/properties.ts';
import { ycsbLoadEmulated, ycsbRunEmulated, type PhaseResult } from '../../ycsb/runner.ts';
import { workloadSpec } from '../../ycsb/workload.ts';
import { concatCharts, lineChart } from '../plot.ts';
import { round2 } from '../round.ts';
import type { Experiment, Row } from '../types.ts';

const WORKLOADS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const MODES = ['read', 'xrp'] as const;

const workloadPath = (w: string): string => fileURLToPath(new URL(`../../../workloads/ycsb/workload${w}`, import.meta.url));

function opCols(r: PhaseResult, type: 'READ' | 'UPDATE' | 'INSERT' | 'SCAN' | 'READMODIFYWRITE', label: string): Row {
  const s = r.perOp[type];
  return { [`${label}MeanNs`]: s === undefined ? null : Math.round(s.latency.meanNs), [`${label}P99Ns`]: s === undefined ? null : s.latency.p99Ns };
}

export const ycsbExperiment: Experiment = {
  id: 'ycsb',
  number: 10,
  title: 'YCSB on a WiredTiger-style B+-tree: read() against XRP',
  description:
    'YCSB core workloads (the unchanged property files, zipfian 0.99 scrambled, uniform or latest) over the B+-tree engine of ' +
    'src/wt (4 KiB pages, variable-length keys, a user-space page cache, copy-on-write checkpoints) on the emulated machine. ' +
    'Each point loads recordcount records into a fresh table (load throughput, with its final checkpoint), then runs the workload ' +
    'with a page cache of the given fraction of the table file (per mille), T client threads on --cores cores, a warm-up of a ' +
    'quarter of the operations and then the measured ones. read(): every cache miss is a pread() of the page. XRP: a lookup that ' +
    'misses hands the walk from the first uncached level to the storage function bpf/wt/lookup.bpf.o, which binary-searches each ' +
    'page and resubmits until the leaf. XRP helps reads whose lower tree is cold (small caches: several levels per miss); with a ' +
    'large cache only the leaf misses and a one-page walk saves nothing. Scans, inserts and the write half of updates go through ' +
    'user space either way, and updates dirty pages that checkpoints then write.',
  params: [
    { name: 'workload', unit: '', description: 'YCSB core workload', kind: 'choice', choices: WORKLOADS },
    { name: 'mode', unit: '', description: 'how cache misses read', kind: 'choice', choices: MODES },
    { name: 'cachePermille', unit: '‰', description: 'page cache as a fraction of the table file', kind: 'int', min: 1, max: 1000 },
    { name: 'threads', unit: '', description: 'client threads', kind: 'int', min: 1, max: 256 },
    { name: 'records', unit: '', description: 'recordcount', kind: 'int', min: 10, max: 10_000_000 },
    { name: 'operations', unit: '', description: 'operationcount (measured)', kind: 'int', min: 1, max: 100_000_000 },
  ],
  axes: (c) => ({
    workload: c.full ? [...WORKLOADS] : ['c', 'b'],
    mode: [...MODES],
    cachePermille: c.full ? [3, 10, 50] : [3],
    threads: c.full ? [1, 6, 12] : [c.cores],
    records: [c.full ? 20_000 : 2_000],
    operations: [c.full ? 6_000 : 1_000],
  }),
  cost: (p) => (Number(p['records']) + Number(p['operations']) * (p['workload'] === 'e' ? 20 : 1)) / 2000,
  run(point, ctx) {
    const w = String(point['workload']);
    const props = parseProperties(readFileSync(workloadPath(w), 'utf8'), `workload${w}`);
    props.set('recordcount', String(point['records']));
    props.set('operationcount', String(point['operations']));
    const spec = workloadSpec(props, `workload${w}`);
    const imagePath = join(ctx.tmpDir, `ycsb-${w}.img`);
    const common = { imagePath, spec, seed: ctx.pointSeed, cores: ctx.cores, profile: ctx.device };
    const load = ycsbLoadEmulated({ ...common, threads: 1 });
    const run = ycsbRunEmulated({
      ...common, threads: Number(point['threads']), mode: point['mode'] as (typeof MODES)[number], cacheFraction: Number(point['cachePermille']) / 1000,
    });
    return [{
      kOpsPerSec: round2(run.opsPerSec / 1e3),
      ...opCols(run, 'READ', 'read'),
      ...opCols(run, 'UPDATE', 'update'),
      ...opCols(run, 'INSERT', 'insert'),
      ...opCols(run, 'SCAN', 'scan'),
      ...opCols(run, 'READMODIFYWRITE', 'rmw'),
      deviceReadsPerOp: round2(run.deviceReadsPerOp),
      xrpWalks: run.tree.xrpWalks,
      xrpPagesPerWalk: run.tree.xrpAnswered > 0 ? round2(run.tree.xrpHops / run.tree.xrpAnswered) : null,
      xrpRedone: run.tree.xrpRetries,
      cacheKiB: Math.round(run.cacheBytes / 1024),
      fileKiB: Math.round(run.fileBytes / 1024),
      loadKOpsPerSec: round2(load.opsPerSec / 1e3),
    }];
  },
  columns: [
    { key: 'workload', label: 'workload', unit: '' },
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'cachePermille', label: 'cache', unit: '‰' },
    { key: 'threads', label: 'threads', unit: '' },
    { key: 'kOpsPerSec', label: 'throughput', unit: 'k ops/s', digits: 1 },
    { key: 'readMeanNs', label: 'read mean', unit: 'ns' },
    { key: 'readP99Ns', label: 'read p99', unit: 'ns' },
    { key: 'updateMeanNs', label: 'update mean', unit: 'ns' },
    { key: 'scanMeanNs', label: 'scan mean', unit: 'ns' },
    { key: 'deviceReadsPerOp', label: 'device reads', unit: '/op', digits: 2 },
    { key: 'xrpPagesPerWalk', label: 'XRP pages', unit: '/walk', digits: 2 },
    { key: 'loadKOpsPerSec', label: 'load', unit: 'k inserts/s', digits: 1 },
  ],
  plot(rows) {
    const labelled = rows.map((r) => ({ ...r, series: `${String(r['mode'])}, ${String(r['cachePermille'])}‰ cache`, wl: `workload ${String(r['workload'])}` }));
    return concatCharts([
      lineChart({
        rows: labelled,
        x: { field: 'threads', title: 'client threads (count)', integer: true },
        y: { field: 'kOpsPerSec', title: 'throughput (k ops/s)' },
        color: { field: 'series', title: 'mode, cache' },
        column: { field: 'wl', title: 'workload' },
        width: 220,
      }),
    ]);
  },
  headline(rows) {
    const out: string[] = [];
    const key = (r: Row): string => `${String(r['workload'])}|${String(r['cachePermille'])}|${String(r['threads'])}`;
    const reads = new Map(rows.filter((r) => r['mode'] === 'read').map((r) => [key(r), r]));
    for (const x of rows.filter((r) => r['mode'] === 'xrp')) {
      const r = reads.get(key(x));
      if (r === undefined) continue;
      const ratio = (x['kOpsPerSec'] as number) / (r['kOpsPerSec'] as number);
      out.push(`workload ${String(x['workload'])}, ${String(x['cachePermille'])}‰ cache, ${String(x['threads'])} threads: XRP ${ratio.toFixed(2)}x read() ` +
        `(${(x['kOpsPerSec'] as number).toFixed(1)}k vs ${(r['kOpsPerSec'] as number).toFixed(1)}k ops/s, ${String(x['xrpPagesPerWalk'] ?? '–')} pages per walk)`);
    }
    return out.slice(0, 6);
  },
};
