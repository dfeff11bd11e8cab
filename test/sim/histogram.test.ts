import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram } from '../../src/sim/histogram.ts';
import { Prng } from '../../src/base/prng.ts';
import { SimError } from '../../src/sim/errors.ts';

function exactPercentile(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((Math.round(p * 1e6) * sorted.length) / 1e8)) - 1]!;
}

test('small values are exact: mean, min, max and percentiles', () => {
  const h = new Histogram();
  for (let v = 1; v <= 1000; v++) h.record(v);
  const s = h.summary();
  assert.equal(s.count, 1000);
  assert.equal(s.meanNs, 500.5);
  assert.equal(s.minNs, 1);
  assert.equal(s.p50Ns, 500);
  assert.equal(s.p95Ns, 950);
  assert.equal(s.p99Ns, 990);
  assert.equal(s.p999Ns, 999);
  assert.equal(s.maxNs, 1000);
});

test('large values are within 0.1% of the exact percentile and never above max', () => {
  const p = new Prng(3);
  const h = new Histogram();
  const values: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    // A long-tailed mix: microseconds with occasional milliseconds and seconds.
    const r = p.nextU32() % 100;
    const v = r < 90 ? 3000 + p.nextBelow(5000) : r < 99 ? 1_000_000 + p.nextBelow(9_000_000) : 2_000_000_000 + p.nextBelow(2 ** 33);
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [50, 95, 99, 99.9, 100]) {
    const exact = exactPercentile(values, q);
    const got = h.percentileNs(q);
    assert.ok(got >= exact && got <= exact * 1.001 + 1, `p${q}: got ${got}, exact ${exact}`);
  }
  assert.equal(h.summary().maxNs, values[values.length - 1]);
  assert.equal(h.meanNs(), values.reduce((a, b) => a + b, 0) / values.length);
});

test('merge adds samples; reset empties; empty histogram reports zeros', () => {
  const a = new Histogram();
  const b = new Histogram();
  a.record(10);
  b.record(5_000_000);
  a.merge(b);
  assert.equal(a.count, 2);
  assert.equal(a.summary().maxNs, 5_000_000);
  assert.equal(a.summary().minNs, 10);
  a.reset();
  assert.deepEqual(a.summary(), { count: 0, meanNs: 0, minNs: 0, p50Ns: 0, p95Ns: 0, p99Ns: 0, p999Ns: 0, maxNs: 0 });
});

test('non-integer or negative samples and bad percentiles are typed errors', () => {
  const h = new Histogram();
  assert.throws(() => h.record(-1), SimError);
  assert.throws(() => h.record(1.5), SimError);
  assert.throws(() => h.percentileNs(0), SimError);
  assert.throws(() => h.percentileNs(101), SimError);
});
