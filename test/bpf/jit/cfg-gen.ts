// A seeded generator of programs with the control-flow shapes gen.ts does not
// make: random forward and backward jumps (nested loops, loops with several
// entries, i.e. irreducible graphs), bpf-to-bpf calls (acyclic, at most 4 deep),
// helper calls, stack traffic in every frame. Programs need not terminate: runs
// use a small instruction limit, and both engines must then fault with INSN_LIMIT.
// Memory accesses stay in the caller's own stack frame, so no other fault occurs.

import { GenRng } from '../../../src/testing/program-gen.ts';
import { AluOp, CallSrc, InsnClass, JmpOp, Mode, Size, Source, insn, ldImm64, type Insn } from '../../../src/bpf/isa.ts';

/** The pure helper the generated programs call (id 1). */
export const MIX_HELPER_ID = 1;
export function mixHelper(r1: bigint, r2: bigint, _r3: bigint, _r4: bigint, r5: bigint): bigint {
  return BigInt.asUintN(64, (r1 ^ (r2 << 7n)) * 0x9e3779b97f4a7c15n + r5);
}

const ALU = [
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
];
const CONDS = [JmpOp.JEQ, JmpOp.JGT, JmpOp.JGE, JmpOp.JSET, JmpOp.JNE, JmpOp.JSGT, JmpOp.JSGE, JmpOp.JLT, JmpOp.JLE, JmpOp.JSLT, JmpOp.JSLE];
/** r9 counts loop iterations down; random ALU never writes it */
const COUNTER = 9;
const DATA_REGS = [0, 1, 2, 3, 4, 5, 6, 7, 8];

type Term =
  | { kind: 'exit' }
  | { kind: 'fall' }
  | { kind: 'ja'; to: number }
  | { kind: 'cond'; code: number; dst: number; src: number; imm: number; to: number; guarded: boolean };

interface GenBlock {
  body: Insn[];
  /** index into body of local calls to patch: [insn index, callee function] */
  calls: Array<[number, number]>;
  term: Term;
}

