// Scalar ranges: what the verifier knows about a number. Like the kernel's
// bpf_reg_state, a scalar carries a tnum and signed and unsigned bounds, for
// the full 64-bit register and for its 32-bit subregister. One width-generic
// `Bounds` type serves both views; `normalize` keeps the two views and the
// three representations consistent (reg_bounds_sync) and detects emptiness,
// which is how branch refinement proves a branch dead.

import { VerifierInvariantError } from './log.ts';
import {
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumCast,
  tnumConst,
  tnumIn,
  tnumIntersect,
  tnumLshift,
  tnumMul,
  tnumOr,
  tnumRange,
  tnumRshift,
  tnumSub,
  tnumToString,
  tnumUnknown,
  tnumXor,
  widthMask,
  type Tnum,
  type Width,
} from './tnum.ts';

/** One width's view: the tnum and both ranges (unsigned as 0..2^w-1, signed as -2^(w-1)..2^(w-1)-1). */
export interface Bounds {
  readonly t: Tnum;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly smin: bigint;
  readonly smax: bigint;
}

/** A scalar: the 64-bit view and the 32-bit subregister view, always consistent. */
export interface Scalar {
  readonly b64: Bounds;
  readonly b32: Bounds;
}

/**
 * Every Bounds is made here, from one object literal: one hidden class for
 * all of them, so that property loads stay monomorphic (spread copies made
 * several, and syncBounds' loads went megamorphic).
 */
function mk(t: Tnum, umin: bigint, umax: bigint, smin: bigint, smax: bigint): Bounds {
  return { t, umin, umax, smin, smax };
}

const asU64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const asU32 = (x: bigint): bigint => BigInt.asUintN(32, x);
const asS64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const asS32 = (x: bigint): bigint => BigInt.asIntN(32, x);
const SIGN64 = 1n << 63n;
const SIGN32 = 1n << 31n;
const SMALL_MAX = 0x7fff_ffffn;
const MASK64 = 0xffff_ffff_ffff_ffffn;
const MASK32 = 0xffff_ffffn;
const SMAX64 = 0x7fff_ffff_ffff_ffffn;
const SMIN64 = -0x8000_0000_0000_0000n;
const SMIN32 = -0x8000_0000n;
const smaxOf = (bits: Width): bigint => (bits === 64 ? SMAX64 : SMALL_MAX);
const sminOf = (bits: Width): bigint => (bits === 64 ? SMIN64 : SMIN32);
const toSigned = (x: bigint, bits: Width): bigint => BigInt.asIntN(bits, x);
const toUnsigned = (x: bigint, bits: Width): bigint => BigInt.asUintN(bits, x);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

const UNKNOWN64: Bounds = mk(tnumUnknown(64), 0n, widthMask(64), sminOf(64), smaxOf(64));
const UNKNOWN32: Bounds = mk(tnumUnknown(32), 0n, widthMask(32), sminOf(32), smaxOf(32));
const UNKNOWN: Scalar = { b64: UNKNOWN64, b32: UNKNOWN32 };
/** Every value of the width (one shared object per width: Bounds are never mutated). */
export const boundsUnknown = (bits: Width): Bounds => (bits === 64 ? UNKNOWN64 : UNKNOWN32);

export function boundsConst(value: bigint, bits: Width): Bounds {
  const u = toUnsigned(value, bits);
  const s = toSigned(value, bits);
  return mk(tnumConst(u, bits), u, u, s, s);
}

