// One step of an XRP chain, the same in every engine: prepare struct bpf_xrp
// for a block that was just read, run the storage function on it, and decode
// what it asked for: done, the next read of the same branch (slot 0), fan-out
// children (slots 1..15 with size[i] != 0), slots with an invalid size, a
// non-zero return, or a run-time fault. The drivers (the emulated NVMe
// completion hook, the user-space fallback, the native engine's chain) own the
// I/O, the costs and the order of branches; they call checkRead() before each
// read they submit.
//
// The step runs once per block read and allocates nothing: the outcome object
// is the caller's and reused; addresses and sizes are read as 32-bit halves so
// that no BigInt is made unless a size is invalid.

import { ExecutionFault, type CtxRunner } from '../bpf/engine.ts';
import type { XrpBudget } from './budget.ts';
import { CTX_BYTES, CTX_DATA, CTX_DONE, CTX_NEXT_ADDR, CTX_SCRATCH, CTX_SIZE, XRP_MAX_FANOUT, XRP_PAGE_BYTES } from './layout.ts';
import { XRP_BLOCK_BYTES, XRP_SIZE_DEFAULT, XRP_SIZE_MAX, XRP_SIZE_MIN, XRP_SIZE_STEP } from './limits.ts';
import { XrpStatus, type XrpStatusCode } from './status.ts';

/** The memory the program runs in (an AddressSpace). */
export interface XrpMemory {
  readonly u8: Uint8Array;
  readonly view: DataView;
}

/**
 * The storage function, ready to run with r1 = ctxAddr: an engine's CtxRunner
 * (run returns the instructions executed, r0 is read after it). Throws ExecutionFault.
 */
export type XrpRunner = CtxRunner;

export const XrpStepKind = {
  /** done != 0: the branch ended normally. */
  DONE: 0,
  /** The program asked for more reads (see next*, child*, invalid*). */
  NEXT: 1,
  /** The program returned r0 != 0. */
  PROG_ERROR: 2,
  /** The program faulted (message in `fault`). */
  FAULT: 3,
} as const;
export type XrpStepKindCode = (typeof XrpStepKind)[keyof typeof XrpStepKind];

/** What one step found; reused from step to step by its driver. */
export class XrpStepOutcome {
  kind: XrpStepKindCode = XrpStepKind.DONE;
  r0 = 0n;
  /** Instructions of the run (0 for a FAULT: the engine reports none). */
  insnsExecuted = 0;
  fault = '';
  /** Slot 0 (NEXT): the branch goes on with this read; -1 when slot 0 had an invalid size. */
  nextOffsetBytes = -1;
  nextSizeBytes = -1;
  /** Slots 1..15 with a valid non-zero size (NEXT): new branches, in slot order. */
  readonly childOffsets: number[] = [];
  readonly childSizes: number[] = [];
  /** Slots with an invalid size (NEXT), in slot order: each ends its read with INVALID_SIZE at the slot's next_addr. */
  readonly invalidSlots: number[] = [];
  readonly invalidOffsets: number[] = [];
  readonly invalidRawSizes: bigint[] = [];

  get childCount(): number {
    return this.childOffsets.length;
  }

  /** The explanation of the INVALID_SIZE end of invalid slot `k`. */
  invalidDetail(k: number): string {
    return `size[${this.invalidSlots[k] ?? -1}] is ${this.invalidRawSizes[k] ?? 0n}: must be ${XRP_SIZE_MIN}..${XRP_SIZE_MAX} in steps of ${XRP_SIZE_STEP}`;
  }
}

const TWO_32 = 2 ** 32;
/** next_addr values of 2^53 and more cannot be file offsets: they read as +Infinity (past any end of file). */
const OFFSET_HIGH_MAX = 1 << 21;

function setAddress(view: DataView, at: number, address: number): void {
  view.setUint32(at, address % TWO_32, true);
  view.setUint32(at + 4, Math.floor(address / TWO_32), true);
}

/** Clears struct bpf_xrp at `ctxAddr`: the start of a branch. */
export function clearCtx(mem: XrpMemory, ctxAddr: number): void {
  mem.u8.fill(0, ctxAddr, ctxAddr + CTX_BYTES);
}

/**
 * One step on the block at `dataAddr` (its first `validBytes` are the file's,
 * the rest of the page is zeroed here). The branch's ctx persists between its
 * steps: only done and size[1..15] are cleared, data and scratch set. Errors
 * other than ExecutionFault propagate (they are bugs, not program faults).
 */
