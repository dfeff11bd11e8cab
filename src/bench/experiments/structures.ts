// Experiment 6: other on-disk structures with storage functions (the
// array chain and the skip list), XRP against user space as the chain grows, and
// the effect of XRP's resubmission limit on a long chain. Three experiments
// share number 6 (`xrp bench 6` runs all three).

import { XRP_RESUBMIT_LIMIT_DEFAULT } from '../../kernel/xrp/index.ts';
import { prepareArrayChain, prepareSkipList, runArrayChain, runSkipList } from '../../structures/run.ts';
import type { StructureRunResult } from '../../structures/run.ts';
import { concatCharts, lineChart } from '../plot.ts';
import { round2 } from '../round.ts';
import type { Experiment, Row } from '../types.ts';

const MODES = ['read', 'xrp'] as const;
/** Elements of the array-chain file (8 MiB): hops land on random 512-byte blocks of it. */
const CHAIN_ELEMS = 1 << 20;

function statsRow(r: StructureRunResult): Row {
  return {
    queries: r.queries,
    meanNs: Math.round(r.latency.meanNs),
    p99Ns: r.latency.p99Ns,
    kQueriesPerSec: round2(r.queriesPerSec / 1e3),
    readsPerQuery: round2(r.readsPerQuery),
    callsPerQuery: round2(r.calls / r.queries),
    limitHits: r.xrp?.limitHits ?? 0,
    fallbackReads: r.xrp?.fallbackReads ?? 0,
    verified: r.verified,
  };
}

function ratioLines(rows: readonly Row[], key: string, unitLabel: string): string[] {
  const biggest = Math.max(...rows.map((r) => r[key] as number));
  const at = (m: string, extra: (r: Row) => boolean = () => true) => rows.find((r) => r['mode'] === m && r[key] === biggest && extra(r));
  const out: string[] = [];
  for (const op of [...new Set(rows.map((r) => (r['op'] as string | undefined) ?? ''))]) {
    const same = (r: Row) => op === '' || r['op'] === op;
    const xrp = at('xrp', same);
    const read = at('read', same);
    if (xrp === undefined || read === undefined) continue;
    out.push(`${op === '' ? '' : `${op}, `}${biggest} ${unitLabel}: XRP ${((read['meanNs'] as number) / (xrp['meanNs'] as number)).toFixed(2)}x faster than read() per query (${((xrp['meanNs'] as number) / 1000).toFixed(1)} vs ${((read['meanNs'] as number) / 1000).toFixed(1)} µs)`);
  }
  return out;
}

export const chainExperiment: Experiment = {
  id: 'chain',
  number: 6.1,
  title: 'Array chains: XRP against user space as the chain grows',
  description:
    'One thread follows chains of k dependent hops through an array file of 2^20 u64 elements (each hop reads the 512-byte ' +
    'block holding the next index, index = 2·value mod N). read: one pread() per hop; xrp: one read_xrp() whose storage ' +
    'function (array_chain.bpf.c) follows the chain in the driver. Left: mean latency per query (µs, log-log). Right: the same ' +
    'per hop, where XRP approaches the device time plus the driver and the storage function. Every answer is checked ' +
    'against a host-side walk.',
  params: [
    { name: 'mode', unit: '', description: 'how the chain is followed', kind: 'choice', choices: MODES },
    { name: 'hops', unit: 'hops', description: 'chain length k', kind: 'int', min: 1, max: 1_000_000 },
    { name: 'hopBudget', unit: 'hops', description: 'hops measured per point (queries = budget / k, at least 2)', kind: 'int', min: 1, max: 100_000_000 },
  ],
  axes: (c) => ({ mode: [...MODES], hops: c.full ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] : [1, 10, 100, 1000], hopBudget: [c.full ? 50_000 : 4_000] }),
  cost: (p) => Number(p['hopBudget']) / 7000,
  run(point, ctx) {
    const hops = Number(point['hops']);
    const queries = Math.max(2, Math.ceil(Number(point['hopBudget']) / hops));
    const prepared = prepareArrayChain({ dir: ctx.tmpDir, nElems: CHAIN_ELEMS, seed: ctx.pointSeed });
    const r = runArrayChain(prepared, { mode: point['mode'] as (typeof MODES)[number], hops, queries, cores: ctx.cores, profile: ctx.device, seed: ctx.pointSeed });
    return [{ ...statsRow(r), nsPerHop: round2(r.latency.meanNs / hops) }];
  },
  columns: [
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'hops', label: 'k', unit: 'hops' },
    { key: 'queries', label: 'queries', unit: '' },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'nsPerHop', label: 'per hop', unit: 'ns', digits: 0 },
    { key: 'readsPerQuery', label: 'reads/query', unit: '', digits: 1 },
  ],
  plot(rows) {
    const data = rows.map((r) => ({ ...r, meanUs: (r['meanNs'] as number) / 1000 }));
    return concatCharts([
      lineChart({ rows: data, x: { field: 'hops', title: 'chain length k (hops, log scale)', log: true }, y: { field: 'meanUs', title: 'mean query latency (µs, log scale)', log: true }, color: { field: 'mode', title: 'mode', sort: MODES }, width: 300 }),
      lineChart({ rows: data, x: { field: 'hops', title: 'chain length k (hops, log scale)', log: true }, y: { field: 'nsPerHop', title: 'mean latency per hop (ns)' }, color: { field: 'mode', title: 'mode', sort: MODES }, width: 300 }),
    ]);
  },
  headline: (rows) => ratioLines(rows, 'hops', 'hops'),
};

