// Experiment 8: compute-heavy threads beside I/O threads. Under the default
// fair scheduler (CFS) every thread may run anywhere: I/O threads sleep on the
// device, compute threads take their cores, and the completion interrupts of the
// I/O (which run on the submitting core, inside whatever thread's slice is
// running there; with XRP they include the storage function and every
// resubmission) steal time from the compute threads. A pinning policy (as a
// follow-up study of XRP proposes) reserves cores for the compute threads and
// keeps I/O threads and their interrupts on the others. We measure the compute
// threads' useful share of the machine's CPU, the CPU charged to them, and the
// I/O throughput and tail latency under both. IRQ time accounting
// (CONFIG_IRQ_TIME_ACCOUNTING) is an axis: off, the interrupt time is charged to
// the compute thread it lands on and CFS gives that thread less; on, it is not.

import { at } from '../../base/checked.ts';
import { openBlockIo } from '../../kv/block-io.ts';
import { bootKvMachine, openKvFile } from '../../kv/kv-db.ts';
import { DEFAULT_USER_COSTS } from '../../kv/modes.ts';
import { userLookup } from '../../kv/user-ops.ts';
import { openXrpOps, prepareXrp, type XrpOpsCounters } from '../../kv/xrp-ops.ts';
import { Histogram } from '../../sim/histogram.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { BenchError } from '../errors.ts';
import { kvImage } from '../kv-setup.ts';
import { concatCharts, lineChart } from '../plot.ts';
import { round2 } from '../round.ts';
import type { Experiment, Row } from '../types.ts';

/** Compute threads work in chunks of this much CPU; a chunk counts once it is done. */
const COMPUTE_CHUNK_NS = 20_000;
/** Time before measurement starts (threads spread over the cores, the storage function is loaded). */
const WARMUP_NS = 2_000_000;
const IO_MODES = ['read', 'xrp'] as const;

export const POLICIES = ['cfs', 'pinned'] as const;
const IRQ_ACCOUNTING = ['off', 'on'] as const;

