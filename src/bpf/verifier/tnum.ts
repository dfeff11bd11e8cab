// Tristate numbers ("tnums", Linux kernel/bpf/tnum.c): a value whose bits are
// each known 0, known 1 or unknown. `value` holds the known-1 bits, `mask` the
// unknown bits; value & mask is always 0. Every operation takes the width in
// bits (32 or 64) so that the 32-bit subregister reuses the same code.

import { VerifierInvariantError } from './log.ts';

export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export type Width = 32 | 64;

export const widthMask = (bits: Width): bigint => (bits === 64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn);

export const tnumConst = (value: bigint, bits: Width = 64): Tnum => ({ value: BigInt.asUintN(bits, value), mask: 0n });
export const tnumUnknown = (bits: Width = 64): Tnum => ({ value: 0n, mask: widthMask(bits) });

/** Highest set bit, 1-based (fls64); 0 for 0. */
function fls(x: bigint): number {
  if (x === 0n) return 0;
  // below 2^31 the conversion gives a small integer (no shift, no heap number)
  if (x < 0x8000_0000n) return 32 - Math.clz32(Number(x));
  const hi = Number(x >> 32n);
  if (hi !== 0) return 64 - Math.clz32(hi);
  return 32 - Math.clz32(Number(x));
}

/** LOW_BITS[n] = 2^n - 1, and the complements within 32 and 64 bits: tnumRange without BigInt(n) and shifts. */
const LOW_BITS: readonly bigint[] = Array.from({ length: 65 }, (_, n) => (1n << BigInt(n)) - 1n);
const HIGH_BITS64: readonly bigint[] = LOW_BITS.map((low) => 0xffff_ffff_ffff_ffffn & ~low);
const HIGH_BITS32: readonly bigint[] = LOW_BITS.map((low) => 0xffff_ffffn & ~low);

/** The smallest tnum holding every value of [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint, bits: Width = 64): Tnum {
  const n = fls(min ^ max);
  if (n >= bits) return tnumUnknown(bits);
  const high = bits === 64 ? HIGH_BITS64[n] : HIGH_BITS32[n];
  const low = LOW_BITS[n];
  // fls of a 64-bit value is at most 64, the tables' last index
  if (high === undefined || low === undefined) throw new VerifierInvariantError(`tnumRange: no bit mask for fls ${n}`);
  return { value: min & high, mask: low };
}

export function tnumAdd(a: Tnum, b: Tnum, bits: Width): Tnum {
  // (operands are within `bits`, so mu and sv & ~mu are too: no final masking;
  // every BigInt operation is an allocation in V8's baseline tiers)
  const m = widthMask(bits);
  const am = a.mask;
  const bm = b.mask;
  const sv = (a.value + b.value) & m;
  if (am === 0n && bm === 0n) return { value: sv, mask: 0n };
  const sm = bm === 0n ? am : (am + bm) & m;
  const chi = ((sm + sv) & m) ^ sv;
  const mu = bm === 0n ? chi | am : chi | am | bm;
  return { value: sv & ~mu, mask: mu };
}

export function tnumSub(a: Tnum, b: Tnum, bits: Width): Tnum {
  const m = widthMask(bits);
  const dv = (a.value - b.value) & m;
  const alpha = (dv + a.mask) & m;
  const beta = (dv - b.mask) & m;
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & m, mask: mu & m };
}

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v };
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v };
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu, mask: mu };
}

export function tnumLshift(a: Tnum, shift: number, bits: Width): Tnum {
  const m = widthMask(bits);
  const s = BigInt(shift);
  return { value: (a.value << s) & m, mask: (a.mask << s) & m };
}

export function tnumRshift(a: Tnum, shift: number): Tnum {
  const s = BigInt(shift);
  return { value: a.value >> s, mask: a.mask >> s };
}

/** Arithmetic right shift within `bits`. */
export function tnumArshift(a: Tnum, shift: number, bits: Width): Tnum {
  const s = BigInt(shift);
  const m = widthMask(bits);
  const v = BigInt.asUintN(bits, BigInt.asIntN(bits, a.value) >> s);
  const mu = BigInt.asUintN(bits, BigInt.asIntN(bits, a.mask) >> s);
  return { value: v & m, mask: mu & m };
}

/**
 * Multiplication, as in the kernel's tnum_mul (long multiplication over the
 * known and unknown parts). The loop walks the operand with fewer significant
 * bits (multiplication commutes, and either order is sound): `acc * 10` takes
 * 4 rounds instead of 64. The partial sums all have value 0, so their
 * tnum_add reduces to the mask update below.
 */
export function tnumMul(a: Tnum, b: Tnum, bits: Width): Tnum {
  const m = widthMask(bits);
  const accV = (a.value * b.value) & m;
  const swap = fls(b.value | b.mask) < fls(a.value | a.mask);
  let xValue = swap ? b.value : a.value;
  let xMask = swap ? b.mask : a.mask;
  let yValue = swap ? a.value : b.value;
  let yMask = swap ? a.mask : b.mask;
  let accMask = 0n;
  while (xValue !== 0n || xMask !== 0n) {
    let add = 0n;
    if ((xValue & 1n) !== 0n) add = yMask;
    else if ((xMask & 1n) !== 0n) add = yValue | yMask;
    if (add !== 0n) accMask = ((accMask + add) | accMask | add) & m;
    xValue >>= 1n;
    xMask >>= 1n;
    yValue = (yValue << 1n) & m;
    yMask = (yMask << 1n) & m;
  }
  return tnumAdd({ value: accV, mask: 0n }, { value: 0n, mask: accMask }, bits);
}

/** Values in both a and b; `undefined` when the known bits contradict (no such value). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum | undefined {
  // Most calls intersect a tnum with an equal one (a range that says nothing
  // new): answer without the allocating BigInt operations.
  if (a.value === b.value && a.mask === b.mask) return a;
  if (((a.value ^ b.value) & ~a.mask & ~b.mask) !== 0n) return undefined;
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu, mask: mu };
}

/** The low `bits` bits. */
export const tnumCast = (a: Tnum, bits: Width): Tnum => ({ value: a.value & widthMask(bits), mask: a.mask & widthMask(bits) });

/** Whether every value of b is a value of a. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if (a.mask === b.mask) return a.value === b.value; // the common case, without BigInt temporaries
  if ((b.mask & ~a.mask) !== 0n) return false;
  return (b.value & ~a.mask) === a.value;
}

/** Whether the concrete value x is one of a's values. */
export const tnumContains = (a: Tnum, x: bigint): boolean => (x & ~a.mask) === a.value;

/** Kernel-style text: a constant prints as hex, otherwise (value; mask). */
export function tnumToString(a: Tnum): string {
  if (a.mask === 0n) return `0x${a.value.toString(16)}`;
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}
