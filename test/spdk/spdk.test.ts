import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NvmeController } from '../../src/device/controller.ts';
import { ImageStore } from '../../src/device/image-store.ts';
import { SpdkDriver } from '../../src/spdk/spdk.ts';
import { constantTiming, OPTANE_P5800X } from '../../src/device/profiles.ts';
import type { DeviceProfile } from '../../src/device/profiles.ts';
import { completionDeliveryNs, DEFAULT_IRQ_COSTS } from '../../src/kernel/nvme-driver.ts';
import { Histogram } from '../../src/sim/histogram.ts';
import { Simulator } from '../../src/sim/simulator.ts';
import { SimError } from '../../src/sim/errors.ts';
import { tempDir } from '../device/helpers.ts';

/** Runs `threads` SPDK pollers, each doing 512 B random reads, for durationNs of virtual time. */
function runPollers(cores: number, threads: number, durationNs: number, profile: string | DeviceProfile = 'optane-p5800x') {
  const { dir, cleanup } = tempDir();
  const sim = new Simulator({ cores, seed: 9 });
  const store = ImageStore.open(join(dir, 's.img'), { create: true, sizeBytes: 8 << 20 });
  try {
    // As a machine configures it: the profile's driver-side latency minus the host's completion delivery.
    const ctrl = new NvmeController(sim, { profile, store, completionDeliveryNs: completionDeliveryNs() });
    const spdk = new SpdkDriver(sim, ctrl);
    const hist = new Histogram();
    let stop = false;
    for (let i = 0; i < threads; i++) {
      const qp = spdk.allocQpair();
      sim.spawn(`poller-${i}`, function* (t) {
        const buf = new Uint8Array(512);
        while (!stop) {
          const start = t.nowNs;
          const status = yield* qp.read(t, sim.rng.nextBelow(ctrl.capacityBlocks), 1, buf);
          assert.equal(status, 0);
          hist.record(t.nowNs - start);
        }
      });
    }
    sim.at(durationNs, { onEvent: () => { stop = true; } }, 0);
    sim.run({ untilNs: durationNs + 50_000_000 });
    return { iops: (hist.count * 1e9) / durationNs, latency: hist.summary(), sim };
  } finally {
    store.close();
    cleanup();
  }
}

test('one poller: submit + device + reap, no kernel layers, and never the interrupt delivery', () => {
  const r = runPollers(1, 1, 1_000_000, constantTiming(OPTANE_P5800X));
  // Table 1's device time is driver-side: the poller sees the completion when it is posted,
  // without the MSI-X delivery and the interrupt's entry/exit an interrupt-driven read pays.
  const mediaNs = 3224 - DEFAULT_IRQ_COSTS.irqDeliveryNs - DEFAULT_IRQ_COSTS.irqEntryExitNs;
  assert.equal(r.latency.minNs, 57 + mediaNs + 56);
  assert.equal(r.latency.maxNs, 57 + mediaNs + 56);
  assert.equal(r.sim.cores[0]!.irqCount, 0, 'polled queues raise no interrupts');
  const varied = runPollers(1, 1, 1_000_000);
  assert.ok(Math.abs(varied.latency.meanNs - (57 + mediaNs + 56)) < 0.01 * mediaNs, `mean ${varied.latency.meanNs}`);
  assert.ok(varied.latency.maxNs > varied.latency.p50Ns, 'the device gives a tail');
});

test('pollers scale up to the core count, then stop scaling: per-I/O latency and its tail explode', () => {
  const durationNs = 60_000_000;
  const three = runPollers(6, 3, durationNs);
  const six = runPollers(6, 6, durationNs);
  const twelve = runPollers(6, 12, durationNs);
  // Up to the core count every poller has a core: throughput scales, latency stays at device speed.
  assert.ok(six.iops > three.iops * 1.9, `3 pollers ${three.iops} IOPS, 6 pollers ${six.iops}`);
  assert.ok(six.latency.p99Ns < 10_000, `6 pollers p99 ${six.latency.p99Ns}`);
  assert.ok(six.latency.maxNs < 20_000, `6 pollers max ${six.latency.maxNs} (the device's own tail: p99.999 at 4.2x its mean)`);
  // Past it, twice the pollers share the same cores: no more throughput, each poller gets half
  // a core, and an I/O that completes while its poller is off-core waits out a scheduler slice (ms).
  assert.ok(twelve.iops < six.iops * 1.02, `12 pollers ${twelve.iops} IOPS vs 6 pollers ${six.iops}`);
  assert.ok(twelve.latency.meanNs > six.latency.meanNs * 1.8, `mean ${twelve.latency.meanNs} vs ${six.latency.meanNs}`);
  assert.ok(twelve.latency.maxNs > 1_000_000, `12 pollers max ${twelve.latency.maxNs}`);
});

test('a queue pair belongs to one thread', () => {
  const { dir, cleanup } = tempDir();
  const sim = new Simulator({ cores: 2, seed: 1 });
  const store = ImageStore.open(join(dir, 'q.img'), { create: true, sizeBytes: 1 << 20 });
  try {
    const spdk = new SpdkDriver(sim, new NvmeController(sim, { profile: 'optane-p5800x', store }));
    const qp = spdk.allocQpair();
    for (const name of ['a', 'b']) {
      sim.spawn(name, function* (t) {
        yield* qp.read(t, 0, 1, new Uint8Array(512));
      });
    }
    assert.throws(() => sim.run(), SimError);
  } finally {
    store.close();
    cleanup();
  }
});
