// Device timing profiles, as data. Every number is a calibration input from a
// public source named beside it; nothing here is fitted to a benchmark curve.
//
// Timing model (controller.ts): a command's device time = a base latency + its
// transfer time (bytes / transfer rate); the controller serves at most
// `parallelism` commands at once, and admits commands no faster than its IOPS
// ceiling (one admission slot per 1e9/iopsMax ns, or the transfer time if longer).
// At queue depth 1 a 512-byte read therefore takes exactly readLatency512Ns.

import { DeviceError } from './errors.ts';

export interface DeviceProfile {
  readonly name: string;
  readonly description: string;
  /** Where the numbers come from. */
  readonly source: string;
  /** Device time of one 512-byte read at queue depth 1 (doorbell to completion entry). */
  readonly readLatency512Ns: number;
  /** Device time of one 512-byte write at queue depth 1. */
  readonly writeLatency512Ns: number;
  /** Sequential transfer rates, used for the size-dependent part of the latency. */
  readonly readBytesPerSec: number;
  readonly writeBytesPerSec: number;
  /** Random-read and random-write command-rate ceilings. */
  readonly readIopsMax: number;
  readonly writeIopsMax: number;
  /** Commands the device works on at once (channels x dies, or Little's law on the data sheet). */
  readonly parallelism: number;
  /** I/O queue pairs and entries per queue the controller supports. */
  readonly maxQueuePairs: number;
  readonly maxQueueDepth: number;
  /** Largest transfer of one command (MDTS). */
  readonly maxTransferBytes: number;
}

export const OPTANE_P5800X: DeviceProfile = {
  name: 'optane-p5800x',
  description: 'Intel Optane SSD DC P5800X (3D XPoint), as in the XRP paper',
  source:
    '512 B read device time 3224 ns at QD1: XRP paper (OSDI 22) Table 1; ~5M IOPS for 512 B random reads: ' +
    'XRP paper section 2 / Intel P5800X product brief; 7200 MB/s sequential read, 6200 MB/s sequential write, 1.5M 4 KB ' +
    'random write IOPS, ~5 us write latency: Intel P5800X product specifications. ' +
    'Parallelism 17 = ceil(5M IOPS x 3.224 us) by Little\'s law; 128 I/O queues.',
  readLatency512Ns: 3224,
  writeLatency512Ns: 5000,
  readBytesPerSec: 7_200_000_000,
  writeBytesPerSec: 6_200_000_000,
  readIopsMax: 5_000_000,
  writeIopsMax: 1_500_000,
  parallelism: 17,
  maxQueuePairs: 128,
  maxQueueDepth: 4096,
  maxTransferBytes: 128 * 1024,
};

export const TLC_980PRO: DeviceProfile = {
  name: 'tlc-980pro',
  description: 'TLC NAND SSD like the Samsung 980 PRO 1 TB (PCIe 4.0)',
  source:
    'Samsung 980 PRO data sheet (rev 1.0, 2020), 1 TB: random read 4 KB QD1 22,000 IOPS (=> ~45 us per ' +
    'read, taken as device time), random write 4 KB QD1 60,000 IOPS (~16.7 us), random read 4 KB QD32 ' +
    '1,000,000 IOPS, random write 1,000,000 IOPS, sequential read 7,000 MB/s, write 5,000 MB/s; ' +
    'parallelism 64 (8 channels x 8 dies, covers 1M IOPS x 45 us by Little\'s law); 128 I/O queues.',
  readLatency512Ns: 45_454,
  writeLatency512Ns: 16_667,
  readBytesPerSec: 7_000_000_000,
  writeBytesPerSec: 5_000_000_000,
  readIopsMax: 1_000_000,
  writeIopsMax: 1_000_000,
  parallelism: 64,
  maxQueuePairs: 128,
  maxQueueDepth: 1024,
  maxTransferBytes: 512 * 1024,
};

export const DEVICE_PROFILES: ReadonlyMap<string, DeviceProfile> = new Map([
  [OPTANE_P5800X.name, OPTANE_P5800X],
  [TLC_980PRO.name, TLC_980PRO],
]);

export function deviceProfile(name: string): DeviceProfile {
  const p = DEVICE_PROFILES.get(name);
  if (p === undefined) {
    throw new DeviceError(`unknown device profile '${name}'; known: ${[...DEVICE_PROFILES.keys()].join(', ')}`);
  }
  return p;
}

/** Checks that a profile is usable (positive integers where the model needs them). */
export function validateProfile(p: DeviceProfile): void {
  const ints: (keyof DeviceProfile)[] = [
    'readLatency512Ns', 'writeLatency512Ns', 'readBytesPerSec', 'writeBytesPerSec', 'readIopsMax',
    'writeIopsMax', 'parallelism', 'maxQueuePairs', 'maxQueueDepth', 'maxTransferBytes',
  ];
  for (const key of ints) {
    const v = p[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new DeviceError(`device profile '${p.name}': ${key} must be a positive integer, got ${String(v)}`);
    }
  }
  if (transferNs(512, p.readBytesPerSec) >= p.readLatency512Ns) {
    throw new DeviceError(`device profile '${p.name}': readLatency512Ns is shorter than the transfer of 512 bytes`);
  }
  if (transferNs(512, p.writeBytesPerSec) >= p.writeLatency512Ns) {
    throw new DeviceError(`device profile '${p.name}': writeLatency512Ns is shorter than the transfer of 512 bytes`);
  }
}

/** Integer transfer time of `bytes` at `bytesPerSec`. */
export function transferNs(bytes: number, bytesPerSec: number): number {
  return Math.round((bytes * 1e9) / bytesPerSec);
}
