// Out-of-line pieces of the reference interpreter: the rare or bulky operations
// (64-bit division, atomics, helper calls, the slow memory lookup) kept apart so
// that the hot loop in interp.ts stays small enough for V8 to optimise well.
//
// Registers are int32 pairs in an Int32Array: R[2r] is the low word, R[2r+1] the high.

import { ExecutionFault } from '../engine.ts';
import type { HelperTable } from '../helpers.ts';
import { AtomicOp } from '../isa.ts';
import type { AddressSpace, Region } from '../memory.ts';

const TWO_32 = 4294967296;

// non-null: R is the register file (REG_INTS int32s) and d, s are register slots the decoder range-checked; called per instruction (bench:interp).
export function getBig(R: Int32Array, i: number): bigint {
  return (BigInt(R[i + 1]! >>> 0) << 32n) | BigInt(R[i]! >>> 0);
}

export function setBig(R: Int32Array, i: number, v: bigint): void {
  if (v >= 0n && v <= 0xffffffffn) {
    // the common case (addresses, small numbers): no BigInt arithmetic, no allocation
    R[i] = Number(v);
    R[i + 1] = 0;
    return;
  }
  const u = BigInt.asUintN(64, v);
  R[i] = Number(u & 0xffffffffn);
  R[i + 1] = Number(u >> 32n);
}

/** High 32 bits of the unsigned 64-bit product of two 32-bit words, exactly. */
export function mulHiU32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const t = a0 * b0;
  const m1 = a1 * b0 + (t >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  return (a1 * b1 + (m1 >>> 16) + (m2 >>> 16)) | 0;
}

// non-null: R is the register file (REG_INTS int32s) and d, s are register slots the decoder range-checked; called per instruction (bench:interp).
/** dst = dst OP src for 64-bit div/mod (unsigned or signed), with the RFC 9669 rules. */
export function divMod64(R: Int32Array, d: number, s: number, signed: boolean, mod: boolean): void {
  const dh = R[d + 1]!;
  const sh = R[s + 1]!;
  const sl = R[s]!;
  if (!signed && dh === 0 && sh === 0) {
    // Both operands fit in 32 bits: exact with doubles.
    const a = R[d]! >>> 0;
    const b = sl >>> 0;
    if (b === 0) {
      if (!mod) R[d] = 0;
      return;
    }
    R[d] = mod ? a % b : a / b;
    return;
  }
  if (sh === 0 && sl === 0) {
    // Division by zero gives 0; modulo by zero leaves dst unchanged.
    if (!mod) {
      R[d] = 0;
      R[d + 1] = 0;
    }
    return;
  }
  const a = getBig(R, d);
  const b = getBig(R, s);
  let r: bigint;
  if (signed) {
    const sa = BigInt.asIntN(64, a);
    const sb = BigInt.asIntN(64, b);
    // INT64_MIN / -1 overflows back to INT64_MIN, and INT64_MIN % -1 is 0: BigInt
    // gives 2^63 and 0, and asUintN(64, 2^63) is INT64_MIN's bit pattern.
    r = mod ? sa % sb : sa / sb;
  } else {
    r = mod ? a % b : a / b;
  }
  setBig(R, d, r);
}

// non-null: R is the register file (REG_INTS int32s) and d, s are register slots the decoder range-checked; called per instruction (bench:interp).
/** 32-bit signed div/mod; the result is zero-extended. */
export function sdivMod32(R: Int32Array, d: number, s: number, mod: boolean): void {
  const a = R[d]! | 0;
  const b = R[s]! | 0;
  R[d + 1] = 0;
  if (b === 0) {
    if (!mod) R[d] = 0;
    return;
  }
  // JS integer semantics match C here: truncation toward zero, the remainder takes
  // the dividend's sign, INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0.
  R[d] = mod ? a % b : a / b;
}

// non-null: R is the register file (REG_INTS int32s) and d, s are register slots the decoder range-checked; called per instruction (bench:interp).
export function byteSwap(R: Int32Array, d: number, widthBits: number): void {
  const lo = R[d]!;
  const hi = R[d + 1]!;
  if (widthBits === 16) {
    R[d] = ((lo & 0xff) << 8) | ((lo >>> 8) & 0xff);
    R[d + 1] = 0;
  } else if (widthBits === 32) {
    R[d] = bswap32(lo);
    R[d + 1] = 0;
  } else {
    R[d] = bswap32(hi);
    R[d + 1] = bswap32(lo);
  }
}

function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

// non-null: R is the register file (REG_INTS int32s) and d, s are register slots the decoder range-checked; called per instruction (bench:interp).
/** Little-endian host: `le` only truncates to the width. */
export function truncateTo(R: Int32Array, d: number, widthBits: number): void {
  if (widthBits === 16) {
    R[d] = R[d]! & 0xffff;
    R[d + 1] = 0;
  } else if (widthBits === 32) {
    R[d + 1] = 0;
  }
}

/**
 * The address a load or store touches, after the full 64-bit add of base and
 * offset, when it is outside the fast-path region; the caller then looks it up.
 * Returns -1 when the address cannot be in the (at most 4 GiB) address space.
 */
export function effectiveAddress(lo: number, hi: number, off: number): number {
  const a = (lo >>> 0) + off;
  if (hi === 0) return a >= 0 && a < TWO_32 ? a : -1;
  if (hi === -1 && a >= TWO_32) return a - TWO_32; // the add wrapped around 2^64
  return -1;
}

