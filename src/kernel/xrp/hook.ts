// The XRP completion hook: what the original adds to nvme_handle_cqe, plus the
// statuses, limit, variable sizes and fan-out. It drives the step of the XRP
// contract (src/xrp/step.ts) from NVMe completions.
//
// One read_xrp call is an XrpRequest. It owns one or more NVMe commands
// (XrpCommand): the primary one, which reads into the user's data buffer, and
// in 'parallel' fan-out mode one more per extra next_addr slot, each with a
// kernel data page. On every completion of a command, in the interrupt handler
// of the core that owns its queue (charging that core, i.e. whatever thread
// it interrupted):
//   1. the mapping of the block just read is looked up again in the metadata
//      digest and its version compared with the one used to submit it (a
//      concurrent extent change ends the branch with MAPPING_CHANGED);
//   2. the contract's step (xrpStep): ctx.data / ctx.scratch are set,
//      size[1..15] cleared, the program runs; a non-zero return ends the
//      branch (PROG_ERROR), done != 0 ends it (DONE);
//   4. otherwise next_addr[0] is translated through the digest and the SAME
//      command (same tag, same page, same queue) is resubmitted with the new
//      LBA; extra slots (size[i] != 0) become new commands spread over the
//      device's queues ('parallel') or queued work for this command ('serial').
// A command whose branch ended takes the next queued read, if any, else it
// completes; the request completes when its last command does.

import type { Region } from '../../bpf/memory.ts';
import type { CpuContext, Task } from '../../sim/thread.ts';
import { XrpBudget } from '../../xrp/budget.ts';
import { XrpCycleCheck } from '../../xrp/cycle.ts';
import { isResumable, XrpStatus, type XrpRead, type XrpStatusCode } from '../../xrp/status.ts';
import { checkRead, checkReadDetail, clearCtx, READ_OK, xrpStep, XrpStepKind } from '../../xrp/step.ts';
import { EIO } from '../errno.ts';
import type { Kernel } from '../kernel.ts';
import { CQE_COMPLETE, CQE_RESUBMIT, LOGICAL_BLOCK_BYTES, NVME_OP_READ, NvmeRequest, type CqeHook } from '../nvme-driver.ts';
import type { Process } from '../syscalls.ts';
import { digestLookupNs, programNs, xrpConfig, xrpProcState, type XrpFanoutMode } from './config.ts';
import type { XrpProgram } from './program.ts';
import { XrpResult } from './result.ts';

/** One NVMe command of an XRP request and the read it is doing. */
export class XrpCommand extends NvmeRequest {
  offsetBytes = 0;
  sizeBytes = 0;
  /** Bytes of the read inside the file (the rest of the page is zeroed before the program runs). */
  validBytes = 0;
  /** Digest version and device address the read was submitted with. */
  version = 0;
  address = 0;
  /** The cycle rule for the branch this command carries (src/xrp/cycle.ts). */
  readonly cycle: XrpCycleCheck;

  constructor(
    readonly xrq: XrpRequest,
    readonly ctxRegion: Region,
    /** A kernel data page, or null for the user's data buffer. */
    readonly page: Region | null,
    readonly pageAddr: number,
    mem: Uint8Array,
  ) {
    super(NVME_OP_READ, 0, 1, mem, pageAddr);
    this.cycle = new XrpCycleCheck(xrq.p.program.stateless);
  }
}

function onCommandComplete(ctx: CpuContext, req: NvmeRequest): void {
  const cmd = req as XrpCommand;
  cmd.xrq.commandDone(ctx, cmd);
}

export interface XrpRequestParams {
  kernel: Kernel;
  proc: Process;
  program: XrpProgram;
  ino: number;
  dataAddr: number;
  scratchAddr: number;
  count: number;
  resubmitLimit: number;
  fanout: XrpFanoutMode;
  startNs: number;
}

export class XrpRequest implements CqeHook {
  readonly result = new XrpResult();
  finished = false;
  /** Called once in the completion interrupt (or at submission) when the request has ended. */
  onFinish: ((ctx: CpuContext) => void) | null = null;
  private readonly work: XrpRead[] = [];
  private workHead = 0;
  private active = 0;
  private spread = 0;
  private lastDoneOffset = -1;
  /** Every read the hook submits passes here first (src/xrp/budget.ts). */
  private readonly budget: XrpBudget;

  constructor(readonly p: XrpRequestParams) {
    this.result.res = p.count;
    this.budget = new XrpBudget(p.resubmitLimit);
  }

  /**
   * The primary command, prepared for the first read (`count` bytes at `pos`),
   * or null when that read cannot be issued (the result says why; the request
   * is then finished without I/O).
   */
  firstCommand(pos: number): XrpCommand | null {
    const cmd = this.newCommand(null);
    cmd.cycle.start();
    if (!this.prepare(cmd, { offsetBytes: pos, sizeBytes: this.p.count }, false)) {
      this.release(cmd);
      this.finished = true;
      this.result.res = 0; // nothing was read
      return null;
    }
    this.active = 1;
    this.result.commands = 1;
    return cmd;
  }

