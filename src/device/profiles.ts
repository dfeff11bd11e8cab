// Device timing profiles, as data. Every number is a calibration input from a
// public source named beside it; nothing here is fitted to a benchmark curve.
//
// Timing model (controller.ts): a read's service time is drawn from the
// profile's latency shape (timing.ts: quantiles of the queue-depth-1 latency a
// data sheet or a published measurement gives), scaled to the profile's mean,
// plus its transfer time. Optane serves at most `parallelism` commands at once
// with no conflicts between them; NAND (`nand`) is channels x dies: a read holds
// the die its page lives on for its service time, then the die's channel for
// the transfer, so a read to a busy die or channel waits. Both admit commands
// no faster than the IOPS ceiling (one admission per 1e9/iopsMax ns).
//
// readLatency512Ns is the device time as the host driver measures it (Table 1
// on Optane): it includes the completion's delivery (MSI-X interrupt and IRQ
// entry/exit), which the controller subtracts when a machine tells it what the
// host's delivery costs (ControllerOptions.completionDeliveryNs), so the
// device posts its completion that much earlier and a polling driver sees it then.

import { DeviceError } from './errors.ts';
import type { QuantileAnchor } from './timing.ts';

/** NAND internal parallelism: channels, independent read units (dies x planes) per channel. */
export interface NandGeometry {
  readonly channels: number;
  readonly diesPerChannel: number;
  /** Bytes per second of one channel's bus (the NAND interface speed). */
  readonly channelBytesPerSec: number;
  /** Bytes of the logical stripe unit: consecutive units go to consecutive channels, then dies. */
  readonly stripeBytes: number;
}

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
  /** Quantiles of the QD1 read latency as multiples of its mean; null: every read takes the mean. */
  readonly readShape: readonly QuantileAnchor[] | null;
  /** NAND channels x dies; null for media without die conflicts (3D XPoint). */
  readonly nand: NandGeometry | null;
}

/**
 * 3D XPoint QD1 4 KiB random read, measured on the Optane DC P4800X by
 * AnandTech ("Intel Optane SSD DC P4800X review", 2017, Checking Intel's
 * numbers): mean 8.9 us, median 9, p99 10, p99.999 37 (Intel's specification:
 * p99.999 below 60 us). As multiples of the mean: 1.011, 1.124, 4.16. The
 * minimum is not published; 0.85 keeps the body as narrow as median-to-p99.
 */
export const XPOINT_READ_SHAPE: readonly QuantileAnchor[] = [[0, 0.85], [0.5, 1.011], [0.99, 1.124], [0.99999, 4.16]];

/**
 * Data-center NAND QD1 4 KiB random read, measured on the Intel SSD DC P3700
 * by AnandTech (same review and table): mean 77.9 us, median 76, p99 96,
 * p99.999 2768 (read retries and background work behind a read). As multiples
 * of the mean: 0.976, 1.232, 35.5. Minimum 0.85 as above.
 */
export const NAND_READ_SHAPE: readonly QuantileAnchor[] = [[0, 0.85], [0.5, 0.976], [0.99, 1.232], [0.99999, 35.5]];

export const OPTANE_P5800X: DeviceProfile = {
  name: 'optane-p5800x',
  description: 'Intel Optane SSD DC P5800X (3D XPoint), as in the XRP paper',
  source:
    '512 B read device time 3224 ns at QD1: XRP paper (OSDI 22) Table 1; ~5M IOPS for 512 B random reads: ' +
    'XRP paper section 2 / Intel P5800X product brief; 7200 MB/s sequential read, 6200 MB/s sequential write, 1.5M 4 KB ' +
    'random write IOPS, ~5 us write latency: Intel P5800X product specifications. ' +
    'Parallelism 17 = ceil(5M IOPS x 3.224 us) by Little\'s law; 128 I/O queues. Latency shape: XPOINT_READ_SHAPE.',
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
  readShape: XPOINT_READ_SHAPE,
  nand: null,
};

