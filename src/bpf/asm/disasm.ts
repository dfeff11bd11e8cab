// eBPF disassembler.
//
// `decodeInsn` turns a slot into a typed instruction or an `invalid` verdict (unknown opcode,
// or a reserved field that RFC 9669 requires to be zero is not). Two printers sit on top:
// - `disassembleInsn` / `disassemble`: the llvm-objdump style (`r0 = *(u32 *)(r1 + 4)`,
//   `if w1 s> w2 goto -5`, `r1 = 0x1122334455667788 ll`), reused by every verifier log,
//   trace and fault message, so it never throws, whatever the slot holds;
// - `formatUbpf`: the uBPF syntax of the conformance tests, with `.raw` for invalid slots,
//   so that `assemble(formatUbpf(p))` gives back exactly the slots of p.
// Differences from llvm-objdump 14, on purpose: 64-bit immediates in hex (as the kernel's
// verifier log), local calls as `call pc+N` (objdump cannot tell them from helper calls),
// 32-bit atomics with w registers (objdump 14 needs --mattr=+alu32 to decode them at all),
// jump targets without the `<label>` suffix, and the v4 instructions objdump 14 does not know.

import { AluOp, AtomicOp, CallSrc, InsnClass, JmpOp, LDDW_OPCODE, LdImm64Src, Mode, Size, sizeBytes } from '../isa.ts';
import type { Insn } from '../isa.ts';
import { at, InternalError } from '../../base/checked.ts';

// Module-local aliases: under tsx every use of an imported binding is a getter call, which
// dominated decoding time (each trace line and verifier log line comes through here).
const CLASS = InsnClass;
const ALU_OP = AluOp;
const JMP_OP = JmpOp;
const MODE = Mode;
const SIZE = Size;
const LD_SRC = LdImm64Src;
const CALL_SRC = CallSrc;
const ATOMIC_OP = AtomicOp;
const LDDW = LDDW_OPCODE;
const widthOf = sizeBytes;

export type AtomicName = 'add' | 'or' | 'and' | 'xor' | 'xchg' | 'cmpxchg';

/** A slot decoded into what it does (an `lddw` covers its slot and the next). */
export type DecodedInsn =
  | { kind: 'alu'; is64: boolean; op: number; signed: boolean; dst: number; src?: number; imm?: number }
  | { kind: 'neg'; is64: boolean; dst: number }
  | { kind: 'movsx'; is64: boolean; dst: number; src: number; bits: 8 | 16 | 32 }
  | { kind: 'end'; order: 'le' | 'be' | 'bswap'; bits: number; dst: number }
  | { kind: 'lddw'; dst: number; src: number; imm: number; nextImm: number }
  | { kind: 'ldx'; bytes: 1 | 2 | 4 | 8; signed: boolean; dst: number; src: number; off: number }
  | { kind: 'st'; bytes: 1 | 2 | 4 | 8; dst: number; off: number; imm: number }
  | { kind: 'stx'; bytes: 1 | 2 | 4 | 8; dst: number; src: number; off: number }
  | { kind: 'atomic'; bytes: 4 | 8; op: AtomicName; fetch: boolean; dst: number; src: number; off: number }
  | { kind: 'legacy'; mode: 'abs' | 'ind'; bytes: 1 | 2 | 4; src: number; imm: number }
  | { kind: 'ja'; off: number }
  | { kind: 'gotol'; imm: number }
  | { kind: 'jcond'; is32: boolean; op: number; dst: number; src?: number; imm?: number; off: number }
  | { kind: 'call'; target: 'helper' | 'local' | 'btf'; imm: number }
  | { kind: 'callx'; dst: number }
  | { kind: 'exit' }
  | { kind: 'invalid'; reason: string };

const hex2 = (n: number): string => `0x${(n & 0xff).toString(16).padStart(2, '0')}`;

