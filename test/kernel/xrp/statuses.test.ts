// Explicit statuses of read_xrp and the fallback from each of them: out of the
// file, hole, misaligned, short extent, limit (cyclic chain), program error,
// invalid size, fault; the fallback gives the user-space walk's answer whenever
// the status is resumable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installXrp, readXrp, readXrpOrFallback, xrpFallback, XrpResult, XrpStatus } from '../../../src/kernel/xrp/index.ts';
import { XrpLookupBudget } from '../../../src/xrp/budget.ts';
import type { Process } from '../../../src/kernel/syscalls.ts';
import type { Machine } from '../../../src/kernel/machine.ts';
import { EBADF, EFAULT, EINVAL } from '../../../src/kernel/errno.ts';
import { runThread, withMachine } from '../helpers.ts';
import { OP_END, OP_ERROR, OP_FANOUT, OP_NEXT, putFile, refWalk, scratchAnswer, setup, u64, walkChain, WALK_OBJ, writeNode, type XrpSetup } from './helpers.ts';

function result(r: XrpResult | number): XrpResult {
  if (typeof r === 'number') assert.fail(`read_xrp refused: ${r}`);
  return r;
}

/** A chain file: `links` maps offset -> next offset (0 ends); other bytes zero. */
function links(sizeBytes: number, pairs: Array<[number, number]>): Uint8Array {
  const bytes = new Uint8Array(sizeBytes);
  const v = new DataView(bytes.buffer);
  for (const [at, next] of pairs) v.setBigUint64(at, BigInt(next), true);
  return bytes;
}

function withChain(bytes: Uint8Array, body: (m: Machine, p: Process, s: XrpSetup) => void, prepare?: (m: Machine) => void): void {
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', bytes);
    prepare?.(m);
    const p = m.kernel.createProcess('app');
    const s = runThread(m, (t) => setup(t, p, 'f'));
    body(m, p, s);
  });
}

test('OUT_OF_FILE: a next_addr at or past the end ends the chain there (terminal; the fallback agrees)', () => {
  const bytes = links(8192, [[512, 1024], [1024, 8192 + 512]]);
  withChain(bytes, (m, p, s) => {
    runThread(m, function* (t) {
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 512, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.OUT_OF_FILE);
      assert.equal(r.stopOffset, 8192 + 512);
      assert.equal(r.reads, 2);
      assert.equal(u64(p, s.scratchBuf), 2, 'the program ran on both blocks');
      assert.deepEqual(r.pending, []);
      const f = yield* xrpFallback(t, p, s, r);
      assert.ok(typeof f !== 'number' && f.status === XrpStatus.OUT_OF_FILE && f.reads === 0);
      // the first read itself past the end: no I/O at all
      const r2 = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 8192, s.progFd, s.scratchBuf));
      assert.equal(r2.status, XrpStatus.OUT_OF_FILE);
      assert.equal(r2.reads, 0);
      assert.equal(r2.res, 0);
    });
  });
});

test('HOLE: a next_addr in a hole or an unwritten extent; the fallback reads zeros like pread and finishes', () => {
  // blocks 0-1 written, 2-3 a hole, 4 written, 5 fallocated (unwritten)
  const bytes = links(5 * 4096, [[512, 4096 + 512], [4096 + 512, 2 * 4096 + 1024], [4 * 4096, 5 * 4096 + 512]]);
  withChain(bytes.subarray(0, 2 * 4096), (m, p, s) => {
    runThread(m, function* (t) {
      for (const [start, hole] of [[512, 2 * 4096 + 1024], [4 * 4096, 5 * 4096 + 512]] as const) {
        p.bytes(s.scratchBuf, 4096).fill(0);
        const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, start, s.progFd, s.scratchBuf));
        assert.equal(r.status, XrpStatus.HOLE, `from ${start}`);
        assert.equal(r.stopOffset, hole);
        assert.deepEqual(r.pending, [{ offsetBytes: hole, sizeBytes: 512 }]);
        const f = yield* xrpFallback(t, p, s, r);
        assert.ok(typeof f !== 'number');
        assert.equal(f.status, XrpStatus.DONE);
        const full = new Uint8Array(6 * 4096);
        full.set(bytes);
        const ref = walkChain(full, start);
        assert.equal(u64(p, s.scratchBuf), ref.hops, 'hops as a pread walk');
        assert.equal(u64(p, s.scratchBuf + 8), ref.last);
      }
    });
  }, (m) => {
    const ino = m.fs.lookup('f')!;
    m.fs.write(ino, 4 * 4096, bytes.subarray(4 * 4096, 5 * 4096));
    m.fs.fallocate(ino, 5 * 4096, 4096, { keepSize: false });
  });
});

