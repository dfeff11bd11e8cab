// YCSB's number generators, with the semantics of site.ycsb.generator (the
// formulas of Gray et al., "Quickly generating billion-record synthetic
// databases", as YCSB uses them), drawing from one seeded Prng.

import type { Prng } from '../base/prng.ts';
import { present } from '../base/checked.ts';

const FNV_OFFSET_BASIS_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 1099511628211n;

/** YCSB's Utils.fnvhash64: FNV-1 over the 8 bytes of a long, then Math.abs of the signed result. */
export function fnvhash64(value: bigint): bigint {
  let hash = FNV_OFFSET_BASIS_64;
  let v = BigInt.asUintN(64, value);
  for (let i = 0; i < 8; i++) {
    hash ^= v & 0xffn;
    v >>= 8n;
    hash = BigInt.asUintN(64, hash * FNV_PRIME_64);
  }
  const signed = BigInt.asIntN(64, hash);
  return signed < 0n ? BigInt.asIntN(64, -signed) : signed;
}

export interface LongGenerator {
  next(): number;
}

export const ZIPFIAN_CONSTANT = 0.99;

function zetaStatic(from: number, n: number, theta: number, initial: number): number {
  let sum = initial;
  for (let i = from; i < n; i++) sum += 1 / Math.pow(i + 1, theta);
  return sum;
}

/** ZipfianGenerator: item `min` is the most popular. */
export class ZipfianGenerator implements LongGenerator {
  private readonly items: number;
  private readonly theta: number;
  private readonly zeta2theta: number;
  private readonly alpha: number;
  private zetan: number;
  private eta: number;
  private countForZeta: number;

  constructor(private readonly rng: Prng, readonly min: number, max: number, constant = ZIPFIAN_CONSTANT, zetan?: number) {
    this.items = max - min + 1;
    this.theta = constant;
    this.zeta2theta = zetaStatic(0, 2, this.theta, 0);
    this.alpha = 1 / (1 - this.theta);
    this.zetan = zetan ?? zetaStatic(0, this.items, this.theta, 0);
    this.countForZeta = this.items;
    this.eta = (1 - Math.pow(2 / this.items, 1 - this.theta)) / (1 - this.zeta2theta / this.zetan);
  }

  /** A value for `itemCount` items (grows the zeta sum incrementally, as YCSB does). */
  nextLong(itemCount: number): number {
    if (itemCount > this.countForZeta) {
      this.zetan = zetaStatic(this.countForZeta, itemCount, this.theta, this.zetan);
      this.countForZeta = itemCount;
      this.eta = (1 - Math.pow(2 / this.items, 1 - this.theta)) / (1 - this.zeta2theta / this.zetan);
    }
    const u = this.rng.nextFloat();
    const uz = u * this.zetan;
    if (uz < 1) return this.min;
    if (uz < 1 + Math.pow(0.5, this.theta)) return this.min + 1;
    return this.min + Math.floor(itemCount * Math.pow(this.eta * u - this.eta + 1, this.alpha));
  }

  next(): number {
    return this.nextLong(this.items);
  }
}

/** ScrambledZipfianGenerator: zipfian popularity over 10^10 items, hashed into [min, max]. */
export class ScrambledZipfianGenerator implements LongGenerator {
  static readonly ZETAN = 26.46902820178302;
  static readonly ITEM_COUNT = 10_000_000_000;
  private readonly gen: ZipfianGenerator;
  private readonly itemCount: bigint;

  constructor(rng: Prng, private readonly min: number, max: number) {
    this.itemCount = BigInt(max - min + 1);
    this.gen = new ZipfianGenerator(rng, 0, ScrambledZipfianGenerator.ITEM_COUNT, ZIPFIAN_CONSTANT, ScrambledZipfianGenerator.ZETAN);
  }

  next(): number {
    const r = this.gen.next();
    return this.min + Number(fnvhash64(BigInt(r)) % this.itemCount);
  }
}

export class UniformLongGenerator implements LongGenerator {
  constructor(private readonly rng: Prng, private readonly lb: number, private readonly ub: number) {}
  next(): number {
    return this.lb + Math.floor(this.rng.nextFloat() * (this.ub - this.lb + 1));
  }
}

/** AcknowledgedCounterGenerator: hands out insert numbers; lastValue is the highest below which all are acknowledged. */
export class AcknowledgedCounter {
  private counter: number;
  private acked = new Set<number>();
  private limit: number;

  constructor(start: number) {
    this.counter = start;
    this.limit = start - 1;
  }

  next(): number {
    return this.counter++;
  }

  acknowledge(value: number): void {
    this.acked.add(value);
    while (this.acked.has(this.limit + 1)) this.acked.delete(++this.limit);
  }

  lastValue(): number {
    return this.limit;
  }
}

/** SkewedLatestGenerator: the most recently inserted items are the most popular. */
export class SkewedLatestGenerator implements LongGenerator {
  private readonly zipfian: ZipfianGenerator;
  constructor(rng: Prng, private readonly basis: AcknowledgedCounter) {
    this.zipfian = new ZipfianGenerator(rng, 0, Math.max(1, basis.lastValue()) - 1);
  }
  next(): number {
    const max = this.basis.lastValue();
    return max - this.zipfian.nextLong(max);
  }
}

/** DiscreteGenerator: one of the labels, with probability proportional to its weight. */
export class DiscreteGenerator<T> {
  private readonly total: number;
  constructor(private readonly rng: Prng, private readonly values: { value: T; weight: number }[]) {
    this.total = values.reduce((s, v) => s + v.weight, 0);
  }
  next(): T {
    let val = this.rng.nextFloat();
    for (const v of this.values) {
      if (val < v.weight / this.total) return v.value;
      val -= v.weight / this.total;
    }
    return present(this.values.at(-1), 'last value of a discrete generator').value; // rounding left val just above the last weight
  }
}
