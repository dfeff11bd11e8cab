// The emulated kernel: ties the file system, the block layer and the NVMe
// driver together, owns the cost model and the per-layer read breakdown, and
// creates processes (address space + fd table) that make syscalls.

import { BlockLayer } from './block.ts';
import { DEFAULT_KERNEL_COSTS, LayerBreakdown } from './costs.ts';
import type { KernelCosts } from './costs.ts';
import type { FileSystem } from './fs/fs.ts';
import type { IoUringOpHandler } from './io-uring.ts';
import type { NvmeDriver } from './nvme-driver.ts';
import { Process } from './syscalls.ts';
import { SimError } from '../sim/errors.ts';
import type { Simulator } from '../sim/simulator.ts';
import type { XrpConfig } from './xrp/config.ts';

export interface KernelOptions {
  costs?: Partial<KernelCosts>;
}

export class Kernel {
  readonly costs: KernelCosts;
  readonly block: BlockLayer;
  /** Per-layer time of every successful read()/pread() of a regular file. */
  readonly breakdown = new LayerBreakdown();
  /** XRP's configuration in this kernel (src/kernel/xrp/config.ts); null until XRP is installed. */
  xrp: XrpConfig | null = null;
  private nextPid = 1;
  private readonly uringOps = new Map<number, IoUringOpHandler>();

  constructor(
    readonly sim: Simulator,
    readonly driver: NvmeDriver,
    readonly fs: FileSystem,
    options: KernelOptions = {},
  ) {
    this.costs = { ...DEFAULT_KERNEL_COSTS, ...(options.costs ?? {}) };
    for (const [k, v] of Object.entries(this.costs)) {
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw new SimError(`kernel cost ${k} must be a non-negative integer, got ${String(v)}`);
    }
    this.block = new BlockLayer(sim, driver, this.costs.bioNs);
  }

  /** Adds an io_uring opcode (XRP's IORING_OP_READ_XRP); built-in opcodes cannot be replaced. */
  registerIoUringOp(opcode: number, handler: IoUringOpHandler): void {
    if (!Number.isInteger(opcode) || opcode < 0 || opcode > 255 || opcode === 0 || opcode === 22 || opcode === 23) {
      throw new SimError(`io_uring opcode ${String(opcode)} is built in or out of range 1..255`);
    }
    this.uringOps.set(opcode, handler);
  }

  ioUringOp(opcode: number): IoUringOpHandler | null {
    return this.uringOps.get(opcode) ?? null;
  }

  /** A new process with `memoryBytes` of user address space (regions are mapped with proc.alloc). */
  createProcess(name = `proc-${this.nextPid}`, memoryBytes = 16 << 20): Process {
    return new Process(this, this.nextPid++, name, memoryBytes);
  }
}
