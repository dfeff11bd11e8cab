// The emulated kernel: ties the file system, the block layer and the NVMe
// driver together, owns the cost model and the per-layer read breakdown, and
// creates processes (address space + fd table) that make syscalls.

import { BlockLayer } from './block.ts';
import { DEFAULT_KERNEL_COSTS, LayerBreakdown } from './costs.ts';
import type { KernelCosts } from './costs.ts';
import type { FileSystem } from './fs/fs.ts';
import type { NvmeDriver } from './nvme-driver.ts';
import { Process } from './syscalls.ts';
import { SimError } from '../sim/errors.ts';
import type { Simulator } from '../sim/simulator.ts';

export interface KernelOptions {
  costs?: Partial<KernelCosts>;
}

export class Kernel {
  readonly costs: KernelCosts;
  readonly block: BlockLayer;
  /** Per-layer time of every successful read()/pread() of a regular file. */
  readonly breakdown = new LayerBreakdown();
  private nextPid = 1;

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

  /** A new process with `memoryBytes` of user address space (regions are mapped with proc.alloc). */
  createProcess(name = `proc-${this.nextPid}`, memoryBytes = 16 << 20): Process {
    return new Process(this, this.nextPid++, name, memoryBytes);
  }
}
