// Experiment 1 (with the breakdown: the paper's motivation): from which layer should a dependent read be resubmitted? The
// XRP paper motivates its driver hook by resubmitting from each layer of the
// read path. A chain of `hops` dependent 512-byte reads (each block's content
// chooses the next block) is read:
//   read     - from user space, one pread() per hop (the baseline)
//   syscall  - the first hop is a pread(); later hops are reissued inside the
//              kernel by the woken thread: read syscall + file system + bio +
//              driver, no user crossing
//   fs       - later hops are reissued from the file system's completion
//              (interrupt context): file system + bio + driver, no wake-up
//   block    - from the block layer's completion: bio + driver
//   driver   - from the NVMe driver's completion (XRP's place): driver only
// Every variant charges the same per-layer costs as the read path (Table 1,
// src/kernel/costs.ts) at the place the layer runs, and goes through the same
// emulated driver, device, interrupt delivery and scheduler: the saving of each
// layer over read() comes out of which costs a hop skips and whether the thread
// must wake up for it.

import { LOGICAL_BLOCK_BYTES, NVME_OP_READ } from '../../device/command.ts';
import { findExtent } from '../../kernel/fs/extent-map.ts';
import { FS_BLOCK_BYTES } from '../../kernel/fs/layout.ts';
import { CQE_COMPLETE, CQE_RESUBMIT, NvmeRequest } from '../../kernel/nvme-driver.ts';
import type { CqeHook } from '../../kernel/nvme-driver.ts';
import { Histogram } from '../../sim/histogram.ts';
import type { CpuContext, SimThread, Task } from '../../sim/thread.ts';
import { BenchError } from '../errors.ts';
import { lineChart } from '../plot.ts';
import { round1 } from '../round.ts';
import { bootWithDataFile } from '../machine-setup.ts';
import type { Experiment, Row } from '../types.ts';

const LAYERS = ['read', 'syscall', 'fs', 'block', 'driver'] as const;
type Layer = (typeof LAYERS)[number];
const FILE_BYTES = 4 << 20;

/** The next block of a chain: a function of the bytes just read (each word of the data file holds its own offset). */
function nextBlock(block: Uint8Array, blocks: number): number {
  const word = new DataView(block.buffer, block.byteOffset, 4).getUint32(0, true);
  return (Math.imul(word ^ 0x9e3779b9, 0x85ebca6b) >>> 0) % blocks;
}

