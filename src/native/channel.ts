// The shared memory between the main thread and one worker: a queue pair, as an
// NVMe queue pair, over SharedArrayBuffers. The main thread is the only producer
// of the submission ring and the worker the only producer of the completion ring
// (single-producer single-consumer, so a ring is a pair of counters and an array).
// A request lives in a slot: its parameters and results in `meta`, its scratch
// page in `scratch`, the last block read in `data`; rings carry slot numbers, so
// no request is ever copied through a message.
//
// Wake-ups: the worker sleeps in Atomics.wait on WAKE (after polling it for a
// bounded time), which the main thread bumps on every submission and control
// message. Workers bump the engine-wide doorbell (one Int32 shared by all
// workers) after each completion; the main thread polls the rings on event-loop
// turns for a bounded time, then awaits the doorbell with Atomics.waitAsync, so
// its event loop never blocks.

export const CTL = {
  SQ_TAIL: 0,
  SQ_HEAD: 1,
  CQ_TAIL: 2,
  CQ_HEAD: 3,
  /** bumped by the main thread on every submission or control message */
  WAKE: 4,
  /** control messages posted (the worker fetches them with receiveMessageOnPort) */
  CONTROL: 5,
  /** the worker's spins (after running out of requests) that caught a submission (statistics) */
  SPIN_CAUGHT: 6,
  /** the worker's spins that ran out, so that it slept (statistics) */
  SPIN_EXPIRED: 7,
  /** first ring entry */
  RINGS: 8,
} as const;

/** Int32 fields of a slot */
export const MI = {
  SIZE: 0,
  FLAGS: 1,
  LIMIT: 2,
  STATUS: 3,
  R0_LO: 4,
  R0_HI: 5,
  READS: 6,
  DETAIL_BYTES: 7,
  RESUBMISSIONS: 8,
  RUNS: 9,
  ENDS: 10,
  /** pending reads reported (at most PENDING_MAX) */
  PENDING: 11,
  /** pending reads there were in all */
  PENDING_ALL: 12,
  COUNT: 13,
} as const;

/** Float64 fields of a slot (offsets stay below 2^53) */
export const MF = {
  OFFSET: 0,
  INSNS: 1,
  STOP_OFFSET: 2,
  COUNT: 3,
} as const;

/** request flags */
export const REQ_FLAG = {
  /** copy the last block read into the slot's data page */
  WANT_DATA: 1,
  /** debug hook (engines opened with debugHooks only): the worker throws an uncaught error */
  CRASH_THROW: 2,
  /** debug hook: the worker calls process.exit */
  CRASH_EXIT: 4,
} as const;

export const PAGE = 4096;
export const DETAIL_BYTES_MAX = 512;
/** pending reads a completion carries (the fallback's starting points); more are counted, not listed */
export const PENDING_MAX = 64;

export interface ChannelBuffers {
  readonly slots: number;
  readonly control: SharedArrayBuffer;
  readonly metaI32: SharedArrayBuffer;
  readonly metaF64: SharedArrayBuffer;
  readonly scratch: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
  readonly detail: SharedArrayBuffer;
  readonly pendingOffsets: SharedArrayBuffer;
  readonly pendingSizes: SharedArrayBuffer;
}

export function createChannelBuffers(slots: number): ChannelBuffers {
  if (!Number.isInteger(slots) || slots < 1 || slots > 4096 || (slots & (slots - 1)) !== 0) {
    throw new RangeError(`a channel's slot count must be a power of two in 1..4096, got ${slots}`);
  }
  return {
    slots,
    control: new SharedArrayBuffer((CTL.RINGS + 2 * slots) * 4),
    metaI32: new SharedArrayBuffer(slots * MI.COUNT * 4),
    metaF64: new SharedArrayBuffer(slots * MF.COUNT * 8),
    scratch: new SharedArrayBuffer(slots * PAGE),
    data: new SharedArrayBuffer(slots * PAGE),
    detail: new SharedArrayBuffer(slots * DETAIL_BYTES_MAX),
    pendingOffsets: new SharedArrayBuffer(slots * PENDING_MAX * 8),
    pendingSizes: new SharedArrayBuffer(slots * PENDING_MAX * 4),
  };
}

/** Typed views over a channel's buffers (both sides build their own). */
export class Channel {
  readonly slots: number;
  readonly mask: number;
  readonly ctl: Int32Array;
  readonly mi: Int32Array;
  readonly mf: Float64Array;
  readonly scratch: Uint8Array;
  readonly data: Uint8Array;
  readonly detail: Uint8Array;
  readonly pendingOffsets: Float64Array;
  readonly pendingSizes: Int32Array;
  /** ring entry index of the submission ring's first entry, then the completion ring's */
  readonly sqBase: number;
  readonly cqBase: number;

  constructor(readonly buffers: ChannelBuffers) {
    this.slots = buffers.slots;
    this.mask = buffers.slots - 1;
    this.ctl = new Int32Array(buffers.control);
    this.mi = new Int32Array(buffers.metaI32);
    this.mf = new Float64Array(buffers.metaF64);
    this.scratch = new Uint8Array(buffers.scratch);
    this.data = new Uint8Array(buffers.data);
    this.detail = new Uint8Array(buffers.detail);
    this.pendingOffsets = new Float64Array(buffers.pendingOffsets);
    this.pendingSizes = new Int32Array(buffers.pendingSizes);
    this.sqBase = CTL.RINGS;
    this.cqBase = CTL.RINGS + buffers.slots;
  }

  scratchPage(slot: number): Uint8Array {
    return this.scratch.subarray(slot * PAGE, (slot + 1) * PAGE);
  }

  dataPage(slot: number): Uint8Array {
    return this.data.subarray(slot * PAGE, (slot + 1) * PAGE);
  }

  writeDetail(slot: number, text: string): void {
    const bytes = new TextEncoder().encode(text).subarray(0, DETAIL_BYTES_MAX);
    this.detail.set(bytes, slot * DETAIL_BYTES_MAX);
    this.mi[slot * MI.COUNT + MI.DETAIL_BYTES] = bytes.length;
  }

  readDetail(slot: number): string {
    const n = this.mi[slot * MI.COUNT + MI.DETAIL_BYTES] ?? 0;
    if (n === 0) return '';
    // TextDecoder refuses views of shared memory: copy first
    return new TextDecoder().decode(this.detail.slice(slot * DETAIL_BYTES_MAX, slot * DETAIL_BYTES_MAX + n));
  }
}

/** The engine-wide completion doorbell. */
export const BELL = { COUNT: 0 } as const;