/** Fields as stored, normalised to their encoded widths (defensive: callers may hand us anything). */
function fields(slot: Insn): Insn {
  return {
    code: Number(slot.code) & 0xff,
    dst: Number(slot.dst) & 0x0f,
    src: Number(slot.src) & 0x0f,
    off: (Number(slot.off) << 16) >> 16,
    imm: Number(slot.imm) | 0,
  };
}

const ATOMIC_BY_IMM: Record<number, { op: AtomicName; fetch: boolean }> = {
  [ATOMIC_OP.ADD]: { op: 'add', fetch: false },
  [ATOMIC_OP.OR]: { op: 'or', fetch: false },
  [ATOMIC_OP.AND]: { op: 'and', fetch: false },
  [ATOMIC_OP.XOR]: { op: 'xor', fetch: false },
  [ATOMIC_OP.ADD | ATOMIC_OP.FETCH]: { op: 'add', fetch: true },
  [ATOMIC_OP.OR | ATOMIC_OP.FETCH]: { op: 'or', fetch: true },
  [ATOMIC_OP.AND | ATOMIC_OP.FETCH]: { op: 'and', fetch: true },
  [ATOMIC_OP.XOR | ATOMIC_OP.FETCH]: { op: 'xor', fetch: true },
  [ATOMIC_OP.XCHG]: { op: 'xchg', fetch: true },
  [ATOMIC_OP.CMPXCHG]: { op: 'cmpxchg', fetch: true },
};

function invalidOpcode(s: Insn): DecodedInsn {
  return { kind: 'invalid', reason: `invalid opcode ${hex2(s.code)}` };
}

function reservedField(s: Insn, what: string): DecodedInsn {
  return { kind: 'invalid', reason: `invalid insn (code ${hex2(s.code)} dst ${s.dst} src ${s.src} off ${s.off} imm ${s.imm}): ${what}` };
}

/**
 * Decode the instruction at `pc` (an `lddw` also reads slot pc+1). Never throws: an unknown
 * opcode or a reserved field set gives `{ kind: 'invalid' }` with the reason.
 */
