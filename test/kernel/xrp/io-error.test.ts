// A media error under a chain: the device fails the read of one block after its
// full device time (injected Unrecovered Read Error). pread() returns -EIO;
// read_xrp ends the chain with IO_ERROR at that block's offset, res -EIO, the
// program never sees the block; the fallback does not retry (terminal), and a
// chain that avoids the block is unaffected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readXrp, readXrpOrFallback, XrpResult, XrpStatus } from '../../../src/kernel/xrp/index.ts';
import { EIO } from '../../../src/kernel/errno.ts';
import { LOGICAL_BLOCK_BYTES, NVME_SC_UNRECOVERED_READ_ERROR, nvmeStatusName } from '../../../src/device/command.ts';
import { DeviceError } from '../../../src/device/errors.ts';
import { runThread, withMachine } from '../helpers.ts';
import { chainFile, putFile, setup, u64, walkChain } from './helpers.ts';

function result(r: XrpResult | number): XrpResult {
  if (typeof r === 'number') assert.fail(`read_xrp refused: ${r}`);
  return r;
}

test('IO_ERROR: a media error on the 4th block of a 10-hop chain ends it there with -EIO; pread sees EIO too', () => {
  const chain = chainFile(10, 64, 7);
  withMachine({ profile: 'optane-p5800x', cores: 2 }, (m) => {
    putFile(m, 'f', chain.bytes);
    const ino = m.fs.lookup('f')!;
    const bad = chain.order[3]!;
    const mapping = m.fs.digest.lookupMapping(ino.ino, bad, 512);
    assert.ok(mapping.exist);
    m.controller.injectReadError(mapping.address / LOGICAL_BLOCK_BYTES, 1);
    const p = m.kernel.createProcess('app');
    const s = runThread(m, (t) => setup(t, p, 'f'));
    runThread(m, function* (t) {
      const errorsBefore = m.controller.stats.errors;
      const r = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, chain.start, s.progFd, s.scratchBuf));
      assert.equal(r.status, XrpStatus.IO_ERROR);
      assert.equal(r.res, -EIO);
      assert.equal(r.stopOffset, bad);
      assert.equal(r.reads, 4, 'three good reads, then the failed one');
      assert.equal(u64(p, s.scratchBuf), 3, 'the program ran on the three good blocks only');
      assert.equal(m.controller.stats.errors, errorsBefore + 1);
      // terminal: the fallback returns the device's answer without retrying
      const f = yield* readXrpOrFallback(t, p, s.fd, s.dataBuf, 512, chain.start, s.progFd, s.scratchBuf);
      assert.ok(typeof f !== 'number');
      assert.equal(f.status, XrpStatus.IO_ERROR);
      assert.equal(yield* p.pread(t, s.fd, s.dataBuf, 512, bad), -EIO);
      // the block next to it reads fine
      assert.equal(yield* p.pread(t, s.fd, s.dataBuf, 512, bad ^ 512), 512);
      // a chain that starts after the bad block is unaffected
      p.bytes(s.scratchBuf, 4096).fill(0);
      const tail = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, chain.order[4]!, s.progFd, s.scratchBuf));
      assert.equal(tail.status, XrpStatus.DONE);
      assert.equal(u64(p, s.scratchBuf), walkChain(chain.bytes, chain.order[4]!).hops);
      // cleared: the whole chain succeeds
      m.controller.clearInjectedErrors();
      p.bytes(s.scratchBuf, 4096).fill(0);
      const all = result(yield* readXrp(t, p, s.fd, s.dataBuf, 512, chain.start, s.progFd, s.scratchBuf));
      assert.equal(all.status, XrpStatus.DONE);
      assert.equal(u64(p, s.scratchBuf), 10);
    });
  });
});

test('injectReadError refuses ranges outside the device; the status has a name', () => {
  withMachine({ profile: 'optane-p5800x', cores: 1 }, (m) => {
    assert.throws(() => m.controller.injectReadError(-1, 1), DeviceError);
    assert.throws(() => m.controller.injectReadError(0, 0), DeviceError);
    assert.throws(() => m.controller.injectReadError(m.controller.capacityBlocks, 1), /not inside the device/);
  });
  assert.equal(nvmeStatusName(NVME_SC_UNRECOVERED_READ_ERROR), 'UNRECOVERED_READ_ERROR');
});
