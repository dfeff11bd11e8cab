import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NvmeController } from '../../src/device/controller.ts';
import { ImageStore } from '../../src/device/image-store.ts';
import { DeviceError } from '../../src/device/errors.ts';
import { NVME_OP_READ, NVME_OP_WRITE, NVME_SC_DATA_TRANSFER_ERROR, NVME_SC_INVALID_FIELD, NVME_SC_INVALID_OPCODE, NVME_SC_LBA_OUT_OF_RANGE, NVME_SC_SUCCESS } from '../../src/device/command.ts';
import { OPTANE_P5800X, constantTiming, deviceProfile } from '../../src/device/profiles.ts';

/** Optane with every read at its mean: for the exact arithmetic of the timing model. */
const OPTANE_CONSTANT = constantTiming(OPTANE_P5800X);
import type { DeviceProfile } from '../../src/device/profiles.ts';
import type { QueuePair } from '../../src/device/queue-pair.ts';
import { Simulator } from '../../src/sim/simulator.ts';
import { tempDir } from './helpers.ts';

/** A bare host: a polled queue whose completions are reaped at the instant they are posted. */
function setup(profile: string | DeviceProfile, depth = 64, sizeBytes = 1 << 20) {
  const { dir, cleanup } = tempDir();
  const sim = new Simulator({ cores: 1, seed: 1 });
  const store = ImageStore.open(join(dir, 'd.img'), { create: true, sizeBytes });
  const ctrl = new NvmeController(sim, { profile, store });
  const done: { cid: number; status: number; atNs: number }[] = [];
  let qp: QueuePair;
  qp = ctrl.createQueuePair({
    depth,
    irq: null,
    onCqePosted: () => {
      const e = qp.peekCompletion()!;
      done.push({ cid: e.cid, status: e.status, atNs: sim.nowNs });
      qp.popCompletion();
      qp.ringCqDoorbell();
    },
  });
  const submit = (cid: number, opcode: number, slba: number, blocks: number, buf: Uint8Array): void => {
    const cmd = qp.commands[cid]!;
    cmd.opcode = opcode;
    cmd.slba = slba;
    cmd.nlb = blocks - 1;
    cmd.buf = buf;
    cmd.bufOffset = 0;
    qp.enqueue(cid);
  };
  return { sim, ctrl, qp, done, submit, path: join(dir, 'd.img'), cleanup: () => { store.close(); cleanup(); } };
}

test('queue depth 1: a 512-byte read takes the profile latency (3224 ns on optane-p5800x at its mean), 4 KiB adds transfer time', () => {
  const h = setup(OPTANE_CONSTANT);
  try {
    h.submit(0, NVME_OP_READ, 0, 1, new Uint8Array(512));
    h.qp.ringSqDoorbell();
    h.sim.run();
    assert.deepEqual(h.done, [{ cid: 0, status: 0, atNs: 3224 }]);
    h.submit(1, NVME_OP_READ, 8, 8, new Uint8Array(4096));
    h.qp.ringSqDoorbell();
    h.sim.run();
    // 4096 B at 7.2 GB/s = 569 ns instead of 71 ns for 512 B.
    assert.equal(h.done[1]!.atNs - 3224, 3224 - 71 + 569);
  } finally {
    h.cleanup();
  }
});

test('the TLC profile is tens of microseconds at queue depth 1', () => {
  const h = setup('tlc-980pro');
  try {
    h.submit(0, NVME_OP_READ, 0, 8, new Uint8Array(4096));
    h.qp.ringSqDoorbell();
    h.sim.run();
    assert.ok(h.done[0]!.atNs > 40_000 && h.done[0]!.atNs < 80_000, `${h.done[0]!.atNs} ns`);
  } finally {
    h.cleanup();
  }
});

