// End-to-end harness below the file system: threads issue raw NVMe reads of random
// LBAs through the kernel NVMe driver (submit on the calling core's queue, sleep,
// completion interrupt, wake-up). `upperLayerNs` stands in for the CPU cost of
// the layers above the driver when a test wants it (0 by default); the real
// read() path lives in src/kernel.

import { NvmeController } from '../../src/device/controller.ts';
import { ImageStore } from '../../src/device/image-store.ts';
import type { DeviceProfile } from '../../src/device/profiles.ts';
import { completionDeliveryNs, NvmeDriver, NvmeRequest, NVME_OP_READ } from '../../src/kernel/nvme-driver.ts';
import { Histogram } from '../../src/sim/histogram.ts';
import type { LatencySummary } from '../../src/sim/histogram.ts';
import { Simulator } from '../../src/sim/simulator.ts';
import type { SimThread, Task } from '../../src/sim/thread.ts';

export interface RawReadOptions {
  imagePath: string;
  /** Image size (created sparse if absent or smaller). */
  imageBytes: number;
  profile: string | DeviceProfile;
  cores: number;
  threads: number;
  seed: number;
  /** Reads each thread performs. */
  readsPerThread: number;
  /** Bytes per read (multiple of 512). */
  readBytes?: number;
  /** Extra CPU charged per read before submission, standing in for upper layers. */
  upperLayerNs?: number;
  /** Pin thread i to core i % cores. */
  pin?: boolean;
  cacheBytes?: number;
}

export interface RawReadResult {
  latency: LatencySummary;
  commands: number;
  simNs: number;
  iops: number;
  events: number;
  /** FNV-1a over every read's (thread, lba, latency, first bytes) in completion order. */
  digest: string;
}

export function runRawReads(options: RawReadOptions): RawReadResult {
  const sim = new Simulator({ cores: options.cores, seed: options.seed });
  const store = ImageStore.open(options.imagePath, { create: true, sizeBytes: options.imageBytes, cacheBytes: options.cacheBytes ?? 64 << 20 });
  try {
    const ctrl = new NvmeController(sim, { profile: options.profile, store, completionDeliveryNs: completionDeliveryNs() });
    const driver = new NvmeDriver(sim, ctrl);
    const readBytes = options.readBytes ?? 512;
    const blocks = readBytes / 512;
    const lbaSpan = Math.floor(ctrl.capacityBlocks / blocks);
    const hist = new Histogram();
    let digest = 0x811c9dc5;
    const mix = (x: number): void => {
      digest = Math.imul(digest ^ (x & 0xffff), 0x01000193);
      digest = Math.imul(digest ^ (x >>> 16), 0x01000193);
    };
    const upperNs = options.upperLayerNs ?? 0;
    function* reader(t: SimThread, index: number): Task {
      const buf = new Uint8Array(readBytes);
      const req = new NvmeRequest(NVME_OP_READ, 0, blocks, buf, 0);
      for (let i = 0; i < options.readsPerThread; i++) {
        const startNs = t.nowNs;
        req.slba = sim.rng.nextBelow(lbaSpan) * blocks;
        if (upperNs > 0) t.charge(upperNs); // consumed by the driver's submit charge, before the doorbell
        const status = yield* driver.submitAndWait(t, req);
        if (status !== 0) throw new Error(`read of LBA ${req.slba} failed with NVMe status ${status}`);
        const latencyNs = t.nowNs - startNs;
        hist.record(latencyNs);
        mix(index);
        mix(req.slba);
        mix(latencyNs);
        mix(buf[0]! | (buf[1]! << 8) | (buf[2]! << 16));
      }
    }
    for (let i = 0; i < options.threads; i++) {
      const affinity = options.pin === true ? { affinity: [i % options.cores] } : {};
      sim.spawn(`reader-${i}`, (t) => reader(t, i), affinity);
    }
    sim.run();
    const commands = ctrl.stats.reads;
    return {
      latency: hist.summary(),
      commands,
      simNs: sim.nowNs,
      iops: sim.nowNs === 0 ? 0 : Math.round((commands * 1e9) / sim.nowNs),
      events: sim.eventCount,
      digest: (digest >>> 0).toString(16).padStart(8, '0'),
    };
  } finally {
    store.close();
  }
}
