// Races between XRP lookups and extent changes: the mapping of every read is
// looked up again at its completion and its version compared, so a block that
// moved (and whose old place now holds other data) is never given to the
// program; the request ends with MAPPING_CHANGED and the fallback finishes the
// walk. Zero wrong answers while another thread appends, truncates, fallocates,
// relocates and defragments; bit-identical results for the same seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { O_APPEND, O_RDWR } from '../../../src/kernel/syscalls.ts';
import { readXrp, readXrpOrFallback, XrpResult, XrpStatus, xrpStatusName } from '../../../src/kernel/xrp/index.ts';
import { FS_BLOCK_BYTES } from '../../../src/kernel/fs/layout.ts';
import { withMachine } from '../helpers.ts';
import { chainFile, putFile, setup, TestRng, u64, walkChain, type XrpSetup } from './helpers.ts';

test('a block moved while its read is in flight (old place overwritten) ends with MAPPING_CHANGED, never with stale data', () => {
  // chain: 512 -> 4096*5 + 1024 -> 4096*9 -> end
  const bytes = new Uint8Array(12 * 4096);
  const v = new DataView(bytes.buffer);
  v.setBigUint64(512, BigInt(5 * 4096 + 1024), true);
  v.setBigUint64(5 * 4096 + 1024, BigInt(9 * 4096), true);
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', bytes);
    const ino = m.fs.lookup('f')!;
    const p = m.kernel.createProcess('app');
    let s: XrpSetup | null = null;
    m.sim.spawn('setup', function* (t) {
      s = yield* setup(t, p, 'f');
    });
    m.sim.run();
    const st = s as XrpSetup | null;
    assert.ok(st !== null);
    let r: XrpResult | number = 0;
    let oldPblk = -1;
    const t0 = m.sim.nowNs;
    m.sim.spawn('reader', function* (t) {
      r = yield* readXrp(t, p, st.fd, st.dataBuf, 512, 512, st.progFd, st.scratchBuf);
    }, { affinity: [0] });
    m.sim.spawn('mover', function* (t) {
      // the second read (block 5) is in flight from about t0 + 6.5 us to t0 + 9.7 us
      yield t.cpu(8000 - (t.nowNs - t0));
      oldPblk = ino.extents.find((e) => e.lblk <= 5 && 5 < e.lblk + e.len)!.pblk + (5 - ino.extents.find((e) => e.lblk <= 5 && 5 < e.lblk + e.len)!.lblk);
      m.fs.relocate(ino, 5, 1);
      // the freed block is reused by someone else: other bytes land there
      m.store.write(oldPblk * FS_BLOCK_BYTES, new Uint8Array(FS_BLOCK_BYTES).fill(0xee), 0, FS_BLOCK_BYTES);
    }, { affinity: [1] });
    m.sim.run();
    const res = r as XrpResult | number;
    assert.ok(typeof res !== 'number');
    assert.equal(res.status, XrpStatus.MAPPING_CHANGED, `${res.statusName} ${res.ends.map((e) => e.detail).join("; ")}`);
    assert.equal(res.stopOffset, 5 * 4096 + 1024);
    assert.equal(u64(p, st.scratchBuf), 1, 'the program ran on the first block only');
    // what the device brought was the other data: without the check the program would have followed 0xeeee...
    assert.equal(p.bytes(st.dataBuf, 1)[0], 0xee);
    // the fallback finishes from the moved block
    m.sim.spawn('fallback', function* (t) {
      p.bytes(st.scratchBuf, 16).fill(0);
      const a = yield* readXrpOrFallback(t, p, st.fd, st.dataBuf, 512, 512, st.progFd, st.scratchBuf);
      assert.ok(typeof a !== 'number' && a.status === XrpStatus.DONE);
      assert.equal(u64(p, st.scratchBuf), 3);
      assert.equal(u64(p, st.scratchBuf + 8), 9 * 4096);
    });
    m.sim.run();
  });
});

