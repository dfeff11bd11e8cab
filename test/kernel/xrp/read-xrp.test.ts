// read_xrp and BPF_PROG_LOAD as system calls: chains of 1 to 1,000 hops equal
// the user-space walk (and a walk with pread in the same machine), the
// original's argument checks and errnos, program-load errors, and
// IORING_OP_READ_XRP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EBADF, EFAULT, EINVAL, EISDIR, ESPIPE } from '../../../src/kernel/errno.ts';
import { Cqe, ioUringSetup, IoUring } from '../../../src/kernel/io-uring.ts';
import { O_DIRECT, O_RDONLY, O_WRONLY } from '../../../src/kernel/syscalls.ts';
import { VerifierError } from '../../../src/bpf/verifier/log.ts';
import {
  bpfProgLoad, IORING_OP_READ_XRP, readXrp, XrpProgLoadError, loadXrpProgramFile, XrpResult, xrpResultOfCqe, XrpStatus,
} from '../../../src/kernel/xrp/index.ts';
import { runThread, withMachine } from '../helpers.ts';
import { CHAIN_OBJ, chainFile, putFile, setup, u64, walkChain } from './helpers.ts';

function result(r: XrpResult | number): XrpResult {
  if (typeof r === 'number') assert.fail(`read_xrp refused: ${r}`);
  return r;
}

test('chains of 1 to 1,000 hops: read_xrp = the user-space walk = a pread walk in the machine', () => {
  const cf = chainFile(1000, 1200, 42);
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'chain', cf.bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'chain');
      const buf = p.alloc(4096);
      for (const hops of [1, 2, 3, 6, 17, 100, 333, 999, 1000]) {
        const start = cf.order[1000 - hops]!; // `hops` blocks from the end of the chain
        const ref = walkChain(cf.bytes, start);
        assert.equal(ref.hops, hops);
        p.bytes(s.scratchBuf, 16).fill(0);
        const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, start, s.progFd, s.scratchBuf));
        assert.equal(r.status, XrpStatus.DONE, `${hops} hops`);
        assert.equal(r.res, 512);
        assert.equal(r.reads, hops);
        assert.equal(r.resubmissions, hops - 1);
        assert.equal(u64(p, s.scratchBuf), hops);
        assert.equal(u64(p, s.scratchBuf + 8), ref.last);
        assert.equal(r.stopOffset, hops === 1 ? start : ref.last);
        // the last block is left in the data buffer, as in the original
        assert.deepEqual(p.bytes(s.dataBuf, 512), cf.bytes.subarray(r.stopOffset, r.stopOffset + 512));
        // a walk with pread() in the same machine
        let off = start;
        let n = 0;
        for (;;) {
          assert.equal(yield* p.pread(t, s.fd, buf, 512, off), 512);
          n++;
          const next = u64(p, buf);
          if (next === 0) break;
          off = next;
        }
        assert.equal(n, hops);
      }
    });
  });
});

