// The NVMe controller: queue pairs, command validation, the timing model and the
// data movement to and from the image.
//
// Timing (all integer ns): when a command is fetched at time T it is admitted at
//   admit = max(T, admission gate free)
// and the gate then stays busy for max(1e9 / IOPS ceiling, host transfer time)
// (the controller's command rate and the shared data path). A read's base time
// is drawn from the profile's latency shape (timing.ts, the run's PRNG) with mean
// = QD1 512-byte latency - 512-byte transfer - the host's completion delivery.
//   Optane (no die conflicts): the command holds the earliest-free of
//   `parallelism` service slots for base + host transfer.
//   NAND: the read's stripe unit lives on one die of one channel; it starts when
//   that die is free, holds it for its base time, then waits for the channel and
//   holds both for the channel transfer. A read to a busy die waits.
// Writes (buffered in the controller's DRAM on NAND) take their base + transfer
// in a slot. Completions are posted when service ends; the data is copied
// (reads from the image into the buffer, writes from the buffer to the image) at
// that moment. So at low load a command takes its base + transfer time, and under
// load it waits for dies, slots and admissions: latency rises because of the device.

import { LOGICAL_BLOCK_BYTES, NVME_OP_READ, NVME_OP_WRITE, NVME_SC_DATA_TRANSFER_ERROR, NVME_SC_INVALID_FIELD, NVME_SC_INVALID_OPCODE, NVME_SC_LBA_OUT_OF_RANGE, NVME_SC_SUCCESS, NVME_SC_UNRECOVERED_READ_ERROR } from './command.ts';
import type { NvmeCommand } from './command.ts';
import { DeviceError } from './errors.ts';
import type { BackingStore } from './backing-store.ts';
import { deviceProfile, transferNs, validateProfile } from './profiles.ts';
import type { DeviceProfile, NandGeometry } from './profiles.ts';
import { QueuePair } from './queue-pair.ts';
import { ServiceTime } from './timing.ts';
import type { QueuePairOptions } from './queue-pair.ts';
import type { Simulator } from '../sim/simulator.ts';

interface NandState {
  readonly geometry: NandGeometry;
  readonly dieFreeNs: Float64Array;
  readonly channelFreeNs: Float64Array;
}

export interface ControllerOptions {
  profile: string | DeviceProfile;
  /** Usually an ImageStore (a real image file). */
  store: BackingStore;
  /**
   * Part of the profile's driver-side read latency that is the host's completion
   * delivery (MSI-X interrupt, IRQ entry and exit): the device posts completions
   * this much earlier. 0 (default): the profile latency is all device.
   */
  completionDeliveryNs?: number;
}

export interface DeviceStats {
  reads: number;
  writes: number;
  errors: number;
  bytesRead: number;
  bytesWritten: number;
  /** Sum over commands of (completion - fetch) in ns. */
  deviceTimeNs: number;
}

export class NvmeController {
  readonly profile: DeviceProfile;
  readonly store: BackingStore;
  readonly capacityBlocks: number;
  readonly queuePairs: QueuePair[] = [];
  readonly stats: DeviceStats = { reads: 0, writes: 0, errors: 0, bytesRead: 0, bytesWritten: 0, deviceTimeNs: 0 };
  /** Injected media errors as [firstLba, endLba) ranges (see injectReadError). */
  private readonly badLbaRanges: Array<[number, number]> = [];
  /** Min-heap of the times the service slots become free. */
  private readonly slotFreeNs: Float64Array;
  private gateFreeNs = 0;
  /** Transfer time of one 512-byte block (the common command, kept out of the per-command division). */
  private readonly readXfer512Ns: number;
  private readonly writeXfer512Ns: number;
  private readonly readBaseNs: number;
  private readonly writeBaseNs: number;
  private readonly readGateNs: number;
  private readonly writeGateNs: number;
  /** The read service-time distribution, or null for a constant readBaseNs. */
  readonly readTime: ServiceTime | null;
  /** NAND: when each die and each channel is free next, and the channel transfer of 512 bytes. */
  /** NAND profiles: the geometry and when each die and channel is next free; null for the slot model. */
  private readonly nand: NandState | null;
  private readonly channelXfer512Ns: number;
  readonly completionDeliveryNs: number;