/** Tighten one width's view from its own parts; undefined when no value remains. */
export function syncBounds(b: Bounds, bits: Width): Bounds | undefined {
  // Written for V8's baseline tiers (every operator and call costs): no
  // helper calls, and BigInt conversions only where a value can be negative
  // or cross the sign bit (each BigInt result is an allocation).
  let { t, umin, umax, smin, smax } = b;
  const sign = bits === 64 ? SIGN64 : SIGN32;
  const all = bits === 64 ? MASK64 : MASK32;
  for (let round = 0; round < 2; round++) {
    const t0 = t;
    const umin0 = umin;
    const umax0 = umax;
    const smin0 = smin;
    const smax0 = smax;
    // From the tnum.
    const tv = t.value;
    const tm = t.mask;
    const tmax = tv | tm;
    if (tv > umin) umin = tv;
    if (tmax < umax) umax = tmax;
    if (tmax < sign) {
      // the sign bit is known 0: the tnum's signed range is its unsigned one
      if (tv > smin) smin = tv;
      if (tmax < smax) smax = tmax;
    } else {
      const lo = toSigned(tv | (tm & sign), bits);
      const hi = toSigned(tv | (tm & ~sign & all), bits);
      if (lo > smin) smin = lo;
      if (hi < smax) smax = hi;
    }
    if (umin > umax || smin > smax) return undefined;
    // Signed and unsigned agree when the range does not cross the sign boundary.
    if (smin >= 0n) {
      if (smin > umin) umin = smin;
      if (smax < umax) umax = smax;
    } else if (smax < 0n) {
      const lo = toUnsigned(smin, bits);
      const hi = toUnsigned(smax, bits);
      if (lo > umin) umin = lo;
      if (hi < umax) umax = hi;
    }
    if (umax < sign) {
      if (umin > smin) smin = umin;
      if (umax < smax) smax = umax;
    } else if (umin >= sign) {
      const lo = toSigned(umin, bits);
      const hi = toSigned(umax, bits);
      if (lo > smin) smin = lo;
      if (hi < smax) smax = hi;
    }
    if (umin > umax || smin > smax) return undefined;
    // Skipped when the range is exactly the tnum's span (the range's tnum
    // then holds t) or is everything (the common unknown).
    let r = (umin === tv && umax === tmax) || (umin === 0n && umax === all) ? t : tnumIntersect(t, tnumRange(umin, umax, bits));
    if (r === undefined) return undefined;
    if (r.mask !== 0n && (r.mask & (r.mask - 1n)) === 0n) {
      // One unknown bit: two members, r.value and r.value | r.mask; the
      // ranges may exclude one of them (`flags & 2` known non-zero is 2).
      const lo = r.value;
      const hi = r.value | r.mask;
      const slo = lo < sign ? lo : toSigned(lo, bits);
      const shi = hi < sign ? hi : toSigned(hi, bits);
      const loIn = lo >= umin && lo <= umax && slo >= smin && slo <= smax;
      const hiIn = hi >= umin && hi <= umax && shi >= smin && shi <= smax;
      if (!loIn && !hiIn) return undefined;
      if (!loIn || !hiIn) r = { value: loIn ? lo : hi, mask: 0n };
    }
    t = r;
    // A fixpoint already: the second round would change nothing.
    if (umin === umin0 && umax === umax0 && smin === smin0 && smax === smax0 && t.value === t0.value && t.mask === t0.mask) {
      return round === 0 ? b : mk(t, umin, umax, smin, smax);
    }
  }
  return mk(t, umin, umax, smin, smax);
}

export function intersectBounds(a: Bounds, b: Bounds, bits: Width): Bounds | undefined {
  const t = tnumIntersect(a.t, b.t);
  if (t === undefined) return undefined;
  return syncBounds(mk(t, max(a.umin, b.umin), min(a.umax, b.umax), max(a.smin, b.smin), min(a.smax, b.smax)), bits);
}

const lo32 = (x: bigint): bigint => x & 0xffff_ffffn;

/** What the 64-bit view says about the low 32 bits. */
function project32(b: Bounds): Bounds {
  const t = tnumCast(b.t, 32);
  let umin = 0n;
  let umax = 0xffff_ffffn;
  let smin = -0x8000_0000n;
  let smax = 0x7fff_ffffn;
  if (b.umin >> 32n === b.umax >> 32n) {
    umin = lo32(b.umin);
    umax = lo32(b.umax);
    const a = toSigned(umin, 32);
    const c = toSigned(umax, 32);
    if (a <= c) {
      smin = a;
      smax = c;
    }
  }
  if (b.smin >> 32n === b.smax >> 32n) {
    const ua = lo32(toUnsigned(b.smin, 64));
    const uc = lo32(toUnsigned(b.smax, 64));
    const a = toSigned(ua, 32);
    const c = toSigned(uc, 32);
    if (a <= c) {
      smin = max(smin, a);
      smax = min(smax, c);
    }
    if (ua <= uc) {
      umin = max(umin, ua);
      umax = min(umax, uc);
    }
  }
  return mk(t, umin, umax, smin, smax);
}

