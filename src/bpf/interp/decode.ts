// Pre-decoding for the reference interpreter.
//
// The program is turned once into a flat Int32Array (STRIDE ints per slot) so
// that the hot loop reads typed arrays only: no object property loads, no BigInt.
// Immediate operands are placed in "constant registers" after the 11 real ones,
// so `add r0, 1` and `add r0, r1` run the same code (the src index points either
// at a register or at the constant). Jump targets are made absolute. Anything the
// interpreter must not execute (unknown opcodes, legacy packet access, jumps
// outside the program, unresolved lddw pseudo sources, the second slot of lddw)
// becomes a sentinel op that faults with a precise message when executed, so an
// unverified program never crashes the interpreter.

import {
  AluOp,
  AtomicOp,
  CallSrc,
  InsnClass,
  JmpOp,
  LDDW_OPCODE,
  Mode,
  REGISTER_COUNT,
  Size,
  type Insn,
} from '../isa.ts';

/** Ints per decoded slot: op, dst index, src index, target/off, imm, imm-high, spare, spare. */
export const STRIDE = 8;
export const F_OP = 0;
export const F_DST = 1;
export const F_SRC = 2;
/** absolute jump target, call target, or the memory offset */
export const F_OFF = 3;
export const F_IMM = 4;
export const F_IMM_HI = 5;

/** Register file: r0..r10 as (lo, hi) int32 pairs, then constant operands. */
export const REG_INTS = REGISTER_COUNT * 2;

// Decoded ops that are not RFC opcodes (the RFC ones keep their code byte with the
// source bit cleared, since the operand is unified).
export const OP_SDIV64 = 0x100;
export const OP_SMOD64 = 0x101;
export const OP_SDIV32 = 0x102;
export const OP_SMOD32 = 0x103;
export const OP_MOVSX64_8 = 0x104;
export const OP_MOVSX64_16 = 0x105;
export const OP_MOVSX64_32 = 0x106;
export const OP_MOVSX32_8 = 0x107;
export const OP_MOVSX32_16 = 0x108;
export const OP_LE = 0x109;
export const OP_BE = 0x10a;
export const OP_BSWAP = 0x10b;
export const OP_CALL_HELPER = 0x10c;
export const OP_CALL_LOCAL = 0x10d;
export const OP_CALLX = 0x10e;
export const OP_LDDW = 0x10f;
export const OP_ATOMIC32 = 0x110;
export const OP_ATOMIC64 = 0x111;
/** add, sub, mul of a 64-bit register by a non-negative constant (mul: below 2^21), F_IMM the constant */
export const OP_ADD64_KPOS = 0x112;
export const OP_SUB64_KPOS = 0x113;
export const OP_MUL64_KSMALL = 0x114;
/** faults with PC_OUT_OF_RANGE; F_IMM holds the origin pc (-1: fell off the end), F_OFF the target */
export const OP_BAD_PC = 0x1f0;
/** faults with INVALID_INSN; F_IMM indexes the message table */
export const OP_INVALID = 0x1f1;

export interface DecodedProgram {
  /** STRIDE ints per slot; slot `insns.length` and after are sentinels */
  readonly code: Int32Array;
  /** register file template: 22 zero ints, then the constant operands */
  readonly regTemplate: Int32Array;
  readonly messages: readonly string[];
  /** slots in the original program */
  readonly insnCount: number;
}

const VALID_SIZES = new Set([16, 32, 64]);

