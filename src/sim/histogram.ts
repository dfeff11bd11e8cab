// Latency histogram with bounded memory: log-linear buckets in the style of
// HdrHistogram. Values below 2048 are counted exactly; above, each power of two
// is cut into 1024 linear sub-buckets, so a reported percentile is within 0.1 %
// of the true sample (and never above the true maximum). Mean, min and max are exact.

import { SimError } from './errors.ts';

const EXACT_LIMIT = 2048; // values below this get their own bucket
const SUB_BUCKETS = 1024; // linear sub-buckets per power of two above it
const SUB_BITS = 10;

export interface LatencySummary {
  count: number;
  meanNs: number;
  minNs: number;
  p50Ns: number;
  p95Ns: number;
  p99Ns: number;
  p999Ns: number;
  maxNs: number;
}

function floorLog2(value: number): number {
  if (value < 0x100000000) return 31 - Math.clz32(value);
  return 63 - Math.clz32(Math.floor(value / 0x100000000));
}

function bucketOf(value: number): number {
  if (value < EXACT_LIMIT) return value;
  if (value < 0x80000000) {
    // Integer shifts for 31-bit values (the usual latencies); same buckets as below.
    const s = 21 - Math.clz32(value); // floorLog2(value) - SUB_BITS
    return EXACT_LIMIT + (s - 1) * SUB_BUCKETS + ((value >> s) - SUB_BUCKETS);
  }
  const shift = floorLog2(value) - SUB_BITS; // value / 2^shift is in [1024, 2048)
  const sub = Math.floor(value / 2 ** shift) - SUB_BUCKETS;
  return EXACT_LIMIT + (shift - 1) * SUB_BUCKETS + sub;
}

/** Largest value that falls in bucket `index`. */
function bucketHighNs(index: number): number {
  if (index < EXACT_LIMIT) return index;
  const rel = index - EXACT_LIMIT;
  const shift = Math.floor(rel / SUB_BUCKETS) + 1;
  const sub = rel % SUB_BUCKETS;
  return (SUB_BUCKETS + sub + 1) * 2 ** shift - 1;
}

export class Histogram {
  private counts = new Float64Array(EXACT_LIMIT + 8 * SUB_BUCKETS);
  private total = 0;
  private sumNs = 0;
  private minValueNs = Infinity;
  private maxValueNs = 0;

  get count(): number {
    return this.total;
  }

  /** Records one integer sample (nanoseconds). */
  record(valueNs: number): void {
    if (!Number.isSafeInteger(valueNs) || valueNs < 0) {
      throw new SimError(`histogram sample must be a non-negative integer of ns, got ${String(valueNs)}`);
    }
    const index = bucketOf(valueNs);
    if (index >= this.counts.length) this.grow(index);
    const count = this.counts[index];
    if (count === undefined) throw new SimError(`histogram bucket ${index} of ${valueNs} ns is past the grown table`);
    this.counts[index] = count + 1;
    this.total++;
    this.sumNs += valueNs;
    if (valueNs < this.minValueNs) this.minValueNs = valueNs;
    if (valueNs > this.maxValueNs) this.maxValueNs = valueNs;
  }

  /** Adds every sample of `other` into this histogram. */
  merge(other: Histogram): void {
    if (other.counts.length > this.counts.length) this.grow(other.counts.length - 1);
    // A bucket past the end of `other` holds none of its samples.
    this.counts = this.counts.map((n, i) => n + (other.counts[i] ?? 0));
    this.total += other.total;
    this.sumNs += other.sumNs;
    if (other.minValueNs < this.minValueNs) this.minValueNs = other.minValueNs;
    if (other.maxValueNs > this.maxValueNs) this.maxValueNs = other.maxValueNs;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.sumNs = 0;
    this.minValueNs = Infinity;
    this.maxValueNs = 0;
  }

  meanNs(): number {
    return this.total === 0 ? 0 : this.sumNs / this.total;
  }

  /** The p-th percentile (0 < p <= 100): smallest recorded bucket value with at least p% of samples at or below it. */
  percentileNs(p: number): number {
    if (!(p > 0 && p <= 100)) throw new SimError(`percentile must be in (0, 100], got ${String(p)}`);
    if (this.total === 0) return 0;
    // Integer arithmetic so that e.g. p99.9 of 1000 samples is rank 999, not 1000.
    const rank = Math.max(1, Math.ceil((Math.round(p * 1e6) * this.total) / 1e8));
    let seen = 0;
    for (const [i, n] of this.counts.entries()) {
      seen += n;
      if (seen >= rank) return Math.max(this.minValueNs, Math.min(bucketHighNs(i), this.maxValueNs));
    }
    return this.maxValueNs;
  }

  summary(): LatencySummary {
    return {
      count: this.total,
      meanNs: this.meanNs(),
      minNs: this.total === 0 ? 0 : this.minValueNs,
      p50Ns: this.percentileNs(50),
      p95Ns: this.percentileNs(95),
      p99Ns: this.percentileNs(99),
      p999Ns: this.percentileNs(99.9),
      maxNs: this.maxValueNs,
    };
  }

  private grow(index: number): void {
    let size = this.counts.length;
    while (size <= index) size *= 2;
    const counts = new Float64Array(size);
    counts.set(this.counts);
    this.counts = counts;
  }
}