test('argument checks: EINVAL, EBADF, ESPIPE, EISDIR, EFAULT; a missing program or scratch page is reported', () => {
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', chainFile(3, 8, 1).bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'f');
      const buffered = yield* p.open(t, 'f', O_RDONLY);
      const wronly = yield* p.open(t, 'f', O_WRONLY | O_DIRECT);
      const dir = yield* p.open(t, '/', O_RDONLY);
      const pipe = yield* p.pipe(t);
      assert.ok(Array.isArray(pipe));
      const small = p.alloc(512); // 4096-aligned but only 512 bytes mapped
      const x = (fd: number, data: number, count: number, pos: number, prog: number, scratch: number) => readXrp(t, p, fd, data, count, pos, prog, scratch);
      const { fd, dataBuf: d, progFd: pf, scratchBuf: sc } = s;
      const cases: Array<[string, number | XrpResult, number]> = [
        ['pos < 0', yield* x(fd, d, 512, -512, pf, sc), -EINVAL],
        ['bad fd', yield* x(99, d, 512, 0, pf, sc), -EBADF],
        ['pipe', yield* x(pipe[0], d, 512, 0, pf, sc), -ESPIPE],
        ['write-only fd', yield* x(wronly, d, 512, 0, pf, sc), -EBADF],
        ['directory', yield* x(dir, d, 512, 0, pf, sc), -EISDIR],
        ['data not 4096-aligned', yield* x(fd, d + 512, 512, 0, pf, sc), -EINVAL],
        ['scratch not 4096-aligned', yield* x(fd, d, 512, 0, pf, sc + 8), -EINVAL],
        ['count 0', yield* x(fd, d, 0, 0, pf, sc), -EINVAL],
        ['count 700', yield* x(fd, d, 700, 0, pf, sc), -EINVAL],
        ['count 8192', yield* x(fd, d, 8192, 0, pf, sc), -EINVAL],
        ['no scratch page', yield* x(fd, d, 512, 0, pf, 0), -EFAULT],
        ['unmapped data page', yield* x(fd, 1 << 23, 512, 0, pf, sc), -EFAULT],
        ['data page of 512 bytes', yield* x(fd, small, 512, 0, pf, sc), -EFAULT],
        ['not O_DIRECT', yield* x(buffered, d, 512, 0, pf, sc), -EINVAL],
        ['pos not 512-aligned', yield* x(fd, d, 512, 100, pf, sc), -EINVAL],
        ['no program', yield* x(fd, d, 512, 0, -1, sc), -EBADF],
        ['closed program fd', yield* x(fd, d, 512, 0, 77, sc), -EBADF],
        ['a file fd as program', yield* x(fd, d, 512, 0, fd, sc), -EINVAL],
      ];
      for (const [what, got, want] of cases) assert.equal(got, want, what);
      // pos is not moved (like pread), and the program fd is a real fd
      assert.equal(yield* p.lseek(t, fd, 0, 1), 0);
      assert.equal(yield* p.pread(t, s.progFd, d, 512, 0), -ESPIPE);
      assert.equal(yield* p.read(t, s.progFd, d, 512), -EINVAL);
      assert.equal(yield* p.lseek(t, s.progFd, 0, 0), -ESPIPE);
      assert.equal(yield* p.close(t, s.progFd), 0);
      assert.equal(yield* x(fd, d, 512, 0, s.progFd, sc), -EBADF);
    });
  });
});

test('BPF_PROG_LOAD: fds in the process table; garbage, unknown programs and verifier rejections give -EINVAL with a log', () => {
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const obj = readFileSync(CHAIN_OBJ);
      const ok = yield* bpfProgLoad(t, p, { object: obj, program: 'chain' });
      assert.equal(ok.fd, 3);
      assert.equal(ok.error, null);
      const interp = yield* bpfProgLoad(t, p, { object: obj, program: 'xrp', engine: 'interp' });
      assert.equal(interp.fd, 4);
      const garbage = yield* bpfProgLoad(t, p, { object: new Uint8Array([1, 2, 3]), program: 'chain', fileName: 'junk.o' });
      assert.equal(garbage.fd, -EINVAL);
      assert.match(garbage.log.join('\n'), /junk\.o/);
      const missing = yield* bpfProgLoad(t, p, { object: obj, program: 'nope' });
      assert.equal(missing.fd, -EINVAL);
      assert.match(missing.log[0]!, /nope/);
      // a program the verifier rejects (an offset mask that reaches past the data page)
      const badPath = new URL('../../bpf/verifier/fixtures/bad_mask.bpf.o', import.meta.url).pathname;
      const rejected = yield* bpfProgLoad(t, p, { object: readFileSync(badPath), program: 'bad_mask' });
      assert.equal(rejected.fd, -EINVAL);
      assert.ok(rejected.error instanceof VerifierError);
      assert.match(rejected.log.join('\n'), /outside of the allowed memory range/);
      let thrown: unknown = null;
      try {
        yield* loadXrpProgramFile(t, p, badPath, 'bad_mask');
      } catch (error) {
        thrown = error;
      }
      assert.ok(thrown instanceof XrpProgLoadError);
      assert.match(thrown.message, /bad_mask.*outside of the allowed memory range/s);
      // the next free fd is still 5: failed loads install nothing
      assert.equal((yield* bpfProgLoad(t, p, { object: obj, program: 'chain' })).fd, 5);
    });
  });
});

