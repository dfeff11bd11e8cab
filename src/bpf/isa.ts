// The eBPF instruction set (RFC 9669) as plain, typed values.
//
// A program is an array of 8-byte slots (`Insn`), exactly like the kernel's
// `struct bpf_insn`: a 64-bit immediate load (`lddw`) occupies two slots and the
// second one is kept as its own `Insn` (opcode 0). Instruction indices everywhere
// (jump targets, verifier logs, faults, traces) are slot indices, as in Linux.
//
// Opcode byte layout:
//   ALU/JMP classes:        | op (4 bits) | source (1 bit) | class (3 bits) |
//   load and store classes: | mode (3 bits) | size (2 bits) | class (3 bits) |

import { XrpError } from '../base/errors.ts';

export const InsnClass = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;
export type InsnClass = (typeof InsnClass)[keyof typeof InsnClass];

/** Source operand of ALU and jump instructions: the immediate (K) or the src register (X). */
export const Source = { K: 0x00, X: 0x08 } as const;

export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;
export type AluOp = (typeof AluOp)[keyof typeof AluOp];

export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
} as const;
export type JmpOp = (typeof JmpOp)[keyof typeof JmpOp];

export const Mode = {
  IMM: 0x00,
  ABS: 0x20, // legacy packet access: rejected
  IND: 0x40, // legacy packet access: rejected
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;
export type Size = (typeof Size)[keyof typeof Size];

/** Width in bytes of each size code. */
export function sizeBytes(size: number): 1 | 2 | 4 | 8 {
  switch (size & 0x18) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
    default:
      return 8;
  }
}

/** The imm field of an atomic instruction. FETCH may be or-ed into ADD/OR/AND/XOR. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe0 | 0x01,
  CMPXCHG: 0xf0 | 0x01,
} as const;

/** src register of a 64-bit immediate load (`lddw`), RFC 9669 §4.4. */
export const LdImm64Src = {
  IMM64: 0,
  MAP_BY_FD: 1,
  MAP_VAL_BY_FD: 2,
  VAR_ADDR: 3,
  CODE_ADDR: 4,
  MAP_BY_IDX: 5,
  MAP_VAL_BY_IDX: 6,
} as const;

/** src register of a call: helper by id, local (bpf-to-bpf, pc-relative imm), helper by BTF id. */
export const CallSrc = { HELPER: 0, LOCAL: 1, BTF_ID: 2 } as const;

/** End (byte swap) instruction: source bit selects the target byte order in the ALU class. */
export const EndSource = { TO_LE: 0x00, TO_BE: 0x08 } as const;

export const INSN_BYTES = 8;
export const REGISTER_COUNT = 11;
/** r10, the read-only frame pointer. */
export const FRAME_POINTER = 10;
export const STACK_FRAME_BYTES = 512;
export const CALL_DEPTH_MAX = 8;

/** One 8-byte instruction slot, as in the kernel's `struct bpf_insn`. */
export interface Insn {
  /** opcode byte */
  code: number;
  /** destination register, 0..15 as encoded (valid programs use 0..10) */
  dst: number;
  /** source register, 0..15 as encoded */
  src: number;
  /** signed 16-bit offset */
  off: number;
  /** signed 32-bit immediate */
  imm: number;
}

export const insnClass = (code: number): number => code & 0x07;
export const insnOp = (code: number): number => code & 0xf0;
export const insnMode = (code: number): number => code & 0xe0;
export const insnSize = (code: number): number => code & 0x18;

export const isJmpClass = (code: number): boolean => {
  const c = code & 0x07;
  return c === InsnClass.JMP || c === InsnClass.JMP32;
};

/** The opcode of `lddw`: class LD, mode IMM, size DW. */
export const LDDW_OPCODE = InsnClass.LD | Mode.IMM | Size.DW;