export const schedulingExperiment: Experiment = {
  id: 'scheduling',
  number: 8,
  title: 'Scheduling: compute threads beside I/O threads, CFS vs core reservation',
  description:
    'I/O threads look up random keys in a depth-6 BPF-KV tree back to back (io = read: a pread() per block; io = xrp: one ' +
    'read_xrp() per lookup) while compute threads burn CPU in 20 µs chunks. ' +
    '"cfs": no affinity, the fair scheduler places everyone. "pinned": the compute threads get cores 0..k-1 to themselves ' +
    '(k = number of compute threads) and the I/O threads the rest. Left: the compute threads\' useful work as a share of ' +
    'all cores (solid) and the CPU charged to them, which includes interrupt handlers that ran in their slices (dashed). ' +
    'Right: I/O throughput in lookups per second. Reserving cores protects the compute threads from the interrupts (and, with ' +
    'XRP, from the storage functions run in them) at the price of the cores the I/O gives up. "irq acct": the kernel\'s ' +
    'CONFIG_IRQ_TIME_ACCOUNTING; off (the original\'s setting as the starvation it reports implies), interrupt time counts ' +
    'as the interrupted thread\'s runtime, so CFS also hands the compute threads less of the cores; on, it does not.',
  params: [
    { name: 'io', unit: '', description: 'how the I/O threads look keys up', kind: 'choice', choices: IO_MODES },
    { name: 'policy', unit: '', description: 'scheduling policy', kind: 'choice', choices: POLICIES },
    { name: 'irqAccounting', unit: '', description: 'CONFIG_IRQ_TIME_ACCOUNTING', kind: 'choice', choices: IRQ_ACCOUNTING },
    { name: 'computeThreads', unit: '', description: 'compute-heavy threads', kind: 'int', min: 1, max: 255 },
    { name: 'ioThreads', unit: '', description: 'threads doing lookups', kind: 'int', min: 1, max: 1024 },
    { name: 'durationMs', unit: 'ms', description: 'measured virtual time', kind: 'int', min: 1, max: 10_000 },
  ],
  axes: (c) => ({
    io: [...IO_MODES],
    policy: [...POLICIES],
    irqAccounting: [...IRQ_ACCOUNTING],
    computeThreads: c.full ? range(1, c.cores - 1) : [1, Math.floor(c.cores / 2), c.cores - 1].filter((v, i, a) => v >= 1 && a.indexOf(v) === i),
    ioThreads: c.full ? [c.cores, 2 * c.cores] : [2 * c.cores],
    durationMs: [c.full ? 100 : 20],
  }),
  cost: (p) => (Number(p['durationMs']) * Number(p['ioThreads'])) / 60,
  async run(point, ctx) {
    const io = String(point['io']);
    const policy = String(point['policy']);
    const computeThreads = Number(point['computeThreads']);
    const ioThreads = Number(point['ioThreads']);
    const durationNs = Number(point['durationMs']) * 1_000_000;
    if (policy === 'pinned' && computeThreads >= ctx.cores) {
      throw new BenchError(`scheduling: pinning reserves one core per compute thread, so computeThreads (${computeThreads}) must be below the core count (${ctx.cores})`);
    }
    const db = await kvImage(ctx.tmpDir, 6);
    const m = bootKvMachine(db, { cores: ctx.cores, profile: ctx.device, seed: ctx.pointSeed });
    // Before anything runs (the cores share this parameter object).
    m.sim.sched.irqTimeAccounting = point['irqAccounting'] === 'on' ? 1 : 0;
    try {
      const endNs = WARMUP_NS + durationNs;
      let stop = false;
      m.sim.at(endNs, { onEvent: () => { stop = true; } }, 0);
      const file = openKvFile(m);
      const keyCount = file.geometry.keyCount;
      const proc = m.kernel.createProcess('bench', (16 << 20) + ioThreads * (16 << 10));
      const hist = new Histogram();
      let lookups = 0;
      let computeNs = 0;
      let failure: string | null = null;
      const computeCores = range(0, computeThreads - 1);
      const ioCores = range(computeThreads, ctx.cores - 1);
      const ioAffinity = policy === 'pinned' ? { affinity: ioCores } : {};
      /** One lookup; false when the key was not found (a dense file has every key). */
      type Lookup = (t: SimThread, key: bigint) => Task<boolean>;
      function* reader(t: SimThread, lookup: Lookup): Task {
        while (!stop) {
          const key = BigInt(m.sim.rng.nextBelow(keyCount));
          const startNs = t.nowNs;
          if (!(yield* lookup(t, key))) {
            failure = `key ${key} not found`;
            return;
          }
          if (startNs >= WARMUP_NS && t.nowNs <= endNs) {
            lookups++;
            hist.record(t.nowNs - startNs);
          }
        }
      }
      if (io === 'xrp') {
        const counters: XrpOpsCounters = { calls: 0, fallbacks: 0, partial: 0, limitDetail: null };
        // Load kv_get once, then start the lookup threads (as the KV runs do).
        m.sim.spawn('xrp-setup', function* (t) {
          const prepared = yield* prepareXrp(t, proc, file, 'lookup');
          for (let i = 0; i < ioThreads; i++) {
            m.sim.spawn(`io-${i}`, function* (wt) {
              const ops = yield* openXrpOps(wt, proc, prepared, { cache: null, counters });
              yield* reader(wt, function* (lt, key) {
                const [answer] = yield* ops.lookup(lt, [key]);
                return answer?.found === true;
              });
            }, ioAffinity);
          }
        }, ioAffinity);
      } else {
        const ioCtx = { proc, fileName: file.name, extents: file.inode.extents.slice(), spdk: null };
        for (let i = 0; i < ioThreads; i++) {
          m.sim.spawn(`io-${i}`, function* (t) {
            const blockIo = yield* openBlockIo(t, 'read', ioCtx);
            yield* reader(t, function* (lt, key) {
              return (yield* userLookup(lt, blockIo, key, null, DEFAULT_USER_COSTS)).found;
            });
          }, ioAffinity);
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
      // Snapshot the CPU charged to compute threads at the end of the window.
      let chargedNs = 0;
      m.sim.at(endNs, { onEvent: () => {
        for (const t of computers) if (t.core.current === t) t.core.updateCurr();
        chargedNs = computers.reduce((s, t, i) => s + t.sumExecNs - at(computeStartExec, i, 'compute start'), 0);
      } }, 1);
      m.sim.run();
      if (failure !== null) throw new BenchError(`scheduling: ${failure}`);
      const capacityNs = durationNs * ctx.cores;
      const lat = hist.summary();
      const row: Row = {
        computeSharePct: round2((100 * computeNs) / capacityNs),
        computeChargedPct: round2((100 * chargedNs) / capacityNs),
        fairSharePct: round2((100 * Math.min(computeThreads, ctx.cores)) / ctx.cores),
        ioKlookupsPerSec: round2(lookups / (durationNs / 1e6)),
        ioMeanNs: Math.round(lat.meanNs),
        ioP99Ns: lat.p99Ns,
      };
      return [row];
    } finally {
      m.shutdown();
    }
  },
  columns: [
    { key: 'io', label: 'io', unit: '' },
    { key: 'policy', label: 'policy', unit: '' },
    { key: 'irqAccounting', label: 'irq acct', unit: '' },
    { key: 'computeThreads', label: 'compute thr', unit: '' },
    { key: 'ioThreads', label: 'I/O thr', unit: '' },
    { key: 'computeSharePct', label: 'compute useful', unit: '% CPU', digits: 1 },
    { key: 'computeChargedPct', label: 'compute charged', unit: '% CPU', digits: 1 },
    { key: 'ioKlookupsPerSec', label: 'I/O', unit: 'k lookups/s', digits: 1 },
    { key: 'ioMeanNs', label: 'I/O mean', unit: 'ns' },
    { key: 'ioP99Ns', label: 'I/O p99', unit: 'ns' },
  ],
  plot(rows) {
    const series = (r: Row): string => `${String(r['io'])}, ${String(r['policy'])}, irq acct ${String(r['irqAccounting'])}`;
    const order = IO_MODES.flatMap((io) => POLICIES.flatMap((p) => IRQ_ACCOUNTING.map((a) => `${io}, ${p}, irq acct ${a}`)));
    const shares: Row[] = [];
    for (const r of rows) {
      shares.push({ series: series(r), computeThreads: r['computeThreads'] as number, measure: 'useful work', pct: r['computeSharePct'] as number });
      shares.push({ series: series(r), computeThreads: r['computeThreads'] as number, measure: 'charged CPU', pct: r['computeChargedPct'] as number });
    }
    return concatCharts([
      lineChart({
        rows: shares,
        x: { field: 'computeThreads', title: 'compute threads (count)', integer: true },
        y: { field: 'pct', title: 'compute threads\' share of all cores (%)' },
        color: { field: 'series', title: 'io, policy, IRQ time accounting', sort: order },
        strokeDash: { field: 'measure', title: 'measure', sort: ['useful work', 'charged CPU'] },
        noPoints: true,
        width: 300,
      }),
      lineChart({
        rows: rows.map((r) => ({ ...r, series: series(r) })),
        x: { field: 'computeThreads', title: 'compute threads (count)', integer: true },
        y: { field: 'ioKlookupsPerSec', title: 'I/O throughput (k lookups/s)' },
        color: { field: 'series', title: 'io, policy, IRQ time accounting', sort: order },
        width: 300,
      }),
    ]);
  },
  headline(rows) {
    const out: string[] = [];
    const most = Math.max(...rows.map((r) => r['computeThreads'] as number));
    const ioMost = Math.max(...rows.map((r) => r['ioThreads'] as number));
    for (const io of IO_MODES) {
      const at = (p: string, a: string) => rows.find((r) => r['io'] === io && r['policy'] === p && r['irqAccounting'] === a && r['computeThreads'] === most && r['ioThreads'] === ioMost);
      const cfs = at('cfs', 'off');
      const cfsOn = at('cfs', 'on');
      const pin = at('pinned', 'off');
      if (cfs === undefined || pin === undefined) continue;
      out.push(
        `io ${io}, ${most} compute and ${ioMost} lookup threads: compute gets ${String(cfs['computeSharePct'])}% of the cores under CFS ` +
          `(${cfsOn === undefined ? '-' : String(cfsOn['computeSharePct'])}% with IRQ time accounting) vs ${String(pin['computeSharePct'])}% pinned; ` +
          `lookups ${String(cfs['ioKlookupsPerSec'])}k/s vs ${String(pin['ioKlookupsPerSec'])}k/s`,
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