test('writes land in the image file and read back', () => {
  const h = setup('optane-p5800x');
  try {
    const data = new Uint8Array(1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + 5) & 0xff;
    h.submit(0, NVME_OP_WRITE, 10, 2, data);
    h.qp.ringSqDoorbell();
    h.sim.run();
    const back = new Uint8Array(1024);
    h.submit(1, NVME_OP_READ, 10, 2, back);
    h.qp.ringSqDoorbell();
    h.sim.run();
    assert.deepEqual(back, data);
    assert.deepEqual(new Uint8Array(readFileSync(h.path).subarray(5120, 6144)), data);
    assert.equal(h.done[0]!.atNs, OPTANE_P5800X.writeLatency512Ns - 83 + 165); // 1 KiB write at 6.2 GB/s
  } finally {
    h.cleanup();
  }
});

test('under load the IOPS ceiling and parallelism make latency rise', () => {
  const h = setup(OPTANE_CONSTANT, 256);
  try {
    const buf = new Uint8Array(512 * 256);
    for (let i = 0; i < 256; i++) {
      const cmd = h.qp.commands[i]!;
      h.submit(i, NVME_OP_READ, i, 1, buf);
      cmd.bufOffset = i * 512;
    }
    h.qp.ringSqDoorbell();
    h.sim.run();
    assert.equal(h.done.length, 256);
    assert.ok(h.done.every((d) => d.status === NVME_SC_SUCCESS));
    const last = Math.max(...h.done.map((d) => d.atNs));
    // 5M IOPS ceiling: one admission per 200 ns.
    assert.ok(last >= 255 * 200 + 3224, `last completion at ${last}`);
    const mean = h.done.reduce((a, d) => a + d.atNs, 0) / h.done.length;
    assert.ok(mean > 5 * 3224, `mean latency ${mean} should be far above the idle 3224 ns`);
    const iops = (256 * 1e9) / last;
    assert.ok(iops <= 5_000_000 && iops > 4_000_000, `iops ${iops}`);
  } finally {
    h.cleanup();
  }
});

test('internal parallelism bounds the commands in service at once', () => {
  const profile: DeviceProfile = { ...OPTANE_CONSTANT, name: 'two-way', parallelism: 2, readIopsMax: 1_000_000_000 };
  const h = setup(profile);
  try {
    for (let i = 0; i < 4; i++) h.submit(i, NVME_OP_READ, i, 1, new Uint8Array(512));
    h.qp.ringSqDoorbell();
    h.sim.run();
    // Two in service at once; the second is admitted after the first's 71 ns transfer on the shared data path.
    assert.deepEqual(h.done.map((d) => d.atNs), [3224, 3295, 6448, 6519]);
  } finally {
    h.cleanup();
  }
});

test('bad commands complete with NVMe error statuses', () => {
  const h = setup('optane-p5800x', 8, 1 << 20); // 2048 blocks
  try {
    h.submit(0, NVME_OP_READ, 2048, 1, new Uint8Array(512));
    h.submit(1, NVME_OP_READ, 2047, 2, new Uint8Array(1024));
    h.submit(2, 0x7f, 0, 1, new Uint8Array(512));
    h.submit(3, NVME_OP_READ, 0, 2, new Uint8Array(512)); // buffer too small
    h.submit(4, NVME_OP_READ, 0, 512, new Uint8Array(512 * 512)); // 256 KiB > MDTS
    h.qp.ringSqDoorbell();
    h.sim.run();
    const byCid = new Map(h.done.map((d) => [d.cid, d.status]));
    assert.equal(byCid.get(0), NVME_SC_LBA_OUT_OF_RANGE);
    assert.equal(byCid.get(1), NVME_SC_LBA_OUT_OF_RANGE);
    assert.equal(byCid.get(2), NVME_SC_INVALID_OPCODE);
    assert.equal(byCid.get(3), NVME_SC_DATA_TRANSFER_ERROR);
    assert.equal(byCid.get(4), NVME_SC_INVALID_FIELD);
    assert.equal(h.ctrl.stats.errors, 5);
  } finally {
    h.cleanup();
  }
});