/** What the 32-bit view says about the whole register (needs the upper half's tnum). */
function lift64(b64: Bounds, b32: Bounds): Bounds | undefined {
  const t = tnumIntersect(b64.t, { value: b32.t.value, mask: b32.t.mask | 0xffff_ffff_0000_0000n });
  if (t === undefined) return undefined;
  if (t.mask >> 32n === 0n) {
    const hi = t.value & 0xffff_ffff_0000_0000n;
    const lo = hi | b32.umin;
    const hiV = hi | b32.umax;
    const umin = max(b64.umin, lo);
    const umax = min(b64.umax, hiV);
    const smin = max(b64.smin, toSigned(lo, 64));
    const smax = min(b64.smax, toSigned(hiV, 64));
    if (t === b64.t && umin === b64.umin && umax === b64.umax && smin === b64.smin && smax === b64.smax) return b64;
    return mk(t, umin, umax, smin, smax);
  }
  // b64 itself when the 32-bit view adds nothing (normalize then stops early)
  return t === b64.t ? b64 : mk(t, b64.umin, b64.umax, b64.smin, b64.smax);
}

/** Whether the view b admits every value of x (ranges and tnum). */
function admits(b: Bounds, x: Bounds): boolean {
  return b.umin <= x.umin && x.umax <= b.umax && b.smin <= x.smin && x.smax <= b.smax && (x.t.value & ~b.t.mask) === b.t.value;
}

/** Make both views consistent (the kernel's reg_bounds_sync); undefined when no value remains. */
export function normalize(s: { b64: Bounds; b32: Bounds }): Scalar | undefined {
  return normalizeViews(s.b64, s.b32);
}

/** normalize() of the views given apart (fromBounds64 and zeroExtend call it without making the pair). */
function normalizeViews(b64In: Bounds, b32In: Bounds): Scalar | undefined {
  if (b64In.t.mask === 0n) {
    // A constant: consistent iff every view admits it.
    const c = scalarConst(b64In.t.value);
    return admits(b64In, c.b64) && admits(b32In, c.b32) ? c : undefined;
  }
  if (b64In === UNKNOWN64 && b32In === UNKNOWN32) return UNKNOWN;
  let b64 = syncBounds(b64In, 64);
  if (b64 === undefined) return undefined;
  // Fast path: every value is in [0, 2^31), so the subregister is the value
  // itself and the 64-bit view serves as the 32-bit one (what the general
  // path below computes too), unless the given 32-bit view says more.
  if (b64.smin >= 0n && b64.umax <= SMALL_MAX && boundsWithin(b32In, b64)) return { b64, b32: b64 };
  let b32 = intersectBounds(b32In, project32(b64), 32);
  if (b32 === undefined) return undefined;
  const lifted = lift64(b64, b32);
  if (lifted === undefined) return undefined;
  // The subregister taught the register nothing: b32 already holds what
  // b64 says about it, so a second round would only repeat the first.
  if (lifted === b64) return { b64, b32 };
  b64 = syncBounds(lifted, 64);
  if (b64 === undefined) return undefined;
  b32 = intersectBounds(b32, project32(b64), 32);
  if (b32 === undefined) return undefined;
  return { b64, b32 };
}

export const scalarUnknown = (): Scalar => UNKNOWN;

/** Constants are built often (immediates, loop counters): shared, as Scalars are never mutated. */
const constCache = new Map<bigint, Scalar>();
const CONST_CACHE_MAX = 4096;

export function scalarConst(value: bigint): Scalar {
  let c = constCache.get(value);
  if (c === undefined) {
    c = { b64: boundsConst(value, 64), b32: boundsConst(value, 32) };
    if (constCache.size >= CONST_CACHE_MAX) constCache.clear();
    constCache.set(value, c);
  }
  return c;
}

/** A scalar in [lo, hi] (unsigned, 64-bit). */
export function scalarRange(lo: bigint, hi: bigint): Scalar {
  const s = normalize({ b64: mk(tnumRange(lo, hi, 64), lo, hi, sminOf(64), smaxOf(64)), b32: boundsUnknown(32) });
  if (s === undefined) throw new VerifierInvariantError(`empty scalar range [${lo}, ${hi}]`);
  return s;
}

