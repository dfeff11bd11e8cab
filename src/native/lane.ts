// One worker of a native engine and its queue pair (channel.ts): the worker
// thread, started with its init (worker.ts) and waited for, and the slot-level
// work of the main thread's side of its rings: a request written into a free
// slot and announced, completions read back into the callers' buffers, and the
// requests a dead worker leaves behind.

// Non-null assertions here read fields of the shared-memory channel's slots:
// typed-array indexes inside a slot, or a ring index masked into its array, on
// every request and completion; checking each would only cost.

import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { XrpStatus, xrpStatusName, type XrpRead, type XrpStatusCode } from '../xrp/status.ts';
import { workerBootCode } from './boot.ts';
import { NativeXrpError } from './errors.ts';
import { Channel, createChannelBuffers, CTL, MF, MI, PAGE, PENDING_MAX } from './channel.ts';
import type { ChainOutcome } from './chain.ts';
import type { ControlMessage, WorkerInit, WorkerReply } from './worker.ts';

/** A completed request (an XrpOutcome of the contract, src/xrp/engine.ts): the chain's outcome (pending lists at most 64 reads) as the worker reported it. */
export interface NativeXrpResult extends ChainOutcome {
  /** 'DONE', 'LIMIT', ... */
  statusName: string;
  /** the walk did not finish here (status !== DONE) */
  partial: boolean;
  /** more pending reads existed than are listed */
  pendingTruncated: boolean;
  /** the worker that served the request */
  workerId: number;
}

/** A read_xrp call on its way: its parameters, buffers and promise. */
export interface Request {
  offsetBytes: number;
  sizeBytes: number;
  resubmitLimit: number;
  flags: number;
  scratch: Uint8Array;
  data: Uint8Array | undefined;
  resolve: (r: NativeXrpResult) => void;
  reject: (e: Error) => void;
}

export type LaneState = 'starting' | 'loading' | 'ready' | 'dead' | 'stopping';

/** What a lane's worker is started with, but for its id, rings and control port. */
export type LaneInit = Omit<WorkerInit, 'workerId' | 'buffers' | 'control'>;

/** Grace a stopping worker has before it is terminated. */
const STOP_GRACE_MS = 2000;

/** One worker and its queue pair. */
// non-null: slot fields and masked ring indexes of the shared-memory channel, per request
export class Lane {
  state: LaneState = 'starting';
  /** the worker opened the file and said 'ready' */
  booted = false;
  /** submissions not yet announced to the worker (SQ_TAIL not yet stored) */
  doorbellDue = false;
  readonly freeSlots: number[] = [];
  readonly slotRequest: (Request | undefined)[];
  sqTail = 0;
  cqHead = 0;
  inFlight = 0;
  lastError: Error | undefined;
  exited: Promise<number>;
  private constructor(
    readonly id: number,
    readonly worker: Worker,
    readonly ch: Channel,
    readonly control: MessagePort,
  ) {
    this.slotRequest = new Array<Request | undefined>(ch.slots).fill(undefined);
    for (let s = ch.slots - 1; s >= 0; s--) this.freeSlots.push(s);
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
  }

  /** Starts worker `id` with rings of `queueDepth` slots. */
  static start(id: number, queueDepth: number, init: LaneInit): Lane {
    const buffers = createChannelBuffers(queueDepth);
    const { port1, port2 } = new MessageChannel();
    const workerInit: WorkerInit = { ...init, workerId: id, buffers, control: port2 };
    const worker = new Worker(workerBootCode(), { eval: true, workerData: workerInit, transferList: [port2] });
    return new Lane(id, worker, new Channel(buffers), port1);
  }

  /** Resolves with undefined when the worker is up, or with why it is not. */
  started(): Promise<string | undefined> {
    return new Promise<string | undefined>((resolve) => {
      const onMessage = (m: WorkerReply): void => {
        if (m.type === 'ready') resolve(undefined);
        else if (m.type === 'open-error') resolve(m.message);
        else return;
        this.worker.off('message', onMessage);
      };
      this.worker.on('message', onMessage);
      void this.exited.then((code) => resolve(`worker exited with code ${code} while starting${this.lastError ? `: ${this.lastError.message}` : ''}`));
    });
  }

  send(message: ControlMessage): void {
    this.control.postMessage(message);
    Atomics.add(this.ch.ctl, CTL.CONTROL, 1);
    Atomics.add(this.ch.ctl, CTL.WAKE, 1);
    Atomics.notify(this.ch.ctl, CTL.WAKE);
  }

