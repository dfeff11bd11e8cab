import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EBADF, EEXIST, EFAULT, EINVAL, EISDIR, EMFILE, ENOENT, ENOTDIR, ESPIPE, errnoName,
} from '../../src/kernel/errno.ts';
import { FS_BLOCK_BYTES } from '../../src/kernel/fs/layout.ts';
import {
  FALLOC_FL_KEEP_SIZE, FD_MAX, O_CREAT, O_DIRECT, O_DIRECTORY, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, SEEK_END, SEEK_SET,
} from '../../src/kernel/syscalls.ts';
import { TABLE1_NS } from '../../src/kernel/costs.ts';
import { pattern, runThread, withMachine } from './helpers.ts';
import { constantTiming, OPTANE_P5800X } from '../../src/device/profiles.ts';
import { FREE_BLOCKING } from '../../src/sim/simulator.ts';

const B = FS_BLOCK_BYTES;

test('open: ENOENT, O_CREAT, O_EXCL, O_TRUNC, EISDIR, ENOTDIR, EINVAL flags, EMFILE; fds start at 3, lowest free first', () => {
  withMachine({}, (m) => {
    m.fs.write(m.fs.create('f'), 0, pattern(100, 1));
    const p = m.kernel.createProcess();
    const r = runThread(m, function* (t) {
      const out: Record<string, number> = {};
      out.missing = yield* p.open(t, 'nope', O_RDONLY);
      out.first = yield* p.open(t, 'f', O_RDONLY);
      out.second = yield* p.open(t, 'new', O_RDWR | O_CREAT);
      out.excl = yield* p.open(t, 'f', O_RDWR | O_CREAT | O_EXCL);
      out.rootWrite = yield* p.open(t, '/', O_RDWR);
      out.notDir = yield* p.open(t, 'f', O_RDONLY | O_DIRECTORY);
      out.badAcc = yield* p.open(t, 'f', 3);
      out.badFlag = yield* p.open(t, 'f', 0x40000000);
      out.close = yield* p.close(t, out.first!);
      out.closeAgain = yield* p.close(t, out.first!);
      out.reuse = yield* p.open(t, 'f', O_RDONLY);
      out.trunc = yield* p.open(t, 'f', O_WRONLY | O_TRUNC);
      let last = 0;
      for (let i = 0; i < FD_MAX; i++) {
        last = yield* p.open(t, 'f', O_RDONLY);
        if (last < 0) break;
      }
      out.emfile = last;
      return out;
    });
    assert.equal(r.missing, -ENOENT);
    assert.equal(r.first, 3);
    assert.equal(r.second, 4);
    assert.equal(r.excl, -EEXIST);
    assert.equal(r.rootWrite, -EISDIR);
    assert.equal(r.notDir, -ENOTDIR);
    assert.equal(r.badAcc, -EINVAL);
    assert.equal(r.badFlag, -EINVAL);
    assert.equal(r.close, 0);
    assert.equal(r.closeAgain, -EBADF);
    assert.equal(r.reuse, 3);
    assert.equal(m.fs.get('f').sizeBytes, 0, 'O_TRUNC');
    assert.equal(r.emfile, -EMFILE);
    assert.equal(m.fs.lookup('new')!.sizeBytes, 0, 'O_CREAT made the file');
  });
});