/** The value of a 32-bit result, zero-extended to 64 bits. */
export function zeroExtend(b32: Bounds): Scalar {
  const s = normalizeViews(mk(b32.t, b32.umin, b32.umax, b32.umin, b32.umax), b32);
  // b32 came out of syncBounds, so its zero-extension is never empty.
  return s ?? scalarUnknown();
}

export function fromBounds64(b: Bounds): Scalar {
  return normalizeViews(b, UNKNOWN32) ?? scalarUnknown();
}

export const isConst = (s: Scalar): boolean => s.b64.t.mask === 0n;
export const constValue = (s: Scalar): bigint => s.b64.t.value;
export const view = (s: Scalar, bits: Width): Bounds => (bits === 64 ? s.b64 : s.b32);

/** Whether every value of `cur` is a value of `old` (range_within and tnum_in, both widths). */
export function scalarWithin(old: Scalar, cur: Scalar): boolean {
  if (old === cur) return true;
  return boundsWithin(old.b64, cur.b64) && boundsWithin(old.b32, cur.b32);
}

function boundsWithin(o: Bounds, c: Bounds): boolean {
  return o.umin <= c.umin && o.umax >= c.umax && o.smin <= c.smin && o.smax >= c.smax && tnumIn(o.t, c.t);
}

export function scalarEqual(a: Scalar, b: Scalar): boolean {
  if (a === b) return true;
  return boundsEqual(a.b64, b.b64) && boundsEqual(a.b32, b.b32);
}

function boundsEqual(x: Bounds, y: Bounds): boolean {
  return x.umin === y.umin && x.umax === y.umax && x.smin === y.smin && x.smax === y.smax && x.t.value === y.t.value && x.t.mask === y.t.mask;
}

export function scalarToString(s: Scalar): string {
  const b = s.b64;
  if (b.t.mask === 0n) return `${toSigned(b.t.value, 64)}`;
  const parts: string[] = [];
  if (b.smin !== sminOf(64)) parts.push(`smin=${b.smin}`);
  if (b.smax !== smaxOf(64)) parts.push(`smax=${b.smax}`);
  if (b.umin !== 0n) parts.push(`umin=${b.umin}`);
  if (b.umax !== widthMask(64)) parts.push(`umax=${b.umax}`);
  const c = s.b32;
  if (c.umin !== 0n && c.umin !== b.umin) parts.push(`umin32=${c.umin}`);
  if (c.umax !== widthMask(32) && c.umax !== b.umax) parts.push(`umax32=${c.umax}`);
  if (b.t.mask !== widthMask(64)) parts.push(`var_off=${tnumToString(b.t)}`);
  return parts.length === 0 ? '' : `(${parts.join(',')})`;
}

// ---- ALU -------------------------------------------------------------------

/** ALU operations the abstract domain distinguishes (after decoding opcode and off). */
export type AluKind = 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod' | 'or' | 'and' | 'lsh' | 'rsh' | 'arsh' | 'xor';

/** The exact eBPF result of `a op b` in `bits` (division by zero gives 0, modulo by zero keeps a). */
export function evalAlu(kind: AluKind, a: bigint, b: bigint, bits: Width): bigint {
  // BigInt.asUintN and asIntN called directly, and the shift amount made only
  // for shifts: this runs for every ALU operation on two constants.
  switch (kind) {
    case 'add':
      return BigInt.asUintN(bits, a + b);
    case 'sub':
      return BigInt.asUintN(bits, a - b);
    case 'mul':
      return BigInt.asUintN(bits, a * b);
    case 'div': {
      const ub = BigInt.asUintN(bits, b);
      return ub === 0n ? 0n : BigInt.asUintN(bits, a) / ub;
    }
    case 'mod': {
      const ub = BigInt.asUintN(bits, b);
      return ub === 0n ? BigInt.asUintN(bits, a) : BigInt.asUintN(bits, a) % ub;
    }
    case 'sdiv': {
      if (BigInt.asUintN(bits, b) === 0n) return 0n;
      return BigInt.asUintN(bits, BigInt.asIntN(bits, a) / BigInt.asIntN(bits, b)); // BigInt division truncates toward zero, INT_MIN / -1 wraps via asUintN
    }
    case 'smod': {
      if (BigInt.asUintN(bits, b) === 0n) return BigInt.asUintN(bits, a);
      return BigInt.asUintN(bits, BigInt.asIntN(bits, a) % BigInt.asIntN(bits, b));
    }
    case 'or':
      return BigInt.asUintN(bits, a | b);
    case 'and':
      return BigInt.asUintN(bits, a & b);
    case 'xor':
      return BigInt.asUintN(bits, a ^ b);
    case 'lsh':
      return BigInt.asUintN(bits, BigInt.asUintN(bits, a) << (b & (bits === 64 ? 63n : 31n)));
    case 'rsh':
      return BigInt.asUintN(bits, a) >> (b & (bits === 64 ? 63n : 31n));
    case 'arsh':
      return BigInt.asUintN(bits, BigInt.asIntN(bits, a) >> (b & (bits === 64 ? 63n : 31n)));
  }
}