export function decodeInsn(insns: readonly Insn[], pc: number): DecodedInsn {
  const slot: unknown = insns[pc];
  if (typeof slot !== 'object' || slot === null) return { kind: 'invalid', reason: `no instruction at slot ${pc}` };
  const s = fields(slot as Insn);
  const isX = (s.code & 0x08) !== 0;
  const op = s.code & 0xf0;

  switch (s.code & 0x07) {
    case CLASS.ALU:
    case CLASS.ALU64: {
      const is64 = (s.code & 0x07) === CLASS.ALU64;
      if (op === ALU_OP.END) {
        if (is64 && isX) return invalidOpcode(s);
        if (s.src !== 0 || s.off !== 0) return reservedField(s, 'src and off must be 0');
        if (s.imm !== 16 && s.imm !== 32 && s.imm !== 64) return reservedField(s, 'byte swap width must be 16, 32 or 64');
        return { kind: 'end', order: is64 ? 'bswap' : isX ? 'be' : 'le', bits: s.imm, dst: s.dst };
      }
      if (op === ALU_OP.NEG) {
        if (isX) return invalidOpcode(s);
        if (s.src !== 0 || s.off !== 0 || s.imm !== 0) return reservedField(s, 'src, off and imm must be 0');
        return { kind: 'neg', is64, dst: s.dst };
      }
      if (op > ALU_OP.END) return invalidOpcode(s);
      if (isX ? s.imm !== 0 : s.src !== 0) return reservedField(s, isX ? 'imm must be 0' : 'src must be 0');
      if (op === ALU_OP.MOV && isX && s.off !== 0) {
        if (s.off === 8 || s.off === 16 || (is64 && s.off === 32)) return { kind: 'movsx', is64, dst: s.dst, src: s.src, bits: s.off };
        return reservedField(s, `sign-extension width ${s.off} (must be 8, 16${is64 ? ' or 32' : ''})`);
      }
      const signed = (op === ALU_OP.DIV || op === ALU_OP.MOD) && s.off === 1;
      if (s.off !== 0 && !signed) return reservedField(s, op === ALU_OP.DIV || op === ALU_OP.MOD ? 'off must be 0 or 1' : 'off must be 0');
      return isX
        ? { kind: 'alu', is64, op, signed, dst: s.dst, src: s.src }
        : { kind: 'alu', is64, op, signed, dst: s.dst, imm: s.imm };
    }
    case CLASS.JMP:
    case CLASS.JMP32: {
      const is32 = (s.code & 0x07) === CLASS.JMP32;
      if (op === JMP_OP.JA) {
        if (isX) return invalidOpcode(s);
        if (is32) {
          if (s.dst !== 0 || s.src !== 0 || s.off !== 0) return reservedField(s, 'dst, src and off must be 0');
          return { kind: 'gotol', imm: s.imm };
        }
        if (s.dst !== 0 || s.src !== 0 || s.imm !== 0) return reservedField(s, 'dst, src and imm must be 0');
        return { kind: 'ja', off: s.off };
      }
      if (op === JMP_OP.CALL) {
        if (is32) return invalidOpcode(s);
        if (isX) {
          if (s.src !== 0 || s.off !== 0 || s.imm !== 0) return reservedField(s, 'src, off and imm must be 0');
          return { kind: 'callx', dst: s.dst };
        }
        if (s.dst !== 0 || s.off !== 0) return reservedField(s, 'dst and off must be 0');
        if (s.src === CALL_SRC.HELPER) return { kind: 'call', target: 'helper', imm: s.imm };
        if (s.src === CALL_SRC.LOCAL) return { kind: 'call', target: 'local', imm: s.imm };
        if (s.src === CALL_SRC.BTF_ID) return { kind: 'call', target: 'btf', imm: s.imm };
        return reservedField(s, 'src must be 0 (helper), 1 (local) or 2 (BTF id)');
      }
      if (op === JMP_OP.EXIT) {
        if (is32 || isX) return invalidOpcode(s);
        if (s.dst !== 0 || s.src !== 0 || s.off !== 0 || s.imm !== 0) return reservedField(s, 'all fields must be 0');
        return { kind: 'exit' };
      }
      if (op > JMP_OP.JSLE) return invalidOpcode(s);
      if (isX ? s.imm !== 0 : s.src !== 0) return reservedField(s, isX ? 'imm must be 0' : 'src must be 0');
      return isX
        ? { kind: 'jcond', is32, op, dst: s.dst, src: s.src, off: s.off }
        : { kind: 'jcond', is32, op, dst: s.dst, imm: s.imm, off: s.off };
    }
    case CLASS.LD: {
      if (s.code === LDDW) {
        if (s.off !== 0) return reservedField(s, 'off must be 0');
        if (s.src > LD_SRC.MAP_VAL_BY_IDX) return reservedField(s, 'src must be 0..6');
        const next: unknown = insns[pc + 1];
        if (typeof next !== 'object' || next === null) return reservedField(s, 'lddw needs a second slot');
        const n = fields(next as Insn);
        if (n.code !== 0 || n.dst !== 0 || n.src !== 0 || n.off !== 0) return reservedField(s, 'second slot of lddw must hold only imm');
        const usesNext = s.src === LD_SRC.IMM64 || s.src === LD_SRC.MAP_VAL_BY_FD || s.src === LD_SRC.MAP_VAL_BY_IDX;
        if (!usesNext && n.imm !== 0) return reservedField(s, 'second slot imm must be 0 for this source');
        return { kind: 'lddw', dst: s.dst, src: s.src, imm: s.imm, nextImm: n.imm };
      }
      const mode = s.code & 0xe0;
      const size = s.code & 0x18;
      if ((mode !== MODE.ABS && mode !== MODE.IND) || size === SIZE.DW) return invalidOpcode(s);
      const bytes = widthOf(size) as 1 | 2 | 4;
      if (s.dst !== 0 || s.off !== 0 || (mode === MODE.ABS && s.src !== 0)) return reservedField(s, 'dst and off must be 0');
      return { kind: 'legacy', mode: mode === MODE.ABS ? 'abs' : 'ind', bytes, src: s.src, imm: s.imm };
    }
    case CLASS.LDX: {
      const mode = s.code & 0xe0;
      const bytes = widthOf(s.code);
      if (mode !== MODE.MEM && !(mode === MODE.MEMSX && bytes !== 8)) return invalidOpcode(s);
      if (s.imm !== 0) return reservedField(s, 'imm must be 0');
      return { kind: 'ldx', bytes, signed: mode === MODE.MEMSX, dst: s.dst, src: s.src, off: s.off };
    }
    case CLASS.ST: {
      if ((s.code & 0xe0) !== MODE.MEM) return invalidOpcode(s);
      if (s.src !== 0) return reservedField(s, 'src must be 0');
      return { kind: 'st', bytes: widthOf(s.code), dst: s.dst, off: s.off, imm: s.imm };
    }
    case CLASS.STX: {
      const mode = s.code & 0xe0;
      const bytes = widthOf(s.code);
      if (mode === MODE.MEM) {
        if (s.imm !== 0) return reservedField(s, 'imm must be 0');
        return { kind: 'stx', bytes, dst: s.dst, src: s.src, off: s.off };
      }
      if (mode === MODE.ATOMIC && (bytes === 4 || bytes === 8)) {
        const atomic = ATOMIC_BY_IMM[s.imm];
        if (!atomic) return reservedField(s, `unknown atomic operation imm ${hex2(s.imm)}`);
        return { kind: 'atomic', bytes, op: atomic.op, fetch: atomic.fetch, dst: s.dst, src: s.src, off: s.off };
      }
      return invalidOpcode(s);
    }
  }
  return invalidOpcode(s);
}

