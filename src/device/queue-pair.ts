// One NVMe I/O queue pair: a submission ring of command ids and a completion ring
// of entries with phase tags, each with its doorbell. Command slots (the memory
// the host builds commands in) are indexed by command id (the blk-mq tag).
// `depth` is the number of commands that may be outstanding at once.

import { NvmeCommand, NvmeCompletion } from './command.ts';
import { DeviceError } from './errors.ts';
import type { EventTarget } from '../sim/event-queue.ts';
import type { IrqSource } from '../sim/thread.ts';
import type { NvmeController } from './controller.ts';

/** NVMe Interrupt Coalescing (Set Features 08h): raise after `threshold` entries or `timeNs` after the first, whichever is first. */
export interface IrqCoalescing {
  threshold: number;
  timeNs: number;
}

export interface QueueIrq {
  coreId: number;
  source: IrqSource;
  /** Time from the device's MSI-X write to the interrupt reaching the core (no CPU). */
  deliveryNs?: number;
  /** Off (null, Linux's default) unless set. */
  coalescing?: IrqCoalescing | null;
}

const TAG_IRQ_DELIVERED = -1;
const TAG_COALESCE_TIMER = -2;

export interface QueuePairOptions {
  depth: number;
  /** MSI-X vector: the core it interrupts and the handler; null for a polled queue (SPDK). */
  irq: QueueIrq | null;
  /** Called when a completion entry is posted (lets a poller notice it without per-iteration events). */
  onCqePosted?: (() => void) | null;
}

export class QueuePair implements EventTarget {
  readonly commands: NvmeCommand[] = [];
  private readonly sqRing: Int32Array;
  private readonly cqRing: NvmeCompletion[] = [];
  private readonly ringSize: number;
  /** Host-side producer index of the SQ, device-side consumer index. */
  private sqTail = 0;
  sqHead = 0;
  private sqDoorbell = 0;
  /** Device-side producer index of the CQ, host-side consumer index. */
  private cqTail = 0;
  private cqHead = 0;
  private devicePhase = 1;
  private hostPhase = 1;
  private irqRaised = false;
  /** Interrupt coalescing: entries posted since the last interrupt, and whether its timer runs. */
  private coalescedEntries = 0;
  private coalesceTimerArmed = false;
  /** Commands submitted (doorbell rung) but not yet reaped by the host. */
  outstanding = 0;
  /** Device-private per-command state: status decided at fetch, fetch time. */
  readonly fetchStatus: Int32Array;
  readonly fetchNs: Float64Array;
  readonly irq: QueueIrq | null;
  readonly onCqePosted: (() => void) | null;

  constructor(
    private readonly controller: NvmeController,
    readonly id: number,
    readonly depth: number,
    options: QueuePairOptions,
  ) {
    // NVMe rings hold size-1 entries; size them so `depth` commands fit.
    this.ringSize = depth + 1;
    this.sqRing = new Int32Array(this.ringSize);
    for (let i = 0; i < depth; i++) this.commands.push(new NvmeCommand(i));
    for (let i = 0; i < this.ringSize; i++) this.cqRing.push(new NvmeCompletion());
    this.fetchStatus = new Int32Array(depth);
    this.fetchNs = new Float64Array(depth);
    this.irq = options.irq;
    this.onCqePosted = options.onCqePosted ?? null;
  }

  /** Host: places command `cid` at the SQ tail (visible to the device after ringSqDoorbell). */
  enqueue(cid: number): void {
    if (!(cid >= 0 && cid < this.depth)) throw new DeviceError(`queue ${this.id}: command id ${cid} out of range 0..${this.depth - 1}`);
    if (this.outstanding + this.pendingInSq() >= this.depth) {
      throw new DeviceError(`queue ${this.id}: submission queue full (depth ${this.depth})`);
    }
    this.sqRing[this.sqTail] = cid;
    this.sqTail = this.sqTail + 1 === this.ringSize ? 0 : this.sqTail + 1;
  }