  private newCommand(page: Region | null): XrpCommand {
    const st = xrpProcState(this.p.proc);
    const ctxRegion = st.takeCtx();
    clearCtx(this.p.proc.mem, ctxRegion.base);
    const addr = page === null ? this.p.dataAddr : page.base;
    const cmd = new XrpCommand(this, ctxRegion, page, addr, this.p.proc.mem.u8);
    cmd.hook = this;
    cmd.onComplete = onCommandComplete;
    return cmd;
  }

  private release(cmd: XrpCommand): void {
    const st = xrpProcState(this.p.proc);
    st.giveCtx(cmd.ctxRegion);
    if (cmd.page !== null) st.givePage(cmd.page);
  }

  /** A branch ended abnormally on `read`. */
  private endBranch(status: XrpStatusCode, read: XrpRead, detail: string, progRet = 0n): void {
    this.result.end({ status, offsetBytes: read.offsetBytes, sizeBytes: read.sizeBytes, progRet, detail }, isResumable(status));
  }

  /**
   * Checks `read` and translates it through the metadata digest into `cmd`
   * (LBA, block count, version). `counts`: a read submitted by the hook, which
   * counts against the resubmission limit. Returns false (and records the
   * branch's end) when the read cannot be issued.
   */
  private prepare(cmd: XrpCommand, read: XrpRead, counts: boolean): boolean {
    const off = read.offsetBytes;
    const budget = counts ? this.budget : null;
    const map = this.p.kernel.fs.digest.current(this.p.ino);
    const fileBytes = map?.sizeBytes ?? 0;
    const refused = checkRead(budget, off, fileBytes);
    if (refused !== READ_OK || map === null) {
      const status = refused === READ_OK ? XrpStatus.OUT_OF_FILE : refused;
      this.endBranch(status, read, checkReadDetail(status, budget, off, fileBytes));
      return false;
    }
    const needed = Math.min(read.sizeBytes, map.sizeBytes - off);
    const m = map.lookup(off, needed);
    if (!m.exist) {
      this.endBranch(XrpStatus.HOLE, read, `offset ${off} is in a hole or an unwritten extent`);
      return false;
    }
    if (m.len < needed) {
      this.endBranch(XrpStatus.SHORT_EXTENT, read, `a ${read.sizeBytes}-byte read at ${off} crosses into another extent`);
      return false;
    }
    const ioBytes = Math.ceil(needed / LOGICAL_BLOCK_BYTES) * LOGICAL_BLOCK_BYTES;
    cmd.slba = m.address / LOGICAL_BLOCK_BYTES;
    cmd.blockCount = ioBytes / LOGICAL_BLOCK_BYTES;
    cmd.bufOffset = cmd.pageAddr;
    cmd.offsetBytes = off;
    cmd.sizeBytes = read.sizeBytes;
    cmd.validBytes = needed;
    cmd.version = m.version;
    cmd.address = m.address;
    if (counts) {
      this.budget.take(off);
      this.result.resubmissions = this.budget.used;
    }
    return true;
  }

  /** True when the block `cmd` just read is still where it was when submitted (same extent version, address, size). */
  private stillMapped(cmd: XrpCommand): boolean {
    const map = this.p.kernel.fs.digest.current(this.p.ino);
    if (map === null || cmd.offsetBytes >= map.sizeBytes) return false;
    const needed = Math.min(cmd.sizeBytes, map.sizeBytes - cmd.offsetBytes);
    if (needed !== cmd.validBytes) return false;
    const m = map.lookup(cmd.offsetBytes, needed);
    return m.exist && m.len >= needed && m.version === cmd.version && m.address === cmd.address;
  }