test('MISALIGNED: an offset that is not a multiple of 512 ends the walk in the hook and in the fallback alike', () => {
  const bytes = links(4 * 4096, [[512, 1024 + 100], [1024 + 100, 3 * 4096 + 8], [3 * 4096 + 8, 2048]]);
  withChain(bytes, (m, p, s) => {
    runThread(m, function* (t) {
      const a = yield* readXrpOrFallback(t, p, s.fd, s.dataBuf, 512, 512, s.progFd, s.scratchBuf);
      assert.ok(typeof a !== 'number');
      assert.equal(a.xrp.status, XrpStatus.MISALIGNED);
      assert.equal(a.xrp.stopOffset, 1124);
      assert.deepEqual(a.xrp.pending, [], 'terminal: nothing is left for a fallback');
      assert.equal(a.status, XrpStatus.MISALIGNED);
      assert.equal(a.fallback?.stopOffset, 1124);
      // a misaligned read reached by the fallback itself (the kernel cut at the limit before it) ends the same way
      const cut = yield* readXrpOrFallback(t, p, s.fd, s.dataBuf, 512, 512, s.progFd, s.scratchBuf, { resubmitLimit: 0 });
      assert.ok(typeof cut !== 'number');
      assert.equal(cut.xrp.status, XrpStatus.LIMIT);
      assert.equal(cut.status, XrpStatus.MISALIGNED);
      assert.equal(cut.fallback?.stopOffset, 1124);
      assert.match(cut.fallback?.detail ?? '', /not a multiple of 512/);
    });
  });
});

test('SHORT_EXTENT: a 1024-byte read across two discontiguous extents; the fallback reads it', () => {
  const bytes = new Uint8Array(4 * 4096);
  writeNode(bytes, 0, { op: OP_NEXT, value: 5n, selfSize: 512, addrs: [4096 - 512], sizes: [1024] });
  writeNode(bytes, 4096 - 512, { op: OP_END, value: 9n, selfSize: 1024, tail: 77n });
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', bytes);
    const ino = m.fs.lookup('f')!;
    m.fs.relocate(ino, 1, 1); // block 1 moves: blocks 0 and 1 are no longer contiguous
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'f', WALK_OBJ, 'walk');
      const a = yield* readXrpOrFallback(t, p, s.fd, s.dataBuf, 512, 0, s.progFd, s.scratchBuf);
      assert.ok(typeof a !== 'number');
      assert.equal(a.xrp.status, XrpStatus.SHORT_EXTENT);
      assert.equal(a.status, XrpStatus.DONE);
      const ref = refWalk(bytes, 0, 512);
      assert.deepEqual(scratchAnswer(p, s.scratchBuf), { visits: ref.visits, sum: ref.sum, tail: ref.tail });
      assert.equal(ref.tail, 77n + 5n * 3n + 1n);
    });
  });
});

test('LIMIT: a cyclic chain ends at the limit (default 4096, or per call), partial, without hanging or disturbing another request', () => {
  const bytes = links(4 * 4096, [[512, 1024], [1024, 1536], [1536, 512], [2048, 2560]]);
  withChain(bytes, (m, p, s) => {
    let other: XrpResult | null = null;
    const q = m.kernel.createProcess('other');
    m.sim.spawn('other', function* (t) {
      const s2 = yield* setup(t, q, 'f');
      other = result(yield* readXrp(t, q, s2.fd, s2.dataBuf, 512, 2048, s2.progFd, s2.scratchBuf));
    }, { affinity: [1] });
    runThread(m, function* (t) {
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 512, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.LIMIT);
      assert.ok(r.partial);
      assert.equal(r.resubmissions, 4096);
      assert.equal(r.reads, 4097);
      assert.equal(u64(p, s.scratchBuf), 4097);
      const r2 = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 512, s.progFd, s.scratchBuf, { resubmitLimit: 10 }));
      assert.equal(r2.status, XrpStatus.LIMIT);
      assert.equal(r2.reads, 11);
      assert.deepEqual(r2.pending, [{ offsetBytes: [1024, 1536, 512][(11 - 1) % 3]!, sizeBytes: 512 }]);
      // the fallback also stops a cycle, at the request's budget
      const f = yield* xrpFallback(t, p, s, r2, { budget: new XrpLookupBudget(50) });
      assert.ok(typeof f !== 'number' && f.status === XrpStatus.LIMIT && f.reads === 50);
      // the fallback refuses what read_xrp would refuse
      assert.equal(yield* xrpFallback(t, p, { ...s, progFd: -1 }, r2), -EBADF);
      assert.equal(yield* xrpFallback(t, p, { ...s, scratchBuf: s.scratchBuf + 8 }, r2), -EINVAL);
      assert.equal(yield* xrpFallback(t, p, { ...s, dataBuf: 1 << 23 }, r2), -EFAULT);
    });
    const o = other as XrpResult | null;
    assert.ok(o !== null && o.status === XrpStatus.DONE && o.reads === 2, 'the other request is unaffected');
  });
});