test('completion rings wrap (phase tag) and the SQ refuses more than depth commands', () => {
  const h = setup('optane-p5800x', 2);
  try {
    for (let round = 0; round < 5; round++) {
      h.submit(0, NVME_OP_READ, round, 1, new Uint8Array(512));
      h.submit(1, NVME_OP_READ, round + 1, 1, new Uint8Array(512));
      assert.throws(() => h.qp.enqueue(0), /submission queue full/);
      h.qp.ringSqDoorbell();
      h.sim.run();
    }
    assert.equal(h.done.length, 10);
    assert.throws(() => h.qp.enqueue(5), /out of range/);
    assert.throws(() => h.qp.popCompletion(), /no completion/);
  } finally {
    h.cleanup();
  }
});

test('controller and profile misuse are typed errors', () => {
  const h = setup('optane-p5800x');
  try {
    assert.throws(() => deviceProfile('floppy'), /unknown device profile 'floppy'/);
    assert.throws(() => h.ctrl.createQueuePair({ depth: 0, irq: null }), DeviceError);
    assert.throws(() => h.ctrl.createQueuePair({ depth: 1 << 20, irq: null }), /queue depth/);
    assert.throws(() => h.ctrl.createQueuePair({ depth: 4, irq: { coreId: 9, source: { *handleIrq() {} } } }), /core 9/);
    for (let i = h.ctrl.queuePairs.length; i < OPTANE_P5800X.maxQueuePairs; i++) h.ctrl.createQueuePair({ depth: 1, irq: null });
    assert.throws(() => h.ctrl.createQueuePair({ depth: 1, irq: null }), /queue pairs are in use/);
    const bad: DeviceProfile = { ...OPTANE_P5800X, name: 'bad', parallelism: 0 };
    assert.throws(() => new NvmeController(h.sim, { profile: bad, store: h.ctrl.store }), /parallelism/);
    const tooFast: DeviceProfile = { ...OPTANE_P5800X, name: 'fast', readLatency512Ns: 10 };
    assert.throws(() => new NvmeController(h.sim, { profile: tooFast, store: h.ctrl.store }), /shorter than the transfer/);
  } finally {
    h.cleanup();
  }
});

test('any BackingStore works; a store that fails a range gives DATA_TRANSFER_ERROR', () => {
  const sim = new Simulator({ cores: 1, seed: 1 });
  const mem = new Uint8Array(8192);
  for (let i = 0; i < mem.length; i++) mem[i] = i & 0xff;
  const store = {
    sizeBytes: 8192,
    read(off: number, dst: Uint8Array, dstOff: number, len: number): void {
      if (off >= 4096) throw new DeviceError('second half unreadable');
      dst.set(mem.subarray(off, off + len), dstOff);
    },
    write(): void {
      throw new DeviceError('read-only');
    },
  };
  const ctrl = new NvmeController(sim, { profile: 'optane-p5800x', store });
  const statuses: number[] = [];
  const qp = ctrl.createQueuePair({ depth: 4, irq: null, onCqePosted: () => { statuses.push(qp.peekCompletion()!.status); qp.popCompletion(); } });
  const buf = new Uint8Array(1024);
  for (const [cid, lba] of [[0, 2], [1, 9]] as const) {
    const cmd = qp.commands[cid]!;
    cmd.opcode = NVME_OP_READ;
    cmd.slba = lba;
    cmd.nlb = 0;
    cmd.buf = buf;
    cmd.bufOffset = cid * 512;
    qp.enqueue(cid);
  }
  qp.ringSqDoorbell();
  sim.run();
  assert.deepEqual(statuses, [NVME_SC_SUCCESS, NVME_SC_DATA_TRANSFER_ERROR]);
  assert.deepEqual(buf.subarray(0, 512), mem.subarray(1024, 1536));
  assert.throws(() => new NvmeController(sim, { profile: 'optane-p5800x', store: { ...store, sizeBytes: 100 } }), /no 512-byte block/);
});
