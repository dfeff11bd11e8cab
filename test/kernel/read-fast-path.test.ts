import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceProfile } from '../../src/device/profiles.ts';
import { O_DIRECT, O_RDONLY, SEEK_SET } from '../../src/kernel/syscalls.ts';
import { pattern, withMachine } from './helpers.ts';

// The untraced read()/pread() take a fast path (Process.readUntraced, PreadCall) with
// fewer simulator steps; with the breakdown enabled they go through rw(). Both must
// give the same results and virtual times, including when the NVMe queue is full
// (threads wait for a tag), for read()'s file position, and for errors and EOF.

function run(traced: boolean): { out: string; tagWaits: number } {
  const profile = { ...deviceProfile('tlc-980pro'), name: 'tlc-1-deep', maxQueueDepth: 1 };
  return withMachine({ cores: 2, seed: 5, profile }, (m) => {
    m.fs.write(m.fs.create('d'), 0, pattern(1 << 20, 9));
    m.kernel.breakdown.enabled = traced;
    const p = m.kernel.createProcess();
    const rng = m.sim.rng;
    const out: number[] = [];
    for (let i = 0; i < 7; i++) {
      const buf = p.alloc(8192);
      m.sim.spawn(`r${i}`, function* (t) {
        const fd = yield* p.open(t, 'd', O_RDONLY | O_DIRECT);
        for (let k = 0; k < 60; k++) {
          const start = t.nowNs;
          const kind = rng.nextBelow(8);
          const size = 512 * (1 + rng.nextBelow(8));
          let r: number;
          if (kind === 0) r = yield* p.pread(t, fd, buf + 1, 512, 0); // misaligned: EINVAL
          else if (kind === 1) r = yield* p.pread(t, 99, buf, 512, 0); // EBADF
          else if (kind === 2) r = yield* p.pread(t, fd, buf, size, (1 << 20) - 512); // short read at EOF
          else if (kind === 3) {
            yield* p.lseek(t, fd, rng.nextBelow(2040) * 512, SEEK_SET);
            r = yield* p.read(t, fd, buf, size);
            out.push(yield* p.lseek(t, fd, 0, 1)); // the position read() left
          } else r = yield* p.pread(t, fd, buf, size, rng.nextBelow(2040) * 512);
          out.push(i, kind, r, t.nowNs - start, p.bytes(buf, 1)[0]!, p.bytes(buf + 511, 1)[0]!);
        }
      });
    }
    m.sim.run();
    return { out: out.join(',') + `@${m.sim.nowNs}`, tagWaits: m.driver.stats.tagWaits };
  });
}

test('the untraced read fast path gives the traced path\'s results and times bit for bit (full queues, read(), errors, EOF)', () => {
  const fast = run(false);
  const traced = run(true);
  assert.ok(fast.tagWaits > 0, 'threads waited for a tag (the fast path\'s placeWhenFree)');
  assert.equal(fast.tagWaits, traced.tagWaits);
  assert.equal(fast.out, traced.out);
});
