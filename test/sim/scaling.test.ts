import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runRawReads } from '../../bench/harness/raw-nvme.ts';
import { tempDir } from '../device/helpers.ts';
import { DEFAULT_IRQ_COSTS } from '../../src/kernel/nvme-driver.ts';
import { defaultSchedParams } from '../../src/sim/simulator.ts';

// Table 1's CPU cost of the layers above the NVMe driver (crossing, syscall, ext4, bio).
const UPPER_NS = 351 + 199 + 2006 + 379;
const CPU_PER_READ_NS = UPPER_NS + 57 + 56;

test('thread scaling emerges: linear up to the core count, then CPU-bound, with queueing delay', () => {
  const { dir, cleanup } = tempDir();
  try {
    const run = (threads: number) =>
      runRawReads({ imagePath: join(dir, 'x.img'), imageBytes: 8 << 20, profile: 'optane-p5800x', cores: 6, threads, seed: 3, readsPerThread: Math.ceil(24_000 / threads), upperLayerNs: UPPER_NS });
    const one = run(1);
    const six = run(6);
    const twelve = run(12);
    // Table 1 total on an idle machine (device time at its mean) plus the sleeping reader's wake-up.
    const s = defaultSchedParams(6);
    assert.ok(Math.abs(one.latency.meanNs - (6272 + s.wakeupNs + s.contextSwitchNs)) < 0.005 * 6272, `one thread: ${one.latency.meanNs} ns`);
    assert.ok(six.iops > one.iops * 5.8, `6 threads: ${six.iops} IOPS vs ${one.iops}`);
    // 12 threads on 6 cores: the cores, not the device, are the bottleneck; each read costs its
    // layers, the interrupt's entry/exit, the wake-up and a switch in, and then also the cache
    // refill of a thread-to-thread switch.
    const perReadNs = CPU_PER_READ_NS + DEFAULT_IRQ_COSTS.irqEntryExitNs + s.wakeupNs + s.contextSwitchNs;
    const cpuBoundIops = (6 * 1e9) / perReadNs;
    const withSwitchIops = (6 * 1e9) / (perReadNs + s.cacheRefillNs);
    assert.ok(twelve.iops <= cpuBoundIops, `12 threads: ${twelve.iops} IOPS above the CPU bound ${cpuBoundIops}`);
    assert.ok(twelve.iops > withSwitchIops * 0.95, `12 threads: ${twelve.iops} IOPS, bound with switches ${withSwitchIops}`);
    assert.ok(twelve.latency.meanNs > six.latency.meanNs * 1.15, 'queueing for CPU raises latency');
  } finally {
    cleanup();
  }
});
