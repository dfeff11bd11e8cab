// Experiment 8: compute-heavy threads beside I/O threads. Under the default
// fair scheduler (CFS) every thread may run anywhere: I/O threads sleep on the
// device, compute threads take their cores, and the completion interrupts of the
// I/O (which run on the submitting core, inside whatever thread's slice is
// running there) steal time from the compute threads. A pinning policy (as a
// follow-up study of XRP proposes) reserves cores for the compute threads and
// keeps I/O threads and their interrupts on the others. We measure the compute
// threads' useful share of the machine's CPU, the CPU charged to them, and the
// I/O throughput and tail latency under both.

import { errnoName } from '../../kernel/errno.ts';
import { O_DIRECT, O_RDONLY } from '../../kernel/syscalls.ts';
import { Histogram } from '../../sim/histogram.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { BenchError } from '../errors.ts';
import { bootWithDataFile } from '../machine-setup.ts';
import { concatCharts, lineChart } from '../plot.ts';
import { round2 } from '../round.ts';
import type { Experiment, Row } from '../types.ts';

const FILE_BYTES = 8 << 20;
const READ_BYTES = 512;
/** Compute threads work in chunks of this much CPU; a chunk counts once it is done. */
const COMPUTE_CHUNK_NS = 20_000;
/** Time before measurement starts (threads spread over the cores). */
const WARMUP_NS = 2_000_000;

export const POLICIES = ['cfs', 'pinned'] as const;

