// The limits of one read_xrp request, the same for every engine.

/** The logical block: offsets of reads are multiples of it. */
export const XRP_BLOCK_BYTES = 512;
/** size[i] == 0 means this (the original's fixed read size). */
export const XRP_SIZE_DEFAULT = 512;
/** Any other size[i] (and read_xrp's count) is XRP_SIZE_MIN..XRP_SIZE_MAX in steps of XRP_SIZE_STEP. */
export const XRP_SIZE_MIN = 512;
export const XRP_SIZE_MAX = 4096;
export const XRP_SIZE_STEP = 512;

/** Default resubmission limit per request (reads after the first; the original has none). */
export const XRP_RESUBMIT_LIMIT_DEFAULT = 4096;
/**
 * Largest configurable limit. It bounds the reads of one request and, with up
 * to 15 fan-out children per run, the queue of reads waiting for a command.
 */
export const XRP_RESUBMIT_LIMIT_MAX = 1 << 20;

/** Run-time instruction limit of one program run (a FAULT beyond it; verified programs stay far below). */
export const XRP_INSN_LIMIT_DEFAULT = 1_000_000;

/** True for a read size the driver accepts (512..4096 in steps of 512). */
export function isValidReadSize(sizeBytes: number): boolean {
  return Number.isSafeInteger(sizeBytes) && sizeBytes >= XRP_SIZE_MIN && sizeBytes <= XRP_SIZE_MAX && sizeBytes % XRP_SIZE_STEP === 0;
}

/** Why `limit` is not a resubmission limit (an integer 0..XRP_RESUBMIT_LIMIT_MAX), or null; each engine throws its own error. */
export function resubmitLimitProblem(limit: number): string | null {
  if (Number.isSafeInteger(limit) && limit >= 0 && limit <= XRP_RESUBMIT_LIMIT_MAX) return null;
  return `XRP resubmission limit must be an integer 0..${XRP_RESUBMIT_LIMIT_MAX}, got ${String(limit)}`;
}