// ---------------------------------------------------------------------------------------
// llvm-objdump style

const LLVM_ALU: Record<number, string> = {
  [ALU_OP.ADD]: '+=',
  [ALU_OP.SUB]: '-=',
  [ALU_OP.MUL]: '*=',
  [ALU_OP.DIV]: '/=',
  [ALU_OP.OR]: '|=',
  [ALU_OP.AND]: '&=',
  [ALU_OP.LSH]: '<<=',
  [ALU_OP.RSH]: '>>=',
  [ALU_OP.MOD]: '%=',
  [ALU_OP.XOR]: '^=',
  [ALU_OP.MOV]: '=',
  [ALU_OP.ARSH]: 's>>=',
};

const LLVM_JMP: Record<number, string> = {
  [JMP_OP.JEQ]: '==',
  [JMP_OP.JGT]: '>',
  [JMP_OP.JGE]: '>=',
  [JMP_OP.JSET]: '&',
  [JMP_OP.JNE]: '!=',
  [JMP_OP.JSGT]: 's>',
  [JMP_OP.JSGE]: 's>=',
  [JMP_OP.JLT]: '<',
  [JMP_OP.JLE]: '<=',
  [JMP_OP.JSLT]: 's<',
  [JMP_OP.JSLE]: 's<=',
};

const LLVM_ATOMIC: Record<string, string> = { add: '+=', or: '|=', and: '&=', xor: '^=' };

const signedOffset = (n: number): string => (n < 0 ? `${n}` : `+${n}`);
const memRef = (reg: number, off: number): string => `r${reg} ${off < 0 ? '-' : '+'} ${Math.abs(off)}`;
const u64Hex = (lo: number, hi: number): string =>
  `0x${((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(16)}`;