test('pread/read return the file bytes (O_DIRECT and buffered); read moves the position, pread does not', () => {
  withMachine({}, (m) => {
    const data = pattern(5 * B + 300, 2);
    m.fs.write(m.fs.create('d'), 0, data);
    const p = m.kernel.createProcess();
    const buf = p.alloc(3 * B);
    runThread(m, function* (t) {
      const fd = yield* p.open(t, 'd', O_RDONLY | O_DIRECT);
      assert.equal(yield* p.pread(t, fd, buf, 1024, 3 * 512), 1024);
      assert.deepEqual(p.bytes(buf, 1024), data.subarray(1536, 2560));
      assert.equal(yield* p.read(t, fd, buf, 512), 512);
      assert.deepEqual(p.bytes(buf, 512), data.subarray(0, 512));
      assert.equal(yield* p.read(t, fd, buf, 512), 512);
      assert.deepEqual(p.bytes(buf, 512), data.subarray(512, 1024), 'read advanced the position');
      // Crossing two blocks, and the end of the file: short read.
      assert.equal(yield* p.pread(t, fd, buf, 2 * B, 4 * B), B + 300);
      assert.deepEqual(p.bytes(buf, B + 300), data.subarray(4 * B));
      assert.equal(yield* p.pread(t, fd, buf, 512, 6 * B), 0, 'at/after EOF');
      const bfd = yield* p.open(t, 'd', O_RDONLY);
      assert.equal(yield* p.pread(t, bfd, buf + 3, 5000, 777), 5000, 'buffered: any alignment');
      assert.deepEqual(p.bytes(buf + 3, 5000), data.subarray(777, 5777));
      assert.equal(yield* p.lseek(t, bfd, -10, SEEK_END), data.length - 10);
      assert.equal(yield* p.read(t, bfd, buf, 100), 10);
      assert.equal(yield* p.lseek(t, bfd, -1, SEEK_SET), -EINVAL);
    });
  });
});

test('read errors: EBADF, EINVAL (misaligned O_DIRECT, negative offset), EFAULT, EISDIR, ESPIPE', () => {
  withMachine({}, (m) => {
    m.fs.write(m.fs.create('d'), 0, pattern(4 * B, 3));
    const p = m.kernel.createProcess();
    const buf = p.alloc(2 * B);
    const r = runThread(m, function* (t) {
      const fd = yield* p.open(t, 'd', O_RDONLY | O_DIRECT);
      const wfd = yield* p.open(t, 'd', O_WRONLY);
      const dir = yield* p.open(t, '/', O_RDONLY);
      const pipe = (yield* p.pipe(t)) as [number, number];
      return [
        yield* p.pread(t, 42, buf, 512, 0), // EBADF
        yield* p.pread(t, -1, buf, 512, 0), // EBADF
        yield* p.pread(t, wfd, buf, 512, 0), // EBADF: not open for reading
        yield* p.pread(t, fd, buf + 8, 512, 0), // EINVAL: buffer address
        yield* p.pread(t, fd, buf, 512, 100), // EINVAL: offset
        yield* p.pread(t, fd, buf, 500, 0), // EINVAL: length
        yield* p.pread(t, fd, buf, 512, -512), // EINVAL: negative offset
        yield* p.pread(t, fd, buf, 512, -1), // EINVAL: -1 is not "the file position"
        yield* p.pread(t, fd, buf, 512, 0.5), // EINVAL: not an integer
        yield* p.pread(t, fd, 0, 512, 0), // EFAULT: NULL
        yield* p.pread(t, fd, buf + B, 2 * B, 0), // EFAULT: runs off the region
        yield* p.pread(t, fd, 15 << 20, 512, 0), // EFAULT: unmapped
        yield* p.read(t, dir, buf, 512), // EISDIR
        yield* p.pread(t, pipe[0], buf, 512, 0), // ESPIPE
        yield* p.lseek(t, pipe[0], 0, SEEK_SET), // ESPIPE
        yield* p.pwrite(t, fd, buf, 512, 0), // EBADF: not open for writing
        yield* p.pread(t, fd, buf, 0, 0), // 0 bytes: fine
      ];
    });
    assert.deepEqual(r.map(errnoName), [
      'EBADF', 'EBADF', 'EBADF', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EFAULT', 'EFAULT', 'EFAULT', 'EISDIR', 'ESPIPE', 'ESPIPE', 'EBADF', 'errno 0',
    ]);
    assert.deepEqual(r.slice(0, 3), [-EBADF, -EBADF, -EBADF]);
    assert.equal(r[9], -EFAULT);
    assert.equal(r[13], -ESPIPE);
    assert.equal(r[12], -EISDIR);
  });
});

test('holes and unwritten extents read as zeros without device I/O', () => {
  withMachine({}, (m) => {
    const f = m.fs.create('h');
    m.fs.fallocate(f, 0, 2 * B);
    m.fs.truncate(f, 4 * B); // blocks 2..3 are a hole
    const p = m.kernel.createProcess();
    const buf = p.alloc(4 * B);
    p.bytes(buf, 4 * B).fill(0xee);
    const reads = m.controller.stats.reads;
    const n = runThread(m, function* (t) {
      const fd = yield* p.open(t, 'h', O_RDONLY | O_DIRECT);
      return yield* p.pread(t, fd, buf, 4 * B, 0);
    });
    assert.equal(n, 4 * B);
    assert.ok(p.bytes(buf, 4 * B).every((b) => b === 0));
    assert.equal(m.controller.stats.reads, reads, 'no device reads');
  });
});

