// The Linux NVMe driver layer (drivers/nvme/host/pci.c in miniature).
//
// One I/O queue pair per core, its MSI-X interrupt wired to that core, so a
// command's completion interrupt lands on the core that submitted it. A request
// is submitted on the queue of the core the caller runs on: the driver takes a
// free tag (command id; a thread waits FIFO for one when the queue is full),
// builds the NVMe command in that slot, and rings the SQ doorbell. The interrupt
// handler reaps completion entries and runs `handleCqe` for each; that is where
// a per-command hook (XRP's) may look at the data and resubmit the same
// command (same tag, same buffer, same queue) with a new LBA instead of
// completing it, like the original's nvme_handle_cqe.
//
// CPU cost: Table 1 gives 113 ns for the NVMe driver layer of a 512-byte read;
// we charge it in two parts, on submission (calling thread's core) and on
// completion (interrupt on the same core). Table 1's device time (3224 ns) is
// measured from the driver's side, so it also holds the completion's delivery:
// the MSI-X write reaching the core (irqDeliveryNs, no CPU) and the interrupt's
// entry and exit (irqEntryExitNs, CPU of the interrupted core, charged when the
// handler starts). The machine tells the device to post its completions that
// much earlier, so the driver-side device time is still Table 1's and a polling
// driver (SPDK), which pays neither, sees the completion when it is posted.
//
// Interrupt affinity: by default each queue's vector targets the core that owns
// the queue (the submitting core, Linux's managed affinity for one queue per
// core); `irqCore` can send every vector to another core. Interrupt coalescing
// (NVMe Set Features 08h) is off by default, as in Linux.

import { LOGICAL_BLOCK_BYTES, NVME_OP_READ, NVME_OP_WRITE } from '../device/command.ts';
import type { NvmeController } from '../device/controller.ts';
import type { IrqCoalescing, QueuePair } from '../device/queue-pair.ts';
import { SimError } from '../sim/errors.ts';
import type { Simulator } from '../sim/simulator.ts';
import type { CpuContext, IrqSource, IrqTask, Op, SimThread, Task } from '../sim/thread.ts';

export { NVME_OP_READ, NVME_OP_WRITE, LOGICAL_BLOCK_BYTES };

/** NVMe driver CPU time per 512-byte read, XRP paper Table 1. */
export const TABLE1_NVME_DRIVER_NS = 113;

export interface NvmeDriverCosts {
  /** Building the command and ringing the doorbell, on the submitting core. */
  submitNs: number;
  /** Reaping one completion entry and ending the request, in the interrupt handler. */
  completeNs: number;
}

/** Completion delivery of an interrupt-driven queue (inside Table 1's device time; see docs/calibration.md). */
export interface IrqCosts {
  /** MSI-X write to the interrupt reaching the core (PCIe posted write + APIC), latency only. */
  irqDeliveryNs: number;
  /** Interrupt entry and exit on the target core (IDT entry, irq_enter/irq_exit, APIC EOI, return), CPU. */
  irqEntryExitNs: number;
}

export const DEFAULT_DRIVER_COSTS: NvmeDriverCosts = { submitNs: 57, completeNs: 56 };
export const DEFAULT_IRQ_COSTS: IrqCosts = { irqDeliveryNs: 400, irqEntryExitNs: 400 };

/** What the device must subtract from a driver-side latency: the host's delivery of a completion. */
export function completionDeliveryNs(c: IrqCosts = DEFAULT_IRQ_COSTS): number {
  return c.irqDeliveryNs + c.irqEntryExitNs;
}

const IRQ_DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/** Verdicts of a completion hook. */
export const CQE_COMPLETE = 0;
export const CQE_RESUBMIT = 1;

/**
 * A per-request hook run in the interrupt handler for each completion of the
 * request's command (XRP's resubmission logic plugs in here). It sees
 * `req.status` (NVMe status of this completion) and the data in `req.buf`; to
 * resubmit it sets `req.slba` (and optionally `req.blockCount`/`req.bufOffset`)
 * and returns CQE_RESUBMIT; to finish it returns CQE_COMPLETE (it may set
 * `req.status` to the request's final status first).
 */
export interface CqeHook {
  onCqe(ctx: CpuContext, req: NvmeRequest): Task<number>;
}

/** What the block layer hands the driver (a blk-mq request, reduced). */
export class NvmeRequest {
  /** Final NVMe status, or -1 while in flight. */
  status = -1;
  /** Thread woken with the status when the request completes. */
  waiter: SimThread | null = null;
  /** Called in the interrupt handler when the request completes (io_uring posts its CQE here). */
  onComplete: ((ctx: CpuContext, req: NvmeRequest) => void) | null = null;
  /** XRP hook (src/kernel/xrp/hook.ts). */
  hook: CqeHook | null = null;
  /** Times the hook resubmitted the command. */
  resubmissions = 0;
  /** Virtual times of first submission and of completion. */
  submittedAtNs = 0;
  completedAtNs = 0;
  /** Core whose queue carries the command, and its command id (tag). */
  coreId = -1;
  cid = -1;