  /** Host: writes the SQ tail doorbell; the controller fetches the new entries now. */
  ringSqDoorbell(): void {
    this.sqDoorbell = this.sqTail;
    while (this.sqHead !== this.sqDoorbell) {
      const cid = this.sqRing[this.sqHead];
      if (cid === undefined) throw new DeviceError(`queue ${this.id}: submission ring head ${this.sqHead} outside the ring`);
      this.sqHead = this.sqHead + 1 === this.ringSize ? 0 : this.sqHead + 1;
      this.outstanding++;
      this.controller.start(this, this.command(cid));
    }
  }

  /** The command slot `cid`, or a DeviceError naming the queue and the id. */
  command(cid: number): NvmeCommand {
    const cmd = this.commands[cid];
    if (cmd === undefined) throw new DeviceError(`queue ${this.id}: command id ${cid} out of range 0..${this.depth - 1}`);
    return cmd;
  }

  /** Host: the completion entry at the CQ head if the device has posted one, else null. */
  peekCompletion(): NvmeCompletion | null {
    const e = this.cqRing[this.cqHead];
    if (e === undefined) throw new DeviceError(`queue ${this.id}: completion ring head ${this.cqHead} outside the ring`);
    return e.phase === this.hostPhase ? e : null;
  }

  /** Host: consumes the entry at the CQ head. */
  popCompletion(): void {
    if (this.peekCompletion() === null) throw new DeviceError(`queue ${this.id}: no completion to consume`);
    this.outstanding--;
    this.cqHead++;
    if (this.cqHead === this.ringSize) {
      this.cqHead = 0;
      this.hostPhase ^= 1;
    }
  }

  /** Host: writes the CQ head doorbell, which also re-arms the interrupt. */
  ringCqDoorbell(): void {
    this.irqRaised = false;
    if (this.peekCompletion() !== null) this.raise(false);
  }

  /** Device events: a command with id `tag` finished its service; an interrupt arrives; the coalescing timer. */
  onEvent(tag: number): void {
    if (tag === TAG_IRQ_DELIVERED) {
      // Only a queue with an interrupt vector schedules its delivery.
      const irq = this.irq;
      if (irq === null) throw new DeviceError(`queue ${this.id}: interrupt delivered to a polled queue`);
      this.controller.sim.raiseInterrupt(irq.coreId, irq.source, true);
      return;
    }
    if (tag === TAG_COALESCE_TIMER) {
      this.coalesceTimerArmed = false;
      if (!this.irqRaised && this.coalescedEntries > 0) this.raise(true);
      return;
    }
    this.controller.finish(this, this.command(tag));
  }

  /** Device: posts a completion entry and signals the host. */
  post(cid: number, status: number): void {
    const e = this.cqRing[this.cqTail];
    if (e === undefined) throw new DeviceError(`queue ${this.id}: completion ring tail ${this.cqTail} outside the ring`);
    e.cid = cid;
    e.status = status;
    e.sqHead = this.sqHead;
    e.sqId = this.id;
    e.phase = this.devicePhase;
    this.cqTail++;
    if (this.cqTail === this.ringSize) {
      this.cqTail = 0;
      this.devicePhase ^= 1;
    }
    if (this.onCqePosted !== null) this.onCqePosted();
    const irq = this.irq;
    if (irq === null || this.irqRaised) return;
    const co = irq.coalescing ?? null;
    if (co !== null) {
      this.coalescedEntries++;
      if (this.coalescedEntries < co.threshold) {
        if (!this.coalesceTimerArmed) {
          this.coalesceTimerArmed = true;
          this.controller.sim.at(this.controller.sim.nowNs + co.timeNs, this, TAG_COALESCE_TIMER);
        }
        return;
      }
    }
    // Last act of the device's completion event: the handler may start at once.
    this.raise(true);
  }

  private raise(fromDeviceEvent: boolean): void {
    const irq = this.irq;
    if (irq === null) return;
    this.irqRaised = true;
    this.coalescedEntries = 0;
    const deliveryNs = irq.deliveryNs ?? 0;
    if (deliveryNs > 0) {
      this.controller.sim.at(this.controller.sim.nowNs + deliveryNs, this, TAG_IRQ_DELIVERED);
      return;
    }
    this.controller.sim.raiseInterrupt(irq.coreId, irq.source, fromDeviceEvent);
  }

  private pendingInSq(): number {
    return (this.sqTail - this.sqHead + this.ringSize) % this.ringSize;
  }
}
