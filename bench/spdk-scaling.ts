// SPDK pollers vs threads on 6 simulated cores (optane-p5800x, 512 B random
// reads, 200 ms of virtual time per point). Shows what the scheduler makes of
// more pollers than cores; nothing in the model knows the core count.
//
//   node --import tsx bench/spdk-scaling.ts

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NvmeController } from '../src/device/controller.ts';
import { completionDeliveryNs } from '../src/kernel/nvme-driver.ts';
import { ImageStore } from '../src/device/image-store.ts';
import { SpdkDriver } from '../src/spdk/spdk.ts';
import { Histogram } from '../src/sim/histogram.ts';
import { Simulator } from '../src/sim/simulator.ts';
import { benchArgs } from './args.ts';

benchArgs({
  script: 'bench/spdk-scaling.ts',
  usage: 'Usage: node --import tsx bench/spdk-scaling.ts\n  SPDK pollers vs threads on 6 simulated cores; no options',
  options: {},
});

const CORES = 6;
const DURATION_NS = 200_000_000;
const dir = mkdtempSync(join(tmpdir(), 'xrp-spdk-'));
try {
  console.log(`threads  M IOPS  mean ns  p50 ns  p99 ns  p99.9 ns  max ns  context switches`);
  for (const threads of [1, 2, 4, 6, 7, 8, 12, 24]) {
    const sim = new Simulator({ cores: CORES, seed: 9 });
    const store = ImageStore.open(join(dir, 's.img'), { create: true, sizeBytes: 32 << 20 });
    const ctrl = new NvmeController(sim, { profile: 'optane-p5800x', store, completionDeliveryNs: completionDeliveryNs() });
    const spdk = new SpdkDriver(sim, ctrl);
    const hist = new Histogram();
    let stop = false;
    for (let i = 0; i < threads; i++) {
      const qp = spdk.allocQpair();
      sim.spawn(`poller-${i}`, function* (t) {
        const buf = new Uint8Array(512);
        while (!stop) {
          const startNs = t.nowNs;
          yield* qp.read(t, sim.rng.nextBelow(ctrl.capacityBlocks), 1, buf);
          hist.record(t.nowNs - startNs);
        }
      });
    }
    sim.at(DURATION_NS, { onEvent: () => { stop = true; } }, 0);
    sim.run({ untilNs: DURATION_NS + 100_000_000 });
    const s = hist.summary();
    const switches = sim.cores.reduce((a, c) => a + c.contextSwitches, 0);
    console.log(
      `${String(threads).padStart(7)}  ${((hist.count * 1e3) / DURATION_NS).toFixed(3).padStart(6)}  ${s.meanNs.toFixed(0).padStart(7)}  ${String(s.p50Ns).padStart(6)}  ${String(s.p99Ns).padStart(6)}  ${String(s.p999Ns).padStart(8)}  ${String(s.maxNs).padStart(8)}  ${switches}`,
    );
    store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