  constructor(
    public opcode: number,
    /** Starting LBA (512-byte blocks). */
    public slba: number,
    /** Number of 512-byte blocks (one-based; the command carries it zero-based). */
    public blockCount: number,
    public buf: Uint8Array,
    public bufOffset = 0,
  ) {}
}

class CoreQueue implements IrqSource {
  readonly freeTags: Int32Array;
  freeCount: number;
  readonly tagWaiters: SimThread[] = [];
  readonly waitingForTag = new Set<SimThread>();
  private waiterHead = 0;
  qp!: QueuePair;
  /** State of the running interrupt handler (NvmeDriver.reapStep): its context, */
  irqCtx: CpuContext | null = null;
  /** the entry whose completion CPU is being charged (-1: none) and its status, */
  reapCid = -1;
  reapStatus = 0;
  /** a hooked request's handleCqe, run to its end before the next entry, */
  reapSub: Task | null = null;
  /** and the result object its CPU yields reuse; the entry/exit cost is still to charge. */
  readonly reapYield: IteratorYieldResult<Op> = { done: false, value: 0 };
  entryPending = false;

  constructor(
    private readonly driver: NvmeDriver,
    readonly coreId: number,
    depth: number,
  ) {
    this.freeTags = new Int32Array(depth);
    // Hand out low tags first (a stack: tag 0 on top).
    for (let i = 0; i < depth; i++) this.freeTags[i] = depth - 1 - i;
    this.freeCount = depth;
  }

  /**
   * The queue is its own handler's iterator, reused for every interrupt instead of a
   * generator per interrupt (one per read). One handler of a queue runs at a time: the
   * interrupt is re-armed only by the handler's last act, the CQ head doorbell.
   */
  handleIrq(ctx: CpuContext): IrqTask {
    this.irqCtx = ctx;
    this.reapCid = -1;
    this.reapSub = null;
    this.entryPending = true;
    this.driver.stats.interrupts++;
    return this;
  }

  next(value = 0): IteratorResult<Op, void> {
    return this.driver.reapStep(this, value);
  }

  /** The longest-waiting thread still waiting for a tag (stale entries are dropped). */
  nextWaiter(): SimThread | null {
    while (this.waiterHead < this.tagWaiters.length) {
      const t = this.tagWaiters[this.waiterHead++];
      if (t === undefined) throw new SimError(`queue ${this.qp.id}: tag waiter ${this.waiterHead - 1} past the list`);
      if (this.waiterHead === this.tagWaiters.length) {
        this.tagWaiters.length = 0;
        this.waiterHead = 0;
      }
      if (this.waitingForTag.delete(t)) return t;
    }
    return null;
  }
}

export interface NvmeDriverOptions {
  /** Entries per I/O queue (Linux default io_queue_depth 1024, clipped to the device's limit). */
  queueDepth?: number;
  costs?: Partial<NvmeDriverCosts>;
  irq?: Partial<IrqCosts>;
  /** Core every queue's interrupt goes to; default: the queue's own core. */
  irqCore?: number | null;
  /** NVMe interrupt coalescing for every queue; default off. */
  coalescing?: IrqCoalescing | null;
}

export interface NvmeDriverStats {
  submitted: number;
  completed: number;
  resubmitted: number;
  interrupts: number;
  tagWaits: number;
}

export class NvmeDriver {
  readonly costs: NvmeDriverCosts;
  readonly irqCosts: IrqCosts;
  readonly queueDepth: number;
  private readonly queues: CoreQueue[] = [];
  readonly stats: NvmeDriverStats = { submitted: 0, completed: 0, resubmitted: 0, interrupts: 0, tagWaits: 0 };

  constructor(
    readonly sim: Simulator,
    readonly controller: NvmeController,
    options: NvmeDriverOptions = {},
  ) {
    this.costs = { ...DEFAULT_DRIVER_COSTS, ...(options.costs ?? {}) };
    for (const [k, v] of Object.entries(this.costs)) {
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new SimError(`NVMe driver cost ${k} must be a non-negative integer, got ${String(v)}`);
    }
    this.irqCosts = { ...DEFAULT_IRQ_COSTS, ...(options.irq ?? {}) };
    for (const [k, v] of Object.entries(this.irqCosts)) {
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new SimError(`NVMe interrupt cost ${k} must be a non-negative integer, got ${String(v)}`);
    }
    const irqCore = options.irqCore ?? null;
    if (irqCore !== null && (!Number.isSafeInteger(irqCore) || irqCore < 0 || irqCore >= sim.cores.length)) {
      throw new SimError(`NVMe interrupt core must be 0..${sim.cores.length - 1}, got ${String(irqCore)}`);
    }
    this.queueDepth = options.queueDepth ?? Math.min(1024, controller.profile.maxQueueDepth);
    for (const core of sim.cores) {
      const q = new CoreQueue(this, core.id, this.queueDepth);
      q.qp = controller.createQueuePair({
        depth: this.queueDepth,
        irq: { coreId: irqCore ?? core.id, source: q, deliveryNs: this.irqCosts.irqDeliveryNs, coalescing: options.coalescing ?? null },
      });
      this.queues.push(q);
    }
  }

