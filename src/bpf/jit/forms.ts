// Instruction forms: what each slot does, in the interpreter's numbering
// (interp/decode.ts), and the wasm opcode of each plain ALU, compare and load form.
// RFC opcodes keep their byte with the source bit cleared, the rest are above 0xff.

import * as Kinds from './classify.ts';
import type { Insn } from '../isa.ts';
import { Op } from './wasm-writer.ts';
import {
  OP_SDIV64,
  OP_SMOD64,
  OP_SDIV32,
  OP_SMOD32,
  OP_MOVSX64_8,
  OP_MOVSX64_16,
  OP_MOVSX64_32,
  OP_MOVSX32_8,
  OP_MOVSX32_16,
  OP_LE,
  OP_BE,
  OP_BSWAP,
  OP_CALL_HELPER,
  OP_CALL_LOCAL,
  OP_CALLX,
  OP_LDDW,
  OP_ATOMIC32,
  OP_ATOMIC64,
  OP_INVALID,
} from '../interp/decode.ts';

// Module-local copies of imported constants: under tsx an imported binding is read
// through a getter on every access, which is measurable in a per-instruction loop.
const O = { ...Op };
const { K_CALL_HELPER, K_CALL_LOCAL, K_CALLX, K_COND, K_EXIT, K_INVALID, K_JA, K_LDDW } = Kinds;


export const COND32_OPS: Record<number, number> = {
  0x10: O.i32_eq,
  0x20: O.i32_gt_u,
  0x30: O.i32_ge_u,
  0x50: O.i32_ne,
  0x60: O.i32_gt_s,
  0x70: O.i32_ge_s,
  0xa0: O.i32_lt_u,
  0xb0: O.i32_le_u,
  0xc0: O.i32_lt_s,
  0xd0: O.i32_le_s,
};

export const COND64_OPS: Record<number, number> = {
  0x10: O.i64_eq,
  0x20: O.i64_gt_u,
  0x30: O.i64_ge_u,
  0x50: O.i64_ne,
  0x60: O.i64_gt_s,
  0x70: O.i64_ge_s,
  0xa0: O.i64_lt_u,
  0xb0: O.i64_le_u,
  0xc0: O.i64_lt_s,
  0xd0: O.i64_le_s,
};

export const ALU64_OPS: Record<number, number> = {
  0x07: O.i64_add,
  0x17: O.i64_sub,
  0x27: O.i64_mul,
  0x47: O.i64_or,
  0x57: O.i64_and,
  0xa7: O.i64_xor,
  0x67: O.i64_shl,
  0x77: O.i64_shr_u,
  0xc7: O.i64_shr_s,
};

export const ALU32_OPS: Record<number, number> = {
  0x04: O.i32_add,
  0x14: O.i32_sub,
  0x24: O.i32_mul,
  0x44: O.i32_or,
  0x54: O.i32_and,
  0xa4: O.i32_xor,
  0x64: O.i32_shl,
  0x74: O.i32_shr_u,
  0xc4: O.i32_shr_s,
};

export const LOAD_OPS: Record<number, number> = {
  0x61: O.i64_load32_u,
  0x69: O.i64_load16_u,
  0x71: O.i64_load8_u,
  0x79: O.i64_load,
  0x81: O.i64_load32_s,
  0x89: O.i64_load16_s,
  0x91: O.i64_load8_s,
};


/** The instruction form of a slot, from its classification and opcode byte. */
export function formOf(insn: Insn, kind: number): number {
  const c = insn.code;
  switch (kind) {
    case K_LDDW:
      return OP_LDDW;
    case K_CALL_HELPER:
      return OP_CALL_HELPER;
    case K_CALLX:
      return OP_CALLX;
    case K_CALL_LOCAL:
      return OP_CALL_LOCAL;
    case K_INVALID:
      return OP_INVALID;
    case K_EXIT:
      return 0x95;
    case K_JA:
      return 0x05;
    case K_COND:
      return c & ~0x08;
  }
  const cls = c & 0x07;
  if (cls === 0x04 || cls === 0x07) {
    const is64 = cls === 0x07;
    const op = c & 0xf0;
    const isX = (c & 0x08) !== 0;
    if (op === 0xd0) return is64 ? OP_BSWAP : isX ? OP_BE : OP_LE;
    if (op === 0x80) return c;
    if ((op === 0x30 || op === 0x90) && insn.off === 1) {
      return op === 0x30 ? (is64 ? OP_SDIV64 : OP_SDIV32) : is64 ? OP_SMOD64 : OP_SMOD32;
    }
    if (op === 0xb0 && insn.off !== 0) {
      if (is64) return insn.off === 8 ? OP_MOVSX64_8 : insn.off === 16 ? OP_MOVSX64_16 : OP_MOVSX64_32;
      return insn.off === 8 ? OP_MOVSX32_8 : OP_MOVSX32_16;
    }
    return c & ~0x08;
  }
  if (cls === 0x03 && (c & 0xe0) === 0xc0) return (c & 0x18) === 0x00 ? OP_ATOMIC32 : OP_ATOMIC64;
  return c;
}

/** Every slot's form. */
export function formsOf(insns: readonly Insn[], kind: Uint8Array | readonly number[]): Int32Array {
  const forms = new Int32Array(insns.length);
  insns.forEach((insn, pc) => {
    forms[pc] = formOf(insn, kind[pc] ?? 0);
  });
  return forms;
}

/** A conditional jump form (JMP or JMP32 with a compare op). */
export function isCondForm(c: number): boolean {
  const cls = c & 0x07;
  if (c >= 0x100 || (cls !== 0x05 && cls !== 0x06)) return false;
  const o = c & 0xf0;
  return o !== 0x00 && o !== 0x80 && o !== 0x90;
}