/** Whether `a cond b` holds for concrete a and b compared in `bits`. */
export function condHolds(cond: CondKind, a: bigint, b: bigint, bits: Width): boolean {
  const ua = bits === 64 ? asU64(a) : asU32(a);
  const ub = bits === 64 ? asU64(b) : asU32(b);
  switch (cond) {
    case 'jeq':
      return ua === ub;
    case 'jne':
      return ua !== ub;
    case 'jgt':
      return ua > ub;
    case 'jge':
      return ua >= ub;
    case 'jlt':
      return ua < ub;
    case 'jle':
      return ua <= ub;
    case 'jsgt':
      return (bits === 64 ? asS64(a) : asS32(a)) > (bits === 64 ? asS64(b) : asS32(b));
    case 'jsge':
      return (bits === 64 ? asS64(a) : asS32(a)) >= (bits === 64 ? asS64(b) : asS32(b));
    case 'jslt':
      return (bits === 64 ? asS64(a) : asS32(a)) < (bits === 64 ? asS64(b) : asS32(b));
    case 'jsle':
      return (bits === 64 ? asS64(a) : asS32(a)) <= (bits === 64 ? asS64(b) : asS32(b));
    case 'jset':
      return (ua & ub) !== 0n;
  }
}

/** Abstract `a op b` in one width; the result's view of that width (not yet normalized across widths). */
export function aluBounds(kind: AluKind, a: Bounds, b: Bounds, bits: Width): Bounds {
  const M = widthMask(bits);
  const SMAX = smaxOf(bits);
  const SMIN = sminOf(bits);
  // the defaults of every field: what an unknown value of the width allows
  const U = boundsUnknown(bits);
  if (a.t.mask === 0n && b.t.mask === 0n) return boundsConst(evalAlu(kind, a.t.value, b.t.value, bits), bits);
  switch (kind) {
    case 'add': {
      const t = tnumAdd(a.t, b.t, bits);
      const uOk = a.umax + b.umax <= M;
      const lo = a.smin + b.smin;
      const hi = a.smax + b.smax;
      const sOk = lo >= SMIN && hi <= SMAX;
      return mk(t, uOk ? a.umin + b.umin : U.umin, uOk ? a.umax + b.umax : U.umax, sOk ? lo : U.smin, sOk ? hi : U.smax);
    }
    case 'sub': {
      const t = tnumSub(a.t, b.t, bits);
      const uOk = a.umin >= b.umax;
      const lo = a.smin - b.smax;
      const hi = a.smax - b.smin;
      const sOk = lo >= SMIN && hi <= SMAX;
      return mk(t, uOk ? a.umin - b.umax : U.umin, uOk ? a.umax - b.umin : U.umax, sOk ? lo : U.smin, sOk ? hi : U.smax);
    }
    case 'mul': {
      const t = tnumMul(a.t, b.t, bits);
      const half = 1n << BigInt(bits / 2);
      if (a.umax < half && b.umax < half) return mk(t, a.umin * b.umin, a.umax * b.umax, U.smin, U.smax);
      return mk(t, U.umin, U.umax, U.smin, U.smax);
    }
    case 'and': {
      const t = tnumAnd(a.t, b.t);
      return mk(t, t.value, min(a.umax, b.umax), U.smin, U.smax);
    }
    case 'or': {
      const t = tnumOr(a.t, b.t);
      return mk(t, max(a.umin, b.umin), t.value | t.mask, U.smin, U.smax);
    }
    case 'xor': {
      const t = tnumXor(a.t, b.t);
      return mk(t, t.value, t.value | t.mask, U.smin, U.smax);
    }
    case 'lsh': {
      if (b.t.mask !== 0n) return U;
      const k = Number(b.t.value & BigInt(bits - 1));
      const t = tnumLshift(a.t, k, bits);
      if (a.umax >> BigInt(bits - k) === 0n) return mk(t, a.umin << BigInt(k), a.umax << BigInt(k), U.smin, U.smax);
      return mk(t, U.umin, U.umax, U.smin, U.smax);
    }
    case 'rsh': {
      if (b.t.mask !== 0n) return mk(U.t, U.umin, a.umax, U.smin, U.smax);
      const k = BigInt(Number(b.t.value & BigInt(bits - 1)));
      return mk(tnumRshift(a.t, Number(k)), a.umin >> k, a.umax >> k, U.smin, U.smax);
    }
    case 'arsh': {
      if (b.t.mask !== 0n) return U;
      const k = BigInt(Number(b.t.value & BigInt(bits - 1)));
      return mk(tnumArshift(a.t, Number(k), bits), U.umin, U.umax, a.smin >> k, a.smax >> k);
    }
    case 'div': {
      // x / y <= x, and x / 0 == 0.
      if (b.umin > 0n) return mk(U.t, a.umin / b.umax, a.umax / b.umin, U.smin, U.smax);
      return mk(U.t, U.umin, a.umax, U.smin, U.smax);
    }
    case 'mod': {
      // x % y < y and x % y <= x; x % 0 == x.
      if (b.umin > 0n) return mk(U.t, U.umin, min(a.umax, b.umax - 1n), U.smin, U.smax);
      return mk(U.t, U.umin, a.umax, U.smin, U.smax);
    }
    case 'sdiv':
    case 'smod':
      return U;
  }
}

