// Emission of the ALU instruction families: 64- and 32-bit arithmetic and logic
// (wasm i64/i32 ops; 32-bit results zero-extended), division and modulo with
// RFC 9669's rules where wasm would trap, byte swaps, sign extension, lddw.

import type { Insn } from '../isa.ts';
import type { FnEmitter } from './emitter.ts';
import { L_A32 as IMPORTED_L_A32 } from './emitter.ts';
import * as Forms from './forms.ts';
import * as Decoded from '../interp/decode.ts';
import { I32 as IMPORTED_I32, I64 as IMPORTED_I64, Op } from './wasm-writer.ts';

// Module-local copies: under tsx each access to an imported binding is a getter call.
const O = { ...Op };
const I32 = IMPORTED_I32;
const I64 = IMPORTED_I64;
const L_A32 = IMPORTED_L_A32;
const {
  ALU32_OPS,
  ALU64_OPS,
} = Forms;
const {
  OP_BE,
  OP_BSWAP,
  OP_LDDW,
  OP_LE,
  OP_MOVSX32_16,
  OP_MOVSX32_8,
  OP_MOVSX64_16,
  OP_MOVSX64_32,
  OP_MOVSX64_8,
  OP_SDIV32,
  OP_SDIV64,
  OP_SMOD32,
  OP_SMOD64,
} = Decoded;

/** Emit the instruction at pc if its form `c` is an ALU one; false otherwise. */
export function emitAlu(e: FnEmitter, pc: number, c: number): boolean {
  const insn = e.insnAt(pc);
  const d = insn.dst;
  switch (c) {
    // ---- ALU64 ----
    case 0x07:
    case 0x17:
    case 0x27:
    case 0x47:
    case 0x57:
    case 0xa7:
    case 0x67:
    case 0x77:
    case 0xc7: {
        e.get(d);
      e.operand64(insn);
      e.opOf(ALU64_OPS, c, pc);
      e.set(d);
      return true;
    }
    case 0xb7:
      e.operand64(insn);
      e.set(d);
      return true;
    case 0x87:
      e.i64c(0);
      e.get(d);
      e.o(O.i64_sub);
      e.set(d);
      return true;
    case 0x37:
      divide(e, insn, true, false, false);
      return true;
    case 0x97:
      divide(e, insn, true, false, true);
      return true;
    case OP_SDIV64:
      divide(e, insn, true, true, false);
      return true;
    case OP_SMOD64:
      divide(e, insn, true, true, true);
      return true;
    case OP_MOVSX64_8:
    case OP_MOVSX64_16:
    case OP_MOVSX64_32:
      e.get(insn.src);
      e.o(c === OP_MOVSX64_8 ? O.i64_extend8_s : c === OP_MOVSX64_16 ? O.i64_extend16_s : O.i64_extend32_s);
      e.set(d);
      return true;
    case OP_BSWAP:
    case OP_BE:
      byteSwap(e, d, insn.imm);
      return true;
    case OP_LE:
      // Little-endian host: only truncate to the width.
      if (insn.imm === 16 || insn.imm === 32) {
        e.get(d);
        e.w.byte(O.i64_const);
        e.w.s64(insn.imm === 16 ? 0xffff : -1, 0);
        e.o(O.i64_and);
        e.set(d);
      }
      return true;

    // ---- ALU32 ----
    case 0x04:
    case 0x14:
    case 0x24:
    case 0x44:
    case 0x54:
    case 0xa4:
    case 0x64:
    case 0x74:
    case 0xc4: {
        e.get32(d);
      e.operand32(insn);
      e.opOf(ALU32_OPS, c, pc);
      e.setZext32(d);
      return true;
    }
    case 0xb4:
      e.operand32(insn);
      e.setZext32(d);
      return true;
    case 0x84:
      e.i32c(0);
      e.get32(d);
      e.o(O.i32_sub);
      e.setZext32(d);
      return true;
    case 0x34:
      divide(e, insn, false, false, false);
      return true;
    case 0x94:
      divide(e, insn, false, false, true);
      return true;
    case OP_SDIV32:
      divide(e, insn, false, true, false);
      return true;
    case OP_SMOD32:
      divide(e, insn, false, true, true);
      return true;
    case OP_MOVSX32_8:
    case OP_MOVSX32_16:
      e.get32(insn.src);
      e.o(c === OP_MOVSX32_8 ? O.i32_extend8_s : O.i32_extend16_s);
      e.setZext32(d);
      return true;

    // ---- 64-bit immediate ----
    case OP_LDDW:
      e.w.byte(O.i64_const);
      e.w.s64(insn.imm, e.insnAt(pc + 1).imm);
      e.set(d);
      return true;

  }
  return false;
}

function bswap32OnStack(e: FnEmitter): void {
  e.w.byte(O.local_tee);
  e.w.u32(L_A32);
  e.i32c(8);
  e.o(O.i32_rotl);
  e.i32c(0x00ff00ff);
  e.o(O.i32_and);
  e.w.byte(O.local_get);
  e.w.u32(L_A32);
  e.i32c(8);
  e.o(O.i32_rotr);
  e.i32c(0xff00ff00 | 0);
  e.o(O.i32_and);
  e.o(O.i32_or);
}