/** The 64-bit immediate operand, with the RFC 9669 pseudo sources spelled as functions. */
function ldImm64Operand(d: Extract<DecodedInsn, { kind: 'lddw' }>): string {
  const plus = (n: number): string => (n === 0 ? '' : n < 0 ? ` - ${-n}` : ` + ${n}`);
  switch (d.src) {
    case LD_SRC.IMM64:
      return u64Hex(d.imm, d.nextImm);
    case LD_SRC.MAP_BY_FD:
      return `map_by_fd(${d.imm})`;
    case LD_SRC.MAP_VAL_BY_FD:
      return `map_val(map_by_fd(${d.imm}))${plus(d.nextImm)}`;
    case LD_SRC.VAR_ADDR:
      return `var_addr(${d.imm})`;
    case LD_SRC.CODE_ADDR:
      return `code_addr(${d.imm})`;
    case LD_SRC.MAP_BY_IDX:
      return `map_by_idx(${d.imm})`;
    default:
      return `map_val(map_by_idx(${d.imm}))${plus(d.nextImm)}`;
  }
}

/** The name of a decoded ALU operation (decodeInsn only yields operations the tables name). */
function aluName(table: Readonly<Record<number, string>>, op: number): string {
  const name = table[op];
  if (name === undefined) throw new InternalError(`disassembler: ALU operation 0x${op.toString(16)} has no name`);
  return name;
}

function formatLlvm(d: DecodedInsn): string {
  switch (d.kind) {
    case 'alu': {
      const r = d.is64 ? 'r' : 'w';
      const operator = (d.signed ? 's' : '') + aluName(LLVM_ALU, d.op);
      const operand = d.src !== undefined ? `${r}${d.src}` : `${d.imm}`;
      return `${r}${d.dst} ${operator} ${operand}`;
    }
    case 'neg': {
      const r = d.is64 ? 'r' : 'w';
      return `${r}${d.dst} = -${r}${d.dst}`;
    }
    case 'movsx': {
      const r = d.is64 ? 'r' : 'w';
      return `${r}${d.dst} = (s${d.bits})${r}${d.src}`;
    }
    case 'end':
      return `r${d.dst} = ${d.order}${d.bits} r${d.dst}`;
    case 'lddw':
      return `r${d.dst} = ${ldImm64Operand(d)} ll`;
    case 'ldx':
      return `r${d.dst} = *(${d.signed ? 's' : 'u'}${d.bytes * 8} *)(${memRef(d.src, d.off)})`;
    case 'st':
      return `*(u${d.bytes * 8} *)(${memRef(d.dst, d.off)}) = ${d.imm}`;
    case 'stx':
      return `*(u${d.bytes * 8} *)(${memRef(d.dst, d.off)}) = r${d.src}`;
    case 'atomic': {
      const r = d.bytes === 4 ? 'w' : 'r';
      const bits = d.bytes * 8;
      if (d.op === 'xchg') return `${r}${d.src} = ${d.bytes === 4 ? 'xchg32_32' : 'xchg_64'}(${memRef(d.dst, d.off)}, ${r}${d.src})`;
      if (d.op === 'cmpxchg') {
        return `${r}0 = ${d.bytes === 4 ? 'cmpxchg32_32' : 'cmpxchg_64'}(${memRef(d.dst, d.off)}, ${r}0, ${r}${d.src})`;
      }
      if (d.fetch) return `${r}${d.src} = atomic_fetch_${d.op}((u${bits} *)(${memRef(d.dst, d.off)}), ${r}${d.src})`;
      return `lock *(u${bits} *)(${memRef(d.dst, d.off)}) ${LLVM_ATOMIC[d.op]} ${r}${d.src}`;
    }
    case 'legacy': {
      const where =
        d.mode === 'abs' ? `${d.imm}` : d.imm === 0 ? `r${d.src}` : `r${d.src} ${d.imm < 0 ? '-' : '+'} ${Math.abs(d.imm)}`;
      return `r0 = *(u${d.bytes * 8} *)skb[${where}]`;
    }
    case 'ja':
      return `goto ${signedOffset(d.off)}`;
    case 'gotol':
      return `gotol ${signedOffset(d.imm)}`;
    case 'jcond': {
      const r = d.is32 ? 'w' : 'r';
      const operand = d.src !== undefined ? `${r}${d.src}` : `${d.imm}`;
      return `if ${r}${d.dst} ${LLVM_JMP[d.op]} ${operand} goto ${signedOffset(d.off)}`;
    }
    case 'call':
      if (d.target === 'local') return `call pc${signedOffset(d.imm)}`;
      if (d.target === 'btf') return `call btf_id(${d.imm})`;
      return `call ${d.imm}`;
    case 'callx':
      return `callx r${d.dst}`;
    case 'exit':
      return 'exit';
    case 'invalid':
      return d.reason;
  }
}

