// Variable sizes and fan-out: random trees of walk.bpf.o nodes (sizes 512..4096,
// up to 16 children) walked by read_xrp in parallel and serial fan-out mode and
// by the reference walker must agree; parallel uses several commands and is faster.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readXrp, xrpFallback, XrpResult, XrpStatus } from '../../../src/kernel/xrp/index.ts';
import { deviceProfile } from '../../../src/device/profiles.ts';
import { runThread, withMachine } from '../helpers.ts';
import { CHAIN_OBJ, OP_END, OP_FANOUT, putFile, randomTree, refWalk, scratchAnswer, setup, WALK_OBJ, writeNode } from './helpers.ts';

function result(r: XrpResult | number): XrpResult {
  if (typeof r === 'number') assert.fail(`read_xrp refused: ${r}`);
  return r;
}

test('random fan-out trees (sizes 512..4096, 1..16 children): parallel = serial = reference; parallel is faster (seeded)', () => {
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    const trees = Array.from({ length: 12 }, (_, i) => randomTree(100 + i, 5 + i * 12));
    trees.forEach((tr, i) => putFile(m, `tree${i}`, tr.bytes));
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      for (let i = 0; i < trees.length; i++) {
        const tr = trees[i]!;
        const s = yield* setup(t, p, `tree${i}`, WALK_OBJ, 'walk');
        const ref = refWalk(tr.bytes, tr.root, tr.rootSize);
        assert.equal(ref.error, null);
        const got: Record<string, XrpResult> = {};
        for (const fanout of ['parallel', 'serial'] as const) {
          p.bytes(s.scratchBuf, 4096).fill(0);
          const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, tr.rootSize, tr.root, s.progFd, s.scratchBuf, { fanout }));
          const where = `tree ${i} (${tr.nodes} nodes), ${fanout}`;
          assert.equal(r.status, XrpStatus.DONE, `${where}: ${r.statusName} ${r.ends.map((e) => e.detail).join("; ")}`);
          assert.deepEqual(scratchAnswer(p, s.scratchBuf), { visits: ref.visits, sum: ref.sum, tail: ref.tail }, where);
          assert.equal(r.reads, tr.nodes, `${where}: every branch visited once`);
          assert.equal(r.resubmissions, tr.nodes - 1, where);
          got[fanout] = r;
        }
        if (tr.nodes > 1 && got.parallel!.commands > 1) {
          assert.ok(got.parallel!.latencyNs < got.serial!.latencyNs, `tree ${i}: parallel ${got.parallel!.latencyNs} ns vs serial ${got.serial!.latencyNs} ns`);
        }
        assert.equal(got.serial!.commands, 1, `tree ${i}: serial uses one command`);
      }
    });
    assert.ok(trees.some((tr) => tr.nodes > 50));
  });
});

test('a 16-way fan-out issues 16 commands at once spread over the queues; every child is visited', () => {
  withMachine({ profile: 'optane-p5800x', cores: 4 }, (m) => {
    const bytes = new Uint8Array(20 * 4096);
    const kids = Array.from({ length: 16 }, (_, i) => (i + 2) * 4096);
    writeNode(bytes, 4096, { op: OP_FANOUT, n: 16, value: 1n, selfSize: 512, addrs: kids, sizes: kids.map((_, i) => 512 * (1 + (i % 8))) });
    kids.forEach((off, i) => writeNode(bytes, off, { op: OP_END, value: BigInt(1000 + i), selfSize: 512 * (1 + (i % 8)) }));
    putFile(m, 'fan', bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'fan', WALK_OBJ, 'walk');
      const irqBefore = m.sim.cores.map((c) => c.irqCount);
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 4096, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.DONE);
      assert.equal(r.reads, 17);
      assert.equal(r.commands, 16, 'slot 0 reuses the command, 15 new ones');
      const ans = scratchAnswer(p, s.scratchBuf);
      assert.equal(ans.visits, 17n);
      assert.equal(ans.sum, 1n + kids.reduce((a, _, i) => a + BigInt(1000 + i), 0n));
      const irqs = m.sim.cores.map((c, i) => c.irqCount - irqBefore[i]!);
      assert.ok(irqs.every((n) => n > 0), `completion interrupts on every core's queue: ${irqs.join(',')}`);
      // 16 reads in parallel take about one device time, not 16
      assert.ok(r.latencyNs < 3 * 6272, `latency ${r.latencyNs} ns`);
    });
  });
});

