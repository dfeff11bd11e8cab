// Array chain and skip list on the emulated machine (src/structures/run.ts):
// per-query virtual latency of the user-space walk (pread per hop) against
// read_xrp as the chain grows, the effect of the resubmission limit, and skip
// list lookups and scans. Every answer is verified against the host-side walk.
//
//   node --import tsx bench/structures.ts [--elems N] [--keys N]

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareArrayChain, prepareSkipList, runArrayChain, runSkipList, type StructureRunResult } from '../src/structures/run.ts';
import { benchArgs } from './args.ts';

const cl = benchArgs({
  script: 'bench/structures.ts',
  usage: 'Usage: node --import tsx bench/structures.ts [--elems N] [--keys N]\n  --elems N  array chain elements (default 1048576)\n  --keys N   skip list keys (default 100000)',
  options: { elems: { type: 'string', default: String(1 << 20) }, keys: { type: 'string', default: '100000' } },
});
const ELEMS = cl.positiveInt('--elems', cl.values.elems);
const KEYS = cl.positiveInt('--keys', cl.values.keys);

const us = (ns: number): string => (ns / 1000).toFixed(1).padStart(10);
const row = (label: string, r: StructureRunResult, t0: bigint): string =>
  `${label.padEnd(34)} mean ${us(r.latency.meanNs)} us  p99 ${us(r.latency.p99Ns)} us  ${String(r.queriesPerSec).padStart(8)} q/s  ` +
  `reads/q ${r.readsPerQuery.toFixed(1).padStart(7)}  calls ${String(r.calls).padStart(6)}` +
  (r.xrp ? `  LIMIT ${r.xrp.limitHits} fallback reads ${r.xrp.fallbackReads}` : '') +
  `  (wall ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms)`;

const dir = mkdtempSync(join(tmpdir(), 'structures-bench-'));
try {
  console.log(`structures bench, optane-p5800x, 1 thread, 6 cores; host load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const array = prepareArrayChain({ dir, nElems: ELEMS });
  console.log(`array chain: N = ${array.nElems} (${array.fileBytes} bytes)`);
  for (const hops of [1, 2, 5, 10, 100, 1000, 4097, 10_000]) {
    const queries = Math.max(2, Math.min(200, Math.floor(20_000 / hops)));
    for (const mode of ['read', 'xrp'] as const) {
      const t0 = process.hrtime.bigint();
      console.log(row(`k=${hops} ${mode} (${queries} q)`, runArrayChain(array, { mode, hops, queries }), t0));
    }
  }
  console.log('resubmission limit, k = 10,000:');
  for (const limit of [16, 256, 4096, 16_384]) {
    for (const fallback of ['user', 'xrp'] as const) {
      const t0 = process.hrtime.bigint();
      console.log(row(`limit ${limit} fallback ${fallback}`, runArrayChain(array, { mode: 'xrp', hops: 10_000, queries: 2, resubmitLimit: limit, fallback }), t0));
    }
  }
  const skiplist = prepareSkipList({ dir, keys: KEYS });
  console.log(`skip list: ${skiplist.keys} keys (${skiplist.fileBytes} bytes)`);
  for (const op of ['get', 'range'] as const) {
    for (const mode of ['read', 'xrp'] as const) {
      const t0 = process.hrtime.bigint();
      console.log(row(`${op}${op === 'range' ? ' 64 keys' : ''} ${mode}`, runSkipList(skiplist, { mode, op, queries: 500 }), t0));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