// ---- memo ---------------------------------------------------------------------
// Scalars are immutable and shared between the copies of a state, so every
// path through a loop repeats the same operations on the same objects: their
// results are remembered by operand identity. resetScalarMemo() starts afresh
// (the verifier calls it per program, so the memo never outlives one run; a
// plain Map, not a WeakMap: ephemeron tables make every scavenge slower).

/** A small index per ALU operation, for memo tables (here and the verifier's). */
export const ALU_INDEX: Record<AluKind, number> = { add: 0, sub: 1, mul: 2, div: 3, sdiv: 4, mod: 5, smod: 6, or: 7, and: 8, lsh: 9, rsh: 10, arsh: 11, xor: 12 };
/**
 * Per first operand: (second operand, operation index, result) triples,
 * scanned while there are few (most operands meet one or two others); past
 * ALU_MEMO_SCAN of them (the zero offset every pointer starts with meets
 * hundreds) by second operand in a Map of (operation index, result) pairs.
 */
interface AluMemoEntry {
  list: (Scalar | number)[];
  bySecond: Map<Scalar, (Scalar | number)[]> | null;
}
const ALU_MEMO_SCAN = 8;
let aluMemo = new Map<Scalar, AluMemoEntry>();

export function resetScalarMemo(): void {
  aluMemo = new Map();
}