test('programs written for the original (chain.bpf.o sets only next_addr[0]/size[0]) never fan out', () => {
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    const bytes = new Uint8Array(64 * 512);
    const v = new DataView(bytes.buffer);
    // junk in size[1..15] positions of ctx would be cleared anyway; the chain is 1 -> 5 -> 9 -> end
    v.setBigUint64(512, 5n * 512n, true);
    v.setBigUint64(5 * 512, 9n * 512n, true);
    putFile(m, 'c', bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'c', CHAIN_OBJ, 'chain');
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 512, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.DONE);
      assert.equal(r.commands, 1);
      assert.equal(r.reads, 3);
    });
  });
});

test('fan-out cut by the limit: LIMIT status, partial, and the fallback finishes every branch (parallel and serial)', () => {
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    const tr = randomTree(7, 120);
    putFile(m, 't', tr.bytes);
    const p = m.kernel.createProcess('app');
    const ref = refWalk(tr.bytes, tr.root, tr.rootSize);
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 't', WALK_OBJ, 'walk');
      for (const fanout of ['parallel', 'serial'] as const) {
        for (const limit of [0, 1, 5, 40]) {
          p.bytes(s.scratchBuf, 4096).fill(0);
          const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, tr.rootSize, tr.root, s.progFd, s.scratchBuf, { fanout, resubmitLimit: limit }));
          const where = `${fanout} limit ${limit}`;
          assert.equal(r.status, XrpStatus.LIMIT, where);
          assert.ok(r.partial, where);
          assert.equal(r.resubmissions, limit, where);
          assert.ok(r.pending.length > 0, where);
          const f = yield* xrpFallback(t, p, s, r);
          assert.ok(typeof f !== 'number');
          assert.equal(f.status, XrpStatus.DONE, where);
          assert.equal(BigInt(r.reads + f.reads), ref.visits, `${where}: reads in kernel + user space`);
          assert.deepEqual(scratchAnswer(p, s.scratchBuf), { visits: ref.visits, sum: ref.sum, tail: ref.tail }, where);
        }
      }
    });
  });
});

test('fan-out with nearly no free tags (queue depth 2 on 2 cores): children that find every queue full are done later by the request\'s own commands', () => {
  const profile = { ...deviceProfile('optane-p5800x'), maxQueueDepth: 2 };
  withMachine({ profile, cores: 2 }, (m) => {
    assert.equal(m.driver.queueDepth, 2);
    const bytes = new Uint8Array(20 * 4096);
    const kids = Array.from({ length: 16 }, (_, i) => (i + 2) * 4096);
    writeNode(bytes, 4096, { op: OP_FANOUT, n: 16, value: 1n, selfSize: 512, addrs: kids, sizes: kids.map(() => 1024) });
    kids.forEach((off, i) => writeNode(bytes, off, { op: OP_END, value: BigInt(1 << i), selfSize: 1024 }));
    putFile(m, 'fan', bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'fan', WALK_OBJ, 'walk');
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 4096, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.DONE);
      assert.equal(r.reads, 17);
      assert.equal(r.resubmissions, 16);
      assert.equal(r.commands, 4, 'every tag of both queues, no more');
      const ref = refWalk(bytes, 4096, 512);
      assert.equal(ref.sum, 1n + 0xffffn);
      assert.deepEqual(scratchAnswer(p, s.scratchBuf), { visits: ref.visits, sum: ref.sum, tail: ref.tail });
    });
  });
});

test('8 threads fanning out at once over 2 tags per queue: every answer right, nobody hangs (seeded)', () => {
  const profile = { ...deviceProfile('optane-p5800x'), maxQueueDepth: 2 };
  withMachine({ profile, cores: 2 }, (m) => {
    const trees = Array.from({ length: 4 }, (_, i) => randomTree(500 + i, 60));
    trees.forEach((tr, i) => putFile(m, `t${i}`, tr.bytes));
    let answers = 0;
    for (let th = 0; th < 8; th++) {
      const p = m.kernel.createProcess(`app${th}`);
      m.sim.spawn(`app${th}`, function* (t) {
        for (let k = 0; k < 4; k++) {
          const tr = trees[(th + k) % trees.length]!;
          const s = yield* setup(t, p, `t${(th + k) % trees.length}`, WALK_OBJ, 'walk');
          p.bytes(s.scratchBuf, 4096).fill(0);
          const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, tr.rootSize, tr.root, s.progFd, s.scratchBuf, { fanout: th % 3 === 0 ? 'serial' : 'parallel' }));
          assert.equal(r.status, XrpStatus.DONE);
          const ref = refWalk(tr.bytes, tr.root, tr.rootSize);
          assert.deepEqual(scratchAnswer(p, s.scratchBuf), { visits: ref.visits, sum: ref.sum, tail: ref.tail });
          answers++;
        }
      });
    }
    m.sim.run();
    assert.equal(answers, 32);
    assert.ok(m.driver.stats.tagWaits > 0, 'threads had to wait for tags');
  });
});