/** One instruction in the llvm-objdump style. Never throws. */
export function disassembleInsn(insns: readonly Insn[], pc: number): string {
  try {
    return formatLlvm(decodeInsn(insns, pc));
  } catch {
    // Only reachable with objects that are not Insn-shaped (e.g. getters that throw).
    return `invalid insn at slot ${pc}`;
  }
}

/** Number of slots the instruction at pc occupies when printed: 2 for a valid lddw. */
function slotsAt(insns: readonly Insn[], pc: number, decoded: DecodedInsn): number {
  return decoded.kind === 'lddw' && pc + 1 < insns.length ? 2 : 1;
}

/** The whole program, one line per instruction (`  12: r0 = 1`); lddw tails are skipped. */
export function disassemble(insns: readonly Insn[]): string[] {
  const lines: string[] = [];
  const width = Math.max(4, String(Math.max(0, insns.length - 1)).length);
  for (let pc = 0; pc < insns.length; ) {
    let decoded: DecodedInsn;
    try {
      decoded = decodeInsn(insns, pc);
    } catch {
      decoded = { kind: 'invalid', reason: `invalid insn at slot ${pc}` };
    }
    lines.push(`${String(pc).padStart(width)}: ${safeFormat(formatLlvm, decoded, pc)}`);
    pc += slotsAt(insns, pc, decoded);
  }
  return lines;
}

function safeFormat(format: (d: DecodedInsn) => string, decoded: DecodedInsn, pc: number): string {
  try {
    return format(decoded);
  } catch {
    return `invalid insn at slot ${pc}`;
  }
}

// ---------------------------------------------------------------------------------------
// uBPF syntax

const UBPF_ALU: Record<number, string> = {
  [ALU_OP.ADD]: 'add',
  [ALU_OP.SUB]: 'sub',
  [ALU_OP.MUL]: 'mul',
  [ALU_OP.DIV]: 'div',
  [ALU_OP.OR]: 'or',
  [ALU_OP.AND]: 'and',
  [ALU_OP.LSH]: 'lsh',
  [ALU_OP.RSH]: 'rsh',
  [ALU_OP.MOD]: 'mod',
  [ALU_OP.XOR]: 'xor',
  [ALU_OP.MOV]: 'mov',
  [ALU_OP.ARSH]: 'arsh',
};

const UBPF_JMP: Record<number, string> = {
  [JMP_OP.JEQ]: 'jeq',
  [JMP_OP.JGT]: 'jgt',
  [JMP_OP.JGE]: 'jge',
  [JMP_OP.JSET]: 'jset',
  [JMP_OP.JNE]: 'jne',
  [JMP_OP.JSGT]: 'jsgt',
  [JMP_OP.JSGE]: 'jsge',
  [JMP_OP.JLT]: 'jlt',
  [JMP_OP.JLE]: 'jle',
  [JMP_OP.JSLT]: 'jslt',
  [JMP_OP.JSLE]: 'jsle',
};

const UBPF_SIZE: Record<number, string> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };

const ubpfMem = (reg: number, off: number): string => `[%r${reg}${off < 0 ? '-' : '+'}${Math.abs(off)}]`;

/** A slot as the `.raw` directive: the 64-bit little-endian word, low byte = opcode. */
function rawWord(slot: Insn): string {
  const s = fields(slot);
  const word =
    (BigInt(s.imm >>> 0) << 32n) | (BigInt(s.off & 0xffff) << 16n) | (BigInt(s.src) << 12n) | (BigInt(s.dst) << 8n) | BigInt(s.code);
  return `.raw 0x${word.toString(16).padStart(16, '0')}`;
}

function formatUbpfDecoded(d: Exclude<DecodedInsn, { kind: 'invalid' }>): string {
  switch (d.kind) {
    case 'alu': {
      const name = (d.signed ? 's' : '') + aluName(UBPF_ALU, d.op) + (d.is64 ? '' : '32');
      return `${name} %r${d.dst}, ${d.src !== undefined ? `%r${d.src}` : d.imm}`;
    }
    case 'neg':
      return `neg${d.is64 ? '' : '32'} %r${d.dst}`;
    case 'movsx':
      return `movsx${d.bits}${d.is64 ? '64' : '32'} %r${d.dst}, %r${d.src}`;
    case 'end':
      return `${d.order}${d.bits} %r${d.dst}`;
    case 'lddw':
      return `lddw %r${d.dst}, ${ldImm64Operand(d)}`;
    case 'ldx':
      return `ldx${d.signed ? 's' : ''}${UBPF_SIZE[d.bytes]} %r${d.dst}, ${ubpfMem(d.src, d.off)}`;
    case 'st':
      return `st${UBPF_SIZE[d.bytes]} ${ubpfMem(d.dst, d.off)}, ${d.imm}`;
    case 'stx':
      return `stx${UBPF_SIZE[d.bytes]} ${ubpfMem(d.dst, d.off)}, %r${d.src}`;
    case 'atomic': {
      const fetch = d.fetch && d.op !== 'xchg' && d.op !== 'cmpxchg' ? 'fetch ' : '';
      return `lock ${fetch}${d.op}${d.bytes === 4 ? '32' : ''} ${ubpfMem(d.dst, d.off)}, %r${d.src}`;
    }
    case 'legacy':
      return d.mode === 'abs' ? `ldabs${UBPF_SIZE[d.bytes]} ${d.imm}` : `ldind${UBPF_SIZE[d.bytes]} %r${d.src}, ${d.imm}`;
    case 'ja':
      return `ja ${signedOffset(d.off)}`;
    case 'gotol':
      return `ja32 ${signedOffset(d.imm)}`;
    case 'jcond': {
      const operand = d.src !== undefined ? `%r${d.src}` : `${d.imm}`;
      return `${UBPF_JMP[d.op]}${d.is32 ? '32' : ''} %r${d.dst}, ${operand}, ${signedOffset(d.off)}`;
    }
    case 'call':
      if (d.target === 'local') return `call local ${signedOffset(d.imm)}`;
      if (d.target === 'btf') return `call runtime ${d.imm}`;
      return `call ${d.imm}`;
    case 'callx':
      return `call %r${d.dst}`;
    case 'exit':
      return 'exit';
  }
}

/**
 * The program in uBPF syntax, one instruction per line; slots that do not decode are written
 * as `.raw` words, so `assemble(formatUbpf(p))` reproduces p slot for slot.
 */
export function formatUbpf(insns: readonly Insn[]): string {
  const lines: string[] = [];
  for (let pc = 0; pc < insns.length; ) {
    const decoded = decodeInsn(insns, pc);
    if (decoded.kind === 'invalid') {
      lines.push(rawWord(at(insns, pc, 'instruction')));
      pc += 1;
      continue;
    }
    lines.push(formatUbpfDecoded(decoded));
    pc += slotsAt(insns, pc, decoded);
  }
  return lines.join('\n');
}