export const skiplistExperiment: Experiment = {
  id: 'skiplist',
  number: 6.2,
  title: 'Skip list: lookups and range scans, XRP against user space as the list grows',
  description:
    'One thread runs point lookups (get) and 64-key range scans (range) in a skip list of 512-byte nodes (levels 1..16, ' +
    'p = 1/2) holding n keys; a lookup follows about log2(n) dependent pointers. read: one pread() per node; xrp: one ' +
    'read_xrp() with sl_get or sl_range (a scan resumes after 32 pairs). y: mean latency per query (µs); x: keys in the list ' +
    '(log scale). Every answer is checked against a host-side walk.',
  params: [
    { name: 'op', unit: '', description: 'get or 64-key range scan', kind: 'choice', choices: ['get', 'range'] },
    { name: 'mode', unit: '', description: 'how the list is read', kind: 'choice', choices: MODES },
    { name: 'keys', unit: 'keys', description: 'keys in the skip list', kind: 'int', min: 1, max: 2_000_000 },
    { name: 'queries', unit: '', description: 'queries measured', kind: 'int', min: 1, max: 1_000_000 },
  ],
  axes: (c) => ({ op: ['get', 'range'], mode: [...MODES], keys: c.full ? [100, 1_000, 10_000, 100_000] : [100, 10_000], queries: [c.full ? 2_000 : 100] }),
  cost: (p) => (Number(p['queries']) * (p['op'] === 'range' ? 80 : 20)) / 7000 + Number(p['keys']) / 50_000,
  run(point, ctx) {
    const prepared = prepareSkipList({ dir: ctx.tmpDir, keys: Number(point['keys']), seed: ctx.pointSeed });
    const r = runSkipList(prepared, {
      mode: point['mode'] as (typeof MODES)[number], op: point['op'] as 'get' | 'range', queries: Number(point['queries']),
      cores: ctx.cores, profile: ctx.device, seed: ctx.pointSeed,
    });
    return [statsRow(r)];
  },
  columns: [
    { key: 'op', label: 'op', unit: '' },
    { key: 'mode', label: 'mode', unit: '' },
    { key: 'keys', label: 'keys', unit: '' },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'readsPerQuery', label: 'reads/query', unit: '', digits: 1 },
    { key: 'callsPerQuery', label: 'calls/query', unit: '', digits: 1 },
  ],
  plot(rows) {
    return lineChart({
      rows: rows.map((r) => ({ ...r, meanUs: (r['meanNs'] as number) / 1000 })),
      x: { field: 'keys', title: 'keys in the skip list (log scale)', log: true },
      y: { field: 'meanUs', title: 'mean query latency (µs)' },
      color: { field: 'mode', title: 'mode', sort: MODES },
      column: { field: 'op', title: 'operation', sort: ['get', 'range'] },
      width: 280,
    });
  },
  headline: (rows) => ratioLines(rows, 'keys', 'keys'),
};

