// One pass over the slots of a program: what each slot is for the JIT (plain
// instruction, lddw, branch, exit, local call, or invalid with the reason), and
// its absolute jump target. Invalid slots fault when executed, with the same
// messages as the interpreter's pre-decoder (interp/decode.ts), so both engines
// report an unverified program's mistakes alike.
//
// Written without closures or imported constants in the loop: under tsx every
// access to an imported binding is a getter call, which made this pass (done by
// interp/decode.ts before) a third of the JIT's compile time.

import type { Insn } from '../isa.ts';

export const K_PLAIN = 0;
export const K_LDDW = 1;
export const K_COND = 2;
export const K_JA = 3;
export const K_EXIT = 4;
export const K_CALL_LOCAL = 5;
export const K_CALL_HELPER = 6;
export const K_CALLX = 7;
export const K_INVALID = 8;

export interface Classified {
  kind: Uint8Array;
  /** absolute target of K_COND, K_JA, K_CALL_LOCAL (may be outside the program); the callx register */
  target: Int32Array;
  /** reason of each K_INVALID slot */
  invalid: Map<number, string>;
}

const hex = (v: number): string => (v >>> 0).toString(16).padStart(2, '0');

export function classify(insns: readonly Insn[]): Classified {
  const n = insns.length;
  const kind = new Uint8Array(n);
  const target = new Int32Array(n);
  const invalid = new Map<number, string>();
  const tail = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (insns[i]?.code === 0x18 && i + 1 < n) tail[++i] = 1;
  }
  for (let pc = 0; pc < n; pc++) {
    const why = classifyOne(insns, pc, tail, kind, target);
    if (why !== null) {
      kind[pc] = K_INVALID;
      invalid.set(pc, why);
    }
  }
  return { kind, target, invalid };
}

/** Sets kind[pc] and target[pc]; returns the reason when the slot is invalid. */
function classifyOne(insns: readonly Insn[], pc: number, tail: Uint8Array, kind: Uint8Array, target: Int32Array): string | null {
  const insn = insns[pc];
  if (insn === undefined) return `no instruction at ${pc}`;
  const c = insn.code;
  const cls = c & 0x07;
  if (insn.dst > 10 || insn.src > 10) {
    if (!(c === 0x18 && insn.src <= 6 && insn.dst <= 10)) {
      return `invalid register r${insn.dst > 10 ? insn.dst : insn.src} in opcode 0x${hex(c)}`;
    }
  }
  if (tail[pc] === 1) return 'jump into the second slot of a 64-bit immediate load (lddw)';
  const isX = (c & 0x08) !== 0;
  switch (cls) {
    case 0x04: // ALU
    case 0x07: {
      // ALU64
      const op = c & 0xf0;
      const is64 = cls === 0x07;
      if (op === 0xd0) {
        if (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) return `invalid byte-swap width ${insn.imm} (must be 16, 32 or 64)`;
        if (is64 && isX) return `invalid opcode 0x${hex(c)} (bswap has no register source)`;
        return null;
      }
      if (op === 0x80) return isX ? `invalid opcode 0x${hex(c)} (neg takes no source)` : null;
      if (op > 0xd0) return `unknown ALU operation in opcode 0x${hex(c)}`;
      if (op === 0x30 || op === 0x90) {
        if (insn.off !== 0 && insn.off !== 1) return `invalid offset ${insn.off} for ${op === 0x30 ? 'div' : 'mod'} (0 unsigned, 1 signed)`;
        return null;
      }
      if (op === 0xb0 && insn.off !== 0) {
        if (!isX) return `invalid offset ${insn.off} for mov with an immediate`;
        const ok = is64 ? insn.off === 8 || insn.off === 16 || insn.off === 32 : insn.off === 8 || insn.off === 16;
        if (!ok) return `invalid sign-extension width ${insn.off} for movsx`;
      }
      return null;
    }
    case 0x05: // JMP
    case 0x06: {
      // JMP32
      const op = c & 0xf0;
      const is32 = cls === 0x06;
      if (op === 0x00) {
        if (isX) return `invalid opcode 0x${hex(c)}`;
        kind[pc] = K_JA;
        target[pc] = pc + 1 + (is32 ? insn.imm : insn.off);
        return null;
      }
      if (op === 0x80) {
        if (is32) return `invalid opcode 0x${hex(c)}`;
        if (isX) {
          // callx: the register is in dst (Linux) or imm (older LLVM), as uBPF accepts
          const reg = insn.dst !== 0 ? insn.dst : insn.imm;
          if (reg < 0 || reg > 10) return `invalid register ${reg} for callx`;
          kind[pc] = K_CALLX;
          target[pc] = reg;
          return null;
        }
        if (insn.src === 0) {
          kind[pc] = K_CALL_HELPER;
          return null;
        }
        if (insn.src === 1) {
          kind[pc] = K_CALL_LOCAL;
          target[pc] = pc + 1 + insn.imm;
          return null;
        }
        return `call with source ${insn.src} (helper by BTF id) is not supported`;
      }
      if (op === 0x90) {
        if (is32 || isX) return `invalid opcode 0x${hex(c)}`;
        kind[pc] = K_EXIT;
        return null;
      }
      if (op > 0xd0) return `unknown jump operation in opcode 0x${hex(c)}`;
      kind[pc] = K_COND;
      target[pc] = pc + 1 + insn.off;
      return null;
    }
    case 0x00: {
      // LD
      if (c === 0x18) {
        if (pc + 1 >= insns.length) return '64-bit immediate load (lddw) is missing its second slot';
        const second = insns[pc + 1];
        if (second === undefined || second.code !== 0 || second.dst !== 0 || second.src !== 0 || second.off !== 0) {
          return 'malformed second slot of a 64-bit immediate load (lddw)';
        }
        if (insn.src !== 0) return `lddw with pseudo source ${insn.src} (a map or variable reference) was not resolved by the loader`;
        kind[pc] = K_LDDW;
        return null;
      }
      const mode = c & 0xe0;
      if (mode === 0x20 || mode === 0x40) {
        return `legacy packet access (BPF_${mode === 0x20 ? 'ABS' : 'IND'}, opcode 0x${hex(c)}) is not supported`;
      }
      return `unknown opcode 0x${hex(c)}`;
    }
    case 0x01: {
      // LDX
      const mode = c & 0xe0;
      if (mode === 0x60 || (mode === 0x80 && (c & 0x18) !== 0x18)) return null;
      return `unknown load opcode 0x${hex(c)}`;
    }
    case 0x02:
      // ST
      return (c & 0xe0) === 0x60 ? null : `unknown store opcode 0x${hex(c)}`;
    default: {
      // STX
      const mode = c & 0xe0;
      if (mode === 0x60) return null;
      if (mode === 0xc0) {
        const size = c & 0x18;
        if (size !== 0x00 && size !== 0x18) return `atomic operation of invalid size in opcode 0x${hex(c)}`;
        const aop = insn.imm;
        const base = aop & ~0x01;
        const ok = base === 0x00 || base === 0x40 || base === 0x50 || base === 0xa0 || aop === 0xe1 || aop === 0xf1;
        if (!ok) return `unknown atomic operation 0x${hex(aop)}`;
        return null;
      }
      return `unknown store opcode 0x${hex(c)}`;
    }
  }
}