test('O_DIRECT and buffered writes: data lands, size grows, unwritten extents convert, reads see it', () => {
  withMachine({}, (m) => {
    const f = m.fs.create('w');
    m.fs.fallocate(f, 0, 2 * B);
    const p = m.kernel.createProcess();
    const buf = p.alloc(2 * B);
    const out = p.alloc(4 * B);
    p.bytes(buf, 2 * B).set(pattern(2 * B, 9));
    const writes = m.controller.stats.writes;
    runThread(m, function* (t) {
      const fd = yield* p.open(t, 'w', O_RDWR | O_DIRECT);
      assert.equal(yield* p.pwrite(t, fd, buf, 1024, 512), 1024);
      assert.equal(yield* p.pwrite(t, fd, buf + 1, 512, 0), -EINVAL, 'misaligned direct write');
      assert.equal(yield* p.pwrite(t, fd, buf, 2 * B, 3 * B), 2 * B, 'write past the end allocates and extends');
      assert.equal(yield* p.pread(t, fd, out, 4 * B, 0), 4 * B);
      const got = p.bytes(out, 4 * B);
      assert.ok(got.subarray(0, 512).every((b) => b === 0));
      assert.deepEqual(got.subarray(512, 1536), pattern(2 * B, 9).subarray(0, 1024));
      assert.ok(got.subarray(1536, 3 * B).every((b) => b === 0), 'still-unwritten parts read as zeros');
      assert.deepEqual(got.subarray(3 * B, 4 * B), pattern(2 * B, 9).subarray(0, B));
      const bfd = yield* p.open(t, 'w', O_WRONLY);
      assert.equal(yield* p.lseek(t, bfd, 5 * B, SEEK_SET), 5 * B);
      assert.equal(yield* p.write(t, bfd, buf + 5, 10), 10);
    });
    assert.ok(m.controller.stats.writes > writes, 'direct writes went to the device');
    assert.equal(f.sizeBytes, 5 * B + 10);
    assert.deepEqual(m.fs.read(f, 5 * B, 10), pattern(2 * B, 9).subarray(5, 15));
    assert.deepEqual(f.extents.map((e) => e.unwritten), [true, false, true, false].slice(0, f.extents.length).map((_, i) => f.extents[i]!.unwritten));
    assert.equal(m.fs.digest.lookupMapping(f.ino, 512, 512).exist, true, 'the digest sees the converted extent');
  });
});

test('one 512-byte O_DIRECT read on optane-p5800x takes Table 1\'s 6272 ns, 3048 ns of it CPU', () => {
  // The device at its mean and a free blocking path: Table 1's arithmetic exactly.
  withMachine({ cores: 1, profile: constantTiming(OPTANE_P5800X), sched: FREE_BLOCKING }, (m) => {
    m.fs.write(m.fs.create('d'), 0, pattern(B, 1));
    const p = m.kernel.createProcess();
    const buf = p.alloc(B);
    let latency = 0;
    const thread = m.sim.spawn('one', function* (t) {
      const fd = yield* p.open(t, 'd', O_RDONLY | O_DIRECT);
      const start = t.nowNs;
      assert.equal(yield* p.pread(t, fd, buf, 512, 1024), 512);
      latency = t.nowNs - start;
    });
    m.sim.run();
    const c = m.kernel.costs;
    const openCpu = c.syscallEntryNs + c.readSyscallNs + c.fsNs + c.syscallExitNs;
    const cpu = thread.sumExecNs - openCpu;
    const total = TABLE1_NS.crossing + TABLE1_NS.readSyscall + TABLE1_NS.fs + TABLE1_NS.bio + TABLE1_NS.nvmeDriver + TABLE1_NS.device;
    assert.equal(latency, total);
    // The completion interrupt (entry/exit and 56 ns) lands on the idle core and is not charged to the sleeping thread.
    assert.equal(cpu, total - TABLE1_NS.device - m.driver.costs.completeNs);
  });
});