/** `a op b` in `bits` as a whole scalar (a 32-bit result zero-extended), remembered. */
export function scalarAlu(kind: AluKind, a: Scalar, b: Scalar, bits: Width): Scalar {
  const k = ALU_INDEX[kind] * 2 + (bits === 64 ? 1 : 0);
  let entry = aluMemo.get(a);
  if (entry === undefined) {
    entry = { list: [], bySecond: null };
    aluMemo.set(a, entry);
  }
  const bySecond = entry.bySecond;
  let list = entry.list;
  if (bySecond !== null) {
    let pairs = bySecond.get(b);
    if (pairs === undefined) {
      pairs = [];
      bySecond.set(b, pairs);
    }
    for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === k) return pairs[i + 1] as Scalar;
    list = pairs;
  } else {
    for (let i = 0; i < list.length; i += 3) if (list[i] === b && list[i + 1] === k) return list[i + 2] as Scalar;
  }
  const r = bits === 64 ? fromBounds64(aluBounds(kind, a.b64, b.b64, 64)) : zeroExtend(aluBounds(kind, a.b32, b.b32, 32));
  if (bySecond !== null) {
    list.push(k, r);
  } else if (list.length < 3 * ALU_MEMO_SCAN) {
    list.push(b, k, r);
  } else {
    // too many to scan: index them by second operand from now on
    const index = new Map<Scalar, (Scalar | number)[]>();
    for (let i = 0; i < list.length; i += 3) {
      const second = list[i] as Scalar;
      let pairs = index.get(second);
      if (pairs === undefined) {
        pairs = [];
        index.set(second, pairs);
      }
      const k = list[i + 1];
      const r = list[i + 2];
      if (k === undefined || r === undefined) throw new VerifierInvariantError('ALU memo list not in triples');
      pairs.push(k, r);
    }
    let pairs = index.get(b);
    if (pairs === undefined) {
      pairs = [];
      index.set(b, pairs);
    }
    pairs.push(k, r);
    entry.bySecond = index;
    entry.list = [];
  }
  return r;
}

/** Sign-extend the low `fromBits` bits (movsx, ldxsx): the result's 64-bit (or 32-bit) view. */
export function signExtendBounds(a: Bounds, fromBits: 8 | 16 | 32, bits: Width): Bounds {
  const half = 1n << BigInt(fromBits - 1);
  const U = boundsUnknown(bits);
  if (a.umax < half) return mk(a.t, a.umin, a.umax, U.smin, U.smax);
  if (a.t.mask === 0n) return boundsConst(BigInt.asIntN(fromBits, a.t.value), bits);
  return mk(U.t, U.umin, U.umax, -half, half - 1n);
}

/** A value loaded from memory: unsigned `sizeBytes` wide, or sign-extended. */
const loadedCache = new Map<number, Scalar>();

export function loadedScalar(sizeBytes: number, signed: boolean): Scalar {
  const key = sizeBytes * 2 + (signed ? 1 : 0);
  let s = loadedCache.get(key);
  if (s === undefined) {
    s = computeLoaded(sizeBytes, signed);
    loadedCache.set(key, s);
  }
  return s;
}

function computeLoaded(sizeBytes: number, signed: boolean): Scalar {
  if (sizeBytes === 8) return scalarUnknown();
  const bitsN = BigInt(sizeBytes * 8);
  if (!signed) return scalarRange(0n, (1n << bitsN) - 1n);
  const half = 1n << (bitsN - 1n);
  const U = boundsUnknown(64);
  return normalize({ b64: mk(U.t, U.umin, U.umax, -half, half - 1n), b32: boundsUnknown(32) }) ?? scalarUnknown();
}

/** Truncate a scalar to its low `sizeBytes` bytes (a narrow fill of a spilled scalar). */
export function truncateScalar(s: Scalar, sizeBytes: number): Scalar {
  if (sizeBytes === 8) return s;
  if (sizeBytes === 4) return zeroExtend(s.b32);
  const m = (1n << BigInt(sizeBytes * 8)) - 1n;
  return fromBounds64(aluBounds('and', s.b64, boundsConst(m, 64), 64));
}

// ---- branches ----------------------------------------------------------------

export type CondKind = 'jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle' | 'jsgt' | 'jsge' | 'jslt' | 'jsle' | 'jset';

const NEGATE: Record<CondKind, CondKind> = {
  jeq: 'jne',
  jne: 'jeq',
  jgt: 'jle',
  jge: 'jlt',
  jlt: 'jge',
  jle: 'jgt',
  jsgt: 'jsle',
  jsge: 'jslt',
  jslt: 'jsge',
  jsle: 'jsgt',
  jset: 'jset', // handled separately
};

const SWAP: Partial<Record<CondKind, CondKind>> = { jlt: 'jgt', jle: 'jge', jslt: 'jsgt', jsle: 'jsge' };

/**
 * Refine (a, b) in one width assuming `a cond b` holds (taken = true) or does
 * not (taken = false). Undefined when that outcome is impossible.
 */