test('LIMIT on a long chain: the fallback finishes it with the right answer', () => {
  const pairs: Array<[number, number]> = [];
  for (let i = 1; i < 60; i++) pairs.push([i * 512, i === 59 ? 0 : (i + 1) * 512]);
  const bytes = links(64 * 512, pairs);
  withChain(bytes, (m, p, s) => {
    runThread(m, function* (t) {
      const a = yield* readXrpOrFallback(t, p, s.fd, s.dataBuf, 512, 512, s.progFd, s.scratchBuf, { resubmitLimit: 20 });
      assert.ok(typeof a !== 'number');
      assert.equal(a.xrp.status, XrpStatus.LIMIT);
      assert.equal(a.xrp.reads, 21);
      assert.equal(a.status, XrpStatus.DONE);
      assert.equal(a.fallback!.reads, 59 - 21);
      assert.equal(u64(p, s.scratchBuf), 59);
      assert.equal(u64(p, s.scratchBuf + 8), 59 * 512);
    });
  });
});

test('PROG_ERROR, INVALID_SIZE and FAULT are terminal, with the return value, the offending size and the fault', () => {
  const bytes = new Uint8Array(8 * 4096);
  writeNode(bytes, 0, { op: OP_NEXT, value: 1n, selfSize: 512, addrs: [4096], sizes: [512] });
  writeNode(bytes, 4096, { op: OP_ERROR, n: 7, value: 2n, selfSize: 512 });
  writeNode(bytes, 8192, { op: OP_NEXT, value: 3n, selfSize: 512, addrs: [4096], sizes: [700] });
  writeNode(bytes, 8192 + 512, { op: OP_NEXT, value: 3n, selfSize: 512, addrs: [4096], sizes: [8192] });
  // a fan-out where only child 1 has a bad size: the others still run
  writeNode(bytes, 3 * 4096, { op: OP_FANOUT, n: 3, value: 4n, selfSize: 512, addrs: [4 * 4096, 5 * 4096, 6 * 4096], sizes: [512, 100, 1024] });
  writeNode(bytes, 4 * 4096, { op: OP_END, value: 10n, selfSize: 512 });
  writeNode(bytes, 6 * 4096, { op: OP_END, value: 20n, selfSize: 1024 });
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'f', WALK_OBJ, 'walk');
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 0, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.PROG_ERROR);
      assert.equal(r.progRet, 7n);
      assert.equal(r.stopOffset, 4096);
      const f = yield* xrpFallback(t, p, s, r);
      assert.ok(typeof f !== 'number' && f.status === XrpStatus.PROG_ERROR && f.progRet === 7n && f.reads === 0);
      for (const [at, size] of [[8192, 700], [8192 + 512, 8192]] as const) {
        const r2 = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, at, s.progFd, s.scratchBuf));
        assert.equal(r2.status, XrpStatus.INVALID_SIZE, `size ${size}`);
        assert.match(r2.ends[0]!.detail, new RegExp(`size\\[0\\] is ${size}`));
      }
      p.bytes(s.scratchBuf, 4096).fill(0);
      const r3 = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 3 * 4096, s.progFd, s.scratchBuf));
      assert.equal(r3.status, XrpStatus.INVALID_SIZE);
      assert.match(r3.ends[0]!.detail, /size\[1\] is 100/);
      assert.equal(r3.reads, 3, 'the parent and the two good children');
      assert.equal(scratchAnswer(p, s.scratchBuf).sum, 34n);
    });
  });
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', bytes);
    installXrp(m.kernel, { insnLimit: 5 }); // programs loaded from now on stop after 5 instructions
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'f', WALK_OBJ, 'walk');
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, 0, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.FAULT);
      assert.match(r.fault ?? '', /instruction/);
      const f = yield* xrpFallback(t, p, s, r);
      assert.ok(typeof f !== 'number' && f.status === XrpStatus.FAULT);
    });
  });
});