test('a read spanning two extents issues two bios; a read larger than the device limit is split', () => {
  withMachine({}, (m) => {
    const a = m.fs.create('a');
    const b = m.fs.create('b');
    m.fs.append(a, pattern(B, 1));
    m.fs.append(b, pattern(B, 2));
    m.fs.append(a, pattern(B, 3));
    m.fs.write(m.fs.create('big'), 0, pattern(256 << 10, 4));
    assert.equal(a.extents.length, 2);
    const p = m.kernel.createProcess();
    const buf = p.alloc(256 << 10);
    runThread(m, function* (t) {
      const fd = yield* p.open(t, 'a', O_RDONLY | O_DIRECT);
      const bios = m.kernel.block.bios;
      assert.equal(yield* p.pread(t, fd, buf, 2 * B, 0), 2 * B);
      assert.equal(m.kernel.block.bios - bios, 2);
      assert.deepEqual(p.bytes(buf, B), pattern(B, 1));
      assert.deepEqual(p.bytes(buf + B, B), pattern(B, 3));
      const big = yield* p.open(t, 'big', O_RDONLY | O_DIRECT);
      const reqs = m.kernel.block.requests;
      assert.equal(yield* p.pread(t, big, buf, 256 << 10, 0), 256 << 10);
      assert.equal(m.kernel.block.requests - reqs, 2, '256 KiB in 128 KiB requests');
      assert.deepEqual(p.bytes(buf, 256 << 10), pattern(256 << 10, 4));
    });
  });
});

test('threads sharing one core queue for it: per-layer times grow, and the layers add up to the measured latency', () => {
  withMachine({ cores: 1 }, (m) => {
    m.fs.write(m.fs.create('d'), 0, pattern(1 << 20, 5));
    const p = m.kernel.createProcess();
    let sumLatency = 0;
    let n = 0;
    for (let i = 0; i < 3; i++) {
      const buf = p.alloc(512);
      m.sim.spawn(`r${i}`, function* (t) {
        const fd = yield* p.open(t, 'd', O_RDONLY | O_DIRECT);
        for (let k = 0; k < 200; k++) {
          const start = t.nowNs;
          const r = yield* p.pread(t, fd, buf, 512, m.sim.rng.nextBelow(2048) * 512);
          assert.equal(r, 512);
          sumLatency += t.nowNs - start;
          n++;
        }
      });
    }
    m.kernel.breakdown.reset();
    m.kernel.breakdown.enabled = true;
    m.sim.run();
    const bd = m.kernel.breakdown;
    assert.equal(bd.reads, 600);
    assert.ok(Math.abs(bd.totalMeanNs() - sumLatency / n) < 1e-6, 'layers add up to the end-to-end mean');
    assert.ok(bd.totalMeanNs() > 6272 * 1.2, `contention shows (mean ${bd.totalMeanNs()})`);
  });
});

test('deterministic: the same seed gives the same latencies bit for bit, traced or not; another seed differs', () => {
  const run = (seed: number, traced: boolean): string => withMachine({ cores: 2, seed }, (m) => {
    m.fs.write(m.fs.create('d'), 0, pattern(1 << 20, 6));
    m.kernel.breakdown.enabled = traced;
    const p = m.kernel.createProcess();
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const buf = p.alloc(4096);
      m.sim.spawn(`r${i}`, function* (t) {
        const fd = yield* p.open(t, 'd', O_RDONLY | O_DIRECT);
        for (let k = 0; k < 100; k++) {
          const start = t.nowNs;
          const size = 512 * (1 + m.sim.rng.nextBelow(8));
          const r = yield* p.pread(t, fd, buf, size, m.sim.rng.nextBelow(2040) * 512);
          out.push(i, r, t.nowNs - start, p.bytes(buf, 1)[0]!);
        }
      });
    }
    m.sim.run();
    return out.join(',') + `@${m.sim.nowNs}`;
  });
  const a = run(11, false);
  assert.equal(run(11, false), a);
  assert.equal(run(11, true), a, 'tracing the layers does not change the timing of this run');
  assert.notEqual(run(12, false), a);
});

