// A seeded generator of random eBPF programs that are valid by construction and
// always terminate: the fuzzing input shared by the interpreter's kernel
// differential tests, the verifier and the JIT.
//
// Contract of a generated program (entry: r1 = buffer address, r2 = its length):
// - r1 holds the buffer pointer throughout and is never written; r10 is never written.
// - r0 and r2..r9 are initialised first; r9 is reserved for loop counters.
// - Stack accesses touch only `STACK_SLOTS` 8-byte slots (within 512 bytes), all
//   initialised by the prologue, and are aligned to their size.
// - Buffer accesses use constant offsets inside the first `dataBytes` bytes.
// - Jumps go forward, except the back edge of a loop counted down from r9 (1..6).
// - Atomics hit aligned stack slots (and aligned buffer words unless `kernel`).
// - The epilogue stores r0, r2..r9 and every stack slot into the result area of
//   the buffer (after `dataBytes`) and exits with r0, so comparing the final
//   buffer compares the whole machine state.
// With `kernel: true` the program also passes the Linux verifier as the body of
// an XDP program (see kernel-oracle.ts): no division by a zero immediate, no
// atomics on packet memory, no unreachable code.

import {
  AluOp,
  AtomicOp,
  CallSrc,
  InsnClass,
  JmpOp,
  Mode,
  Size,
  Source,
  insn,
  ldImm64,
  type Insn,
} from '../bpf/isa.ts';
import { Prng, splitmix32 } from '../base/prng.ts';
import { at as itemAt, present } from '../base/checked.ts';

/**
 * The generator's draws over the project's one PRNG (src/base/prng.ts). Its
 * seeding (the four splitmix32 words, the last made odd) keeps every seed's
 * programs what they have always been, so a failing seed still replays.
 */
export class GenRng {
  private readonly prng: Prng;

  constructor(seed: number) {
    const st = { x: seed >>> 0 };
    const a = splitmix32(st);
    const b = splitmix32(st);
    const c = splitmix32(st);
    this.prng = Prng.fromState(a, b, c, splitmix32(st) | 1);
  }

  /** A uniformly random uint32. */
  nextU32(): number {
    return this.prng.nextU32();
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  chance(p: number): boolean {
    return this.nextU32() / 4294967296 < p;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextU32() & 0xff;
    return out;
  }
}

export interface GenOptions {
  /** the whole program is a function of the seed */
  seed: number;
  /** restrict to what the Linux verifier accepts (see the header comment) */
  kernel?: boolean;
  /** approximate number of body instructions (default 40) */
  bodyInsns?: number;
  /** bytes of the buffer the body may read and write (default 64, at least 16) */
  dataBytes?: number;
  /**
   * add 1-3 local (bpf-to-bpf) functions and calls to them (default false).
   * Then r8 keeps the buffer pointer in the entry function, r6 in the callees,
   * and after every call r1 is restored and r2-r5 are re-initialised, since a
   * call leaves them undefined. With `kernel` the entry function's slots stay in
   * the top 256 bytes, so that all frames together fit the kernel's 512 bytes.
   */
  calls?: boolean;
}

export interface GeneratedProgram {
  seed: number;
  insns: Insn[];
  /** the body touches buffer bytes [0, dataBytes) */
  dataBytes: number;
  /** the epilogue writes the registers and stack slots at [dataBytes, bufferBytes) */
  bufferBytes: number;
  /** random initial contents of the buffer (result area zero) */
  input: Uint8Array;
  /** slot index where each local function starts (empty without `calls`) */
  functionStarts: number[];
}

export const STACK_SLOTS = 8;
const SCALARS = [0, 2, 3, 4, 5, 6, 7, 8] as const;
const LOOP_REG = 9;
const BUF_REG = 1;
const FP = 10;

const ALU_OPS = [
  AluOp.ADD,
  AluOp.SUB,
  AluOp.MUL,
  AluOp.DIV,
  AluOp.OR,
  AluOp.AND,
  AluOp.LSH,
  AluOp.RSH,
  AluOp.NEG,
  AluOp.MOD,
  AluOp.XOR,
  AluOp.MOV,
  AluOp.ARSH,
] as const;
const COND_JUMPS = [
  JmpOp.JEQ,
  JmpOp.JGT,
  JmpOp.JGE,
  JmpOp.JSET,
  JmpOp.JNE,
  JmpOp.JSGT,
  JmpOp.JSGE,
  JmpOp.JLT,
  JmpOp.JLE,
  JmpOp.JSLT,
  JmpOp.JSLE,
] as const;
const SIZES = [Size.B, Size.H, Size.W, Size.DW] as const;
const SIZE_BYTES: Record<number, number> = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 };
const ATOMIC_OPS = [
  AtomicOp.ADD,
  AtomicOp.OR,
  AtomicOp.AND,
  AtomicOp.XOR,
  AtomicOp.ADD | AtomicOp.FETCH,
  AtomicOp.OR | AtomicOp.FETCH,
  AtomicOp.AND | AtomicOp.FETCH,
  AtomicOp.XOR | AtomicOp.FETCH,
  AtomicOp.XCHG,
  AtomicOp.CMPXCHG,
] as const;