export const resubmitLimitExperiment: Experiment = {
  id: 'resubmit-limit',
  number: 6.3,
  title: 'The resubmission limit on a long chain',
  description:
    'Array-chain queries of k hops (2000 by default, 5000 with --full) through read_xrp with a limit L on resubmissions per call (the original XRP has ' +
    'none; ours defaults to 4096). When a chain is cut, the state in the scratch page lets the caller finish it: "user" ' +
    'continues with one pread() per remaining hop, "xrp" issues another read_xrp() from the saved state. y: mean query ' +
    'latency (µs, log scale) against L (log scale); the dashed line is the user-space walk (read) for reference.',
  params: [
    { name: 'fallback', unit: '', description: 'who finishes a chain cut by the limit', kind: 'choice', choices: ['user', 'xrp'] },
    { name: 'limit', unit: 'reads', description: 'resubmissions per read_xrp call', kind: 'int', min: 0, max: 1 << 24 },
    { name: 'hops', unit: 'hops', description: 'chain length k', kind: 'int', min: 1, max: 1_000_000 },
    { name: 'queries', unit: '', description: 'queries measured', kind: 'int', min: 1, max: 100_000 },
  ],
  axes: (c) => ({
    fallback: ['user', 'xrp'],
    limit: c.full ? [1, 4, 16, 64, 256, 1024, XRP_RESUBMIT_LIMIT_DEFAULT, 16_384] : [4, 64, 1024, XRP_RESUBMIT_LIMIT_DEFAULT],
    hops: [c.full ? 5_000 : 2_000],
    queries: [c.full ? 20 : 2],
  }),
  cost: (p) => (Number(p['queries']) * Number(p['hops'])) / 7000,
  run(point, ctx) {
    const prepared = prepareArrayChain({ dir: ctx.tmpDir, nElems: CHAIN_ELEMS, seed: ctx.pointSeed });
    const hops = Number(point['hops']);
    const queries = Number(point['queries']);
    const common = { hops, queries, cores: ctx.cores, profile: ctx.device, seed: ctx.pointSeed };
    const r = runArrayChain(prepared, { ...common, mode: 'xrp', resubmitLimit: Number(point['limit']), fallback: point['fallback'] as 'user' | 'xrp' });
    // The user-space walk of the same queries, as the reference line.
    const read = runArrayChain(prepared, { ...common, mode: 'read' });
    return [{ ...statsRow(r), readMeanNs: Math.round(read.latency.meanNs) }];
  },
  columns: [
    { key: 'fallback', label: 'fallback', unit: '' },
    { key: 'limit', label: 'limit L', unit: 'reads' },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'callsPerQuery', label: 'syscalls/query', unit: '', digits: 1 },
    { key: 'limitHits', label: 'LIMIT hits', unit: '' },
    { key: 'fallbackReads', label: 'fallback reads', unit: '' },
    { key: 'readMeanNs', label: 'read() walk mean', unit: 'ns' },
  ],
  plot(rows) {
    const data: Row[] = [];
    for (const r of rows) {
      data.push({ line: `xrp, fallback ${String(r['fallback'])}`, limit: r['limit'] as number, meanUs: (r['meanNs'] as number) / 1000, kind: 'xrp' });
      data.push({ line: 'read() walk', limit: r['limit'] as number, meanUs: (r['readMeanNs'] as number) / 1000, kind: 'reference' });
    }
    const unique = data.filter((d, i) => data.findIndex((x) => x['line'] === d['line'] && x['limit'] === d['limit']) === i);
    return lineChart({
      rows: unique,
      x: { field: 'limit', title: 'resubmission limit L (reads per call, log scale)', log: true },
      y: { field: 'meanUs', title: 'mean query latency (µs, log scale)', log: true },
      color: { field: 'line', title: 'mode' },
      // the xrp lines solid, the read() walk dashed, as the description says
      strokeDash: { field: 'kind', title: 'kind', sort: ['xrp', 'reference'] },
      noPoints: true,
      width: 420,
    });
  },
  headline(rows) {
    const lowest = Math.min(...rows.map((r) => r['limit'] as number));
    return ['user', 'xrp'].flatMap((f) => {
      const r = rows.find((x) => x['fallback'] === f && x['limit'] === lowest);
      return r === undefined ? [] : [`limit ${lowest}, fallback ${f}: ${((r['meanNs'] as number) / 1000).toFixed(0)} µs per query vs ${((r['readMeanNs'] as number) / 1000).toFixed(0)} µs for the read() walk (${String(r['limitHits'])} LIMIT hits)`];
    });
  },
};
