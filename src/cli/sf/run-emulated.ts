// Any storage function over any file, on the emulated machine: the file is copied
// into a fresh xrpfs image, then the same walk runs twice from the same start and
// the same initial scratch: once as an application does it without XRP (pread()
// per block, the storage function run in user space: the user-space walk of
// src/kernel/xrp/fallback.ts, from the start), once with read_xrp (the storage
// function in the NVMe completion hook, resubmitting). Both report virtual-time
// latency and the blocks read (hops); the final scratch pages are compared.

import { closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoName } from '../../kernel/errno.ts';
import { Machine } from '../../kernel/machine.ts';
import { O_DIRECT, O_RDONLY } from '../../kernel/syscalls.ts';
import { loadXrpProgramFile, readXrp, XrpResult, XrpStatus, xrpFallback, xrpStatusName } from '../../kernel/xrp/index.ts';
import { XrpLookupBudget } from '../../xrp/budget.ts';
import { imageBytesFor } from '../../kv/kv-db.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { CommandError } from '../errors.ts';

export const SCRATCH_BYTES = 4096;
const CHUNK_BYTES = 8 << 20;

export interface SfRunOptions {
  objectPath: string;
  programName: string;
  dataPath: string;
  startOffsetBytes: number;
  /** bytes of the first read (512..4096) */
  sizeBytes: number;
  /** the initial scratch page (4096 bytes) */
  scratch: Uint8Array;
  device: string;
  seed: number;
  /** resubmissions allowed per read_xrp call (default XRP's) */
  resubmitLimit?: number;
}

export interface WalkOutcome {
  how: 'read()' | 'read_xrp';
  statusName: string;
  /** blocks read, the first included */
  reads: number;
  /** syscalls the application made */
  syscalls: number;
  latencyNs: number;
  stopOffset: number;
  detail: string;
  scratch: Uint8Array;
}

/** Copies the host file into a fresh image as 'data'; returns the booted machine. */
function bootWith(dataPath: string, imagePath: string, device: string, seed: number): Machine {
  const fd = openSync(dataPath, 'r');
  try {
    const sizeBytes = fstatSync(fd).size;
    if (sizeBytes === 0) throw new CommandError(`${dataPath} is empty`);
    const m = Machine.boot({ imagePath, mkfsBytes: imageBytesFor(sizeBytes), profile: device, cores: 2, seed, cacheBytes: 0 });
    try {
      const inode = m.fs.create('data');
      const buf = new Uint8Array(Math.min(CHUNK_BYTES, sizeBytes));
      for (let done = 0; done < sizeBytes; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, sizeBytes - done), done);
        if (n === 0) break;
        m.fs.write(inode, done, buf.subarray(0, n));
        done += n;
      }
      return m;
    } catch (error) {
      m.shutdown();
      throw error;
    }
  } finally {
    closeSync(fd);
  }
}

export function runOnEmulator(o: SfRunOptions): WalkOutcome[] {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-sf-'));
  try {
    const m = bootWith(o.dataPath, join(dir, 'sf.img'), o.device, o.seed);
    try {
      const proc = m.kernel.createProcess('sf-run');
      const outcomes: WalkOutcome[] = [];
      let failure: string | null = null;
      function* body(t: SimThread): Task {
        const fd = yield* proc.open(t, 'data', O_RDONLY | O_DIRECT);
        if (fd < 0) {
          failure = `open: ${errnoName(fd)}`;
          return;
        }
        const progFd = yield* loadXrpProgramFile(t, proc, o.objectPath, o.programName);
        const dataBuf = proc.alloc(4096);
        const scratchBuf = proc.alloc(SCRATCH_BYTES);
        const call = { fd, dataBuf, progFd, scratchBuf };

        // read(): the whole walk in user space, pread per block, from the start offset
        proc.bytes(scratchBuf, SCRATCH_BYTES).set(o.scratch);
        const fromStart = new XrpResult();
        fromStart.status = XrpStatus.LIMIT;
        fromStart.pending.push({ offsetBytes: o.startOffsetBytes, sizeBytes: o.sizeBytes });
        let t0 = t.nowNs;
        const walk = yield* xrpFallback(t, proc, call, fromStart, { budget: new XrpLookupBudget(1 << 20) });
        if (typeof walk === 'number') {
          failure = `read() walk: ${errnoName(walk)}`;
          return;
        }
        outcomes.push({
          how: 'read()', statusName: walk.statusName, reads: walk.reads, syscalls: walk.reads, latencyNs: t.nowNs - t0, stopOffset: walk.stopOffset,
          detail: walk.fault ?? (walk.progRet !== 0n ? `r0 = ${walk.progRet}` : ''), scratch: proc.bytes(scratchBuf, SCRATCH_BYTES).slice(),
        });

        // read_xrp: the storage function in the completion hook
        proc.bytes(scratchBuf, SCRATCH_BYTES).set(o.scratch);
        t0 = t.nowNs;
        const r = yield* readXrp(t, proc, fd, dataBuf, o.sizeBytes, o.startOffsetBytes, progFd, scratchBuf, o.resubmitLimit !== undefined ? { resubmitLimit: o.resubmitLimit } : {});
        if (typeof r === 'number') {
          failure = `read_xrp: ${errnoName(r)}`;
          return;
        }
        outcomes.push({
          how: 'read_xrp', statusName: xrpStatusName(r.status), reads: r.reads, syscalls: 1, latencyNs: t.nowNs - t0, stopOffset: r.stopOffset,
          detail: r.fault ?? (r.progRet !== 0n ? `r0 = ${r.progRet}` : r.status === XrpStatus.DONE ? '' : `${r.pending.length} read(s) pending for a user-space fallback`),
          scratch: proc.bytes(scratchBuf, SCRATCH_BYTES).slice(),
        });
      }
      m.sim.spawn('sf-run', body, { affinity: [0] });
      m.sim.run();
      if (failure !== null) throw new CommandError(`${o.programName} on ${o.dataPath}: ${failure}`);
      return outcomes;
    } finally {
      m.shutdown();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
