import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TABLE1_NS } from '../../src/kernel/costs.ts';
import { formatBreakdown, runStackBreakdown } from '../../src/kernel/stack-breakdown.ts';

test('optane-p5800x: every layer of a 512-byte random O_DIRECT read is within 2% of Table 1', () => {
  const r = runStackBreakdown({ device: 'optane-p5800x', reads: 3000, seed: 3 });
  assert.equal(r.reads, 3000);
  const table1 = [TABLE1_NS.crossing, TABLE1_NS.readSyscall, TABLE1_NS.fs, TABLE1_NS.bio, TABLE1_NS.nvmeDriver, TABLE1_NS.device];
  table1.forEach((expected, i) => {
    const row = r.rows[i]!;
    assert.equal(row.table1Ns, expected);
    assert.ok(Math.abs(row.meanNs - expected) <= 0.02 * expected, `${row.name}: ${row.meanNs} ns vs Table 1 ${expected} ns`);
  });
  assert.ok(r.rows[6]!.meanNs < 0.02 * 6272, 'no scheduling delay for one thread on an idle core');
  assert.ok(Math.abs(r.totalMeanNs - 6272) <= 0.02 * 6272);
  assert.ok(Math.abs(r.latency.meanNs - r.totalMeanNs) < 1e-6, 'layers add up to the measured mean latency');
  assert.ok(Math.abs(r.softwareShare - 0.486) < 0.005, `software share ${r.softwareShare}`);
  const text = formatBreakdown(r);
  assert.match(text, /^storage device\s+3224\.0\s+51\.4%\s+3224\s+0\.00%$/m);
  assert.match(text, /^total\s+6272\.0/m);
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
