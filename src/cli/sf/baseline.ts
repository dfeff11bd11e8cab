// The walk an application makes without XRP, on the emulated machine: pread()
// per block with the storage function run in user space (the user-space walk of
// src/kernel/xrp/fallback.ts, from the start), by a process of its own on the
// machine of an EmulatedXrpEngine, from the same start and initial scratch as
// the read_xrp calls. Its virtual-time latency and blocks read (hops) are what
// read_xrp is compared with.

import { errnoName } from '../../kernel/errno.ts';
import type { Machine } from '../../kernel/machine.ts';
import { O_DIRECT, O_RDONLY } from '../../kernel/syscalls.ts';
import { EMULATED_ENGINE_FILE } from '../../kernel/xrp/engine.ts';
import { loadXrpProgramFile, XrpResult, XrpStatus, xrpFallback } from '../../kernel/xrp/index.ts';
import { XrpLookupBudget } from '../../xrp/budget.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { CommandError } from '../errors.ts';
import type { SfJob } from './run.ts';

/** A walk's end, as `xrp sf run` shows it. */
export interface WalkOutcome {
  how: 'read()';
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

/** The job of the read() walk: the storage function's job; no resubmission limit applies to it. */
export type BaselineJob = Omit<SfJob, 'resubmitLimit'>;

/** The most blocks the walk reads before it stops with LIMIT. */
const WALK_READS_MAX = 1 << 20;

/** Runs the read() walk of `job` on `machine` (the file is the engine's copy) until the simulation drains. */
export function readWalk(machine: Machine, job: BaselineJob): WalkOutcome {
  const proc = machine.kernel.createProcess('sf-read');
  let outcome: WalkOutcome | string = 'the walk did not finish';
  function* body(t: SimThread): Task {
    const fd = yield* proc.open(t, EMULATED_ENGINE_FILE, O_RDONLY | O_DIRECT);
    if (fd < 0) {
      outcome = `open: ${errnoName(fd)}`;
      return;
    }
    const progFd = yield* loadXrpProgramFile(t, proc, job.objectPath, job.programName);
    const dataBuf = proc.alloc(4096);
    const scratchBuf = proc.alloc(job.scratch.length);
    proc.bytes(scratchBuf, job.scratch.length).set(job.scratch);
    const fromStart = new XrpResult();
    fromStart.status = XrpStatus.LIMIT;
    fromStart.pending.push({ offsetBytes: job.startOffsetBytes, sizeBytes: job.sizeBytes });
    const t0 = t.nowNs;
    const walk = yield* xrpFallback(t, proc, { fd, dataBuf, progFd, scratchBuf }, fromStart, { budget: new XrpLookupBudget(WALK_READS_MAX) });
    if (typeof walk === 'number') {
      outcome = `read() walk: ${errnoName(walk)}`;
      return;
    }
    outcome = {
      how: 'read()', statusName: walk.statusName, reads: walk.reads, syscalls: walk.reads, latencyNs: t.nowNs - t0, stopOffset: walk.stopOffset,
      detail: walk.fault ?? (walk.progRet !== 0n ? `r0 = ${walk.progRet}` : ''), scratch: proc.bytes(scratchBuf, job.scratch.length).slice(),
    };
  }
  machine.sim.spawn('sf-read', body, { affinity: [0] });
  machine.sim.run();
  const done: WalkOutcome | string = outcome;
  if (typeof done === 'string') throw new CommandError(`${job.programName} on ${job.dataPath}: ${done}`);
  return done;
}
