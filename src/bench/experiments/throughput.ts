// Experiment 3: lookup throughput and tail latency against the number of
// threads on a fixed number of cores (6 by default, as in the paper), depth 6,
// for the four modes. Past the core count, threads share cores under CFS:
// read() and io_uring threads sleep while their I/O is in flight, SPDK
// pollers spin and must wait for the scheduler, XRP needs one syscall per lookup.
// Beside the paper's SPDK setup (one poller per application thread, one request
// each), 'spdk-fair' is the setup SPDK's maintainers describe: at most one
// poller per core, the same number of lookups in flight spread over them.

import { KV_MODES, runKvLookups } from '../../kv/modes.ts';
import type { KvMode } from '../../kv/modes.ts';
import { kvImage, kvStatsRow, MODE_ORDER } from '../kv-setup.ts';
import { concatCharts, lineChart } from '../plot.ts';
import { round2 } from '../round.ts';
import { runFairSpdk } from '../spdk-fair.ts';
import type { Experiment, Row } from '../types.ts';

const MODES = [...KV_MODES, 'spdk-fair'] as const;
const ORDER = [...MODE_ORDER, 'spdk-fair'];

export const throughputExperiment: Experiment = {
  id: 'throughput',
  number: 3,
  title: 'Lookup throughput and tail latency against thread count',
  description:
    'T application threads (floating under the CFS scheduler) look up random keys in a depth-6 BPF-KV tree on a machine of ' +
    '--cores cores (6 by default). Left: lookups per second of virtual time. Middle and right: p99 and p99.9 lookup latency ' +
    '(log scale). XRP gets more lookups per core because each lookup costs one syscall instead of seven trips through the ' +
    'kernel. SPDK keeps its throughput past the core count, but with many more pollers than cores its tail (p99.9, right) ' +
    'collapses: a poller whose I/O completed must wait for the scheduler to give its core back. spdk-fair: SPDK as its ' +
    'maintainers would run it, min(T, cores) pollers with ceil(T / pollers) lookups in flight each (the same concurrency as ' +
    'T threads, no poller sharing a core).',
  params: [
    { name: 'mode', unit: '', description: 'how the lookup reads (spdk-fair: one poller per core, several lookups in flight)', kind: 'choice', choices: MODES },
    { name: 'threads', unit: '', description: 'application threads', kind: 'int', min: 1, max: 1024 },
    { name: 'depth', unit: 'levels', description: 'index levels', kind: 'int', min: 1, max: 6 },
    { name: 'requestsPerThread', unit: '', description: 'lookups per thread', kind: 'int', min: 1, max: 1_000_000 },
  ],
  axes: (c) => ({
    mode: [...MODES],
    threads: c.full ? [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24] : [1, c.cores, 2 * c.cores, 4 * c.cores].filter((v, i, a) => a.indexOf(v) === i),
    depth: [6],
    // --full: at least 10,000 lookups per point, enough for a p99.9.
    requestsPerThread: [c.full ? 10_000 : 300],
  }),
  cost: (p) => (Number(p['threads']) * Number(p['requestsPerThread']) * (Number(p['depth']) + 1)) / 7000,
  async run(point, ctx) {
    const threads = Number(point['threads']);
    const db = await kvImage(ctx.tmpDir, Number(point['depth']));
    if (point['mode'] === 'spdk-fair') {
      const pollers = Math.min(threads, ctx.cores);
      const inFlight = Math.ceil(threads / pollers);
      const f = runFairSpdk({
        db, cores: ctx.cores, profile: ctx.device, seed: ctx.pointSeed, pollers, inFlight,
        lookupsPerPoller: Math.ceil((threads * Number(point['requestsPerThread'])) / pollers),
      });
      return [{
        requests: f.lookups, kRequestsPerSec: round2(f.lookupsPerSec / 1e3), meanNs: Math.round(f.latency.meanNs), p50Ns: f.latency.p50Ns,
        p99Ns: f.latency.p99Ns, p999Ns: f.latency.p999Ns, maxNs: f.latency.maxNs, pollers, inFlight,
      }];
    }
    const s = runKvLookups({
      db, mode: point['mode'] as KvMode, requests: threads * Number(point['requestsPerThread']), threads,
      seed: ctx.pointSeed, cores: ctx.cores, profile: ctx.device, collect: false,
    });
    return [kvStatsRow(s)];
  },
  columns: [
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'threads', label: 'threads', unit: '' },
    { key: 'kRequestsPerSec', label: 'throughput', unit: 'k lookups/s', digits: 1 },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'p999Ns', label: 'p99.9', unit: 'ns' },
  ],
  plot(rows) {
    const withUs = rows.map((r) => ({ ...r, p99Us: (r['p99Ns'] as number) / 1000, p999Us: (r['p999Ns'] as number) / 1000 }));
    return concatCharts([
      lineChart({
        rows: withUs,
        x: { field: 'threads', title: 'application threads (count)', integer: true },
        y: { field: 'kRequestsPerSec', title: 'throughput (k lookups/s)' },
        color: { field: 'mode', title: 'mode', sort: ORDER },
        width: 240,
      }),
      lineChart({
        rows: withUs,
        x: { field: 'threads', title: 'application threads (count)', integer: true },
        y: { field: 'p99Us', title: 'p99 lookup latency (µs, log scale)', log: true },
        color: { field: 'mode', title: 'mode', sort: ORDER },
        width: 240,
      }),
      lineChart({
        rows: withUs,
        x: { field: 'threads', title: 'application threads (count)', integer: true },
        y: { field: 'p999Us', title: 'p99.9 lookup latency (µs, log scale)', log: true },
        color: { field: 'mode', title: 'mode', sort: ORDER },
        width: 240,
      }),
    ]);
  },
  headline(rows, c) {
    const out: string[] = [];
    for (const threads of [...new Set(rows.map((r) => r['threads'] as number))].filter((t) => t === c.cores || t === Math.max(...rows.map((r) => r['threads'] as number)))) {
      const at = (m: string): Row | undefined => rows.find((r) => r['mode'] === m && r['threads'] === threads);
      const xrp = at('xrp');
      const read = at('read');
      if (xrp === undefined || read === undefined) continue;
      const others = ORDER.map((m) => at(m)).filter((r): r is Row => r !== undefined).map((r) => `${String(r['mode'])} ${(r['kRequestsPerSec'] as number).toFixed(0)}k`).join(', ');
      out.push(`${threads} threads on ${c.cores} cores: XRP ${((xrp['kRequestsPerSec'] as number) / (read['kRequestsPerSec'] as number)).toFixed(2)}x the throughput of read() (${others} lookups/s)`);
    }
    return out;
  },
};