export function generateShape(seed: number): Insn[] {
  const rng = new GenRng(seed);
  const functionCount = rng.between(1, 4);
  const functions: GenBlock[][] = [];
  for (let f = 0; f < functionCount; f++) {
    const blockCount = rng.between(2, 10);
    const blocks: GenBlock[] = [];
    for (let b = 0; b < blockCount; b++) {
      const body: Insn[] = [];
      const calls: Array<[number, number]> = [];
      if (b === 0) body.push(insn(InsnClass.ALU64 | Source.K | AluOp.MOV, COUNTER, 0, 0, rng.between(1, 6)));
      const ops = rng.between(1, 5);
      for (let i = 0; i < ops; i++) {
        const kind = rng.below(20);
        const dst = rng.pick(DATA_REGS);
        if (kind < 11) {
          const op = rng.pick(ALU);
          const is64 = rng.chance(0.7);
          const cls = is64 ? InsnClass.ALU64 : InsnClass.ALU;
          const signed = (op === AluOp.DIV || op === AluOp.MOD) && rng.chance(0.3) ? 1 : 0;
          if (op === AluOp.NEG) body.push(insn(cls | Source.K | op, dst, 0, 0, 0));
          else if (rng.chance(0.5)) body.push(insn(cls | Source.X | op, dst, rng.pick(DATA_REGS), signed, 0));
          else body.push(insn(cls | Source.K | op, dst, 0, signed, rng.chance(0.2) ? rng.pick([0, -1, 63, 31]) : rng.nextU32() | 0));
        } else if (kind < 14) {
          body.push(insn(InsnClass.STX | Mode.MEM | Size.DW, 10, rng.pick(DATA_REGS), -8 * rng.between(1, 8), 0));
        } else if (kind < 16) {
          const size = rng.pick([Size.B, Size.H, Size.W, Size.DW]);
          const bytes = size === Size.B ? 1 : size === Size.H ? 2 : size === Size.W ? 4 : 8;
          const mode = size !== Size.DW && rng.chance(0.3) ? Mode.MEMSX : Mode.MEM;
          body.push(insn(InsnClass.LDX | mode | size, dst, 10, -bytes * rng.between(1, 64 / bytes), 0));
        } else if (kind === 16) {
          body.push(...ldImm64(dst, (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32())));
        } else if (kind === 17) {
          body.push(insn(InsnClass.JMP | JmpOp.CALL, 0, CallSrc.HELPER, 0, MIX_HELPER_ID));
        } else if (kind === 18 && f + 1 < functionCount) {
          calls.push([body.length, rng.between(f + 1, functionCount - 1)]);
          body.push(insn(InsnClass.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, 0));
        } else {
          body.push(insn(InsnClass.ALU | Source.K | AluOp.END | (rng.chance(0.5) ? 0x08 : 0), dst, 0, 0, rng.pick([16, 32, 64])));
        }
      }
      let term: Term;
      if (b === blockCount - 1) term = { kind: 'exit' };
      else {
        const t = rng.below(10);
        const to = rng.below(blockCount);
        if (t < 5) {
          const guarded = to <= b && rng.chance(0.8);
          const is32 = rng.chance(0.3);
          term = {
            kind: 'cond',
            code: (is32 ? InsnClass.JMP32 : InsnClass.JMP) | rng.pick(CONDS) | (rng.chance(0.5) ? Source.X : Source.K),
            dst: rng.pick(DATA_REGS),
            src: rng.pick(DATA_REGS),
            imm: rng.chance(0.5) ? rng.between(-4, 4) : rng.nextU32() | 0,
            to,
            guarded,
          };
        } else if (t < 7) term = { kind: 'fall' };
        else if (t < 8) term = { kind: 'exit' };
        else term = { kind: 'ja', to };
      }
      blocks.push({ body, calls, term });
    }
    functions.push(blocks);
  }

  // Layout: functions one after another; each block's body, then its terminator.
  const termLength = (t: Term): number => (t.kind === 'fall' ? 0 : t.kind === 'cond' && t.guarded ? 2 : 1);
  const blockStart: number[][] = [];
  const functionStart: number[] = [];
  let pc = 0;
  for (const blocks of functions) {
    functionStart.push(pc);
    const starts: number[] = [];
    for (const b of blocks) {
      starts.push(pc);
      pc += b.body.length + termLength(b.term);
    }
    blockStart.push(starts);
  }
  const out: Insn[] = [];
  functions.forEach((blocks, f) => {
    blocks.forEach((b, i) => {
      const at = blockStart[f]![i]!;
      b.body.forEach((x, k) => {
        const call = b.calls.find((c) => c[0] === k);
        if (call !== undefined) out.push(insn(x.code, 0, CallSrc.LOCAL, 0, functionStart[call[1]]! - (at + k + 1)));
        else out.push(x);
      });
      const termAt = at + b.body.length;
      const t = b.term;
      if (t.kind === 'exit') out.push(insn(InsnClass.JMP | JmpOp.EXIT));
      else if (t.kind === 'ja') out.push(insn(InsnClass.JMP | JmpOp.JA, 0, 0, blockStart[f]![t.to]! - (termAt + 1)));
      else if (t.kind === 'cond') {
        if (t.guarded) {
          // r9 -= 1; if r9 s> 0 goto target: a loop that runs at most r9 more times
          out.push(insn(InsnClass.ALU64 | Source.K | AluOp.SUB, COUNTER, 0, 0, 1));
          out.push(insn(InsnClass.JMP | Source.K | JmpOp.JSGT, COUNTER, 0, blockStart[f]![t.to]! - (termAt + 2), 0));
        } else {
          out.push(insn(t.code, t.dst, t.src, blockStart[f]![t.to]! - (termAt + 1), t.imm));
        }
      }
    });
  });
  return out;
}