export function xrpStep(
  mem: XrpMemory, ctxAddr: number, dataAddr: number, validBytes: number, scratchAddr: number, program: XrpRunner, out: XrpStepOutcome,
): void {
  const view = mem.view;
  const c = ctxAddr;
  mem.u8.fill(0, dataAddr + validBytes, dataAddr + XRP_PAGE_BYTES);
  view.setInt32(c + CTX_DONE, 0, true);
  for (let i = 1; i < XRP_MAX_FANOUT; i++) {
    view.setUint32(c + CTX_SIZE + 8 * i, 0, true);
    view.setUint32(c + CTX_SIZE + 8 * i + 4, 0, true);
  }
  setAddress(view, c + CTX_DATA, dataAddr);
  setAddress(view, c + CTX_SCRATCH, scratchAddr);
  out.r0 = 0n;
  out.insnsExecuted = 0;
  out.nextOffsetBytes = -1;
  out.nextSizeBytes = -1;
  out.childOffsets.length = 0;
  out.childSizes.length = 0;
  out.invalidSlots.length = 0;
  out.invalidOffsets.length = 0;
  out.invalidRawSizes.length = 0;
  let insnsExecuted: number;
  try {
    insnsExecuted = program.run(c);
  } catch (e) {
    if (!(e instanceof ExecutionFault)) throw e;
    out.kind = XrpStepKind.FAULT;
    out.fault = e.message;
    return;
  }
  const r0 = program.r0;
  out.r0 = r0;
  out.insnsExecuted = insnsExecuted;
  if (r0 !== 0n) {
    out.kind = XrpStepKind.PROG_ERROR;
    return;
  }
  if (view.getInt32(c + CTX_DONE, true) !== 0) {
    out.kind = XrpStepKind.DONE;
    return;
  }
  out.kind = XrpStepKind.NEXT;
  // slot 0 always (this branch goes on); slot i > 0 when size[i] != 0 (a new branch)
  for (let i = 0; i < XRP_MAX_FANOUT; i++) {
    const sizeLo = view.getUint32(c + CTX_SIZE + 8 * i, true);
    const sizeHi = view.getUint32(c + CTX_SIZE + 8 * i + 4, true);
    if (i > 0 && sizeLo === 0 && sizeHi === 0) continue;
    const lo = view.getUint32(c + CTX_NEXT_ADDR + 8 * i, true);
    const hi = view.getUint32(c + CTX_NEXT_ADDR + 8 * i + 4, true);
    const offsetBytes = hi >= OFFSET_HIGH_MAX ? Number.POSITIVE_INFINITY : hi * TWO_32 + lo;
    let sizeBytes: number;
    if (sizeLo === 0 && sizeHi === 0) sizeBytes = XRP_SIZE_DEFAULT;
    else if (sizeHi === 0 && sizeLo >= XRP_SIZE_MIN && sizeLo <= XRP_SIZE_MAX && sizeLo % XRP_SIZE_STEP === 0) sizeBytes = sizeLo;
    else {
      out.invalidSlots.push(i);
      out.invalidOffsets.push(offsetBytes);
      out.invalidRawSizes.push((BigInt(sizeHi) << 32n) | BigInt(sizeLo));
      continue;
    }
    if (i === 0) {
      out.nextOffsetBytes = offsetBytes;
      out.nextSizeBytes = sizeBytes;
    } else {
      out.childOffsets.push(offsetBytes);
      out.childSizes.push(sizeBytes);
    }
  }
}

/** checkRead's answer when the read may be submitted. */
export const READ_OK = -1;
export type ReadCheck = XrpStatusCode | typeof READ_OK;

/**
 * The checks every engine makes before it submits a read, in this order: the
 * request's budget (LIMIT; `budget` null for the first read, which does not
 * count), inside the file (OUT_OF_FILE), aligned to the logical block
 * (MISALIGNED). Returns READ_OK or the status; an engine may check more
 * afterwards (the emulated file system's holes and extents), then calls
 * budget.take().
 */
export function checkRead(budget: XrpBudget | null, offsetBytes: number, fileBytes: number): ReadCheck {
  if (budget !== null && !budget.allows(offsetBytes)) return XrpStatus.LIMIT;
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes >= fileBytes) {
    return Number.isSafeInteger(offsetBytes) && offsetBytes % XRP_BLOCK_BYTES !== 0 ? XrpStatus.MISALIGNED : XrpStatus.OUT_OF_FILE;
  }
  if (offsetBytes % XRP_BLOCK_BYTES !== 0) return XrpStatus.MISALIGNED;
  return READ_OK;
}

/** The explanation of a status returned by checkRead. */
export function checkReadDetail(status: XrpStatusCode, budget: XrpBudget | null, offsetBytes: number, fileBytes: number): string {
  if (status === XrpStatus.LIMIT) return budget === null ? 'resubmission limit reached' : budget.limitDetail();
  if (status === XrpStatus.MISALIGNED) return `offset ${offsetBytes} is not a multiple of ${XRP_BLOCK_BYTES}`;
  return `offset ${offsetBytes} is past the end of the file (${fileBytes} bytes)`;
}