  /** The CqeHook: runs in the interrupt handler for every completion of one of this request's commands. */
  *onCqe(ctx: CpuContext, req: NvmeRequest): Task<number> {
    const cmd = req as XrpCommand;
    const r = this.result;
    const cfg = xrpConfig(this.p.kernel);
    const submitNs = this.p.kernel.driver.costs.submitNs;
    const here: XrpRead = { offsetBytes: cmd.offsetBytes, sizeBytes: cmd.sizeBytes };
    r.reads++;
    // Dispatch and the digest lookup that re-checks the block just read; each read asked for adds its translation.
    const lookupNs = digestLookupNs(cfg.costs, this.p.kernel.fs.digest.current(this.p.ino)?.extents.length ?? 0);
    let cost = cfg.costs.dispatchNs + lookupNs;
    let next: XrpRead | null = null;
    const children: XrpRead[] = [];
    if (cmd.status !== 0) {
      r.res = -EIO;
      this.endBranch(XrpStatus.IO_ERROR, here, `NVMe status 0x${cmd.status.toString(16)}`);
    } else if (!this.stillMapped(cmd)) {
      this.endBranch(XrpStatus.MAPPING_CHANGED, here, `the mapping of offset ${cmd.offsetBytes} changed while the read was in flight`);
    } else {
      // The step's outcome is shared by the process's requests: everything is copied out before the next yield.
      const step = xrpProcState(this.p.proc).step;
      xrpStep(this.p.proc.mem, cmd.ctxRegion.base, cmd.pageAddr, cmd.validBytes, this.p.scratchAddr, this.p.program, step);
      r.runs++;
      r.insnsExecuted += step.insnsExecuted;
      cost += programNs(cfg.costs, step.insnsExecuted);
      switch (step.kind) {
        case XrpStepKind.FAULT:
          this.endBranch(XrpStatus.FAULT, here, step.fault);
          break;
        case XrpStepKind.PROG_ERROR:
          this.endBranch(XrpStatus.PROG_ERROR, here, `the program returned ${step.r0}`, step.r0);
          break;
        case XrpStepKind.DONE:
          this.lastDoneOffset = cmd.offsetBytes;
          break;
        case XrpStepKind.NEXT:
          for (let k = 0; k < step.invalidSlots.length; k++) {
            this.endBranch(XrpStatus.INVALID_SIZE, { offsetBytes: step.invalidOffsets[k] ?? 0, sizeBytes: 0 }, step.invalidDetail(k));
          }
          if (step.nextSizeBytes > 0) {
            if (cmd.cycle.repeats(this.p.proc.mem, cmd.ctxRegion.base, this.p.scratchAddr, step.nextOffsetBytes, step.nextSizeBytes)) {
              this.endBranch(XrpStatus.CYCLE, { offsetBytes: step.nextOffsetBytes, sizeBytes: step.nextSizeBytes }, XrpCycleCheck.detail(step.nextOffsetBytes));
            } else next = { offsetBytes: step.nextOffsetBytes, sizeBytes: step.nextSizeBytes };
          }
          cost += lookupNs * ((next !== null ? 1 : 0) + step.childCount);
          for (let k = 0; k < step.childCount; k++) children.push({ offsetBytes: step.childOffsets[k] ?? 0, sizeBytes: step.childSizes[k] ?? 0 });
          break;
      }
    }
    // The hook's work happens before anything it submits.
    yield ctx.cpu(cost);
    r.hookCpuNs += cost;
    for (const child of children) {
      if (this.p.fanout === 'serial') this.work.push(child);
      else yield* this.startChild(ctx, cmd, child);
    }
    if (next !== null && this.prepare(cmd, next, true)) {
      yield ctx.cpu(submitNs);
      r.hookCpuNs += submitNs;
      return CQE_RESUBMIT;
    }
    // This command's branch is over: it takes queued reads (serial fan-out, or children that found no free tag).
    while (this.workHead < this.work.length) {
      const w = this.work[this.workHead++];
      if (w === undefined) break;
      if (this.workHead === this.work.length) {
        this.work.length = 0;
        this.workHead = 0;
      }
      clearCtx(this.p.proc.mem, cmd.ctxRegion.base); // a new branch: fresh ctx
      cmd.cycle.start();
      if (this.prepare(cmd, w, true)) {
        yield ctx.cpu(submitNs);
        r.hookCpuNs += submitNs;
        return CQE_RESUBMIT;
      }
    }
    return CQE_COMPLETE;
  }

  /** Parallel fan-out: a new command for `read` on the next queue (round robin from the parent's) with a free tag. */
  private *startChild(ctx: CpuContext, parent: XrpCommand, read: XrpRead): Task {
    const driver = this.p.kernel.driver;
    const st = xrpProcState(this.p.proc);
    const cmd = this.newCommand(st.takePage());
    cmd.cycle.start();
    if (!this.prepare(cmd, read, true)) {
      this.release(cmd);
      return;
    }
    const submitNs = driver.costs.submitNs;
    yield ctx.cpu(submitNs);
    this.result.hookCpuNs += submitNs;
    const n = driver.queueCount;
    const first = parent.coreId + 1 + this.spread++;
    for (let k = 0; k < n; k++) {
      if (driver.tryPlaceOn(ctx, (first + k) % n, cmd)) {
        this.active++;
        this.result.commands = Math.max(this.result.commands, this.active);
        return;
      }
    }
    // Every queue is full: an interrupt handler cannot wait, so a command of this request will do it later.
    this.budget.giveBack();
    this.result.resubmissions = this.budget.used;
    this.release(cmd);
    this.work.push(read);
  }

  /** A command completed (driver's completion, interrupt context). */
  commandDone(ctx: CpuContext, cmd: XrpCommand): void {
    this.release(cmd);
    if (--this.active === 0) this.finish(ctx);
  }

  private finish(ctx: CpuContext): void {
    this.finished = true;
    const r = this.result;
    if (r.status === XrpStatus.DONE) r.stopOffset = this.lastDoneOffset;
    r.latencyNs = ctx.nowNs - this.p.startNs;
    if (this.onFinish !== null) this.onFinish(ctx);
  }
}
