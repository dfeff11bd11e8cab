// The cost of one resubmitted XRP hop, measured: a chain of 512-byte blocks
// (each starts with the u64 file offset of the next, 0 ends) followed by
// bpf/examples/chain.bpf.c through read_xrp. The per-hop latency is the slope
// between a one-block call and a `hops`-block call; the storage function's
// share is the CPU the completion hook charged per read; the rest beside the
// device is the NVMe driver's completion and resubmission.

import { fileURLToPath } from 'node:url';
import { deviceProfile } from '../device/profiles.ts';
import { errnoName } from '../kernel/errno.ts';
import { O_DIRECT, O_RDONLY } from '../kernel/syscalls.ts';
import { loadXrpProgramFile, readXrp, XrpStatus, xrpStatusName } from '../kernel/xrp/index.ts';
import { at } from '../base/checked.ts';
import { Prng } from '../base/prng.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import { BenchError } from './errors.ts';
import { bootWithDataFile } from './machine-setup.ts';

const CHAIN_OBJ = fileURLToPath(new URL('../../bpf/examples/chain.bpf.o', import.meta.url));
const BLOCK_BYTES = 512;
const FILE_BLOCKS = 4096;

export interface XrpHopCost {
  /** Mean latency of a one-block read_xrp call and of a `hops`-block call. */
  singleNs: number;
  chainNs: number;
  hops: number;
  /** (chainNs - singleNs) / (hops - 1). */
  perHopNs: number;
  /** CPU the completion hook charged per read (storage function and resubmission bookkeeping). */
  hookPerReadNs: number;
  deviceNs: number;
}

export function measureXrpHop(o: { tmpDir: string; device: string; seed: number; hops: number; calls: number }): XrpHopCost {
  if (!Number.isInteger(o.hops) || o.hops < 2 || o.hops >= FILE_BLOCKS) throw new BenchError(`XRP hop: hops must be 2..${FILE_BLOCKS - 1}, got ${o.hops}`);
  const m = bootWithDataFile({ tmpDir: o.tmpDir, device: o.device, cores: 1, seed: o.seed, fileBytes: 1 << 20 });
  try {
    // A chain through `hops` distinct random blocks (block 0 is never in it: offset 0 ends a chain),
    // and one block that ends at once.
    const rng = new Prng(o.seed);
    const bytes = new Uint8Array(FILE_BLOCKS * BLOCK_BYTES);
    const view = new DataView(bytes.buffer);
    const blocks = Array.from({ length: FILE_BLOCKS - 2 }, (_, i) => i + 2);
    for (let i = blocks.length - 1; i > 0; i--) {
      const j = rng.nextBelow(i + 1);
      [blocks[i], blocks[j]] = [at(blocks, j, 'block'), at(blocks, i, 'block')];
    }
    const chain = blocks.slice(0, o.hops).map((b) => b * BLOCK_BYTES);
    chain.forEach((off, i) => view.setBigUint64(off, BigInt(chain[i + 1] ?? 0), true));
    const single = 1 * BLOCK_BYTES; // block 1 holds 0: a chain of one
    const inode = m.fs.create('chain');
    m.fs.write(inode, 0, bytes);
    const proc = m.kernel.createProcess('xrp-hop');
    let failure: string | null = null;
    let singleSumNs = 0;
    let chainSumNs = 0;
    let hookNs = 0;
    let reads = 0;
    function* body(t: SimThread): Task {
      const fd = yield* proc.open(t, 'chain', O_RDONLY | O_DIRECT);
      if (fd < 0) {
        failure = `open: ${errnoName(fd)}`;
        return;
      }
      const progFd = yield* loadXrpProgramFile(t, proc, CHAIN_OBJ, 'chain');
      const dataBuf = proc.alloc(4096);
      const scratchBuf = proc.alloc(4096);
      for (let c = 0; c < o.calls; c++) {
        for (const [start, expectHops] of [[single, 1], [at(chain, 0, 'chain start'), o.hops]] as const) {
          proc.bytes(scratchBuf, 16).fill(0);
          const t0 = t.nowNs;
          const r = yield* readXrp(t, proc, fd, dataBuf, BLOCK_BYTES, start, progFd, scratchBuf);
          if (typeof r === 'number' || r.status !== XrpStatus.DONE) {
            failure = `read_xrp from ${start}: ${typeof r === 'number' ? errnoName(r) : xrpStatusName(r.status)}`;
            return;
          }
          const hopsDone = Number(proc.mem.view.getBigUint64(scratchBuf, true));
          if (hopsDone !== expectHops || r.reads !== expectHops) {
            failure = `read_xrp from ${start}: ${hopsDone} hops and ${r.reads} reads, expected ${expectHops}`;
            return;
          }
          if (expectHops === 1) singleSumNs += t.nowNs - t0;
          else chainSumNs += t.nowNs - t0;
          hookNs += r.hookCpuNs;
          reads += r.reads;
        }
      }
    }
    m.sim.spawn('xrp-hop', body, { affinity: [0] });
    m.sim.run();
    if (failure !== null) throw new BenchError(`XRP hop measurement: ${failure}`);
    const singleNs = singleSumNs / o.calls;
    const chainNs = chainSumNs / o.calls;
    return {
      singleNs,
      chainNs,
      hops: o.hops,
      perHopNs: (chainNs - singleNs) / (o.hops - 1),
      hookPerReadNs: hookNs / reads,
      deviceNs: deviceProfile(o.device).readLatency512Ns,
    };
  } finally {
    m.shutdown();
  }
}
