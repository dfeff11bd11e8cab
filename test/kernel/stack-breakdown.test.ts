import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TABLE1_NS } from '../../src/kernel/costs.ts';
import { formatBreakdown, runStackBreakdown } from '../../src/kernel/stack-breakdown.ts';
import { defaultSchedParams } from '../../src/sim/simulator.ts';

test('optane-p5800x: every layer of a 512-byte random O_DIRECT read is within 2% of Table 1', () => {
  const r = runStackBreakdown({ device: 'optane-p5800x', reads: 3000, seed: 3 });
  assert.equal(r.reads, 3000);
  const table1 = [TABLE1_NS.crossing, TABLE1_NS.readSyscall, TABLE1_NS.fs, TABLE1_NS.bio, TABLE1_NS.nvmeDriver, TABLE1_NS.device];
  table1.forEach((expected, i) => {
    const row = r.rows[i]!;
    assert.equal(row.table1Ns, expected);
    assert.ok(Math.abs(row.meanNs - expected) <= 0.02 * expected, `${row.name}: ${row.meanNs} ns vs Table 1 ${expected} ns`);
  });
  // The device time is a distribution now: its mean over 3000 reads is within 0.5% of Table 1.
  assert.ok(Math.abs(r.rows[5]!.meanNs - 3224) <= 0.005 * 3224, `device ${r.rows[5]!.meanNs}`);
  // Beyond Table 1: the sleeping reader pays its wake-up (try_to_wake_up in the interrupt, the switch in), no queueing.
  const s = defaultSchedParams(1);
  assert.equal(r.rows[6]!.meanNs, s.wakeupNs + s.contextSwitchNs);
  const blockingNs = s.wakeupNs + s.contextSwitchNs;
  assert.ok(Math.abs(r.totalMeanNs - (6272 + blockingNs)) <= 0.005 * 6272);
  assert.ok(Math.abs(r.latency.meanNs - r.totalMeanNs) < 1e-6, 'layers add up to the measured mean latency');
  assert.ok(Math.abs(r.softwareShare - (1 - 3224 / (6272 + blockingNs))) < 0.005, `software share ${r.softwareShare}`);
  assert.ok(r.latency.p999Ns > r.latency.p50Ns, 'the device gives the read a tail');
  const text = formatBreakdown(r);
  assert.match(text, /^storage device\s+32\d\d\.\d\s+\d+\.\d%\s+3224\s+-?0\.\d\d%$/m);
  assert.match(text, /^file system \(ext4\)\s+2006\.0\s+\d+\.\d%\s+2006\s+0\.00%$/m);
});

test('the device row follows the profile (tlc-980pro) and the read size; bad options are typed errors', () => {
  const r = runStackBreakdown({ device: 'tlc-980pro', reads: 200 });
  assert.ok(r.rows[5]!.meanNs > 40_000, `NAND device time ${r.rows[5]!.meanNs}`);
  assert.equal(r.rows[2]!.meanNs, TABLE1_NS.fs);
  const big = runStackBreakdown({ device: 'optane-p5800x', reads: 200, readBytes: 4096 });
  assert.ok(big.rows[5]!.meanNs > 3224, 'a 4 KiB read takes longer on the device');
  assert.throws(() => runStackBreakdown({ device: 'optane-p5800x', reads: 0 }), /--reads/);
  assert.throws(() => runStackBreakdown({ device: 'optane-p5800x', reads: 10, readBytes: 100 }), /multiple of 512/);
  assert.throws(() => runStackBreakdown({ device: 'nope', reads: 10 }), /unknown device profile 'nope'/);
});