function byteSwap(e: FnEmitter, d: number, width: number): void {
  if (width === 16) {
    e.get32(d);
    e.w.byte(O.local_tee);
    e.w.u32(L_A32);
    e.i32c(0xff);
    e.o(O.i32_and);
    e.i32c(8);
    e.o(O.i32_shl);
    e.w.byte(O.local_get);
    e.w.u32(L_A32);
    e.i32c(8);
    e.o(O.i32_shr_u);
    e.i32c(0xff);
    e.o(O.i32_and);
    e.o(O.i32_or);
    e.setZext32(d);
  } else if (width === 32) {
    e.get32(d);
    bswap32OnStack(e);
    e.setZext32(d);
  } else {
    e.get32(d);
    bswap32OnStack(e);
    e.o(O.i64_extend_i32_u);
    e.i64c(32);
    e.o(O.i64_shl);
    e.get(d);
    e.i64c(32);
    e.o(O.i64_shr_u);
    e.o(O.i32_wrap_i64);
    bswap32OnStack(e);
    e.o(O.i64_extend_i32_u);
    e.o(O.i64_or);
    e.set(d);
  }
}

function divide(e: FnEmitter, insn: Insn, is64: boolean, signed: boolean, mod: boolean): void {
  const d = insn.dst;
  const isX = (insn.code & 0x08) !== 0;
  if (is64) {
    if (!isX) {
      const k = insn.imm;
      if (k === 0) {
        if (!mod) {
          e.i64c(0);
          e.set(d);
        }
        return;
      }
      if (signed && k === -1) {
        // INT64_MIN / -1 wraps to INT64_MIN (negation); INT64_MIN % -1 is 0.
        if (mod) e.i64c(0);
        else {
          e.i64c(0);
          e.get(d);
          e.o(O.i64_sub);
        }
        e.set(d);
        return;
      }
      e.get(d);
      e.i64c(k);
      e.o(signed ? (mod ? O.i64_rem_s : O.i64_div_s) : mod ? O.i64_rem_u : O.i64_div_u);
      e.set(d);
      return;
    }
    const s = insn.src;
    e.get(s);
    e.o(O.i64_eqz);
    e.w.byte(O.if);
    e.w.byte(I64);
    if (mod) e.get(d);
    else e.i64c(0);
    e.w.byte(O.else);
    if (signed && !mod) {
      e.get(s);
      e.i64c(-1);
      e.o(O.i64_eq);
      e.w.byte(O.if);
      e.w.byte(I64);
      e.i64c(0);
      e.get(d);
      e.o(O.i64_sub);
      e.w.byte(O.else);
      e.get(d);
      e.get(s);
      e.o(O.i64_div_s);
      e.w.byte(O.end);
    } else {
      e.get(d);
      e.get(s);
      e.o(signed ? O.i64_rem_s : mod ? O.i64_rem_u : O.i64_div_u);
    }
    e.w.byte(O.end);
    e.set(d);
    return;
  }
  // 32-bit: operands are the low words; the result is zero-extended.
  if (!isX) {
    const k = insn.imm;
    if (k === 0) {
      if (mod) e.get32(d);
      else e.i32c(0);
      e.setZext32(d);
      return;
    }
    if (signed && k === -1) {
      if (mod) e.i32c(0);
      else {
        e.i32c(0);
        e.get32(d);
        e.o(O.i32_sub);
      }
      e.setZext32(d);
      return;
    }
    e.get32(d);
    e.i32c(k);
    e.o(signed ? (mod ? O.i32_rem_s : O.i32_div_s) : mod ? O.i32_rem_u : O.i32_div_u);
    e.setZext32(d);
    return;
  }
  e.get32(insn.src);
  e.w.byte(O.local_tee);
  e.w.u32(L_A32);
  e.o(O.i32_eqz);
  e.w.byte(O.if);
  e.w.byte(I32);
  if (mod) e.get32(d);
  else e.i32c(0);
  e.w.byte(O.else);
  if (signed && !mod) {
    e.w.byte(O.local_get);
    e.w.u32(L_A32);
    e.i32c(-1);
    e.o(O.i32_eq);
    e.w.byte(O.if);
    e.w.byte(I32);
    e.i32c(0);
    e.get32(d);
    e.o(O.i32_sub);
    e.w.byte(O.else);
    e.get32(d);
    e.w.byte(O.local_get);
    e.w.u32(L_A32);
    e.o(O.i32_div_s);
    e.w.byte(O.end);
  } else {
    e.get32(d);
    e.w.byte(O.local_get);
    e.w.u32(L_A32);
    e.o(signed ? O.i32_rem_s : mod ? O.i32_rem_u : O.i32_div_u);
  }
  e.w.byte(O.end);
  e.setZext32(d);
}