export const schedulingExperiment: Experiment = {
  id: 'scheduling',
  number: 8,
  title: 'Scheduling: compute threads beside I/O threads, CFS vs core reservation',
  description:
    'I/O threads issue random 512 B O_DIRECT pread()s back to back while compute threads burn CPU in 20 us chunks. ' +
    '"cfs": no affinity, the fair scheduler places everyone. "pinned": the compute threads get cores 0..k-1 to themselves ' +
    '(k = number of compute threads) and the I/O threads the rest. Left: the compute threads\' useful work as a share of ' +
    'all cores (solid) and the CPU charged to them, which includes interrupt handlers that ran in their slices (dashed). ' +
    'Right: I/O throughput. Reserving cores protects the compute threads from interrupts at the price of the cores the I/O gives up.',
  params: [
    { name: 'policy', unit: '', description: 'scheduling policy', kind: 'choice', choices: POLICIES },
    { name: 'computeThreads', unit: '', description: 'compute-heavy threads', kind: 'int', min: 1, max: 255 },
    { name: 'ioThreads', unit: '', description: 'threads doing reads', kind: 'int', min: 1, max: 1024 },
    { name: 'durationMs', unit: 'ms', description: 'measured virtual time', kind: 'int', min: 1, max: 10_000 },
  ],
  axes: (c) => ({
    policy: [...POLICIES],
    computeThreads: c.full ? range(1, c.cores - 1) : [1, Math.floor(c.cores / 2), c.cores - 1].filter((v, i, a) => v >= 1 && a.indexOf(v) === i),
    ioThreads: c.full ? [c.cores, 2 * c.cores] : [2 * c.cores],
    durationMs: [c.full ? 100 : 20],
  }),
  cost: (p) => (Number(p['durationMs']) * Number(p['ioThreads'])) / 60,
  run(point, ctx) {
    const policy = String(point['policy']);
    const computeThreads = Number(point['computeThreads']);
    const ioThreads = Number(point['ioThreads']);
    const durationNs = Number(point['durationMs']) * 1_000_000;
    if (policy === 'pinned' && computeThreads >= ctx.cores) {
      throw new BenchError(`scheduling: pinning reserves one core per compute thread, so computeThreads (${computeThreads}) must be below the core count (${ctx.cores})`);
    }
    const m = bootWithDataFile({ tmpDir: ctx.tmpDir, device: ctx.device, cores: ctx.cores, seed: ctx.pointSeed, fileBytes: FILE_BYTES });
    try {
      const endNs = WARMUP_NS + durationNs;
      let stop = false;
      m.sim.at(endNs, { onEvent: () => { stop = true; } }, 0);
      const proc = m.kernel.createProcess('bench', Math.max(16 << 20, ioThreads * 8192 + (1 << 20)));
      const slots = FILE_BYTES / READ_BYTES;
      const hist = new Histogram();
      let reads = 0;
      let computeNs = 0;
      let failure: string | null = null;
      const computeCores = range(0, computeThreads - 1);
      const ioCores = range(computeThreads, ctx.cores - 1);
      function* reader(t: SimThread): Task {
        const buf = proc.alloc(READ_BYTES, 4096, `buf-${t.name}`);
        const fd = yield* proc.open(t, 'data', O_RDONLY | O_DIRECT);
        if (fd < 0) {
          failure = `open: ${errnoName(fd)}`;
          return;
        }
        const view = new DataView(proc.mem.u8.buffer, buf, 4);
        while (!stop) {
          const off = m.sim.rng.nextBelow(slots) * READ_BYTES;
          const startNs = t.nowNs;
          const r = yield* proc.pread(t, fd, buf, READ_BYTES, off);
          if (r !== READ_BYTES || view.getUint32(0, true) !== off >>> 0) {
            failure = `pread at ${off}: ${r < 0 ? errnoName(r) : `${r} bytes`}`;
            return;
          }
          if (startNs >= WARMUP_NS && t.nowNs <= endNs) {
            reads++;
            hist.record(t.nowNs - startNs);
          }
        }
      }
      const computeStartExec: number[] = [];
      const computers: SimThread[] = [];
      function* compute(t: SimThread, index: number): Task {
        let warm = false;
        while (!stop) {
          if (!warm && t.nowNs >= WARMUP_NS) {
            warm = true;
            t.core.updateCurr(); // sumExecNs is brought up to date lazily

            computeStartExec[index] = t.sumExecNs;
          }
          yield t.cpu(COMPUTE_CHUNK_NS);
          if (warm && t.nowNs <= endNs) computeNs += COMPUTE_CHUNK_NS;
        }
      }
      for (let i = 0; i < computeThreads; i++) {
        computeStartExec.push(0);
        computers.push(m.sim.spawn(`compute-${i}`, (t) => compute(t, i), policy === 'pinned' ? { affinity: computeCores } : {}));
      }
      for (let i = 0; i < ioThreads; i++) m.sim.spawn(`io-${i}`, reader, policy === 'pinned' ? { affinity: ioCores } : {});
      // Snapshot the CPU charged to compute threads at the end of the window.
      let chargedNs = 0;
      m.sim.at(endNs, { onEvent: () => { 
        for (const t of computers) if (t.core.current === t) t.core.updateCurr();
        chargedNs = computers.reduce((s, t, i) => s + t.sumExecNs - computeStartExec[i]!, 0);
      } }, 1);
      m.sim.run();
      if (failure !== null) throw new BenchError(`scheduling: ${failure}`);
      const capacityNs = durationNs * ctx.cores;
      const lat = hist.summary();
      const row: Row = {
        computeSharePct: round2((100 * computeNs) / capacityNs),
        computeChargedPct: round2((100 * chargedNs) / capacityNs),
        fairSharePct: round2((100 * Math.min(computeThreads, ctx.cores)) / ctx.cores),
        ioKiops: round2(reads / (durationNs / 1e6)),
        ioMeanNs: Math.round(lat.meanNs),
        ioP99Ns: lat.p99Ns,
      };
      return [row];
    } finally {
      m.shutdown();
    }
  },
  columns: [
    { key: 'policy', label: 'policy', unit: '' },
    { key: 'computeThreads', label: 'compute thr', unit: '' },
    { key: 'ioThreads', label: 'I/O thr', unit: '' },
    { key: 'computeSharePct', label: 'compute useful', unit: '% CPU', digits: 1 },
    { key: 'computeChargedPct', label: 'compute charged', unit: '% CPU', digits: 1 },
    { key: 'ioKiops', label: 'I/O', unit: 'k IOPS', digits: 1 },
    { key: 'ioMeanNs', label: 'I/O mean', unit: 'ns' },
    { key: 'ioP99Ns', label: 'I/O p99', unit: 'ns' },
  ],
  plot(rows) {
    const shares: Row[] = [];
    for (const r of rows) {
      shares.push({ policy: r['policy'] as string, computeThreads: r['computeThreads'] as number, measure: 'useful work', pct: r['computeSharePct'] as number });
      shares.push({ policy: r['policy'] as string, computeThreads: r['computeThreads'] as number, measure: 'charged CPU', pct: r['computeChargedPct'] as number });
    }
    return concatCharts([
      lineChart({
        rows: shares,
        x: { field: 'computeThreads', title: 'compute threads (count)', integer: true },
        y: { field: 'pct', title: 'compute threads\' share of all cores (%)' },
        color: { field: 'policy', title: 'policy', sort: POLICIES },
        strokeDash: { field: 'measure', title: 'measure' },
        width: 300,
      }),
      lineChart({
        rows,
        x: { field: 'computeThreads', title: 'compute threads (count)', integer: true },
        y: { field: 'ioKiops', title: 'I/O throughput (k reads/s)' },
        color: { field: 'policy', title: 'policy', sort: POLICIES },
        width: 300,
      }),
    ]);
  },
  headline(rows) {
    const out: string[] = [];
    const byK = new Map<number, Row[]>();
    for (const r of rows) byK.set(r['computeThreads'] as number, [...(byK.get(r['computeThreads'] as number) ?? []), r]);
    for (const [k, rs] of byK) {
      const cfs = rs.find((r) => r['policy'] === 'cfs');
      const pin = rs.find((r) => r['policy'] === 'pinned');
      if (cfs === undefined || pin === undefined) continue;
      out.push(
        `${k} compute thread(s): useful compute ${String(cfs['computeSharePct'])}% (cfs) vs ${String(pin['computeSharePct'])}% (pinned) of the cores; ` +
          `I/O ${String(cfs['ioKiops'])} vs ${String(pin['ioKiops'])} k reads/s`,
      );
    }
    return out;
  },
};

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