export function refineBounds(cond: CondKind, taken: boolean, a: Bounds, b: Bounds, bits: Width): [Bounds, Bounds] | undefined {
  if (cond === 'jset') return refineJset(taken, a, b, bits);
  const c = taken ? cond : NEGATE[cond];
  const swapped = SWAP[c];
  if (swapped !== undefined) {
    const r = refineBounds(swapped, true, b, a, bits);
    return r === undefined ? undefined : [r[1], r[0]];
  }
  switch (c) {
    case 'jeq': {
      const r = intersectBounds(a, b, bits);
      return r === undefined ? undefined : [r, r];
    }
    case 'jne': {
      if (a.t.mask === 0n && b.t.mask === 0n && a.t.value === b.t.value) return undefined;
      return syncPair(excludeConst(a, b, bits), excludeConst(b, a, bits), bits);
    }
    case 'jgt':
      return syncPair(withUmin(a, b.umin + 1n), withUmax(b, a.umax - 1n), bits);
    case 'jge':
      return syncPair(withUmin(a, b.umin), withUmax(b, a.umax), bits);
    case 'jsgt':
      return syncPair(withSmin(a, b.smin + 1n), withSmax(b, a.smax - 1n), bits);
    case 'jsge':
      return syncPair(withSmin(a, b.smin), withSmax(b, a.smax), bits);
    default:
      return [a, b];
  }
}

// Raise a lower or lower an upper bound; the same object when nothing changes,
// so that an operand a branch does not narrow keeps its identity (and the
// scalar it belongs to need not be normalized again).
const withUmin = (x: Bounds, v: bigint): Bounds => (v > x.umin ? mk(x.t, v, x.umax, x.smin, x.smax) : x);
const withUmax = (x: Bounds, v: bigint): Bounds => (v < x.umax ? mk(x.t, x.umin, v, x.smin, x.smax) : x);
const withSmin = (x: Bounds, v: bigint): Bounds => (v > x.smin ? mk(x.t, x.umin, x.umax, v, x.smax) : x);
const withSmax = (x: Bounds, v: bigint): Bounds => (v < x.smax ? mk(x.t, x.umin, x.umax, x.smin, v) : x);

function syncPair(x: Bounds, y: Bounds, bits: Width): [Bounds, Bounds] | undefined {
  const p = syncBounds(x, bits);
  const q = syncBounds(y, bits);
  return p === undefined || q === undefined ? undefined : [p, q];
}

/** x without the constant y at its range ends (a != branch); x unchanged when y is not constant. */
function excludeConst(x: Bounds, y: Bounds, bits: Width): Bounds {
  if (y.t.mask !== 0n) return x;
  const v = y.t.value;
  const sv = toSigned(v, bits);
  if (x.umin !== v && x.umax !== v && x.smin !== sv && x.smax !== sv) return x;
  return mk(x.t, x.umin === v ? x.umin + 1n : x.umin, x.umax === v ? x.umax - 1n : x.umax, x.smin === sv ? x.smin + 1n : x.smin, x.smax === sv ? x.smax - 1n : x.smax);
}

function refineJset(taken: boolean, a: Bounds, b: Bounds, bits: Width): [Bounds, Bounds] | undefined {
  if (!taken) {
    // a & b == 0: with b constant, b's bits are zero in a.
    if (b.t.mask !== 0n) {
      if ((a.t.value & b.t.value) !== 0n) return undefined;
      return [a, b];
    }
    const t = tnumIntersect(a.t, { value: 0n, mask: widthMask(bits) & ~b.t.value });
    if (t === undefined) return undefined;
    const r = syncBounds(mk(t, a.umin, a.umax, a.smin, a.smax), bits);
    return r === undefined ? undefined : [r, b];
  }
  // a & b != 0
  if ((a.t.mask | a.t.value) & (b.t.mask | b.t.value)) {
    if (b.t.mask === 0n && b.t.value !== 0n && (b.t.value & (b.t.value - 1n)) === 0n) {
      const t = tnumIntersect(a.t, { value: b.t.value, mask: widthMask(bits) & ~b.t.value });
      if (t === undefined) return undefined;
      const r = syncBounds(mk(t, a.umin, a.umax, a.smin, a.smax), bits);
      return r === undefined ? undefined : [r, b];
    }
    return [a, b];
  }
  return undefined;
}