interface RaceSummary {
  lookups: number;
  wrong: number;
  statuses: Record<string, number>;
  fallbacks: number;
  mutations: number;
  endNs: number;
}

/** Readers on both cores look chains up while a mutator changes the file's extents. */
function race(seed: number): RaceSummary {
  const HOPS = 300;
  const cf = chainFile(HOPS, 400, seed);
  const prefix = cf.bytes.length;
  const summary: RaceSummary = { lookups: 0, wrong: 0, statuses: {}, fallbacks: 0, mutations: 0, endNs: 0 };
  withMachine({ profile: 'optane-p5800x', cores: 2, seed }, (m) => {
    putFile(m, 'chain', cf.bytes);
    const ino = m.fs.lookup('chain')!;
    const rng = new TestRng(seed * 31 + 7);
    let readersLeft = 3;
    for (let reader = 0; reader < 3; reader++) {
      const p = m.kernel.createProcess(`reader${reader}`);
      m.sim.spawn(`reader${reader}`, function* (t) {
        const s = yield* setup(t, p, 'chain');
        for (let i = 0; i < 12; i++) {
          const k = rng.below(HOPS);
          const start = cf.order[k]!;
          const ref = walkChain(cf.bytes, start);
          p.bytes(s.scratchBuf, 16).fill(0);
          const a = yield* readXrpOrFallback(t, p, s.fd, s.dataBuf, 512, start, s.progFd, s.scratchBuf);
          assert.ok(typeof a !== 'number');
          summary.lookups++;
          const name = xrpStatusName(a.xrp.status);
          summary.statuses[name] = (summary.statuses[name] ?? 0) + 1;
          if (a.fallback !== null) summary.fallbacks++;
          if (a.status !== XrpStatus.DONE || u64(p, s.scratchBuf) !== ref.hops || u64(p, s.scratchBuf + 8) !== ref.last) summary.wrong++;
        }
        readersLeft--;
      }, { affinity: [reader % 2] });
    }
    const q = m.kernel.createProcess('mutator');
    m.sim.spawn('mutator', function* (t) {
      const fd = yield* q.open(t, 'chain', O_RDWR | O_APPEND);
      const junk = q.alloc(2 * FS_BLOCK_BYTES);
      q.bytes(junk, 2 * FS_BLOCK_BYTES).fill(0xa5);
      while (readersLeft > 0) {
        yield t.cpu(5000 + rng.below(20_000));
        const op = rng.below(6);
        if (op === 0) assert.ok((yield* q.write(t, fd, junk, FS_BLOCK_BYTES + 512 * rng.below(8))) > 0);
        else if (op === 1) assert.equal(yield* q.ftruncate(t, fd, prefix), 0);
        else if (op === 2) m.fs.defragment(ino);
        else if (op === 3) assert.equal(yield* q.fallocate(t, fd, 1, ino.sizeBytes + 4096 * rng.below(4), 8192), 0);
        else m.fs.relocate(ino, rng.below(prefix / FS_BLOCK_BYTES), 1 + rng.below(3));
        summary.mutations++;
      }
    }, { affinity: [1] });
    m.sim.run();
    summary.endNs = m.sim.nowNs;
  });
  return summary;
}

test('race: lookups while another thread appends, truncates, fallocates, relocates and defragments: zero wrong answers, MAPPING_CHANGED then the fallback; deterministic', () => {
  const a = race(11);
  assert.equal(a.wrong, 0, JSON.stringify(a));
  assert.equal(a.lookups, 36);
  assert.ok((a.statuses.MAPPING_CHANGED ?? 0) > 0, `MAPPING_CHANGED seen: ${JSON.stringify(a.statuses)}`);
  assert.ok((a.statuses.DONE ?? 0) > 0, `some lookups finish in the kernel: ${JSON.stringify(a.statuses)}`);
  assert.ok(a.fallbacks > 0 && a.mutations > 100, JSON.stringify(a));
  // the same seed gives the same run, bit for bit
  assert.deepEqual(race(11), a);
});