export const isLdImm64 = (insn: Insn): boolean => insn.code === LDDW_OPCODE;
export const isCall = (insn: Insn): boolean => insn.code === (InsnClass.JMP | JmpOp.CALL);
export const isLocalCall = (insn: Insn): boolean => isCall(insn) && insn.src === CallSrc.LOCAL;

/** Whether a slot is a jump with a target (conditional or not; `gotol` included; call/exit excluded). */
export function isBranch(insn: Insn): boolean {
  if (!isJmpClass(insn.code)) return false;
  const op = insnOp(insn.code);
  return op !== JmpOp.CALL && op !== JmpOp.EXIT;
}

/**
 * Target slot of a branch at `pc`: `gotol` (JMP32|JA) carries its offset in imm,
 * every other jump in off.
 */
export function branchTarget(insn: Insn, pc: number): number {
  if (insn.code === (InsnClass.JMP32 | JmpOp.JA)) return pc + 1 + insn.imm;
  return pc + 1 + insn.off;
}

/** The 64-bit immediate of an `lddw` at `pc` (the low word in slot pc, the high word in slot pc+1). */
export function ldImm64Value(insns: readonly Insn[], pc: number): bigint {
  const first = insns[pc];
  const second = insns[pc + 1];
  if (first === undefined || second === undefined) {
    throw new DecodeError(`lddw at instruction ${pc} needs two slots; the program has ${insns.length}`, pc * INSN_BYTES);
  }
  return (BigInt(second.imm >>> 0) << 32n) | BigInt(first.imm >>> 0);
}

export class DecodeError extends XrpError {
  constructor(
    message: string,
    readonly offsetBytes: number,
  ) {
    super('DECODE', `${message} (at byte offset ${offsetBytes})`);
  }
}

/** Decode little-endian bytecode into slots. The byte length must be a multiple of 8. */
export function decode(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_BYTES !== 0) {
    throw new DecodeError(`bytecode length ${bytes.length} is not a multiple of ${INSN_BYTES}`, bytes.length);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const insns: Insn[] = new Array(bytes.length / INSN_BYTES);
  for (let i = 0; i < insns.length; i++) {
    const at = i * INSN_BYTES;
    const regs = view.getUint8(at + 1);
    insns[i] = {
      code: view.getUint8(at),
      dst: regs & 0x0f,
      src: regs >> 4,
      off: view.getInt16(at + 2, true),
      imm: view.getInt32(at + 4, true),
    };
  }
  return insns;
}

/** Encode slots back to little-endian bytecode. */
export function encode(insns: readonly Insn[]): Uint8Array {
  const bytes = new Uint8Array(insns.length * INSN_BYTES);
  const view = new DataView(bytes.buffer);
  insns.forEach((insn, i) => {
    const at = i * INSN_BYTES;
    view.setUint8(at, insn.code & 0xff);
    view.setUint8(at + 1, ((insn.src & 0x0f) << 4) | (insn.dst & 0x0f));
    view.setInt16(at + 2, insn.off, true);
    view.setInt32(at + 4, insn.imm | 0, true);
  });
  return bytes;
}

/** Build an `Insn`, normalising off and imm to their signed widths. */
export function insn(code: number, dst = 0, src = 0, off = 0, imm = 0): Insn {
  return { code: code & 0xff, dst: dst & 0x0f, src: src & 0x0f, off: (off << 16) >> 16, imm: imm | 0 };
}

/** The two slots of `lddw dst, value`. */
export function ldImm64(dst: number, value: bigint, src: number = LdImm64Src.IMM64): [Insn, Insn] {
  const v = BigInt.asUintN(64, value);
  return [insn(LDDW_OPCODE, dst, src, 0, Number(v & 0xffffffffn)), insn(0, 0, 0, 0, Number(v >> 32n))];
}

/** A loaded eBPF program, independent of where it came from (assembler, ELF, raw bytes). */
export interface Program {
  /** section or function name, for messages */
  name: string;
  insns: Insn[];
}