  /** The queue pair serving core `coreId`. */
  queuePair(coreId: number): QueuePair {
    const q = this.queues[coreId];
    if (q === undefined) throw new SimError(`no NVMe queue for core ${coreId}`);
    return q.qp;
  }

  /**
   * Submits `req` on the queue of the core the caller runs on. Charges the
   * submission cost; when the queue is full a thread waits for a tag (an
   * interrupt handler cannot wait and gets a SimError).
   */
  *submit(ctx: CpuContext, req: NvmeRequest): Task {
    checkRequest(req);
    yield ctx.cpu(this.costs.submitNs);
    let q = this.queueOf(ctx.coreId);
    while (q.freeCount === 0) {
      yield* this.waitForTag(ctx, q);
      q = this.queueOf(ctx.coreId); // the thread may have moved while it slept
    }
    this.place(ctx, q, req);
  }

  /**
   * Places `req` on the queue of core `coreId` if it has a free tag (no CPU
   * charged: the caller charges its own submission cost). For submissions from
   * an interrupt handler onto any queue (XRP fan-out); returns false when the
   * queue is full (an interrupt handler cannot wait for a tag).
   */
  tryPlaceOn(ctx: CpuContext, coreId: number, req: NvmeRequest): boolean {
    checkRequest(req);
    const q = this.queues[coreId];
    if (q === undefined) throw new SimError(`no NVMe queue for core ${coreId}`);
    if (q.freeCount === 0) return false;
    this.place(ctx, q, req);
    return true;
  }

  /**
   * submit() after its CPU charge: places `req` on the queue of the thread's core,
   * waiting for a tag while it is full (for a caller that charges submitNs itself
   * and tried tryPlaceOn first: the read fast path in syscalls.ts).
   */
  *placeWhenFree(t: SimThread, req: NvmeRequest): Task {
    let q = this.queueOf(t.core.id);
    while (q.freeCount === 0) {
      yield* this.waitForTag(t, q);
      q = this.queueOf(t.core.id);
    }
    this.place(t, q, req);
  }

  /** The I/O queue of core `coreId`. */
  private queueOf(coreId: number): CoreQueue {
    const q = this.queues[coreId];
    if (q === undefined) throw new SimError(`no NVMe queue for core ${coreId}`);
    return q;
  }

  /** Number of I/O queues (one per core). */
  get queueCount(): number {
    return this.queues.length;
  }

  /** Submits and sleeps until completion; returns the NVMe status (0 = success). */
  *submitAndWait(t: SimThread, req: NvmeRequest): Task<number> {
    // Same steps as submit(), inlined: this is the hot path of every read().
    checkRequest(req);
    req.waiter = t;
    yield t.cpu(this.costs.submitNs);
    let q = this.queueOf(t.core.id);
    while (q.freeCount === 0) {
      yield* this.waitForTag(t, q);
      q = this.queueOf(t.core.id);
    }
    this.place(t, q, req);
    // Only this request's completion counts: sleep again on any other wake-up.
    do yield t.block();
    while (req.status < 0);
    return req.status;
  }

  private *waitForTag(ctx: CpuContext, q: CoreQueue): Task {
    const t = ctx.thread;
    if (t === null) throw new SimError(`NVMe queue of core ${ctx.coreId} is full (depth ${this.queueDepth}) in an interrupt handler`);
    this.stats.tagWaits++;
    q.tagWaiters.push(t);
    q.waitingForTag.add(t);
    yield t.block();
    // Woken by a freed tag, or by something else (its own other I/O): either way it is no longer
    // a waiter; a stale queue entry is skipped when tags are handed out.
    q.waitingForTag.delete(t);
  }

  /** Takes a tag, builds the command in its slot and rings the SQ doorbell. */
  private place(ctx: CpuContext, q: CoreQueue, req: NvmeRequest): void {
    const cid = q.freeTags[--q.freeCount];
    if (cid === undefined) throw new SimError(`queue ${q.qp.id}: free tag ${q.freeCount} outside the tag list`);
    const cmd = q.qp.command(cid);
    cmd.opcode = req.opcode;
    cmd.slba = req.slba;
    cmd.nlb = req.blockCount - 1;
    cmd.buf = req.buf;
    cmd.bufOffset = req.bufOffset;
    cmd.host = req;
    req.status = -1;
    req.coreId = q.coreId;
    req.cid = cid;
    req.submittedAtNs = ctx.nowNs;
    this.stats.submitted++;
    q.qp.enqueue(cid);
    q.qp.ringSqDoorbell();
  }

