// The one pseudo-random generator of the project (the simulator's, the
// benchmarks', the test program generator's): xoshiro128** 1.1 (Blackman & Vigna),
// 32-bit state words so it runs on plain JS integer arithmetic (no BigInt on the
// hot path). Seeded by SplitMix32 expansion of a 32-bit seed (or of both halves
// of a larger integer seed), so every seed gives a well-mixed non-zero state.

import { XrpError } from './errors.ts';

/** A bad seed, state or bound. */
export class PrngError extends XrpError {
  constructor(message: string) {
    super('PRNG', message);
  }
}

/** SplitMix32: expands a 32-bit seed into well-mixed words (state.x advances). */
export function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private lastBound = 0;
  private lastLimit = 0;

  /** `seed`: a safe non-negative integer. */
  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new PrngError(`PRNG seed must be a non-negative safe integer, got ${String(seed)}`);
    }
    const st = { x: (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000), 0x27d4eb2d) };
    this.s0 = splitmix32(st);
    this.s1 = splitmix32(st);
    this.s2 = splitmix32(st);
    this.s3 = splitmix32(st);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator with an explicit state (for checking against the reference implementation). */
  static fromState(s0: number, s1: number, s2: number, s3: number): Prng {
    const p = new Prng(0);
    p.s0 = s0 | 0;
    p.s1 = s1 | 0;
    p.s2 = s2 | 0;
    p.s3 = s3 | 0;
    if ((p.s0 | p.s1 | p.s2 | p.s3) === 0) throw new PrngError('xoshiro128** state must not be all zero');
    return p;
  }

  /** Next uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    const s1 = this.s1;
    const t = s1 << 9;
    let r = Math.imul(s1, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9);
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return r >>> 0;
  }

  /** Uniform integer in [0, bound), bound a positive safe integer; unbiased (rejection). */
  nextBelow(bound: number): number {
    if (!Number.isSafeInteger(bound) || bound <= 0) {
      throw new PrngError(`PRNG bound must be a positive safe integer, got ${String(bound)}`);
    }
    if (bound <= 0x100000000) {
      // Lemire-style threshold rejection on 32 bits. The limit is kept for the last
      // bound, and x % bound is computed by division: both operands can exceed
      // int32, where % is a floating-point fmod call (this runs once per simulated
      // read). floor(x / bound) is exact here: x < 2^32, so the quotient's distance
      // to the next integer (>= 1/bound) exceeds half its ulp.
      if (bound !== this.lastBound) {
        this.lastBound = bound;
        this.lastLimit = 0x100000000 - (0x100000000 % bound);
      }
      const limit = this.lastLimit;
      for (;;) {
        const x = this.nextU32();
        if (x < limit) return x - Math.floor(x / bound) * bound;
      }
    }
    // 53-bit draws for large bounds (large images).
    const span = 2 ** 53;
    const limit = span - (span % bound);
    for (;;) {
      const x = (this.nextU32() >>> 11) * 0x100000000 + this.nextU32();
      if (x < limit) return x % bound;
    }
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 0x100000000;
  }
}