export function describeAddress(lo: number, hi: number, off: number): string {
  const full = BigInt.asUintN(64, ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)) + BigInt(off));
  return `0x${full.toString(16)}`;
}

/** Find the region holding [address, address+size) or throw the fault naming pc and address. */
export function lookupRegion(
  memory: AddressSpace,
  lo: number,
  hi: number,
  off: number,
  size: number,
  write: boolean,
  pc: number,
): Region {
  const address = effectiveAddress(lo, hi, off);
  const kind = write ? 'store' : 'load';
  if (address < 0) {
    throw new ExecutionFault(
      'OUT_OF_BOUNDS',
      pc,
      `${kind} of ${size} bytes at ${describeAddress(lo, hi, off)} is outside every memory region`,
    );
  }
  const region = memory.find(address, size);
  if (region === undefined) {
    throw new ExecutionFault(
      'OUT_OF_BOUNDS',
      pc,
      `${kind} of ${size} bytes at 0x${address.toString(16)} is outside every memory region${nearest(memory, address)}`,
      address,
    );
  }
  if (write && !region.writable) {
    throw new ExecutionFault(
      'READ_ONLY',
      pc,
      `store of ${size} bytes at 0x${address.toString(16)} into read-only region "${region.name}"`,
      address,
    );
  }
  return region;
}

function nearest(memory: AddressSpace, address: number): string {
  let best: Region | undefined;
  let bestDistance = Infinity;
  for (const r of memory.regions) {
    const distance = address < r.base ? r.base - address : address - (r.base + r.sizeBytes);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = r;
    }
  }
  if (best === undefined) return ' (no region is mapped)';
  return ` (nearest region "${best.name}" is 0x${best.base.toString(16)}..0x${(best.base + best.sizeBytes).toString(16)})`;
}

// non-null: R is the register file (REG_INTS int32s) and d, s are register slots the decoder range-checked; called per instruction (bench:interp).
/** Atomic read-modify-write at dst+off with src (RFC 9669 §5.3); atomics must be aligned. */
export function atomic(
  memory: AddressSpace,
  R: Int32Array,
  d: number,
  s: number,
  off: number,
  op: number,
  is64: boolean,
  pc: number,
): void {
  const size = is64 ? 8 : 4;
  const region = lookupRegion(memory, R[d]!, R[d + 1]!, off, size, true, pc);
  void region;
  const a = effectiveAddress(R[d]!, R[d + 1]!, off);
  if (a % size !== 0) {
    throw new ExecutionFault('MISALIGNED_ATOMIC', pc, `atomic ${size}-byte access at 0x${a.toString(16)} is not aligned`, a);
  }
  const view = memory.view;
  const oldLo = view.getInt32(a, true);
  const oldHi = is64 ? view.getInt32(a + 4, true) : 0;
  const vLo = R[s]!;
  const vHi = is64 ? R[s + 1]! : 0;
  let nLo: number;
  let nHi: number;
  const base = op & ~AtomicOp.FETCH;
  if (op === AtomicOp.XCHG) {
    nLo = vLo;
    nHi = vHi;
  } else if (op === AtomicOp.CMPXCHG) {
    const equal = is64 ? R[0] === oldLo && R[1] === oldHi : R[0] === oldLo;
    nLo = equal ? vLo : oldLo;
    nHi = equal ? vHi : oldHi;
  } else if (base === AtomicOp.ADD) {
    const sum = (oldLo >>> 0) + (vLo >>> 0);
    nLo = sum | 0;
    nHi = (oldHi + vHi + (sum > 0xffffffff ? 1 : 0)) | 0;
  } else if (base === AtomicOp.OR) {
    nLo = oldLo | vLo;
    nHi = oldHi | vHi;
  } else if (base === AtomicOp.AND) {
    nLo = oldLo & vLo;
    nHi = oldHi & vHi;
  } else {
    nLo = oldLo ^ vLo;
    nHi = oldHi ^ vHi;
  }
  view.setInt32(a, nLo, true);
  if (is64) view.setInt32(a + 4, nHi, true);
  if (op === AtomicOp.CMPXCHG) {
    R[0] = oldLo;
    R[1] = oldHi; // zero for the 32-bit form: r0 gets the zero-extended old value
  } else if ((op & AtomicOp.FETCH) !== 0) {
    R[s] = oldLo;
    R[s + 1] = oldHi;
  }
}

/** Call helper `id` with r1..r5; r0 gets the result. r1..r5 are left as they were. */
export function callHelper(helpers: HelperTable, memory: AddressSpace, R: Int32Array, id: number, pc: number): void {
  const helper = helpers.get(id);
  if (helper === undefined) {
    throw new ExecutionFault('UNKNOWN_HELPER', pc, `call to helper ${id}, which is not registered`);
  }
  let result: bigint;
  try {
    result = helper.fn(getBig(R, 2), getBig(R, 4), getBig(R, 6), getBig(R, 8), getBig(R, 10), { memory });
  } catch (error) {
    // A helper does not know where it was called from: a fault it raises with
    // pc -1 (for example UNWIND) is given the index of the call instruction.
    if (error instanceof ExecutionFault && error.pc < 0) {
      throw new ExecutionFault(error.kind, pc, `helper ${id} (${helper.name}): ${error.message.replace(/^instruction -1: /, '')}`, error.address);
    }
    throw error;
  }
  setBig(R, 0, result);
}