export function decodeProgram(insns: readonly Insn[]): DecodedProgram {
  const n = insns.length;
  const messages: string[] = [];
  const constants: number[] = [];
  const badPcs: Array<{ from: number; to: number }> = [];
  const slots: number[][] = [];
  // Second slots of lddw, found by walking slot starts from the beginning.
  const lddwTail = new Uint8Array(n);
  let tail = false;
  for (const [i, insn] of insns.entries()) {
    if (tail) lddwTail[i] = 1;
    tail = !tail && insn.code === LDDW_OPCODE;
  }

  const constantIndex = (imm: number): number => {
    const at = REG_INTS + constants.length;
    constants.push(imm | 0, (imm | 0) >> 31);
    return at;
  };
  const invalid = (why: string): number[] => {
    messages.push(why);
    return [OP_INVALID, 0, 0, 0, messages.length - 1, 0, 0, 0];
  };
  const target = (from: number, to: number): number => {
    if (to >= 0 && to < n) return to;
    badPcs.push({ from, to });
    return n + badPcs.length; // sentinel slot after the fall-off slot
  };

  for (const [pc, insn] of insns.entries()) slots.push(decodeOne(insn, pc));

  function decodeOne(insn: Insn, pc: number): number[] {
    const c = insn.code;
    const cls = c & 0x07;
    if (insn.dst > 10 || insn.src > 10) {
      if (!(c === LDDW_OPCODE && insn.src <= 6 && insn.dst <= 10)) {
        return invalid(`invalid register r${insn.dst > 10 ? insn.dst : insn.src} in opcode 0x${hex(c)}`);
      }
    }
    const d = insn.dst * 2;
    const srcReg = insn.src * 2;
    const isX = (c & 0x08) !== 0;
    const operand = (): number => (isX ? srcReg : constantIndex(insn.imm));

    if (lddwTail[pc] === 1) {
      return invalid('jump into the second slot of a 64-bit immediate load (lddw)');
    }

    switch (cls) {
      case InsnClass.ALU:
      case InsnClass.ALU64: {
        const op = c & 0xf0;
        const is64 = cls === InsnClass.ALU64;
        if (op === AluOp.END) {
          if (!VALID_SIZES.has(insn.imm)) return invalid(`invalid byte-swap width ${insn.imm} (must be 16, 32 or 64)`);
          if (is64) {
            if (isX) return invalid(`invalid opcode 0x${hex(c)} (bswap has no register source)`);
            return [OP_BSWAP, d, 0, 0, insn.imm, 0, 0, 0];
          }
          return [isX ? OP_BE : OP_LE, d, 0, 0, insn.imm, 0, 0, 0];
        }
        if (op === AluOp.NEG) {
          if (isX) return invalid(`invalid opcode 0x${hex(c)} (neg takes no source)`);
          return [c, d, 0, 0, 0, 0, 0, 0];
        }
        if (op > AluOp.END) return invalid(`unknown ALU operation in opcode 0x${hex(c)}`);
        if (op === AluOp.DIV || op === AluOp.MOD) {
          if (insn.off !== 0 && insn.off !== 1) return invalid(`invalid offset ${insn.off} for ${op === AluOp.DIV ? 'div' : 'mod'} (0 unsigned, 1 signed)`);
          if (insn.off === 1) {
            const sop = op === AluOp.DIV ? (is64 ? OP_SDIV64 : OP_SDIV32) : is64 ? OP_SMOD64 : OP_SMOD32;
            return [sop, d, operand(), 0, 0, 0, 0, 0];
          }
          return [c & ~0x08, d, operand(), 0, 0, 0, 0, 0];
        }
        if (op === AluOp.MOV && insn.off !== 0) {
          if (!isX) return invalid(`invalid offset ${insn.off} for mov with an immediate`);
          const table: Record<number, number> = is64
            ? { 8: OP_MOVSX64_8, 16: OP_MOVSX64_16, 32: OP_MOVSX64_32 }
            : { 8: OP_MOVSX32_8, 16: OP_MOVSX32_16 };
          const sop = table[insn.off];
          if (sop === undefined) return invalid(`invalid sign-extension width ${insn.off} for movsx`);
          return [sop, d, srcReg, 0, 0, 0, 0, 0];
        }
        if (is64 && !isX && insn.imm >= 0) {
          // Common forms with a constant that needs no high word: fewer loads per run.
          if (op === AluOp.ADD) return [OP_ADD64_KPOS, d, 0, 0, insn.imm, 0, 0, 0];
          if (op === AluOp.SUB) return [OP_SUB64_KPOS, d, 0, 0, insn.imm, 0, 0, 0];
          if (op === AluOp.MUL && insn.imm < 1 << 21) return [OP_MUL64_KSMALL, d, 0, 0, insn.imm, 0, 0, 0];
        }
        return [c & ~0x08, d, operand(), 0, 0, 0, 0, 0];
      }
      case InsnClass.JMP:
      case InsnClass.JMP32: {
        const op = c & 0xf0;
        const is32 = cls === InsnClass.JMP32;
        if (op === JmpOp.JA) {
          if (isX) return invalid(`invalid opcode 0x${hex(c)}`);
          const off = is32 ? insn.imm : insn.off;
          return [InsnClass.JMP | JmpOp.JA, 0, 0, target(pc, pc + 1 + off), 0, 0, 0, 0];
        }
        if (op === JmpOp.CALL) {
          if (is32) return invalid(`invalid opcode 0x${hex(c)}`);
          if (isX) {
            // callx: the helper id is in a register. Linux puts the register in dst;
            // older LLVM put it in imm. Accept both, as uBPF does.
            const reg = insn.dst !== 0 ? insn.dst : insn.imm;
            if (reg < 0 || reg > 10) return invalid(`invalid register ${reg} for callx`);
            return [OP_CALLX, 0, reg * 2, 0, 0, 0, 0, 0];
          }
          if (insn.src === CallSrc.HELPER) return [OP_CALL_HELPER, 0, 0, 0, insn.imm, 0, 0, 0];
          if (insn.src === CallSrc.LOCAL) return [OP_CALL_LOCAL, 0, 0, target(pc, pc + 1 + insn.imm), 0, 0, 0, 0];
          return invalid(`call with source ${insn.src} (helper by BTF id) is not supported`);
        }
        if (op === JmpOp.EXIT) {
          if (is32 || isX) return invalid(`invalid opcode 0x${hex(c)}`);
          return [c, 0, 0, 0, 0, 0, 0, 0];
        }
        if (op > JmpOp.JSLE) return invalid(`unknown jump operation in opcode 0x${hex(c)}`);
        return [c & ~0x08, d, operand(), target(pc, pc + 1 + insn.off), 0, 0, 0, 0];
      }
      case InsnClass.LD: {
        if (c === LDDW_OPCODE) {
          const second = insns[pc + 1];
          if (second === undefined) return invalid('64-bit immediate load (lddw) is missing its second slot');
          if (second.code !== 0 || second.dst !== 0 || second.src !== 0 || second.off !== 0) {
            return invalid('malformed second slot of a 64-bit immediate load (lddw)');
          }
          if (insn.src !== 0) {
            return invalid(
              `lddw with pseudo source ${insn.src} (a map or variable reference) was not resolved by the loader`,
            );
          }
          return [OP_LDDW, d, 0, 0, insn.imm, second.imm, 0, 0];
        }
        const mode = c & 0xe0;
        if (mode === Mode.ABS || mode === Mode.IND) {
          return invalid(`legacy packet access (BPF_${mode === Mode.ABS ? 'ABS' : 'IND'}, opcode 0x${hex(c)}) is not supported`);
        }
        return invalid(`unknown opcode 0x${hex(c)}`);
      }
      case InsnClass.LDX: {
        const mode = c & 0xe0;
        if (mode === Mode.MEM || (mode === Mode.MEMSX && (c & 0x18) !== Size.DW)) {
          return [c, d, srcReg, insn.off, 0, 0, 0, 0];
        }
        return invalid(`unknown load opcode 0x${hex(c)}`);
      }
      case InsnClass.ST: {
        if ((c & 0xe0) === Mode.MEM) return [c, d, constantIndex(insn.imm), insn.off, 0, 0, 0, 0];
        return invalid(`unknown store opcode 0x${hex(c)}`);
      }
      default: {
        // STX
        const mode = c & 0xe0;
        if (mode === Mode.MEM) return [c, d, srcReg, insn.off, 0, 0, 0, 0];
        if (mode === Mode.ATOMIC) {
          const size = c & 0x18;
          if (size !== Size.W && size !== Size.DW) return invalid(`atomic operation of invalid size in opcode 0x${hex(c)}`);
          const aop = insn.imm;
          const base = aop & ~AtomicOp.FETCH;
          const ok =
            base === AtomicOp.ADD ||
            base === AtomicOp.OR ||
            base === AtomicOp.AND ||
            base === AtomicOp.XOR ||
            aop === AtomicOp.XCHG ||
            aop === AtomicOp.CMPXCHG;
          if (!ok) return invalid(`unknown atomic operation 0x${hex(aop)}`);
          return [size === Size.W ? OP_ATOMIC32 : OP_ATOMIC64, d, srcReg, insn.off, aop, 0, 0, 0];
        }
        return invalid(`unknown store opcode 0x${hex(c)}`);
      }
    }
  }

  const total = n + 1 + badPcs.length;
  const out = new Int32Array(total * STRIDE);
  slots.forEach((s, i) => out.set(s, i * STRIDE));
  out.set([OP_BAD_PC, 0, 0, n, -1, 0, 0, 0], n * STRIDE);
  badPcs.forEach((b, i) => out.set([OP_BAD_PC, 0, 0, b.to, b.from, 0, 0, 0], (n + 1 + i) * STRIDE));
  const regTemplate = new Int32Array(REG_INTS + constants.length);
  regTemplate.set(constants, REG_INTS);
  return { code: out, regTemplate, messages, insnCount: n };
}

function hex(v: number): string {
  return (v >>> 0).toString(16).padStart(2, '0');
}
