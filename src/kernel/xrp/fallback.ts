// The user-space fallback (the slow path of the original's design, which it
// left to each application): from the XrpResult of a read_xrp that did not
// finish in the kernel, continue the walk with pread() and the same program
// run in user space, so that the caller always gets the answer a user-space
// walk would give.
//
// The pending reads are done one at a time, exactly like the kernel's 'serial'
// fan-out: each pending read starts a branch with a fresh ctx; next_addr[0]
// continues the branch at once (same ctx); extra slots (size[i] != 0) are
// queued as new branches. The program sees the same thing as in the hook: the
// block at offset 0 of the data page, the rest of the page zero, and the same
// scratch page. A hole or a read across extents, which one NVMe command
// cannot do, are no problem for pread (a hole reads as zeros). Every read is
// checked first by the contract's checkRead (src/xrp/step.ts), as the hook
// and the native engine check theirs: inside the file (OUT_OF_FILE), a
// multiple of the logical block (MISALIGNED), and a valid size (INVALID_SIZE),
// so a walk the hook refuses is not answered here either.
//
// A terminal status of the kernel (PROG_ERROR, FAULT, INVALID_SIZE,
// OUT_OF_FILE, MISALIGNED, IO_ERROR, CYCLE) is the answer: nothing is redone.
// The program runs through the contract's step, as in the hook; a terminal
// end met here stops the walk at once. Its reads are charged to the request's
// XrpLookupBudget (src/xrp/budget.ts), the one every engine's client charges
// its calls to: when it is spent the walk stops with LIMIT.

import type { Region } from '../../bpf/memory.ts';
import { EBADF, EFAULT, EINVAL, type SysResult } from '../errno.ts';
import { LOGICAL_BLOCK_BYTES } from '../nvme-driver.ts';
import type { Process } from '../syscalls.ts';
import type { SimThread, Task } from '../../sim/thread.ts';
import { XrpLookupBudget } from '../../xrp/budget.ts';
import { XrpCycleCheck } from '../../xrp/cycle.ts';
import { CTX_BYTES, XRP_PAGE_BYTES } from '../../xrp/layout.ts';
import { isValidReadSize, XRP_RESUBMIT_LIMIT_DEFAULT } from '../../xrp/limits.ts';
import { isResumable, XrpStatus, xrpStatusName, type XrpEnd, type XrpRead, type XrpStatusCode } from '../../xrp/status.ts';
import { checkRead, checkReadDetail, clearCtx, READ_OK, xrpStep, XrpStepKind, XrpStepOutcome } from '../../xrp/step.ts';
import { programNs, xrpConfig, xrpProcState } from './config.ts';
import { programOf } from './program.ts';
import { readXrp, type XrpCallOptions } from './read-xrp.ts';
import type { XrpResult } from './result.ts';

/** The arguments of the read_xrp call being continued. */
export interface XrpCall {
  fd: number;
  dataBuf: number;
  progFd: number;
  scratchBuf: number;
}

export interface XrpFallbackOptions {
  /**
   * The request's budget across its calls (src/xrp/budget.ts): every pread of
   * the fallback is charged to it, and the walk stops with LIMIT when it is
   * spent. Default: a budget of its own of 4096 reads.
   */
  budget?: XrpLookupBudget;
}

export interface XrpFallbackResult {
  /** DONE, or the terminal status that ended the walk (the kernel's, or one met in user space; LIMIT when the budget ran out). */
  status: XrpStatusCode;
  statusName: string;
  /** preads made and program runs in user space. */
  reads: number;
  runs: number;
  insnsExecuted: number;
  progRet: bigint;
  fault: string | null;
  /** Offset of the last block the program ran on (DONE), or where the walk stopped. */
  stopOffset: number;
  /** Why the walk stopped ('' when DONE; the fault message for FAULT). */
  detail: string;
}

function pagesOf(proc: Process): { bounce: Region; ctx: Region } {
  const st = xrpProcState(proc);
  let p = st.fallbackPages;
  if (p === null) {
    // One aligned bounce buffer covers any read of up to 4096 bytes at any offset.
    p = { bounce: proc.mem.map('xrp-fallback-bounce', 2 * XRP_PAGE_BYTES), ctx: proc.mem.map('xrp-fallback-ctx', CTX_BYTES, { alignBytes: 8 }) };
    st.fallbackPages = p;
  }
  return p;
}