export const TLC_980PRO: DeviceProfile = {
  name: 'tlc-980pro',
  description: 'TLC NAND SSD like the Samsung 980 PRO 1 TB (PCIe 4.0)',
  source:
    'Samsung 980 PRO data sheet (rev 1.0, 2020), 1 TB: random read 4 KB QD1 22,000 IOPS (=> ~45 us per ' +
    'read, taken as device time), random write 4 KB QD1 60,000 IOPS (~16.7 us), random read 4 KB QD32 ' +
    '1,000,000 IOPS, random write 1,000,000 IOPS, sequential read 7,000 MB/s, write 5,000 MB/s; ' +
    'parallelism 64 = 8 channels (Samsung Elpis controller) x 8 read units (dies x planes), which covers 1M IOPS x 45 us by ' +
    'Little\'s law; channel bus 1.4 GB/s (Toggle DDR 4.0, 1.4 Gb/s per pin); 128 I/O queues. Latency shape: NAND_READ_SHAPE ' +
    '(Samsung publishes no QoS percentiles for the 980 PRO).',
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
  readShape: NAND_READ_SHAPE,
  nand: { channels: 8, diesPerChannel: 8, channelBytesPerSec: 1_400_000_000, stripeBytes: 16 * 1024 },
};

export const NAND_P4610: DeviceProfile = {
  name: 'nand-p4610',
  description: 'data-center TLC NAND SSD like the Intel SSD DC P4610 3.2 TB (PCIe 3.0, 64-layer TLC)',
  source:
    'Intel SSD DC P4610 product brief, 3.2 TB: typical latency read 77 us, write 18 us (4 KB, QD1); random read 4 KB ' +
    '643,000 IOPS, random write 199,000 IOPS; sequential read 3,200 MB/s, write 3,200 MB/s. 12 channels (Intel\'s NVMe ' +
    'data-center controller) x 4 read units: 48 x 1/77 us = 623K IOPS, the data sheet\'s ceiling by Little\'s law; channel ' +
    'bus 800 MB/s (ONFI 4 at 800 MT/s). Latency shape: NAND_READ_SHAPE (an Intel data-center NAND drive measured at QD1).',
  readLatency512Ns: 77_000,
  writeLatency512Ns: 18_000,
  readBytesPerSec: 3_200_000_000,
  writeBytesPerSec: 3_200_000_000,
  readIopsMax: 643_000,
  writeIopsMax: 199_000,
  parallelism: 48,
  maxQueuePairs: 128,
  maxQueueDepth: 4096,
  maxTransferBytes: 128 * 1024,
  readShape: NAND_READ_SHAPE,
  nand: { channels: 12, diesPerChannel: 4, channelBytesPerSec: 800_000_000, stripeBytes: 16 * 1024 },
};

export const DEVICE_PROFILES: ReadonlyMap<string, DeviceProfile> = new Map([
  [OPTANE_P5800X.name, OPTANE_P5800X],
  [TLC_980PRO.name, TLC_980PRO],
  [NAND_P4610.name, NAND_P4610],
]);

/** The profile with every read taking its mean (no variance): for tests of exact path arithmetic. */
export function constantTiming(p: DeviceProfile): DeviceProfile {
  return { ...p, name: `${p.name}-constant`, readShape: null };
}

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
  if (p.nand !== null) {
    const g = p.nand;
    for (const key of ['channels', 'diesPerChannel', 'channelBytesPerSec', 'stripeBytes'] as const) {
      if (!Number.isSafeInteger(g[key]) || g[key] <= 0) throw new DeviceError(`device profile '${p.name}': nand.${key} must be a positive integer, got ${String(g[key])}`);
    }
    if (g.channels * g.diesPerChannel !== p.parallelism) {
      throw new DeviceError(`device profile '${p.name}': parallelism ${p.parallelism} must be nand.channels x nand.diesPerChannel (${g.channels * g.diesPerChannel})`);
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
