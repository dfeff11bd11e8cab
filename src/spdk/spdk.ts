// SPDK-style user-space NVMe driver (the baseline of the paper's Figure 8 style
// experiments). Each thread allocates its own queue pair, with interrupts off;
// it submits by writing the SQ and the doorbell directly (no syscall, no file
// system, no block layer) and learns of completions by busy-polling its CQ.
//
// Polling is modelled as a spinning thread (`yield t.spin()`): it keeps its core
// and burns CPU until a completion entry is posted to its queue, and it stays
// under the scheduler like any thread. When there are more pollers than cores,
// a poller whose I/O has completed may not be running: it notices only when the
// scheduler gives it the core back. Nothing here knows about the core count;
// the collapse past it comes from the scheduler.
//
// CPU costs: the work per I/O is the NVMe driver's queue work (build the command,
// ring the doorbell, reap the entry), so we charge the same 113 ns as the kernel's
// NVMe driver layer in Table 1, split the same way.

import { NVME_OP_READ, NVME_OP_WRITE } from '../device/command.ts';
import type { NvmeController } from '../device/controller.ts';
import type { QueuePair } from '../device/queue-pair.ts';
import { DEFAULT_DRIVER_COSTS } from '../kernel/nvme-driver.ts';
import type { NvmeDriverCosts } from '../kernel/nvme-driver.ts';
import { SimError } from '../sim/errors.ts';
import type { Simulator } from '../sim/simulator.ts';
import type { SimThread, Task } from '../sim/thread.ts';

export interface SpdkOptions {
  /** Entries per I/O queue pair (default 256 like SPDK's io_queue_size, clipped to the device). */
  queueDepth?: number;
  costs?: Partial<NvmeDriverCosts>;
}

export class SpdkDriver {
  readonly costs: NvmeDriverCosts;
  readonly queueDepth: number;
  readonly qpairs: SpdkQpair[] = [];

  constructor(
    readonly sim: Simulator,
    readonly controller: NvmeController,
    options: SpdkOptions = {},
  ) {
    this.costs = { ...DEFAULT_DRIVER_COSTS, ...(options.costs ?? {}) };
    for (const [k, v] of Object.entries(this.costs)) {
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new SimError(`SPDK cost ${k} must be a non-negative integer, got ${String(v)}`);
    }
    this.queueDepth = options.queueDepth ?? Math.min(256, controller.profile.maxQueueDepth);
  }

  /** spdk_nvme_ctrlr_alloc_io_qpair: a polled queue pair for one thread. */
  allocQpair(): SpdkQpair {
    const qp = new SpdkQpair(this);
    this.qpairs.push(qp);
    return qp;
  }
}

export class SpdkQpair {
  readonly qp: QueuePair;
  private readonly freeTags: Int32Array;
  private freeCount: number;
  /** NVMe status per command id once reaped, -1 while in flight. */
  readonly statusOf: Int32Array;
  private owner: SimThread | null = null;
  private spinner: SimThread | null = null;
  /** Statistics. */
  submitted = 0;
  completed = 0;
  polls = 0;

  constructor(private readonly driver: SpdkDriver) {
    const depth = driver.queueDepth;
    this.qp = driver.controller.createQueuePair({
      depth,
      irq: null,
      onCqePosted: () => {
        if (this.spinner !== null) this.driver.sim.wake(this.spinner, 0);
      },
    });
    this.freeTags = new Int32Array(depth);
    for (let i = 0; i < depth; i++) this.freeTags[i] = depth - 1 - i;
    this.freeCount = depth;
    this.statusOf = new Int32Array(depth).fill(-1);
  }

  private bind(t: SimThread): void {
    if (this.owner === null) this.owner = t;
    else if (this.owner !== t) {
      throw new SimError(`SPDK queue pair ${this.qp.id} belongs to thread '${this.owner.name}', used by '${t.name}' (qpairs are not thread-safe)`);
    }
  }

  /** spdk_nvme_ns_cmd_read/write: builds the command and rings the doorbell; returns the command id. */
  *submit(t: SimThread, opcode: number, slba: number, blockCount: number, buf: Uint8Array, bufOffset = 0): Task<number> {
    this.bind(t);
    if (opcode !== NVME_OP_READ && opcode !== NVME_OP_WRITE) throw new SimError(`SPDK: opcode must be read or write, got ${String(opcode)}`);
    if (!Number.isSafeInteger(blockCount) || blockCount < 1 || blockCount > 0x10000) throw new SimError(`SPDK: block count must be 1..65536, got ${String(blockCount)}`);
    if (!Number.isSafeInteger(slba) || slba < 0) throw new SimError(`SPDK: LBA must be a non-negative integer, got ${String(slba)}`);
    yield t.cpu(this.driver.costs.submitNs);
    // A full queue: poll until a slot frees (SPDK returns -ENOMEM and the app polls).
    while (this.freeCount === 0) yield* this.pollOnce(t);
    const cid = this.freeTags[--this.freeCount];
    if (cid === undefined) throw new SimError(`SPDK: free tag ${this.freeCount} outside the tag list`);
    const cmd = this.qp.command(cid);
    cmd.opcode = opcode;
    cmd.slba = slba;
    cmd.nlb = blockCount - 1;
    cmd.buf = buf;
    cmd.bufOffset = bufOffset;
    this.statusOf[cid] = -1;
    this.qp.enqueue(cid);
    this.qp.ringSqDoorbell();
    this.submitted++;
    return cid;
  }

  /** spdk_nvme_qpair_process_completions: reaps every posted entry; returns how many. */
  *processCompletions(t: SimThread): Task<number> {
    this.bind(t);
    this.polls++;
    let n = 0;
    for (;;) {
      const e = this.qp.peekCompletion();
      if (e === null) break;
      const cid = e.cid;
      const status = e.status;
      this.qp.popCompletion();
      yield t.cpu(this.driver.costs.completeNs);
      this.statusOf[cid] = status;
      this.freeTags[this.freeCount++] = cid;
      this.completed++;
      n++;
    }
    if (n > 0) this.qp.ringCqDoorbell();
    return n;
  }

  /** Busy-polls until command `cid` has completed; returns its NVMe status. */
  *wait(t: SimThread, cid: number): Task<number> {
    const status = (): number => {
      const s = this.statusOf[cid];
      if (s === undefined) throw new SimError(`SPDK: wait for command id ${cid}, which this queue never issued`);
      return s;
    };
    while (status() < 0) yield* this.pollOnce(t);
    return status();
  }

  /** Reads `blockCount` blocks at `slba` and polls for the completion; returns the NVMe status. */
  *read(t: SimThread, slba: number, blockCount: number, buf: Uint8Array, bufOffset = 0): Task<number> {
    const cid = yield* this.submit(t, NVME_OP_READ, slba, blockCount, buf, bufOffset);
    return yield* this.wait(t, cid);
  }

  /**
   * For a thread with several commands in flight (the fair setup: one poller
   * per core, N requests each): reaps what is there, else spins on the CQ until
   * an entry is posted and reaps it. Returns how many entries it reaped.
   */
  *pollOrSpin(t: SimThread): Task<number> {
    for (;;) {
      const n = yield* this.processCompletions(t);
      if (n > 0) return n;
      this.spinner = t;
      yield t.spin();
      this.spinner = null;
    }
  }

  /** One poll: reap what is there, else spin on the CQ until an entry is posted. */
  private *pollOnce(t: SimThread): Task {
    const n = yield* this.processCompletions(t);
    if (n > 0) return;
    this.spinner = t;
    yield t.spin();
    this.spinner = null;
  }
}
