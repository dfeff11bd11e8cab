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

/** Between anchors (p0, v0) and (p1, v1); x = -ln(1 - p) for the exponential tail. */
interface ShapeSegment {
  readonly p0: number;
  readonly p1: number;
  readonly v0: number;
  readonly v1: number;
  readonly x0: number;
  readonly x1: number;
}
/** Points of the numerical integration of the shape's mean (once per profile). */
const MEAN_STEPS = 200_000;

export class ServiceTime {
  /** The segments between consecutive anchors, in order, and the value past the last anchor. */
  private readonly segments: readonly ShapeSegment[];
  private readonly lastValue: number;
  /** Exact mean of the unscaled shape, and the scale that makes it `meanNs`. */
  readonly shapeMean: number;
  private readonly scale: number;

  constructor(
    anchors: readonly QuantileAnchor[],
    readonly meanNs: number,
    where: string,
  ) {
    const first = anchors[0];
    const last = anchors[anchors.length - 1];
    if (anchors.length < 2 || first === undefined || last === undefined) throw new DeviceError(`${where}: a latency shape needs at least two quantile anchors`);
    if (first[0] !== 0) throw new DeviceError(`${where}: the first quantile anchor must be p = 0 (the minimum)`);
    const segments: ShapeSegment[] = [];
    let previous: QuantileAnchor | null = null;
    for (const [i, anchor] of anchors.entries()) {
      const [p, r] = anchor;
      if (!(p >= 0 && p < 1) || !(r > 0) || !Number.isFinite(r)) throw new DeviceError(`${where}: quantile anchor ${i} (${p}, ${r}) must have 0 <= p < 1 and a positive ratio`);
      if (previous !== null) {
        if (p <= previous[0] || r < previous[1]) throw new DeviceError(`${where}: quantile anchors must increase (anchor ${i})`);
        const [p0, v0] = previous;
        segments.push({ p0, p1: p, v0, v1: r, x0: -Math.log(1 - p0), x1: -Math.log(1 - p) });
      }
      previous = anchor;
    }
    if (!Number.isFinite(meanNs) || meanNs <= 0) throw new DeviceError(`${where}: mean service time must be positive, got ${meanNs}`);
    this.segments = segments;
    this.lastValue = last[1];
    let sum = 0;
    for (let i = 0; i < MEAN_STEPS; i++) sum += this.shapeAt((i + 0.5) / MEAN_STEPS);
    this.shapeMean = sum / MEAN_STEPS;
    this.scale = meanNs / this.shapeMean;
  }

  /** The shape's value (multiple of the shape mean before scaling) at quantile u in [0, 1). */
  shapeAt(u: number): number {
    for (const s of this.segments) {
      if (u >= s.p1) continue;
      if (s.p0 < TAIL_FROM_P) return s.v0 + ((s.v1 - s.v0) * (u - s.p0)) / (s.p1 - s.p0);
      const x = -Math.log(1 - u);
      const f = (x - s.x0) / (s.x1 - s.x0);
      return s.v0 * Math.pow(s.v1 / s.v0, f);
    }
    return this.lastValue; // at or past the last anchor
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