  /** Asks the worker to stop (terminated after a grace) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.state === 'dead') return;
    this.state = 'stopping';
    this.send({ type: 'stop' });
    const timer = setTimeout(() => void this.worker.terminate(), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
    this.control.close();
  }

  /** Writes `request` into a free slot and puts the slot in the ring (announced by ringDoorbell). */
  submit(request: Request): void {
    const slot = this.freeSlots.pop();
    // the queue submits only to a lane with a free slot
    if (slot === undefined) throw new NativeXrpError('EAGAIN', `native XRP worker ${this.id} has no free slot`);
    const { ch } = this;
    const mi = slot * MI.COUNT;
    const mf = slot * MF.COUNT;
    ch.mf[mf + MF.OFFSET] = request.offsetBytes;
    ch.mi[mi + MI.SIZE] = request.sizeBytes;
    ch.mi[mi + MI.FLAGS] = request.flags;
    ch.mi[mi + MI.LIMIT] = request.resubmitLimit;
    ch.scratch.set(request.scratch.subarray(0, PAGE), slot * PAGE);
    this.slotRequest[slot] = request;
    ch.ctl[ch.sqBase + (this.sqTail & ch.mask)] = slot;
    this.sqTail = (this.sqTail + 1) | 0;
    this.inFlight++;
  }

  /** Announces the submissions since the last doorbell and wakes the worker. */
  ringDoorbell(): void {
    this.doorbellDue = false;
    if (this.state === 'dead') return;
    Atomics.store(this.ch.ctl, CTL.SQ_TAIL, this.sqTail);
    Atomics.add(this.ch.ctl, CTL.WAKE, 1);
    Atomics.notify(this.ch.ctl, CTL.WAKE);
  }

  /** Requests the worker has taken from its ring (a counter that only grows; wraps harmlessly). */
  taken(): number {
    return Atomics.load(this.ch.ctl, CTL.SQ_HEAD);
  }

  /** Whether the ring holds announced submissions that the worker has not taken yet. */
  hasUntaken(): boolean {
    return this.state === 'ready' && !this.doorbellDue && this.taken() !== this.sqTail;
  }

  /** Resolves the completions of the ring; returns how many entries it held (inFlight counts the requests resolved). */
  drain(): number {
    const { ch } = this;
    const tail = Atomics.load(ch.ctl, CTL.CQ_TAIL);
    if (tail === this.cqHead) return 0;
    const count = (tail - this.cqHead) | 0;
    while (this.cqHead !== tail) {
      const slot = ch.ctl[ch.cqBase + (this.cqHead & ch.mask)]!;
      this.cqHead = (this.cqHead + 1) | 0;
      const request = this.slotRequest[slot];
      if (request === undefined) continue;
      this.slotRequest[slot] = undefined;
      this.freeSlots.push(slot);
      this.inFlight--;
      request.scratch.set(ch.scratch.subarray(slot * PAGE, (slot + 1) * PAGE));
      if (request.data !== undefined) request.data.set(ch.data.subarray(slot * PAGE, (slot + 1) * PAGE));
      request.resolve(this.resultOf(slot));
    }
    Atomics.store(ch.ctl, CTL.CQ_HEAD, this.cqHead);
    return count;
  }

  private resultOf(slot: number): NativeXrpResult {
    const { ch } = this;
    const mi = slot * MI.COUNT;
    const mf = slot * MF.COUNT;
    const lo = ch.mi[mi + MI.R0_LO]!;
    const hi = ch.mi[mi + MI.R0_HI]!;
    const status = ch.mi[mi + MI.STATUS]! as XrpStatusCode;
    const listed = ch.mi[mi + MI.PENDING]!;
    const pending: XrpRead[] = [];
    for (let i = 0; i < listed; i++) {
      pending.push({ offsetBytes: ch.pendingOffsets[slot * PENDING_MAX + i]!, sizeBytes: ch.pendingSizes[slot * PENDING_MAX + i]! });
    }
    return {
      status,
      statusName: xrpStatusName(status),
      partial: status !== XrpStatus.DONE,
      progRet: hi === 0 && lo === 0 ? 0n : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0),
      reads: ch.mi[mi + MI.READS]!,
      resubmissions: ch.mi[mi + MI.RESUBMISSIONS]!,
      runs: ch.mi[mi + MI.RUNS]!,
      insnsExecuted: ch.mf[mf + MF.INSNS]!,
      stopOffsetBytes: ch.mf[mf + MF.STOP_OFFSET]!,
      pending,
      pendingTruncated: ch.mi[mi + MI.PENDING_ALL]! > listed,
      ends: ch.mi[mi + MI.ENDS]!,
      detail: ch.readDetail(slot),
      workerId: this.id,
    };
  }

  /**
   * After the worker died (its completions drained): the requests still in the
   * ring, never taken, to go to other workers, and those it had taken, which
   * failed. Empties the lane.
   */
  abandon(): { untaken: Request[]; taken: Request[] } {
    const untaken: Request[] = [];
    for (let i = this.taken(); i !== this.sqTail; i = (i + 1) | 0) {
      const slot = this.ch.ctl[this.ch.sqBase + (i & this.ch.mask)]!;
      const request = this.slotRequest[slot];
      if (request === undefined) continue;
      this.slotRequest[slot] = undefined;
      untaken.push(request);
    }
    const taken: Request[] = [];
    for (let slot = 0; slot < this.slotRequest.length; slot++) {
      const request = this.slotRequest[slot];
      if (request === undefined) continue;
      this.slotRequest[slot] = undefined;
      taken.push(request);
    }
    this.inFlight = 0;
    return { untaken, taken };
  }
}