/**
 * Finishes the walk of `result` in user space. Returns -EBADF/-EINVAL for a
 * bad program fd, -EINVAL/-EFAULT for pages that read_xrp would refuse, else
 * the final status. The scratch page holds the final state.
 */
export function* xrpFallback(t: SimThread, proc: Process, call: XrpCall, result: XrpResult, options: XrpFallbackOptions = {}): Task<XrpFallbackResult | SysResult> {
  const program = programOf(proc, call.progFd);
  if (typeof program === 'number') return program;
  if (call.dataBuf % XRP_PAGE_BYTES !== 0 || call.scratchBuf % XRP_PAGE_BYTES !== 0) return -EINVAL;
  if (!proc.validBuffer(call.dataBuf, XRP_PAGE_BYTES, true) || !proc.validBuffer(call.scratchBuf, XRP_PAGE_BYTES, true)) return -EFAULT;
  const budget = options.budget ?? new XrpLookupBudget(XRP_RESUBMIT_LIMIT_DEFAULT);
  const out: XrpFallbackResult = {
    status: XrpStatus.DONE, statusName: 'DONE', reads: 0, runs: 0, insnsExecuted: 0, progRet: 0n, fault: null, stopOffset: result.stopOffset, detail: '',
  };
  const stop = (status: XrpStatusCode, offset: number, detail: string): XrpFallbackResult => {
    out.status = status;
    out.statusName = xrpStatusName(status);
    out.stopOffset = offset;
    out.detail = detail;
    return out;
  };
  const terminal = result.ends.find((e: XrpEnd) => !isResumable(e.status));
  if (terminal !== undefined) {
    out.progRet = terminal.status === XrpStatus.PROG_ERROR ? terminal.progRet : 0n;
    out.fault = terminal.status === XrpStatus.FAULT ? terminal.detail : null;
    return stop(terminal.status, terminal.offsetBytes, terminal.detail);
  }
  const file = proc.file(call.fd);
  if (file === null) return -EBADF;
  const costs = xrpConfig(proc.kernel).costs;
  const { bounce, ctx } = pagesOf(proc);
  // the fallback yields between steps: its outcome is its own, not the process's
  const step = new XrpStepOutcome();
  const mem = proc.mem;
  const c = ctx.base;
  const queue: XrpRead[] = [...result.pending];
  const cycle = new XrpCycleCheck(program.stateless);
  for (let head = 0; head < queue.length; head++) {
    let read: XrpRead | undefined = queue[head];
    clearCtx(mem, c); // a new branch
    cycle.start();
    while (read !== undefined) {
      const off = read.offsetBytes;
      // the contract's checks, as the hook makes them (the file's size now: it may have changed since)
      const fileBytes = file.inode?.sizeBytes ?? 0;
      const refused = checkRead(null, off, fileBytes);
      if (refused !== READ_OK) return stop(refused, off, checkReadDetail(refused, null, off, fileBytes));
      if (!isValidReadSize(read.sizeBytes)) return stop(XrpStatus.INVALID_SIZE, off, `a pending read of ${read.sizeBytes} bytes at ${off}: not a valid read size`);
      if (!budget.takeRead()) return stop(XrpStatus.LIMIT, off, budget.limitDetail());
      // pread through an aligned bounce buffer (the file is O_DIRECT; the read's end is rounded up to the block).
      const a = Math.floor(off / LOGICAL_BLOCK_BYTES) * LOGICAL_BLOCK_BYTES;
      const end = Math.ceil((off + read.sizeBytes) / LOGICAL_BLOCK_BYTES) * LOGICAL_BLOCK_BYTES;
      const n = yield* proc.pread(t, call.fd, bounce.base, end - a, a);
      out.reads++;
      if (n < 0) return stop(XrpStatus.IO_ERROR, off, `pread at ${a} failed (errno ${-n})`);
      const valid = Math.max(0, Math.min(read.sizeBytes, n - (off - a)));
      if (valid === 0) return stop(XrpStatus.OUT_OF_FILE, off, `offset ${off} is past the end of the file`);
      mem.u8.copyWithin(call.dataBuf, bounce.base + (off - a), bounce.base + (off - a) + valid);
      xrpStep(mem, c, call.dataBuf, valid, call.scratchBuf, program, step);
      if (step.kind === XrpStepKind.FAULT) {
        out.fault = step.fault;
        return stop(XrpStatus.FAULT, off, step.fault);
      }
      out.runs++;
      out.insnsExecuted += step.insnsExecuted;
      yield t.cpu(programNs(costs, step.insnsExecuted));
      if (step.kind === XrpStepKind.PROG_ERROR) {
        out.progRet = step.r0;
        return stop(XrpStatus.PROG_ERROR, off, `the program returned ${step.r0}`);
      }
      if (step.kind === XrpStepKind.DONE) {
        out.stopOffset = off;
        read = undefined;
        continue;
      }
      // INVALID_SIZE at the slot's next_addr, as the hook reports it.
      const badOffset = step.invalidOffsets[0];
      if (badOffset !== undefined) return stop(XrpStatus.INVALID_SIZE, badOffset, step.invalidDetail(0));
      read = step.nextSizeBytes > 0 ? { offsetBytes: step.nextOffsetBytes, sizeBytes: step.nextSizeBytes } : undefined;
      if (read !== undefined && cycle.repeats(mem, c, call.scratchBuf, read.offsetBytes, read.sizeBytes)) {
        return stop(XrpStatus.CYCLE, read.offsetBytes, XrpCycleCheck.detail(read.offsetBytes));
      }
      for (let k = 0; k < step.childCount; k++) queue.push({ offsetBytes: step.childOffsets[k] ?? 0, sizeBytes: step.childSizes[k] ?? 0 });
    }
  }
  return out;
}