  constructor(
    readonly sim: Simulator,
    options: ControllerOptions,
  ) {
    this.profile = typeof options.profile === 'string' ? deviceProfile(options.profile) : options.profile;
    validateProfile(this.profile);
    this.store = options.store;
    if (!Number.isSafeInteger(this.store.sizeBytes) || this.store.sizeBytes < LOGICAL_BLOCK_BYTES) {
      throw new DeviceError(`${this.profile.name}: backing store of ${String(this.store.sizeBytes)} bytes holds no 512-byte block`);
    }
    this.capacityBlocks = Math.floor(this.store.sizeBytes / LOGICAL_BLOCK_BYTES);
    const p = this.profile;
    this.slotFreeNs = new Float64Array(p.parallelism);
    this.readXfer512Ns = transferNs(LOGICAL_BLOCK_BYTES, p.readBytesPerSec);
    this.writeXfer512Ns = transferNs(LOGICAL_BLOCK_BYTES, p.writeBytesPerSec);
    const delivery = options.completionDeliveryNs ?? 0;
    if (!Number.isSafeInteger(delivery) || delivery < 0) throw new DeviceError(`${p.name}: completion delivery must be a non-negative integer of ns, got ${String(delivery)}`);
    this.completionDeliveryNs = delivery;
    this.channelXfer512Ns = p.nand === null ? this.readXfer512Ns : transferNs(LOGICAL_BLOCK_BYTES, p.nand.channelBytesPerSec);
    this.readBaseNs = p.readLatency512Ns - this.channelXfer512Ns - delivery;
    this.writeBaseNs = p.writeLatency512Ns - this.writeXfer512Ns - delivery;
    if (this.readBaseNs <= 0 || this.writeBaseNs <= 0) throw new DeviceError(`${p.name}: completion delivery ${delivery} ns leaves no device time`);
    this.readTime = p.readShape === null ? null : new ServiceTime(p.readShape, this.readBaseNs, p.name);
    this.nand = p.nand === null ? null : {
      geometry: p.nand,
      dieFreeNs: new Float64Array(p.nand.channels * p.nand.diesPerChannel),
      channelFreeNs: new Float64Array(p.nand.channels),
    };
    this.readGateNs = Math.ceil(1e9 / p.readIopsMax);
    this.writeGateNs = Math.ceil(1e9 / p.writeIopsMax);
  }

  /** Creates an I/O queue pair (Create I/O SQ/CQ admin commands). */
  createQueuePair(options: QueuePairOptions): QueuePair {
    const p = this.profile;
    if (this.queuePairs.length >= p.maxQueuePairs) {
      throw new DeviceError(`${p.name}: all ${p.maxQueuePairs} I/O queue pairs are in use`);
    }
    if (!Number.isSafeInteger(options.depth) || options.depth < 1 || options.depth > p.maxQueueDepth) {
      throw new DeviceError(`${p.name}: queue depth must be 1..${p.maxQueueDepth}, got ${String(options.depth)}`);
    }
    if (options.irq !== null && (options.irq.coreId < 0 || options.irq.coreId >= this.sim.cores.length)) {
      throw new DeviceError(`${p.name}: interrupt target core ${options.irq.coreId} does not exist`);
    }
    const d = options.irq?.deliveryNs ?? 0;
    if (!Number.isSafeInteger(d) || d < 0) throw new DeviceError(`${p.name}: interrupt delivery must be a non-negative integer of ns, got ${String(d)}`);
    const co = options.irq?.coalescing ?? null;
    if (co !== null && (!Number.isSafeInteger(co.threshold) || co.threshold < 1 || co.threshold > 256 || !Number.isSafeInteger(co.timeNs) || co.timeNs < 1)) {
      throw new DeviceError(`${p.name}: interrupt coalescing needs a threshold 1..256 entries and a positive time, got ${co.threshold} entries / ${co.timeNs} ns`);
    }
    const qp = new QueuePair(this, this.queuePairs.length + 1, options.depth, options);
    this.queuePairs.push(qp);
    return qp;
  }

