import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NvmeController } from '../../src/device/controller.ts';
import { ImageStore } from '../../src/device/image-store.ts';
import { NVME_SC_LBA_OUT_OF_RANGE } from '../../src/device/command.ts';
import { completionDeliveryNs, CQE_COMPLETE, CQE_RESUBMIT, NVME_OP_READ, NVME_OP_WRITE, NvmeDriver, NvmeRequest } from '../../src/kernel/nvme-driver.ts';
import { constantTiming, OPTANE_P5800X } from '../../src/device/profiles.ts';
import type { CqeHook } from '../../src/kernel/nvme-driver.ts';
import { FREE_BLOCKING, Simulator } from '../../src/sim/simulator.ts';
import { SimError } from '../../src/sim/errors.ts';
import type { CpuContext, Task } from '../../src/sim/thread.ts';
import { tempDir } from '../device/helpers.ts';

function setup(cores: number, queueDepth?: number) {
  const { dir, cleanup } = tempDir();
  // Reads at their mean and a free blocking path: the exact arithmetic of the driver's path.
  const sim = new Simulator({ cores, seed: 5, sched: FREE_BLOCKING });
  const store = ImageStore.open(join(dir, 'n.img'), { create: true, sizeBytes: 1 << 20 });
  const ctrl = new NvmeController(sim, { profile: constantTiming(OPTANE_P5800X), store, completionDeliveryNs: completionDeliveryNs() });
  const driver = new NvmeDriver(sim, ctrl, queueDepth === undefined ? {} : { queueDepth });
  return { sim, ctrl, driver, store, cleanup: () => { store.close(); cleanup(); } };
}

test('a read is submitted on the caller core queue and its interrupt lands on that core', () => {
  const h = setup(4);
  try {
    const pattern = new Uint8Array(512).fill(0x5a);
    h.store.write(512 * 77, pattern, 0, 512);
    let status = -1;
    let latency = -1;
    const buf = new Uint8Array(512);
    h.sim.spawn('reader', function* (t) {
      const req = new NvmeRequest(NVME_OP_READ, 77, 1, buf);
      const start = t.nowNs;
      status = yield* h.driver.submitAndWait(t, req);
      latency = t.nowNs - start;
      assert.equal(req.coreId, 2);
    }, { affinity: [2] });
    h.sim.run();
    assert.equal(status, 0);
    assert.deepEqual(buf, pattern);
    assert.equal(latency, 57 + 3224 + 56); // driver submit + device + completion handler (Table 1: 113 + 3224)
    assert.equal(h.sim.cores[2]!.irqCount, 1);
    assert.equal(h.sim.cores[0]!.irqCount + h.sim.cores[1]!.irqCount + h.sim.cores[3]!.irqCount, 0);
    assert.equal(h.driver.queuePair(2).outstanding, 0);
  } finally {
    h.cleanup();
  }
});

test('a completion hook can resubmit the same command (same tag, same queue) with a new LBA', () => {
  const h = setup(2);
  try {
    // A chain of blocks: block i holds the LBA of the next block in its first 4 bytes (0 ends).
    const chain = [10, 300, 42, 1999, 5];
    const blk = new Uint8Array(512);
    for (let i = 0; i < chain.length; i++) {
      new DataView(blk.buffer).setUint32(0, i + 1 < chain.length ? chain[i + 1]! : 0, true);
      h.store.write(chain[i]! * 512, blk, 0, 512);
    }
    const visited: number[] = [];
    const cids: number[] = [];
    const hook: CqeHook = {
      *onCqe(ctx: CpuContext, req: NvmeRequest): Task<number> {
        yield ctx.cpu(100); // the storage function's CPU time
        visited.push(req.slba);
        cids.push(req.cid);
        const next = new DataView(req.buf.buffer).getUint32(0, true);
        if (req.status !== 0 || next === 0) return CQE_COMPLETE;
        req.slba = next;
        return CQE_RESUBMIT;
      },
    };
    let status = -1;
    let latency = -1;
    let req: NvmeRequest | null = null;
    h.sim.spawn('chaser', function* (t) {
      req = new NvmeRequest(NVME_OP_READ, chain[0]!, 1, new Uint8Array(512));
      req.hook = hook;
      const start = t.nowNs;
      status = yield* h.driver.submitAndWait(t, req);
      latency = t.nowNs - start;
    });
    h.sim.run();
    assert.equal(status, 0);
    assert.deepEqual(visited, chain);
    assert.ok(cids.every((c) => c === cids[0]));
    assert.equal(req!.resubmissions, chain.length - 1);
    assert.equal(h.driver.stats.resubmitted, 4);
    assert.equal(h.driver.stats.submitted, 1);
    assert.equal(h.ctrl.stats.reads, 5);
    // One submission, five device reads, five completions each with the hook.
    assert.equal(latency, 57 + 5 * (3224 + 56 + 100));
  } finally {
    h.cleanup();
  }
});

test('device errors come back as NVMe statuses; bad requests are typed errors', () => {
  const h = setup(1);
  try {
    let status = -1;
    h.sim.spawn('r', function* (t) {
      status = yield* h.driver.submitAndWait(t, new NvmeRequest(NVME_OP_READ, 1 << 20, 1, new Uint8Array(512)));
    });
    h.sim.run();
    assert.equal(status, NVME_SC_LBA_OUT_OF_RANGE);
    h.sim.spawn('bad', function* (t) {
      yield* h.driver.submitAndWait(t, new NvmeRequest(0x42, 0, 1, new Uint8Array(512)));
    });
    assert.throws(() => h.sim.run(), SimError);
    assert.throws(() => new NvmeDriver(h.sim, h.ctrl, { costs: { submitNs: -3 } }), /submitNs/);
  } finally {
    h.cleanup();
  }
});

test('a full queue makes threads wait for a tag, then everything completes', () => {
  const h = setup(1, 2);
  try {
    let finished = 0;
    for (let i = 0; i < 6; i++) {
      h.sim.spawn(`w${i}`, function* (t) {
        const buf = new Uint8Array(512).fill(i);
        for (let k = 0; k < 5; k++) {
          const s = yield* h.driver.submitAndWait(t, new NvmeRequest(NVME_OP_WRITE, i * 8 + k, 1, buf));
          assert.equal(s, 0);
        }
        finished++;
      });
    }
    h.sim.run();
    assert.equal(finished, 6);
    assert.ok(h.driver.stats.tagWaits > 0);
    assert.equal(h.ctrl.stats.writes, 30);
    const back = new Uint8Array(512);
    h.store.read((5 * 8 + 4) * 512, back, 0, 512);
    assert.ok(back.every((b) => b === 5));
  } finally {
    h.cleanup();
  }
});

test('submitAndWait returns only on its own completion, not on an unrelated wake-up', () => {
  const h = setup(1);
  try {
    let status = -1;
    let latency = -1;
    h.sim.spawn('r', function* (t) {
      h.sim.wake(t, 99); // a stray wake-up left pending
      const start = t.nowNs;
      status = yield* h.driver.submitAndWait(t, new NvmeRequest(NVME_OP_READ, 1 << 20, 1, new Uint8Array(512)));
      latency = t.nowNs - start;
    });
    h.sim.run();
    assert.equal(status, NVME_SC_LBA_OUT_OF_RANGE);
    assert.ok(latency > 57, `returned after ${latency} ns`);
  } finally {
    h.cleanup();
  }
});
