// Explicit completion statuses of an XRP request (beyond the original, which
// returns success whatever happened and leaves the state in scratch).
//
// A request is a tree of reads: the first read, each program run's next_addr[0]
// (the same branch continues) and its fan-out slots (new branches). Every branch
// ends with one status; the request's status is DONE when every branch ended
// DONE, else the FIRST abnormal end in virtual time. Reads that were never done
// because their branch stopped for a resumable reason are listed in `pending`,
// so that a user-space fallback (src/kernel/xrp/fallback.ts) can finish the walk.

export const XrpStatus = {
  /** Every branch ended with ctx.done != 0. */
  DONE: 0,
  /** The program returned non-zero (the value is in progRet). Terminal. */
  PROG_ERROR: 1,
  /** A next_addr at or past the end of the file. Terminal. */
  OUT_OF_FILE: 2,
  /** A next_addr in a hole or an unwritten extent (reads as zeros in user space). Resumable. */
  HOLE: 3,
  /** A next_addr that is not a multiple of the 512-byte logical block. Terminal: the contract's reads are aligned (the fallback checks it too). */
  MISALIGNED: 4,
  /** The extent of a read changed (moved, truncated) while it was in flight. Resumable. */
  MAPPING_CHANGED: 5,
  /** The request's resubmission limit was reached. Resumable (the result is partial). */
  LIMIT: 6,
  /** A size[i] outside 512..4096 in steps of 512. Terminal. */
  INVALID_SIZE: 7,
  /** The program faulted at run time (ExecutionFault; message in `fault`). Terminal. */
  FAULT: 8,
  /** A read that spans two physically discontiguous extents (one NVMe command cannot). Resumable. */
  SHORT_EXTENT: 9,
  /** The device returned an error status. Terminal (res is -EIO). */
  IO_ERROR: 10,
  /** A branch asked again for a read it asked for in the same state (src/xrp/cycle.ts): it would repeat forever. Terminal. */
  CYCLE: 11,
} as const;

export type XrpStatusCode = (typeof XrpStatus)[keyof typeof XrpStatus];

const NAMES: readonly string[] = Object.keys(XrpStatus).sort(
  (a, b) => XrpStatus[a as keyof typeof XrpStatus] - XrpStatus[b as keyof typeof XrpStatus],
);

/** 'DONE', 'MAPPING_CHANGED', ... (or 'STATUS_<n>' for an unknown code). */
export function xrpStatusName(code: number): string {
  return NAMES[code] ?? `STATUS_${code}`;
}

/** Statuses after which the walk can be finished in user space from the pending reads. */
export function isResumable(code: XrpStatusCode): boolean {
  return code === XrpStatus.HOLE || code === XrpStatus.MAPPING_CHANGED
    || code === XrpStatus.LIMIT || code === XrpStatus.SHORT_EXTENT;
}

/** One read of a chain: a file offset and its size. */
export interface XrpRead {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
}

/** An abnormal end of one branch. */
export interface XrpEnd {
  readonly status: XrpStatusCode;
  /** The read that was not done (resumable statuses and OUT_OF_FILE), the slot's next_addr (INVALID_SIZE), or the block the program ran on (PROG_ERROR, FAULT, IO_ERROR, MAPPING_CHANGED). */
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  /** r0 of a PROG_ERROR, else 0n. */
  readonly progRet: bigint;
  /** For FAULT: the fault message. For others: a short explanation. */
  readonly detail: string;
}

