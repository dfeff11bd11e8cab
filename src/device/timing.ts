// Device service times as a seeded distribution. A profile describes the shape
// of its queue-depth-1 read latency by published quantiles (multiples of the
// mean: the typical value, p99, p99.999 of a data sheet or of a published
// measurement); the sampler draws from the run's one PRNG by inverting that
// piecewise quantile function:
//   - between p = 0 and the first tail anchor the value is linear in p,
//   - in the tail (anchors at p >= 0.5) it is geometric in -ln(1 - p), the
//     usual straight line of a latency-percentile plot on a log axis,
//   - beyond the last anchor it stays at the last anchor's value (the worst
//     case the data sheet states).
// The shape is scaled so that its exact mean is the profile's mean, so a long
// run at queue depth 1 averages to the calibrated figure (Table 1 on Optane).

import { DeviceError } from './errors.ts';
import type { Prng } from '../base/prng.ts';

/** [quantile in [0, 1), value as a multiple of the mean]; the first anchor has p = 0 (the minimum). */
export type QuantileAnchor = readonly [p: number, ratio: number];

const TAIL_FROM_P = 0.5;
/** Points of the numerical integration of the shape's mean (once per profile). */
const MEAN_STEPS = 200_000;

export class ServiceTime {
  private readonly p: Float64Array;
  private readonly v: Float64Array;
  private readonly x: Float64Array;
  /** Exact mean of the unscaled shape, and the scale that makes it `meanNs`. */
  readonly shapeMean: number;
  private readonly scale: number;

  constructor(
    anchors: readonly QuantileAnchor[],
    readonly meanNs: number,
    where: string,
  ) {
    if (anchors.length < 2) throw new DeviceError(`${where}: a latency shape needs at least two quantile anchors`);
    if (anchors[0]![0] !== 0) throw new DeviceError(`${where}: the first quantile anchor must be p = 0 (the minimum)`);
    for (let i = 0; i < anchors.length; i++) {
      const [p, r] = anchors[i]!;
      if (!(p >= 0 && p < 1) || !(r > 0) || !Number.isFinite(r)) throw new DeviceError(`${where}: quantile anchor ${i} (${p}, ${r}) must have 0 <= p < 1 and a positive ratio`);
      if (i > 0 && (p <= anchors[i - 1]![0] || r < anchors[i - 1]![1])) throw new DeviceError(`${where}: quantile anchors must increase (anchor ${i})`);
    }
    if (!Number.isFinite(meanNs) || meanNs <= 0) throw new DeviceError(`${where}: mean service time must be positive, got ${meanNs}`);
    this.p = Float64Array.from(anchors, (a) => a[0]);
    this.v = Float64Array.from(anchors, (a) => a[1]);
    this.x = Float64Array.from(anchors, (a) => -Math.log(1 - a[0]));
    let sum = 0;
    for (let i = 0; i < MEAN_STEPS; i++) sum += this.shapeAt((i + 0.5) / MEAN_STEPS);
    this.shapeMean = sum / MEAN_STEPS;
    this.scale = meanNs / this.shapeMean;
  }

  /** The shape's value (multiple of the shape mean before scaling) at quantile u in [0, 1). */
  shapeAt(u: number): number {
    const p = this.p;
    const v = this.v;
    const n = p.length;
    if (u >= p[n - 1]!) return v[n - 1]!;
    let i = 0;
    while (u >= p[i + 1]!) i++;
    if (p[i]! < TAIL_FROM_P) return v[i]! + ((v[i + 1]! - v[i]!) * (u - p[i]!)) / (p[i + 1]! - p[i]!);
    const x = -Math.log(1 - u);
    const f = (x - this.x[i]!) / (this.x[i + 1]! - this.x[i]!);
    return v[i]! * Math.pow(v[i + 1]! / v[i]!, f);
  }

  /** Service time in ns at quantile u (for tests and tables). */
  quantileNs(u: number): number {
    return Math.max(1, Math.round(this.shapeAt(u) * this.scale));
  }

  /** One draw from the run's PRNG. */
  sample(rng: Prng): number {
    return this.quantileNs(rng.nextFloat());
  }
}