test('IORING_OP_READ_XRP: a batch of chains of different lengths, each CQE with its XrpResult; bad SQEs complete with -errno', () => {
  const cf = chainFile(200, 300, 9);
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'chain', cf.bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'chain');
      const ring = yield* ioUringSetup(t, p, { entries: 16 });
      assert.ok(ring instanceof IoUring);
      const lengths = [1, 5, 50, 200, 7];
      const pages = lengths.map(() => ({ data: p.alloc(4096), scratch: p.alloc(4096) }));
      lengths.forEach((hops, i) => {
        const sqe = ring.getSqe()!;
        sqe.opcode = IORING_OP_READ_XRP;
        sqe.fd = s.fd;
        sqe.addr = pages[i]!.data;
        sqe.len = 512;
        sqe.off = cf.order[200 - hops]!;
        sqe.bpfFd = s.progFd;
        sqe.scratchAddr = pages[i]!.scratch;
        sqe.userData = i;
      });
      const bad = ring.getSqe()!;
      bad.opcode = IORING_OP_READ_XRP;
      bad.fd = s.fd;
      bad.addr = s.dataBuf;
      bad.len = 512;
      bad.scratchAddr = s.scratchBuf; // no program
      bad.userData = 99;
      assert.equal(yield* ring.submitAndWait(t, lengths.length + 1), lengths.length + 1);
      const seen = new Set<number>();
      while (ring.cqReady > 0) {
        const cqe: Cqe = ring.peekCqe()!;
        if (cqe.userData === 99) {
          assert.equal(cqe.res, -EBADF);
          assert.equal(xrpResultOfCqe(cqe), null);
        } else {
          const i = cqe.userData;
          const r = xrpResultOfCqe(cqe);
          assert.ok(r !== null);
          assert.equal(cqe.res, 512);
          assert.equal(r.status, XrpStatus.DONE);
          assert.equal(r.reads, lengths[i]);
          const ref = walkChain(cf.bytes, cf.order[200 - lengths[i]!]!);
          assert.equal(u64(p, pages[i]!.scratch), ref.hops);
          assert.equal(u64(p, pages[i]!.scratch + 8), ref.last);
        }
        seen.add(cqe.userData);
        ring.cqeSeen();
      }
      assert.equal(seen.size, lengths.length + 1);
    });
  });
});

test('IORING_OP_READ_XRP through an SQPOLL ring: the poller submits, the application only reaps', () => {
  const cf = chainFile(40, 64, 5);
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'chain', cf.bytes);
    const p = m.kernel.createProcess('app');
    runThread(m, function* (t) {
      const s = yield* setup(t, p, 'chain');
      const ring = yield* ioUringSetup(t, p, { entries: 4, sqpoll: true, sqThreadCpu: 1 });
      assert.ok(ring instanceof IoUring);
      for (const hops of [40, 3]) {
        const sqe = ring.getSqe()!;
        sqe.opcode = IORING_OP_READ_XRP;
        sqe.fd = s.fd;
        sqe.addr = s.dataBuf;
        sqe.len = 512;
        sqe.off = cf.order[40 - hops]!;
        sqe.bpfFd = s.progFd;
        sqe.scratchAddr = s.scratchBuf;
        p.bytes(s.scratchBuf, 16).fill(0);
        yield* ring.submit(t);
        while (ring.cqReady === 0) yield* ring.waitCqe(t);
        const cqe: Cqe = ring.peekCqe()!;
        const r = xrpResultOfCqe(cqe);
        assert.ok(r !== null && r.status === XrpStatus.DONE && r.reads === hops && cqe.res === 512);
        assert.equal(u64(p, s.scratchBuf), hops);
        ring.cqeSeen();
      }
      ring.exit();
    });
  });
});
