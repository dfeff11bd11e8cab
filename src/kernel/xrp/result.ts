// The result of one emulated read_xrp (and of an IORING_OP_READ_XRP
// completion): the contract's outcome (src/xrp/outcome.ts) plus what only the
// emulated kernel can tell (the hook's CPU time, commands, latency in virtual time).

import type { XrpOutcome } from '../../xrp/engine.ts';
import { XrpStatus, xrpStatusName, type XrpEnd, type XrpRead, type XrpStatusCode } from '../../xrp/status.ts';

/** What read_xrp (and an IORING_OP_READ_XRP completion) returns when the request ran. */
export class XrpResult implements XrpOutcome {
  /** `count` (bytes of the first read) when it was read, 0 when the first read could not be issued (hole, past the end), -EIO on a device error. */
  res = 0;
  status: XrpStatusCode = XrpStatus.DONE;
  /** r0 of the first PROG_ERROR. */
  progRet = 0n;
  /** Message of the first FAULT. */
  fault: string | null = null;
  /** Where the chain stopped: the offset of the first abnormal end, or of the last read when DONE. */
  stopOffset = 0;
  /** Reads not done because their branch stopped for a resumable reason (in the order they stopped). */
  readonly pending: XrpRead[] = [];
  /** Every abnormal branch end, in virtual-time order. */
  readonly ends: XrpEnd[] = [];
  /** Blocks read by the device (the first included). */
  reads = 0;
  /** Reads submitted from the completion hook (resubmissions and fan-out children). */
  resubmissions = 0;
  /** Program runs and their executed instructions. */
  runs = 0;
  insnsExecuted = 0;
  /** CPU charged by the hook in interrupt context (fixed costs + instructions + resubmissions). */
  hookCpuNs = 0;
  /** NVMe commands (tags) the request used at its peak: 1 unless it fanned out in parallel. */
  commands = 0;
  /** Virtual time from the syscall entry (or SQE issue) to the completion. */
  latencyNs = 0;

  /** XrpOutcome's name of stopOffset. */
  get stopOffsetBytes(): number {
    return this.stopOffset;
  }

  /** Why the first abnormal end happened ('' when DONE). */
  get detail(): string {
    return this.ends[0]?.detail ?? '';
  }

  get statusName(): string {
    return xrpStatusName(this.status);
  }

  /** True when the kernel did not finish the walk (pending reads, or any abnormal end). */
  get partial(): boolean {
    return this.status !== XrpStatus.DONE;
  }

  /** Records an abnormal end; the first one sets the request's status. */
  end(e: XrpEnd, resumable: boolean): void {
    if (this.ends.length === 0) {
      this.status = e.status;
      this.stopOffset = e.offsetBytes;
      if (e.status === XrpStatus.PROG_ERROR) this.progRet = e.progRet;
    }
    if (e.status === XrpStatus.FAULT && this.fault === null) this.fault = e.detail;
    if (e.status === XrpStatus.PROG_ERROR && this.progRet === 0n) this.progRet = e.progRet;
    this.ends.push(e);
    if (resumable) this.pending.push({ offsetBytes: e.offsetBytes, sizeBytes: e.sizeBytes });
  }
}