/** Generate one program from a seed. */
export function generateProgram(options: GenOptions): GeneratedProgram {
  const rng = new GenRng(options.seed);
  const kernel = options.kernel ?? false;
  const dataBytes = Math.max(16, options.dataBytes ?? 64);
  const budget = options.bodyInsns ?? 40;
  const out: Insn[] = [];

  // Distinct, 8-aligned stack slots within the 512-byte frame.
  const slotOffsets: number[] = [];
  const callsInKernel = (options.calls ?? false) && kernel;
  while (slotOffsets.length < STACK_SLOTS) {
    const off = -8 * rng.between(1, callsInKernel ? 32 : 64);
    if (!slotOffsets.includes(off)) slotOffsets.push(off);
  }

  const imm = (): number => {
    switch (rng.below(6)) {
      case 0:
        return rng.pick([0, 1, -1, 2, 0x7fffffff, -0x80000000, 0x80, 0xff, 0xffff, 31, 32, 63, 64]);
      case 1:
        return rng.between(-16, 16);
      case 2:
        return rng.between(0, 255);
      default:
        return rng.nextU32() | 0;
    }
  };
  const imm64 = (): bigint => {
    const hi = BigInt(rng.chance(0.3) ? rng.pick([0, 0xffffffff, 0x80000000, 0x7fffffff]) : rng.nextU32());
    return (hi << 32n) | BigInt(rng.nextU32());
  };
  const calls = options.calls ?? false;
  const fnCount = calls ? rng.between(1, 3) : 0;
  // What the code being emitted may use: the entry function's or a callee's.
  let regs: readonly number[] = calls ? [0, 2, 3, 4, 5, 6, 7] : SCALARS;
  let slots = slotOffsets;
  let fnIndex = -1; // -1: the entry function
  const callFixups: Array<{ at: number; fn: number }> = [];
  const scalar = (): number => rng.pick(regs);

  // ---- prologue: initialise registers and stack slots ----
  for (const r of [...SCALARS, LOOP_REG]) {
    if (r === 2 && rng.chance(0.5)) continue; // sometimes keep the buffer length in r2
    if (rng.chance(0.5)) out.push(...ldImm64(r, imm64()));
    else out.push(insn(InsnClass.ALU64 | Source.K | AluOp.MOV, r, 0, 0, imm()));
  }
  for (const off of slotOffsets) {
    out.push(insn(InsnClass.STX | Mode.MEM | Size.DW, FP, scalar(), off, 0));
  }

  // ---- body ----
  const emitAlu = (): void => {
    const is64 = rng.chance(0.6);
    const cls = is64 ? InsnClass.ALU64 : InsnClass.ALU;
    const dst = scalar();
    const kind = rng.below(20);
    if (kind === 0) {
      // byte swaps: le/be (ALU) or unconditional bswap (ALU64)
      const width = rng.pick([16, 32, 64]);
      if (is64) out.push(insn(InsnClass.ALU64 | Source.K | AluOp.END, dst, 0, 0, width));
      else out.push(insn(InsnClass.ALU | (rng.chance(0.5) ? Source.X : Source.K) | AluOp.END, dst, 0, 0, width));
      return;
    }
    if (kind === 1) {
      // movsx
      const widths = is64 ? [8, 16, 32] : [8, 16];
      out.push(insn(cls | Source.X | AluOp.MOV, dst, scalar(), rng.pick(widths), 0));
      return;
    }
    const op = rng.pick(ALU_OPS);
    if (op === AluOp.NEG) {
      out.push(insn(cls | Source.K | AluOp.NEG, dst));
      return;
    }
    const signed = (op === AluOp.DIV || op === AluOp.MOD) && rng.chance(0.5) ? 1 : 0;
    const useReg = rng.chance(0.5);
    if (useReg) {
      out.push(insn(cls | Source.X | op, dst, scalar(), signed, 0));
      return;
    }
    let k = imm();
    if (op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH) k = rng.below(is64 ? 64 : 32);
    if ((op === AluOp.DIV || op === AluOp.MOD) && k === 0 && kernel) k = rng.pick([3, -1, 7, -0x80000000]);
    out.push(insn(cls | Source.K | op, dst, 0, signed, k));
  };

  const stackPlace = (size: number): number => rng.pick(slots) + size * rng.below(8 / size);
  const bufferPlace = (size: number, aligned: boolean): number =>
    aligned ? size * rng.below(Math.floor(dataBytes / size)) : rng.below(dataBytes - size + 1);

  const emitMemory = (): void => {
    const size = rng.pick(SIZES);
    const bytes = present(SIZE_BYTES[size], `width of size 0x${size.toString(16)}`);
    const onStack = rng.chance(0.5);
    const base = onStack ? FP : BUF_REG;
    const off = onStack ? stackPlace(bytes) : bufferPlace(bytes, false);
    switch (rng.below(4)) {
      case 0: {
        const sx = size !== Size.DW && rng.chance(0.3);
        out.push(insn(InsnClass.LDX | (sx ? Mode.MEMSX : Mode.MEM) | size, scalar(), base, off, 0));
        return;
      }
      case 1:
        out.push(insn(InsnClass.LDX | Mode.MEM | size, scalar(), base, off, 0));
        return;
      case 2:
        out.push(insn(InsnClass.ST | Mode.MEM | size, base, 0, off, imm()));
        return;
      default:
        out.push(insn(InsnClass.STX | Mode.MEM | size, base, scalar(), off, 0));
    }
  };

  const emitAtomic = (): void => {
    const is64 = rng.chance(0.5);
    const bytes = is64 ? 8 : 4;
    const onStack = kernel || rng.chance(0.6);
    const base = onStack ? FP : BUF_REG;
    const off = onStack ? stackPlace(bytes) : bufferPlace(bytes, true);
    const op = rng.pick(ATOMIC_OPS);
    out.push(insn(InsnClass.STX | Mode.ATOMIC | (is64 ? Size.DW : Size.W), base, scalar(), off, op));
  };

  const condJump = (offset: number): Insn => {
    const cls = rng.chance(0.5) ? InsnClass.JMP : InsnClass.JMP32;
    const op = rng.pick(COND_JUMPS);
    if (rng.chance(0.5)) return insn(cls | Source.X | op, scalar(), scalar(), offset, 0);
    return insn(cls | Source.K | op, scalar(), 0, offset, imm());
  };

  const MOV_K = InsnClass.ALU64 | Source.K | AluOp.MOV;
  const MOV_X = InsnClass.ALU64 | Source.X | AluOp.MOV;
  /** A call to a later function (so calls are acyclic), then restore what it clobbered. */
  const emitCall = (): void => {
    callFixups.push({ at: out.length, fn: rng.between(fnIndex + 1, fnCount - 1) });
    out.push(insn(0)); // patched once the functions are placed
    out.push(insn(MOV_X, BUF_REG, fnIndex < 0 ? 8 : 6));
    for (const r of [2, 3, 4, 5]) out.push(insn(MOV_K, r, 0, 0, imm()));
  };

  /** Emit a block of about `n` instructions; returns nothing, appends to `out`. */
  const block = (n: number, depth: number, inLoop: boolean): void => {
    const end = out.length + n;
    while (out.length < end) {
      const roll = rng.below(100);
      if (roll < 45) emitAlu();
      else if (roll < 70) emitMemory();
      else if (roll < 78) emitAtomic();
      else if (roll < 90 && depth < 2) {
        // if (cond) skip a block, or if/else with ja/gotol
        const at = out.length;
        out.push(insn(0)); // patched below
        block(rng.between(1, 5), depth + 1, inLoop);
        let target = -1;
        if (rng.chance(0.4)) {
          const jaAt = out.length;
          out.push(insn(0));
          block(rng.between(1, 4), depth + 1, inLoop);
          const skip = out.length - jaAt - 1;
          out[jaAt] = rng.chance(0.5)
            ? insn(InsnClass.JMP | JmpOp.JA, 0, 0, skip, 0)
            : insn(InsnClass.JMP32 | JmpOp.JA, 0, 0, 0, skip);
          target = jaAt + 1; // the else block
        }
        out[at] = condJump((target < 0 ? out.length : target) - at - 1);
      } else if (roll < 96 && depth < 2 && !inLoop) {
        // bounded loop on r9
        out.push(insn(InsnClass.ALU64 | Source.K | AluOp.MOV, LOOP_REG, 0, 0, rng.between(1, 6)));
        const head = out.length;
        block(rng.between(2, 6), depth + 1, true);
        out.push(insn(InsnClass.ALU64 | Source.K | AluOp.SUB, LOOP_REG, 0, 0, 1));
        const back = head - (out.length + 1);
        out.push(
          rng.chance(0.5)
            ? insn(InsnClass.JMP | Source.K | JmpOp.JNE, LOOP_REG, 0, back, 0)
            : insn(InsnClass.JMP | Source.K | JmpOp.JSGT, LOOP_REG, 0, back, 0),
        );
      } else if (calls && fnIndex + 1 < fnCount && rng.chance(0.6)) {
        emitCall();
      } else {
        // jumps by zero are legal and keep everything reachable
        out.push(rng.chance(0.5) ? insn(InsnClass.JMP | JmpOp.JA, 0, 0, 0, 0) : insn(InsnClass.JMP32 | JmpOp.JA));
      }
    }
  };
  if (calls) out.push(insn(MOV_X, 8, BUF_REG)); // r8 keeps the buffer pointer across calls
  block(budget, 0, false);
  if (calls) out.push(insn(MOV_K, 8, 0, 0, 0)); // do not publish an address

  // ---- epilogue: publish the machine state in the result area ----
  let at = dataBytes;
  for (const r of [0, 2, 3, 4, 5, 6, 7, 8, 9]) {
    out.push(insn(InsnClass.STX | Mode.MEM | Size.DW, BUF_REG, r, at, 0));
    at += 8;
  }
  for (const off of slotOffsets) {
    out.push(insn(InsnClass.LDX | Mode.MEM | Size.DW, 2, FP, off, 0));
    out.push(insn(InsnClass.STX | Mode.MEM | Size.DW, BUF_REG, 2, at, 0));
    at += 8;
  }
  out.push(insn(InsnClass.JMP | JmpOp.EXIT));

  // ---- local functions: args r1 = buffer, r2..r5 scalars; they return r0 ----
  const fnStarts: number[] = [];
  for (let k = 0; k < fnCount; k++) {
    fnStarts.push(out.length);
    fnIndex = k;
    regs = [0, 2, 3, 4, 5];
    const own: number[] = [];
    while (own.length < 2) {
      const off = -8 * rng.between(1, 8);
      if (!own.includes(off)) own.push(off);
    }
    slots = own;
    out.push(insn(MOV_X, 6, BUF_REG)); // r6 keeps the buffer pointer across nested calls
    out.push(insn(MOV_K, 0, 0, 0, imm()));
    for (const off of own) out.push(insn(InsnClass.STX | Mode.MEM | Size.DW, FP, rng.pick([2, 3, 4, 5]), off, 0));
    block(rng.between(4, 12), 0, false);
    out.push(insn(InsnClass.JMP | JmpOp.EXIT));
  }
  for (const { at: site, fn } of callFixups) {
    out[site] = insn(InsnClass.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, itemAt(fnStarts, fn, 'subprogram start') - site - 1);
  }

  const input = new Uint8Array(at);
  input.set(rng.bytes(dataBytes));
  return { seed: options.seed, insns: out, dataBytes, bufferBytes: at, input, functionStarts: fnStarts };
}
