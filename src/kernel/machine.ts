// A whole emulated machine in one call: simulator, NVMe controller over an
// image file, NVMe driver, file system (opened or freshly made) and kernel.
// Used by the CLI, the benches and the tests.

import type { BackingStore } from '../device/backing-store.ts';
import { NvmeController } from '../device/controller.ts';
import { ImageStore } from '../device/image-store.ts';
import type { DeviceProfile } from '../device/profiles.ts';
import { Simulator } from '../sim/simulator.ts';
import type { SchedParams } from '../sim/simulator.ts';
import type { KernelCosts } from './costs.ts';
import { FileSystem } from './fs/fs.ts';
import { Kernel } from './kernel.ts';
import { completionDeliveryNs, DEFAULT_IRQ_COSTS, NvmeDriver } from './nvme-driver.ts';
import type { NvmeDriverOptions } from './nvme-driver.ts';

export interface MachineOptions {
  imagePath: string;
  /** Create (sparse) and format a new image of this size; without it the image is opened. */
  mkfsBytes?: number;
  profile?: string | DeviceProfile;
  cores?: number;
  seed?: number;
  sched?: Partial<SchedParams>;
  costs?: Partial<KernelCosts>;
  /** NVMe driver options (interrupt costs, affinity, coalescing). */
  driver?: NvmeDriverOptions;
  /** Image store page-cache budget (host memory, not a simulated cache). */
  cacheBytes?: number;
  /**
   * What the device reads and writes, given the image and the mounted file
   * system (default: the image itself). BPF-KV uses it to compute the blocks of
   * huge files on demand (src/kv/overlay-store.ts).
   */
  deviceStore?: (store: ImageStore, fs: FileSystem) => BackingStore;
}

export class Machine {
  private constructor(
    readonly sim: Simulator,
    readonly store: ImageStore,
    readonly controller: NvmeController,
    readonly driver: NvmeDriver,
    readonly fs: FileSystem,
    readonly kernel: Kernel,
  ) {}

  static boot(options: MachineOptions): Machine {
    const sim = new Simulator({ cores: options.cores ?? 6, seed: options.seed ?? 1, ...(options.sched !== undefined ? { sched: options.sched } : {}) });
    const storeOptions = options.mkfsBytes !== undefined
      ? { create: true, truncate: true, sizeBytes: options.mkfsBytes, ...(options.cacheBytes !== undefined ? { cacheBytes: options.cacheBytes } : {}) }
      : { ...(options.cacheBytes !== undefined ? { cacheBytes: options.cacheBytes } : {}) };
    const store = ImageStore.open(options.imagePath, storeOptions);
    try {
      const fs = options.mkfsBytes !== undefined ? FileSystem.mkfs(store) : FileSystem.open(store);
      const deviceStore = options.deviceStore?.(store, fs) ?? store;
      // The profile's read latency is driver-side (Table 1): the device posts earlier by the host's completion delivery.
      const controller = new NvmeController(sim, { profile: options.profile ?? 'optane-p5800x', store: deviceStore, completionDeliveryNs: completionDeliveryNs({ ...DEFAULT_IRQ_COSTS, ...(options.driver?.irq ?? {}) }) });
      const driver = new NvmeDriver(sim, controller, options.driver ?? {});
      const kernel = new Kernel(sim, driver, fs, options.costs !== undefined ? { costs: options.costs } : {});
      return new Machine(sim, store, controller, driver, fs, kernel);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /** Writes the file system metadata and closes the image. */
  shutdown(): void {
    if (this.store.open) {
      this.fs.sync();
      this.store.close();
    }
  }
}