  /**
   * Injects a media error: every later read that touches `blocks` logical
   * blocks from `slba` takes its full device time and then fails with
   * Unrecovered Read Error, as a bad NAND page or Optane line would. Writes are
   * unaffected. For tests of the error paths above the device.
   */
  injectReadError(slba: number, blocks: number): void {
    if (!Number.isSafeInteger(slba) || !Number.isSafeInteger(blocks) || slba < 0 || blocks <= 0 || slba + blocks > this.capacityBlocks) {
      throw new DeviceError(`injectReadError: LBA range ${String(slba)}+${String(blocks)} is not inside the device's ${this.capacityBlocks} blocks`);
    }
    this.badLbaRanges.push([slba, slba + blocks]);
  }

  /** Removes every injected media error. */
  clearInjectedErrors(): void {
    this.badLbaRanges.length = 0;
  }

  private readHitsMediaError(cmd: NvmeCommand): boolean {
    const end = cmd.slba + cmd.nlb + 1;
    for (const [bad, badEnd] of this.badLbaRanges) if (cmd.slba < badEnd && bad < end) return true;
    return false;
  }

  /** Validates a fetched command; returns an NVMe status. */
  private check(cmd: NvmeCommand): number {
    if (cmd.opcode !== NVME_OP_READ && cmd.opcode !== NVME_OP_WRITE) return NVME_SC_INVALID_OPCODE;
    if (!Number.isSafeInteger(cmd.slba) || !Number.isSafeInteger(cmd.nlb) || cmd.slba < 0 || cmd.nlb < 0 || cmd.nlb > 0xffff) {
      return NVME_SC_INVALID_FIELD;
    }
    if (cmd.slba + cmd.nlb + 1 > this.capacityBlocks) return NVME_SC_LBA_OUT_OF_RANGE;
    const bytes = (cmd.nlb + 1) * LOGICAL_BLOCK_BYTES;
    if (bytes > this.profile.maxTransferBytes) return NVME_SC_INVALID_FIELD;
    if (!Number.isSafeInteger(cmd.bufOffset) || cmd.bufOffset < 0 || cmd.bufOffset + bytes > cmd.buf.length) {
      return NVME_SC_DATA_TRANSFER_ERROR;
    }
    return NVME_SC_SUCCESS;
  }