export const layersExperiment: Experiment = {
  id: 'layers',
  number: 1.1,
  title: 'Resubmission from each layer of the read path',
  description:
    'A chain of dependent 512-byte reads (each block\'s bytes choose the next) read by one thread: read() per hop from user space, ' +
    'or the later hops resubmitted from inside the kernel at the syscall layer (the woken thread reissues: read syscall, ext4, ' +
    'bio, driver), from the file system\'s completion, from the block layer\'s completion, or from the NVMe driver\'s completion ' +
    '(XRP\'s hook). Each variant charges Table 1\'s per-layer costs where that layer runs and goes through the same emulated ' +
    'driver, device, interrupt and scheduler. Plot: the saving of each layer over read() (mean latency of the chain) against ' +
    'the chain length. The deeper the resubmission, the more of each hop it skips; resubmitting below the syscall layer also ' +
    'skips the wake-up of the sleeping thread on every hop.',
  params: [
    { name: 'layer', unit: '', description: 'where later hops are resubmitted', kind: 'choice', choices: LAYERS },
    { name: 'hops', unit: 'reads', description: 'dependent reads per chain', kind: 'int', min: 1, max: 1000 },
    { name: 'chains', unit: '', description: 'chains measured', kind: 'int', min: 1, max: 1_000_000 },
  ],
  axes: (c) => ({ layer: [...LAYERS], hops: c.full ? [1, 2, 4, 8, 16, 32, 64] : [1, 2, 4, 8, 16], chains: [c.full ? 2_000 : 200] }),
  cost: (p) => (Number(p['hops']) * Number(p['chains'])) / 7000,
  run(point, ctx) {
    const layer = String(point['layer']) as Layer;
    const hops = Number(point['hops']);
    const chains = Number(point['chains']);
    const m = bootWithDataFile({ tmpDir: ctx.tmpDir, device: ctx.device, cores: ctx.cores, seed: ctx.pointSeed, fileBytes: FILE_BYTES });
    try {
      const inode = m.fs.get('data');
      const extents = inode.extents.slice();
      const blocks = FILE_BYTES / LOGICAL_BLOCK_BYTES;
      const lbaOf = (block: number): number => {
        const off = block * LOGICAL_BLOCK_BYTES;
        const lblk = Math.floor(off / FS_BLOCK_BYTES);
        const e = extents[findExtent(extents, lblk)];
        if (e === undefined) throw new BenchError(`layers: block ${block} of the data file is not mapped`);
        return ((e.pblk + lblk - e.lblk) * FS_BLOCK_BYTES + (off % FS_BLOCK_BYTES)) / LOGICAL_BLOCK_BYTES;
      };
      const k = m.kernel.costs;
      const submitNs = m.driver.costs.submitNs;
      // What one resubmission charges in the completion interrupt, per layer.
      const irqResubmitNs: Record<Layer, number> = { read: 0, syscall: 0, fs: k.fsNs + k.bioNs + submitNs, block: k.bioNs + submitNs, driver: submitNs };
      const buf = new Uint8Array(LOGICAL_BLOCK_BYTES);
      const hist = new Histogram();
      let hopsDone = 0;
      let left = 0;
      const hook: CqeHook = {
        *onCqe(c: CpuContext, req: NvmeRequest): Task<number> {
          hopsDone++;
          if (req.status !== 0 || --left === 0) return CQE_COMPLETE;
          yield c.cpu(irqResubmitNs[layer]);
          req.slba = lbaOf(nextBlock(buf, blocks));
          return CQE_RESUBMIT;
        },
      };
      let failure: string | null = null;
      m.sim.spawn('chain', function* (t: SimThread): Task {
        for (let c = 0; c < chains; c++) {
          let block = m.sim.rng.nextBelow(blocks);
          const startNs = t.nowNs;
          hopsDone = 0;
          for (let h = 0; h < hops; h = hopsDone) {
            // The hop issued from this thread: from user space (read, and the first hop of every
            // variant), or reissued in the kernel by the woken thread (syscall layer).
            const inKernel = layer === 'syscall' && h > 0;
            yield t.cpu((inKernel ? 0 : k.syscallEntryNs) + k.readSyscallNs + k.fsNs + k.bioNs);
            const req = new NvmeRequest(NVME_OP_READ, lbaOf(block), 1, buf);
            const hooked = layer !== 'read' && layer !== 'syscall';
            if (hooked) {
              req.hook = hook;
              left = hops;
            } else {
              hopsDone++;
            }
            const status = yield* m.driver.submitAndWait(t, req);
            if (status !== 0) {
              failure = `NVMe status 0x${status.toString(16)}`;
              return;
            }
            block = nextBlock(buf, blocks);
            if (layer === 'read' || hopsDone === hops) yield t.cpu(k.syscallExitNs);
          }
          hist.record(t.nowNs - startNs);
        }
      }, { affinity: [0] });
      m.sim.run();
      if (failure !== null) throw new BenchError(`layers: ${failure}`);
      const s = hist.summary();
      return [{ meanNs: Math.round(s.meanNs), p99Ns: s.p99Ns, p999Ns: s.p999Ns, perHopNs: round1(s.meanNs / hops) }];
    } finally {
      m.shutdown();
    }
  },
  columns: [
    { key: 'layer', label: 'resubmitted from', unit: '' },
    { key: 'hops', label: 'hops', unit: 'reads' },
    { key: 'meanNs', label: 'mean', unit: 'ns' },
    { key: 'p99Ns', label: 'p99', unit: 'ns' },
    { key: 'perHopNs', label: 'per hop', unit: 'ns', digits: 1 },
  ],
  plot(rows) {
    const data: Row[] = [];
    for (const r of rows) {
      const read = rows.find((x) => x['layer'] === 'read' && x['hops'] === r['hops']);
      if (read === undefined || r['layer'] === 'read') continue;
      data.push({ layer: r['layer'] as string, hops: r['hops'] as number, savingPct: round1((100 * ((read['meanNs'] as number) - (r['meanNs'] as number))) / (read['meanNs'] as number)) });
    }
    return lineChart({
      rows: data,
      x: { field: 'hops', title: 'dependent reads per chain (count)', integer: true },
      y: { field: 'savingPct', title: 'saving over read() (% of its mean latency)' },
      color: { field: 'layer', title: 'resubmitted from', sort: ['syscall', 'fs', 'block', 'driver'] },
      width: 420,
    });
  },
  headline(rows) {
    const longest = Math.max(...rows.map((r) => r['hops'] as number));
    const read = rows.find((r) => r['layer'] === 'read' && r['hops'] === longest);
    if (read === undefined) return [];
    const parts = LAYERS.filter((l) => l !== 'read').map((l) => {
      const r = rows.find((x) => x['layer'] === l && x['hops'] === longest);
      return r === undefined ? null : `${l} ${((100 * ((read['meanNs'] as number) - (r['meanNs'] as number))) / (read['meanNs'] as number)).toFixed(1)}%`;
    }).filter((x): x is string => x !== null);
    return [`${longest}-hop chains: saving over read() when resubmitting from ${parts.join(', ')}`];
  },
};