export interface XrpAnswer {
  /** What the kernel did. */
  xrp: XrpResult;
  /** The user-space continuation, when the kernel did not finish (null otherwise). */
  fallback: XrpFallbackResult | null;
  /** The final status: DONE when the walk finished (in the kernel or in user space). */
  status: XrpStatusCode;
}

/**
 * read_xrp, then the fallback when the kernel did not finish: the right answer
 * in every case (the scratch page holds the final state), unless the
 * request's budget runs out first (LIMIT). With a `budget`, the call's
 * resubmission limit is what the budget leaves (at most the call's own limit),
 * its reads are charged to it, and the fallback goes on with what is left, as
 * every engine's client does (src/xrp/budget.ts). -errno when read_xrp itself
 * is refused.
 */
export function* readXrpOrFallback(
  t: SimThread, proc: Process, fd: number, dataBuf: number, count: number, pos: number, progFd: number, scratchBuf: number,
  options: XrpCallOptions & XrpFallbackOptions = {},
): Task<XrpAnswer | SysResult> {
  const budget = options.budget;
  let callOptions: XrpCallOptions = options;
  if (budget !== undefined) {
    const callLimit = options.resubmitLimit ?? xrpConfig(proc.kernel).resubmitLimit;
    callOptions = { ...options, resubmitLimit: budget.nextLimit(callLimit) };
  }
  const r = yield* readXrp(t, proc, fd, dataBuf, count, pos, progFd, scratchBuf, callOptions);
  if (typeof r === 'number') return r;
  budget?.charge(r.reads);
  if (r.status === XrpStatus.DONE) return { xrp: r, fallback: null, status: XrpStatus.DONE };
  // the budget went on the kernel's reads: nothing is left for user space (unless a branch ended for good)
  if (budget !== undefined && !budget.open && r.ends.every((e: XrpEnd) => isResumable(e.status))) return { xrp: r, fallback: null, status: XrpStatus.LIMIT };
  const f = yield* xrpFallback(t, proc, { fd, dataBuf, progFd, scratchBuf }, r, options);
  if (typeof f === 'number') return f;
  return { xrp: r, fallback: f, status: f.status };
}