  /** Called when a queue's doorbell makes the controller fetch a command. */
  start(qp: QueuePair, cmd: NvmeCommand): void {
    const now = this.sim.nowNs;
    const status = this.check(cmd);
    qp.fetchStatus[cmd.cid] = status;
    qp.fetchNs[cmd.cid] = now;
    const isRead = cmd.opcode === NVME_OP_READ;
    let startNs = now > this.gateFreeNs ? now : this.gateFreeNs;
    if (status !== NVME_SC_SUCCESS) {
      // Rejected commands only pass the admission gate.
      this.gateFreeNs = startNs + this.readGateNs;
      this.sim.at(this.gateFreeNs, qp, cmd.cid);
      return;
    }
    const bytes = (cmd.nlb + 1) * LOGICAL_BLOCK_BYTES;
    const xferNs = cmd.nlb === 0
      ? (isRead ? this.readXfer512Ns : this.writeXfer512Ns)
      : transferNs(bytes, isRead ? this.profile.readBytesPerSec : this.profile.writeBytesPerSec);
    const gateNs = isRead ? this.readGateNs : this.writeGateNs;
    this.gateFreeNs = startNs + (xferNs > gateNs ? xferNs : gateNs);
    const baseNs = isRead ? (this.readTime === null ? this.readBaseNs : this.readTime.sample(this.sim.rng)) : this.writeBaseNs;
    const nand = this.nand;
    if (isRead && nand !== null) {
      this.sim.at(this.nandRead(cmd, bytes, startNs, baseNs, nand), qp, cmd.cid);
      return;
    }
    const slots = this.slotFreeNs;
    const earliestNs = slots[0];
    if (earliestNs !== undefined && earliestNs > startNs) startNs = earliestNs;
    const doneNs = startNs + baseNs + xferNs;
    // Replace the earliest-free slot with this command's end (sift down; a slot past the end is undefined).
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      const left = slots[c];
      if (left === undefined) break;
      const right = slots[c + 1];
      let childNs = left;
      if (right !== undefined && right < left) {
        c++;
        childNs = right;
      }
      if (doneNs <= childNs) break;
      slots[i] = childNs;
      i = c;
    }
    slots[i] = doneNs;
    this.sim.at(doneNs, qp, cmd.cid);
  }

  /** A NAND read admitted at `admitNs`: its die, then its channel; returns when the data is out. */
  private nandRead(cmd: NvmeCommand, bytes: number, admitNs: number, baseNs: number, nand: NandState): number {
    const { geometry: g, dieFreeNs: dies, channelFreeNs: channels } = nand;
    const die = Math.floor((cmd.slba * LOGICAL_BLOCK_BYTES) / g.stripeBytes) % dies.length;
    const channel = die % g.channels;
    const dieFreeNs = dies[die];
    const channelFreeNs = channels[channel];
    if (dieFreeNs === undefined || channelFreeNs === undefined) throw new DeviceError(`${this.profile.name}: NAND die ${die} or channel ${channel} outside the geometry`);
    const dieStartNs = dieFreeNs > admitNs ? dieFreeNs : admitNs;
    const sensedNs = dieStartNs + baseNs;
    const xferStartNs = channelFreeNs > sensedNs ? channelFreeNs : sensedNs;
    const doneNs = xferStartNs + (cmd.nlb === 0 ? this.channelXfer512Ns : transferNs(bytes, g.channelBytesPerSec));
    // The die's page register holds the data until the channel has moved it out.
    dies[die] = doneNs;
    channels[channel] = doneNs;
    return doneNs;
  }

  /** Completion event of a command: move the data, post the entry. */
  finish(qp: QueuePair, cmd: NvmeCommand): void {
    let status = qp.fetchStatus[cmd.cid];
    const fetchNs = qp.fetchNs[cmd.cid];
    if (status === undefined || fetchNs === undefined) throw new DeviceError(`queue ${qp.id}: completion of command id ${cmd.cid}, outside the queue`);
    if (status === NVME_SC_SUCCESS && this.badLbaRanges.length !== 0 && cmd.opcode === NVME_OP_READ && this.readHitsMediaError(cmd)) {
      status = NVME_SC_UNRECOVERED_READ_ERROR;
    }
    if (status === NVME_SC_SUCCESS) {
      const bytes = (cmd.nlb + 1) * LOGICAL_BLOCK_BYTES;
      const offsetBytes = cmd.slba * LOGICAL_BLOCK_BYTES;
      try {
        if (cmd.opcode === NVME_OP_READ) {
          this.store.read(offsetBytes, cmd.buf, cmd.bufOffset, bytes);
          this.stats.reads++;
          this.stats.bytesRead += bytes;
        } else {
          this.store.write(offsetBytes, cmd.buf, cmd.bufOffset, bytes);
          this.stats.writes++;
          this.stats.bytesWritten += bytes;
        }
      } catch (error) {
        if (!(error instanceof DeviceError)) throw error;
        status = NVME_SC_DATA_TRANSFER_ERROR;
      }
    }
    if (status !== NVME_SC_SUCCESS) this.stats.errors++;
    this.stats.deviceTimeNs += this.sim.nowNs - fetchNs;
    qp.post(cmd.cid, status); // must stay last: it may run the interrupt handler
  }
}