  /**
   * One step of a queue's MSI-X handler (CoreQueue.next): reap every posted
   * completion, charging completeNs before ending each request, then ring the CQ
   * head doorbell. A hooked request's completion runs handleCqe to its end first.
   * Written as a step function rather than a generator because it runs once per I/O.
   */
  reapStep(q: CoreQueue, value: number): IteratorResult<Op, void> {
    const ctx = q.irqCtx;
    if (ctx === null) throw new SimError(`queue ${q.qp.id}: completions reaped outside its interrupt handler`);
    const qp = q.qp;
    if (q.entryPending) {
      // Interrupt entry and exit, charged up front (the exit's share too: the handler's fixed cost).
      q.entryPending = false;
      if (this.irqCosts.irqEntryExitNs > 0) {
        q.reapYield.value = ctx.cpu(this.irqCosts.irqEntryExitNs);
        return q.reapYield;
      }
    }
    for (;;) {
      const sub = q.reapSub;
      if (sub !== null) {
        const r = sub.next(value);
        if (r.done !== true) return r;
        q.reapSub = null;
      }
      const cid = q.reapCid;
      if (cid >= 0) {
        // This entry's completion CPU has been charged: end its request.
        q.reapCid = -1;
        const req = qp.command(cid).host as NvmeRequest | null;
        if (req === null) throw new SimError(`completion for idle command id ${cid} on queue ${qp.id}`);
        req.status = q.reapStatus;
        // The common case completes inline; a hooked request goes through handleCqe.
        if (req.hook === null) this.complete(ctx, q, cid, req);
        else {
          q.reapSub = this.handleCqe(ctx, q, cid, req);
          value = 0;
          continue;
        }
      }
      const e = qp.peekCompletion();
      if (e === null) {
        qp.ringCqDoorbell();
        q.irqCtx = null;
        return IRQ_DONE;
      }
      q.reapCid = e.cid;
      q.reapStatus = e.status;
      qp.popCompletion();
      q.reapYield.value = ctx.cpu(this.costs.completeNs);
      return q.reapYield;
    }
  }

  /** A completion of a hooked request: run the hook, then resubmit or complete. */
  private *handleCqe(ctx: CpuContext, q: CoreQueue, cid: number, req: NvmeRequest): Task {
    const qp = q.qp;
    const cmd = qp.command(cid);
    if (req.hook !== null) {
      const verdict = yield* req.hook.onCqe(ctx, req);
      if (verdict === CQE_RESUBMIT) {
        checkRequest(req);
        cmd.slba = req.slba;
        cmd.nlb = req.blockCount - 1;
        cmd.buf = req.buf;
        cmd.bufOffset = req.bufOffset;
        req.status = -1;
        req.resubmissions++;
        this.stats.resubmitted++;
        qp.enqueue(cid);
        qp.ringSqDoorbell();
        return;
      }
      if (verdict !== CQE_COMPLETE) throw new SimError(`completion hook returned ${String(verdict)}; expected CQE_COMPLETE or CQE_RESUBMIT`);
    }
    this.complete(ctx, q, cid, req);
  }

  /** Ends a request: free its tag (waking a tag waiter), notify, wake the submitter. */
  private complete(ctx: CpuContext, q: CoreQueue, cid: number, req: NvmeRequest): void {
    q.qp.command(cid).host = null;
    q.freeTags[q.freeCount++] = cid;
    const waiting = q.nextWaiter();
    if (waiting !== null) this.sim.wake(waiting, 0);
    req.completedAtNs = ctx.nowNs;
    this.stats.completed++;
    if (req.onComplete !== null) req.onComplete(ctx, req);
    if (req.waiter !== null) this.sim.wake(req.waiter, req.status);
  }
}

function checkRequest(req: NvmeRequest): void {
  if (req.opcode !== NVME_OP_READ && req.opcode !== NVME_OP_WRITE) {
    throw new SimError(`NVMe request opcode must be read (0x02) or write (0x01), got ${String(req.opcode)}`);
  }
  if (!Number.isSafeInteger(req.blockCount) || req.blockCount < 1 || req.blockCount > 0x10000) {
    throw new SimError(`NVMe request block count must be 1..65536, got ${String(req.blockCount)}`);
  }
  if (!Number.isSafeInteger(req.slba) || req.slba < 0) {
    throw new SimError(`NVMe request LBA must be a non-negative integer, got ${String(req.slba)}`);
  }
}