test('ftruncate and fallocate syscalls change extents (and the digest), with Linux errors', () => {
  withMachine({}, (m) => {
    m.fs.write(m.fs.create('f'), 0, pattern(4 * B, 8));
    const f = m.fs.get('f');
    const p = m.kernel.createProcess();
    const v0 = m.fs.digest.current(f.ino)!.version;
    const r = runThread(m, function* (t) {
      const rw = yield* p.open(t, 'f', O_RDWR);
      const ro = yield* p.open(t, 'f', O_RDONLY);
      const dir = yield* p.open(t, '/', O_RDONLY);
      const pipe = (yield* p.pipe(t)) as [number, number];
      return [
        yield* p.ftruncate(t, rw, B),
        yield* p.fallocate(t, rw, 0, 2 * B, 2 * B),
        yield* p.fallocate(t, rw, FALLOC_FL_KEEP_SIZE, 8 * B, B),
        yield* p.ftruncate(t, ro, 0),
        yield* p.ftruncate(t, rw, -1),
        yield* p.ftruncate(t, 99, 0),
        yield* p.fallocate(t, ro, 0, 0, B),
        yield* p.fallocate(t, rw, 0, 0, 0),
        yield* p.fallocate(t, rw, 8, 0, B),
        yield* p.fallocate(t, pipe[1], 0, 0, B),
        yield* p.fallocate(t, dir, 0, 0, B),
      ];
    });
    assert.deepEqual(r.map((x) => (x < 0 ? errnoName(x) : x)), [0, 0, 0, 'EINVAL', 'EINVAL', 'EBADF', 'EBADF', 'EINVAL', 'EOPNOTSUPP', 'ESPIPE', 'EBADF']);
    assert.equal(f.sizeBytes, 4 * B);
    assert.deepEqual(f.extents.map((e) => [e.lblk, e.len, e.unwritten]), [[0, 1, false], [2, 2, true], [8, 1, true]]);
    assert.ok(m.fs.digest.current(f.ino)!.version > v0);
    assert.equal(m.fs.digest.lookupMapping(f.ino, 2 * B, 512).exist, false, 'unwritten');
  });
});

test('property: random pread()s (direct and buffered) of a fragmented file with holes and unwritten extents match the file system', () => {
  withMachine({ cores: 1, seed: 21 }, (m) => {
    const f = m.fs.create('frag');
    const other = m.fs.create('other');
    // Fragment the file, leave holes, add unwritten extents, move a block.
    for (let i = 0; i < 24; i++) {
      if (i % 5 === 3) continue; // hole
      m.fs.write(f, i * B, pattern(B, 100 + i));
      m.fs.append(other, pattern(B, 7));
    }
    m.fs.fallocate(f, 24 * B, 3 * B);
    m.fs.write(f, 27 * B, pattern(1000, 5)); // size ends mid-block
    m.fs.relocate(f, 10, 2);
    assert.ok(f.extents.length > 5);
    const size = f.sizeBytes;
    const model = m.fs.read(f, 0, size);
    const p = m.kernel.createProcess();
    const buf = p.alloc(64 * B);
    const rng = m.sim.rng;
    let checked = 0;
    runThread(m, function* (t) {
      const dfd = yield* p.open(t, 'frag', O_RDONLY | O_DIRECT);
      const bfd = yield* p.open(t, 'frag', O_RDONLY);
      for (let i = 0; i < 300; i++) {
        const direct = (i & 1) === 0;
        const off = direct ? rng.nextBelow(Math.ceil(size / 512) + 2) * 512 : rng.nextBelow(size + 100);
        const len = direct ? (1 + rng.nextBelow(40)) * 512 : 1 + rng.nextBelow(20 * B);
        p.bytes(buf, len).fill(0xa5);
        const r = yield* p.pread(t, direct ? dfd : bfd, buf, len, off);
        const want = Math.max(0, Math.min(len, size - off));
        assert.equal(r, want, `pread(${direct ? 'direct' : 'buffered'}, ${len}, ${off})`);
        assert.deepEqual(p.bytes(buf, want), model.subarray(off, off + want), `bytes of pread(${len}, ${off})`);
        checked++;
      }
    });
    assert.equal(checked, 300);
  });
});
