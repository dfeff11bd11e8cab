// CPU costs of the kernel read path: the XRP paper's Table 1 (average latency of
// one 512-byte random read() on an Intel Optane P5800X), the model's only
// calibration input. Each layer charges its cost on the calling thread's core.
//
// Where each cost is charged:
//   kernel crossing 351 ns  syscall entry (176) before the work, exit (175) after it
//   read syscall    199 ns  fd lookup, kiocb setup, rw_verify_area: on the way down
//   ext4           2006 ns  ext4_file_read_iter / iomap direct I/O and the extent lookup
//   bio             379 ns  bio allocation, submit_bio, blk-mq request: per bio
//   NVMe driver     113 ns  the driver's own split (57 submit + 56 completion IRQ)
//   device         3224 ns  device time (the device profile, not a CPU cost)

import { at } from '../base/checked.ts';

export const TABLE1_NS = {
  crossing: 351,
  readSyscall: 199,
  fs: 2006,
  bio: 379,
  nvmeDriver: 113,
  device: 3224,
} as const;

export interface KernelCosts {
  /** User-to-kernel crossing (syscall entry, incl. mitigations). */
  syscallEntryNs: number;
  /** Kernel-to-user return. */
  syscallExitNs: number;
  /** The syscall layer's own work for a read/write (fd lookup, iocb setup, checks). */
  readSyscallNs: number;
  /** File system work per read/write request (ext4 + iomap). */
  fsNs: number;
  /** Block layer work per bio (bio + blk-mq request). */
  bioNs: number;
}

export const DEFAULT_KERNEL_COSTS: KernelCosts = {
  syscallEntryNs: 176,
  syscallExitNs: TABLE1_NS.crossing - 176,
  readSyscallNs: TABLE1_NS.readSyscall,
  fsNs: TABLE1_NS.fs,
  bioNs: TABLE1_NS.bio,
};

/** Layers of the per-read breakdown, in path order. */
export const LAYER_NAMES = ['kernel crossing', 'read syscall', 'file system (ext4)', 'block layer (bio)', 'NVMe driver', 'storage device', 'wake-up / scheduling'] as const;
export const L_CROSSING = 0;
export const L_SYSCALL = 1;
export const L_FS = 2;
export const L_BIO = 3;
export const L_DRIVER = 4;
export const L_DEVICE = 5;
export const L_WAKEUP = 6;
export const LAYER_COUNT = 7;

/** Accumulates the virtual time each read spent in each layer (elapsed, so queueing for CPU counts). */
export class LayerBreakdown {
  readonly sumNs = new Float64Array(LAYER_COUNT);
  reads = 0;
  /**
   * Off by default: the read path then charges its layers as deferred CPU
   * (one simulator event instead of one per layer). On, each layer is a
   * separate CPU charge and its elapsed time is recorded.
   */
  enabled = false;

  reset(): void {
    this.sumNs.fill(0);
    this.reads = 0;
  }

  /** Adds `ns` to the sum of `layer` (one of L_CROSSING..L_WAKEUP). */
  add(layer: number, ns: number): void {
    this.sumNs[layer] = at(this.sumNs, layer, 'read breakdown layer') + ns;
  }

  meanNs(layer: number): number {
    return this.reads === 0 ? 0 : at(this.sumNs, layer, 'read breakdown layer') / this.reads;
  }

  totalMeanNs(): number {
    let s = 0;
    for (let i = 0; i < LAYER_COUNT; i++) s += this.meanNs(i);
    return s;
  }
}
