// YCSB over the WiredTiger-style B+-tree on the emulated stack (optane-p5800x,
// 6 cores): load-phase throughput, then workloads C and B with read() and XRP
// at three page-cache sizes and 1, 6 and 12 client threads (each run on a copy
// of the loaded image, so every run starts from the same table), and the
// storage function's size and verification time. Virtual times are exact
// (deterministic), independent of the host's load; the verification time is
// host wall-clock.
//
//   node --import tsx bench/ycsb.ts [--records N] [--ops N] [--workloads c,b] [--threads 1,6,12] [--cache 0.005,0.05,0.25]

import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadElf } from '../src/bpf/elf/elf.ts';
import { verify } from '../src/bpf/verifier/verifier.ts';
import { WT_LOOKUP_OBJECT, WT_LOOKUP_PROGRAM } from '../src/wt/emulated.ts';
import { parseProperties } from '../src/ycsb/properties.ts';
import { ycsbLoadEmulated, ycsbRunEmulated } from '../src/ycsb/runner.ts';
import { workloadSpec } from '../src/ycsb/workload.ts';
import { benchArgs } from './args.ts';

const cl = benchArgs({
  script: 'bench/ycsb.ts',
  usage: 'Usage: node --import tsx bench/ycsb.ts [--records N] [--ops N] [--workloads c,b] [--threads 1,6,12] [--cache 0.005,0.05,0.25]\n' +
    '  --records N       records loaded (default 10000)\n' +
    '  --ops N           operations per run (default 3000)\n' +
    '  --workloads LIST  YCSB workloads (workloads/ycsb/workloadX), comma-separated (default c,b)\n' +
    '  --threads LIST    client thread counts, comma-separated (default 1,6,12)\n' +
    '  --cache LIST      page-cache sizes as fractions of the file, comma-separated (default 0.005,0.05,0.25)',
  options: {
    records: { type: 'string', default: '10000' },
    ops: { type: 'string', default: '3000' },
    workloads: { type: 'string', default: 'c,b' },
    threads: { type: 'string', default: '1,6,12' },
    cache: { type: 'string', default: '0.005,0.05,0.25' },
  },
});
const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
const values = {
  records: String(cl.positiveInt('--records', cl.values.records)),
  ops: String(cl.positiveInt('--ops', cl.values.ops)),
  workloads: list(cl.values.workloads),
  threads: cl.positiveIntList('--threads', cl.values.threads),
  cache: list(cl.values.cache).map((x) => cl.positiveNumber('--cache', x)),
};
if (values.workloads.length === 0) cl.fail(`--workloads must name at least one workload, got '${cl.values.workloads}'`);
for (const w of values.workloads) if (!existsSync(`workloads/ycsb/workload${w}`)) cl.fail(`--workloads: no workload '${w}' (workloads/ycsb/workload${w})`);
if (values.cache.length === 0) cl.fail(`--cache must list at least one fraction, got '${cl.values.cache}'`);

console.log('# storage function');
const object = loadElf(new Uint8Array(readFileSync(WT_LOOKUP_OBJECT)), WT_LOOKUP_OBJECT);
const prog = object.programs.find((p) => p.name === WT_LOOKUP_PROGRAM);
if (prog === undefined) throw new Error(`${WT_LOOKUP_PROGRAM} is not in ${WT_LOOKUP_OBJECT}`);
const v = verify(prog, { type: 'xrp', maps: object.maps, memSizeBytes: 4096 });
console.log(`${WT_LOOKUP_PROGRAM}: ${prog.insns.length} instructions; our verifier: ${v.ok ? 'accepted' : 'REJECTED'}, ${v.stats.processedInsns} processed instructions, ${v.stats.states} states, ${v.stats.timeMs.toFixed(0)} ms (host wall-clock)`);

const dir = mkdtempSync(join(tmpdir(), 'ycsb-bench-'));
try {
  for (const w of values.workloads) {
    const props = parseProperties(readFileSync(`workloads/ycsb/workload${w}`, 'utf8'), `workload${w}`);
    props.set('recordcount', values.records);
    props.set('operationcount', values.ops);
    const spec = workloadSpec(props, `workload${w}`);
    const base = join(dir, `${w}.img`);
    const load = ycsbLoadEmulated({ imagePath: base, spec, threads: 1, seed: 1 });
    console.log(`\n# workload ${w}: load ${spec.recordCount} records: ${(load.opsPerSec / 1e3).toFixed(1)}k inserts/s (virtual, final checkpoint included), file ${(load.fileBytes / 2 ** 20).toFixed(1)} MiB`);
    console.log('| cache | threads | read() k ops/s | XRP k ops/s | XRP / read() | read p99 read()/XRP (µs) | device reads/op read()/XRP | XRP pages/walk |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const cache of values.cache) {
      for (const threads of values.threads) {
        const res = (['read', 'xrp'] as const).map((mode) => {
          const img = join(dir, `${w}-run.img`);
          copyFileSync(base, img);
          return ycsbRunEmulated({ imagePath: img, spec, threads, mode, cacheFraction: cache, seed: 1 });
        });
        const [r, x] = res as [typeof res[0], typeof res[0]];
        const p99 = (p: typeof r): string => ((p.perOp.READ?.latency.p99Ns ?? 0) / 1e3).toFixed(1);
        console.log(`| ${(cache * 100).toFixed(1)}% | ${threads} | ${(r.opsPerSec / 1e3).toFixed(1)} | ${(x.opsPerSec / 1e3).toFixed(1)} | ${(x.opsPerSec / r.opsPerSec).toFixed(2)}x | ` +
          `${p99(r)} / ${p99(x)} | ${r.deviceReadsPerOp.toFixed(2)} / ${x.deviceReadsPerOp.toFixed(2)} | ${x.tree.xrpAnswered > 0 ? (x.tree.xrpHops / x.tree.xrpAnswered).toFixed(2) : '-'} |`);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
