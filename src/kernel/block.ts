// The block layer (block/bio.c + blk-mq, reduced): a bio (op, start sector,
// bytes, memory) becomes one or more NVMe requests, split at the device's
// largest transfer, submitted through the NVMe driver on the caller's core.
// No merging or I/O scheduling (none is needed for direct I/O on NVMe, where
// Linux uses the 'none' scheduler). Completions are gathered in an IoWait:
// when its last request completes it wakes the waiting thread once or calls
// its completion callback (io_uring).

import { LOGICAL_BLOCK_BYTES, NVME_OP_READ, NVME_OP_WRITE, NvmeRequest } from './nvme-driver.ts';
import type { CqeHook, NvmeDriver } from './nvme-driver.ts';
import { L_BIO, L_DRIVER } from './costs.ts';
import type { LayerBreakdown } from './costs.ts';
import type { CpuContext, SimThread, Task } from '../sim/thread.ts';
import type { Simulator } from '../sim/simulator.ts';
import { SimError } from '../sim/errors.ts';

export const BIO_READ = NVME_OP_READ;
export const BIO_WRITE = NVME_OP_WRITE;

/** Completion state of one syscall's (or one io_uring request's) bios. */
export class IoWait {
  /** Requests submitted and not yet completed. */
  pending = 0;
  /** Requests submitted in all. */
  submitted = 0;
  /** First non-zero NVMe status seen, else 0. */
  status = 0;
  /** Virtual time the last request completed (in the completion interrupt). */
  lastCompletedNs = 0;
  /** Time the last doorbell was rung. */
  lastSubmittedNs = 0;
  /** Woken (once) when everything completed. */
  thread: SimThread | null = null;
  /** Or called (in the interrupt handler) when everything completed. */
  onDone: ((ctx: CpuContext, wait: IoWait) => void) | null = null;
  /** A finished request kept for reuse by `BlockLayer.request` (the read fast path). */
  spare: BlockRequest | null = null;

  /**
   * Starts a submission: the submitter holds one reference so that requests
   * completing while it is still submitting cannot finish the wait early.
   */
  begin(): void {
    this.pending = 1;
    this.submitted = 0;
    this.status = 0;
    this.lastCompletedNs = 0;
    this.lastSubmittedNs = 0;
  }

  /**
   * Drops the submitter's reference. Returns true when every request has
   * already completed (nothing will wake or call back: the caller finishes);
   * false when the last completion will.
   */
  endSubmit(): boolean {
    return --this.pending === 0;
  }
}

/** A blk-mq request: an NVMe request that knows which IoWait it belongs to. */
export class BlockRequest extends NvmeRequest {
  wait: IoWait | null = null;
}

function onRequestComplete(ctx: CpuContext, req: NvmeRequest): void {
  const w = (req as BlockRequest).wait;
  if (w === null) throw new SimError(`block request at sector ${req.slba} completed without its IoWait`);
  if (req.status !== 0 && w.status === 0) w.status = req.status;
  w.lastCompletedNs = ctx.nowNs;
  if (--w.pending === 0) {
    if (w.thread !== null) ctx.sim.wake(w.thread, w.status);
    if (w.onDone !== null) w.onDone(ctx, w);
  }
}

export class BlockLayer {
  /** Largest request the block layer sends (max_hw_sectors). */
  readonly maxRequestBytes: number;
  bios = 0;
  requests = 0;

  constructor(
    readonly sim: Simulator,
    readonly driver: NvmeDriver,
    /** CPU cost of one bio (Table 1: 379 ns). */
    readonly bioNs: number,
  ) {
    this.maxRequestBytes = driver.controller.profile.maxTransferBytes;
  }

  /**
   * submit_bio: charges the bio cost, then submits its request(s) on the
   * caller's core. `sector` and `bytes` are in 512-byte units / multiples;
   * data moves to/from buf[bufOffset..]. `hook` (XRP) is set on every request.
   */
  /**
   * Builds the single request of a bio that fits in one (the caller charges
   * `bioNs` and submits it through the driver): the read fast path, which
   * saves a generator level.
   */
  request(op: number, sector: number, bytes: number, buf: Uint8Array, bufOffset: number, wait: IoWait, hook: CqeHook | null): BlockRequest {
    if (bytes <= 0 || bytes % LOGICAL_BLOCK_BYTES !== 0 || bytes > this.maxRequestBytes) {
      throw new RangeError(`single-request bio of ${bytes} bytes: must be a positive multiple of ${LOGICAL_BLOCK_BYTES} up to ${this.maxRequestBytes}`);
    }
    this.bios++;
    this.requests++;
    let req = wait.spare;
    if (req === null) {
      req = new BlockRequest(op, sector, bytes / LOGICAL_BLOCK_BYTES, buf, bufOffset);
      wait.spare = req;
    } else {
      // Reuse: the previous I/O of this wait has completed (the driver let go of it).
      req.opcode = op;
      req.slba = sector;
      req.blockCount = bytes / LOGICAL_BLOCK_BYTES;
      req.buf = buf;
      req.bufOffset = bufOffset;
      req.status = -1;
      req.waiter = null;
      req.resubmissions = 0;
    }
    req.wait = wait;
    req.onComplete = onRequestComplete;
    req.hook = hook;
    wait.pending++;
    wait.submitted++;
    return req;
  }

  *submitBio(
    ctx: CpuContext, op: number, sector: number, bytes: number, buf: Uint8Array, bufOffset: number, wait: IoWait,
    hook: CqeHook | null = null, breakdown: LayerBreakdown | null = null,
  ): Task {
    if (bytes <= 0 || bytes % LOGICAL_BLOCK_BYTES !== 0) throw new RangeError(`bio of ${bytes} bytes is not a positive multiple of ${LOGICAL_BLOCK_BYTES}`);
    this.bios++;
    let markNs = ctx.nowNs;
    if (breakdown !== null) {
      yield ctx.cpu(this.bioNs);
      breakdown.add(L_BIO, ctx.nowNs - markNs);
      markNs = ctx.nowNs;
    } else {
      ctx.charge(this.bioNs); // consumed by the driver's submission charge
    }
    let done = 0;
    while (done < bytes) {
      const n = Math.min(this.maxRequestBytes, bytes - done);
      const req = new BlockRequest(op, sector + done / LOGICAL_BLOCK_BYTES, n / LOGICAL_BLOCK_BYTES, buf, bufOffset + done);
      req.wait = wait;
      req.onComplete = onRequestComplete;
      req.hook = hook;
      wait.pending++;
      wait.submitted++;
      this.requests++;
      yield* this.driver.submit(ctx, req);
      wait.lastSubmittedNs = ctx.nowNs;
      done += n;
      if (breakdown !== null) {
        breakdown.add(L_DRIVER, ctx.nowNs - markNs);
        markNs = ctx.nowNs;
      }
    }
  }
}
