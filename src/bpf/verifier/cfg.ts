// Structural checks and the control-flow graph (the kernel's check_subprogs
// and check_cfg): every opcode known, registers in range, lddw pairs intact,
// jump targets inside their function and not into the second slot of an lddw,
// every function ending in exit or jump, no unreachable instruction, and a
// static bound on the call depth. The JIT may reuse `buildCfg`: it never
// throws and returns either the graph or the first structural error.

import {
  AluOp,
  CALL_DEPTH_MAX,
  CallSrc,
  InsnClass,
  JmpOp,
  LdImm64Src,
  Mode,
  Size,
  Source,
  insnClass,
  insnMode,
  insnOp,
  insnSize,
  isLdImm64,
  type Insn,
} from '../isa.ts';

/** The kernel's limit on program length (BPF_COMPLEXITY_LIMIT_INSNS, for privileged loaders). */
export const PROGRAM_INSNS_MAX = 1_000_000;

export interface Subprogram {
  /** first slot */
  start: number;
  /** one past the last slot */
  end: number;
}

export interface Cfg {
  insnCount: number;
  /** functions in slot order; [0] is the entry */
  subprograms: Subprogram[];
  /** successor slots of each slot (fall-through and jump targets; a call falls through); empty for exit and the second slot of lddw */
  successors: number[][];
  /** whether the slot starts an instruction (false for the second slot of lddw) */
  isInsnStart: boolean[];
  /** slots that are targets of a jump or follow a conditional jump or a call: where states are compared */
  prunePoints: boolean[];
  /** back edges [from, to] (loops), for information: bounded loops are accepted */
  backEdges: [number, number][];
  /** registers r0..r9 live on entry to each slot, as a bit mask */
  liveIn: Int32Array;
  /** deepest static call chain (1 = no calls) */
  callDepthMax: number;
}

export type CfgResult = { ok: true; cfg: Cfg } | { ok: false; pc: number; message: string };

class CfgFail {
  constructor(
    readonly pc: number,
    readonly message: string,
  ) {}
}

/** Validate one slot's encoding (opcode, registers, reserved fields). Returns a reason or undefined. */
export function checkInsnEncoding(insns: readonly Insn[], pc: number): string | undefined {
  const i = insns[pc];
  if (i === undefined) return `no instruction at ${pc}`;
  const cls = insnClass(i.code);
  if (i.dst > 10 || i.src > 10) return `invalid register R${Math.max(i.dst, i.src)}`;
  switch (cls) {
    case InsnClass.ALU:
    case InsnClass.ALU64: {
      const op = insnOp(i.code);
      const x = (i.code & 0x08) !== 0;
      if (op === AluOp.END) {
        if (cls === InsnClass.ALU64 && x) return 'BPF_END uses reserved fields';
        if (![16, 32, 64].includes(i.imm) || i.src !== 0 || i.off !== 0) return 'BPF_END uses reserved fields';
      } else if (op === AluOp.NEG) {
        if (x || i.src !== 0 || i.off !== 0 || i.imm !== 0) return 'BPF_NEG uses reserved fields';
      } else if (op > AluOp.ARSH) {
        return `invalid BPF_ALU opcode 0x${i.code.toString(16)}`;
      } else {
        if (x ? i.imm !== 0 : i.src !== 0) return 'BPF_ALU uses reserved fields';
        if (op === AluOp.MOV) {
          const okOff = i.off === 0 || i.off === 8 || i.off === 16 || (i.off === 32 && cls === InsnClass.ALU64);
          if (!okOff || (i.off !== 0 && !x)) return 'BPF_MOV uses reserved fields';
        } else if (op === AluOp.DIV || op === AluOp.MOD) {
          if (i.off !== 0 && i.off !== 1) return 'BPF_ALU uses reserved fields';
        } else if (i.off !== 0) return 'BPF_ALU uses reserved fields';
        if ((op === AluOp.LSH || op === AluOp.RSH || op === AluOp.ARSH) && !x) {
          const bits = cls === InsnClass.ALU64 ? 64 : 32;
          if (i.imm < 0 || i.imm >= bits) return `invalid shift ${i.imm}`;
        }
      }
      if (i.dst === 10) return 'frame pointer is read only';
      return undefined;
    }
    case InsnClass.JMP:
    case InsnClass.JMP32: {
      const op = insnOp(i.code);
      const x = (i.code & 0x08) !== 0;
      if (op === JmpOp.CALL) {
        if (cls !== InsnClass.JMP || x || i.off !== 0 || i.dst !== 0) return 'BPF_CALL uses reserved fields';
        if (i.src !== CallSrc.HELPER && i.src !== CallSrc.LOCAL) return `unsupported call src ${i.src} (kfuncs are not supported)`;
        return undefined;
      }
      if (op === JmpOp.EXIT) {
        if (cls !== InsnClass.JMP || x || i.src !== 0 || i.dst !== 0 || i.off !== 0 || i.imm !== 0) return 'BPF_EXIT uses reserved fields';
        return undefined;
      }
      if (op === JmpOp.JA) {
        if (x || i.src !== 0 || i.dst !== 0) return 'BPF_JA uses reserved fields';
        if (cls === InsnClass.JMP && i.imm !== 0) return 'BPF_JA uses reserved fields';
        if (cls === InsnClass.JMP32 && i.off !== 0) return 'BPF_JA uses reserved fields';
        return undefined;
      }
      if (op > JmpOp.JSLE) return `invalid BPF_JMP opcode 0x${i.code.toString(16)}`;
      if (x ? i.imm !== 0 : i.src !== 0) return 'BPF_JMP uses reserved fields';
      return undefined;
    }
    case InsnClass.LD: {
      if (isLdImm64(i)) {
        const next = insns[pc + 1];
        if (next === undefined || next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) return 'invalid bpf_ld_imm64 insn';
        if (i.off !== 0) return 'invalid bpf_ld_imm64 insn';
        const known: number[] = [LdImm64Src.IMM64, LdImm64Src.MAP_BY_FD, LdImm64Src.MAP_VAL_BY_FD, LdImm64Src.MAP_BY_IDX, LdImm64Src.MAP_VAL_BY_IDX];
        if (!known.includes(i.src)) return `unsupported lddw src ${i.src}`;
        if (i.dst === 10) return 'frame pointer is read only';
        return undefined;
      }
      const mode = insnMode(i.code);
      if (mode === Mode.ABS || mode === Mode.IND) return 'BPF_LD_[ABS|IND] instructions not allowed for this program type';
      return `unknown opcode 0x${i.code.toString(16).padStart(2, '0')}`;
    }
    case InsnClass.LDX: {
      const mode = insnMode(i.code);
      if (mode !== Mode.MEM && !(mode === Mode.MEMSX && insnSize(i.code) !== Size.DW)) return `unknown opcode 0x${i.code.toString(16).padStart(2, '0')}`;
      if (i.imm !== 0) return 'BPF_LDX uses reserved fields';
      if (i.dst === 10) return 'frame pointer is read only';
      return undefined;
    }
    case InsnClass.ST: {
      if (insnMode(i.code) !== Mode.MEM) return `unknown opcode 0x${i.code.toString(16).padStart(2, '0')}`;
      if (i.src !== 0) return 'BPF_ST uses reserved fields';
      return undefined;
    }
    case InsnClass.STX: {
      const mode = insnMode(i.code);
      if (mode === Mode.MEM) {
        if (i.imm !== 0) return 'BPF_STX uses reserved fields';
        return undefined;
      }
      if (mode === Mode.ATOMIC) {
        const size = insnSize(i.code);
        if (size !== Size.W && size !== Size.DW) return 'invalid atomic operand size';
        const ok = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];
        if (!ok.includes(i.imm)) return `BPF_ATOMIC uses invalid atomic opcode 0x${(i.imm >>> 0).toString(16)}`;
        return undefined;
      }
      return `unknown opcode 0x${i.code.toString(16).padStart(2, '0')}`;
    }
    default:
      return `unknown opcode 0x${i.code.toString(16).padStart(2, '0')}`;
  }
}

/** Build the CFG, or report the first structural error. Never throws. */
export function buildCfg(insns: readonly Insn[]): CfgResult {
  try {
    return { ok: true, cfg: build(insns) };
  } catch (e) {
    if (e instanceof CfgFail) return { ok: false, pc: e.pc, message: e.message };
    throw e;
  }
}

/** A function of build() with its callees and its memoised static call depth (0 = not yet known). */
interface Func {
  sp: Subprogram;
  callees: Set<Func>;
  depth: number;
  onPath: boolean;
}

function build(insns: readonly Insn[]): Cfg {
  const n = insns.length;
  if (n === 0) throw new CfgFail(0, 'empty program');
  if (n > PROGRAM_INSNS_MAX) throw new CfgFail(0, `BPF program is too large. Processed ${n} insn (limit ${PROGRAM_INSNS_MAX})`);
  const isInsnStart: boolean[] = new Array(n).fill(true);
  for (let pc = 0; pc < n; pc++) {
    const reason = checkInsnEncoding(insns, pc);
    if (reason !== undefined) throw new CfgFail(pc, reason);
    const i = insns[pc];
    if (i !== undefined && isLdImm64(i)) {
      isInsnStart[pc + 1] = false;
      pc++;
    }
  }
  // Subprograms: the entry and every local call target.
  const starts = new Set<number>([0]);
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc];
    if (!isInsnStart[pc] || i === undefined) continue;
    if (i.code === (InsnClass.JMP | JmpOp.CALL) && i.src === CallSrc.LOCAL) {
      const t = pc + 1 + i.imm;
      if (t < 0 || t >= n) throw new CfgFail(pc, `call to invalid destination ${t}`);
      if (!isInsnStart[t]) throw new CfgFail(pc, `call into the middle of ldimm64 insn ${t - 1}`);
      starts.add(t);
    }
  }
  const sorted = [...starts].sort((a, b) => a - b);
  const subprograms: Subprogram[] = sorted.map((start, k) => ({ start, end: sorted[k + 1] ?? n }));
  const subOf = new Int32Array(n);
  subprograms.forEach((sp, k) => subOf.fill(k, sp.start, sp.end));

  const successors: number[][] = new Array(n);
  const prunePoints: boolean[] = new Array(n).fill(false);
  // Functions with their callees, for the call-depth walk below.
  const funcs: Func[] = subprograms.map((sp) => ({ sp, callees: new Set<Func>(), depth: 0, onPath: false }));
  const funcAt = (pc: number): Func => {
    const f = funcs[subOf[pc] ?? -1];
    if (f === undefined) throw new CfgFail(pc, `insn ${pc} is in no function`);
    return f;
  };
  // Functions in slot order cover every slot once, so this visits pc = 0 .. n-1 in order.
  for (const func of funcs) for (let pc = func.sp.start; pc < func.sp.end; pc++) {
    const i = insns[pc];
    if (!isInsnStart[pc] || i === undefined) {
      successors[pc] = [];
      continue;
    }
    const cls = insnClass(i.code);
    const sp = func.sp;
    if (cls === InsnClass.JMP || cls === InsnClass.JMP32) {
      const op = insnOp(i.code);
      if (op === JmpOp.EXIT) {
        successors[pc] = [];
      } else if (op === JmpOp.CALL) {
        successors[pc] = [fallTo(sp, n, pc, pc + 1)];
        prunePoints[pc + 1] = true;
        if (i.src === CallSrc.LOCAL) func.callees.add(funcAt(pc + 1 + i.imm));
      } else if (op === JmpOp.JA) {
        const t = jumpTo(sp, isInsnStart, pc, cls === InsnClass.JMP32 ? pc + 1 + i.imm : pc + 1 + i.off);
        successors[pc] = [t];
        prunePoints[t] = true;
      } else {
        const t = jumpTo(sp, isInsnStart, pc, pc + 1 + i.off);
        successors[pc] = [fallTo(sp, n, pc, pc + 1), t];
        prunePoints[t] = true;
        prunePoints[pc + 1] = true;
      }
    } else {
      successors[pc] = [fallTo(sp, n, pc, pc + (isLdImm64(i) ? 2 : 1))];
    }
  }

  // Reachability and back edges: iterative DFS per function from its start.
  const color = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const backEdges: [number, number][] = [];
  // the DFS stack as two typed arrays (slot, next successor index): no pair allocated per slot
  const stackPc = new Int32Array(n);
  const stackNext = new Int32Array(n);
  for (const sp of subprograms) {
    let depth = 0;
    stackPc[0] = sp.start;
    stackNext[0] = 0;
    color[sp.start] = 1;
    while (depth >= 0) {
      const from = stackPc[depth] ?? 0;
      const k = stackNext[depth] ?? 0;
      const t = successors[from]?.[k];
      if (t !== undefined) {
        stackNext[depth] = k + 1;
        if (color[t] === 1) backEdges.push([from, t]);
        else if (color[t] === 0) {
          color[t] = 1;
          depth++;
          stackPc[depth] = t;
          stackNext[depth] = 0;
        }
      } else {
        color[from] = 2;
        depth--;
      }
    }
  }
  for (let pc = 0; pc < n; pc++) if (isInsnStart[pc] && color[pc] === 0) throw new CfgFail(pc, `unreachable insn ${pc}`);

  // Static call depth and recursion.
  const depthOf = (f: Func): number => {
    if (f.depth > 0) return f.depth;
    if (f.onPath) throw new CfgFail(f.sp.start, `recursive call to the function at insn ${f.sp.start}`);
    f.onPath = true;
    let d = 1;
    for (const c of f.callees) d = Math.max(d, 1 + depthOf(c));
    f.onPath = false;
    f.depth = d;
    return d;
  };
  const callDepthMax = depthOf(funcAt(0));
  if (callDepthMax > CALL_DEPTH_MAX) throw new CfgFail(0, `the call stack of ${callDepthMax} frames is too deep (limit ${CALL_DEPTH_MAX})`);

  return { insnCount: n, subprograms, successors, isInsnStart, prunePoints, backEdges, liveIn: liveness(insns, successors, isInsnStart), callDepthMax };
}

// Edge checks of build(): plain functions, not per-instruction closures (tsx's
// keepNames would name each closure with a defineProperty call).
function fallTo(sp: Subprogram, n: number, pc: number, to: number): number {
  if (to >= sp.end) throw new CfgFail(pc, to >= n ? 'last insn is not an exit or jmp' : `function at insn ${sp.start} falls through into the next function at insn ${to}`);
  return to;
}

function jumpTo(sp: Subprogram, isInsnStart: readonly boolean[], pc: number, to: number): number {
  if (to < sp.start || to >= sp.end) throw new CfgFail(pc, `jump out of range from insn ${pc} to ${to}`);
  if (!isInsnStart[to]) throw new CfgFail(pc, `jump into the middle of ldimm64 insn ${to - 1}`);
  return to;
}

const ALL_ARGS = 0b111110; // r1..r5
const CALLER_SAVED = 0b111111; // r0..r5

const regBit = (r: number): number => (r < 10 ? 1 << r : 0);

/** Registers read (use) and written (def) by one instruction, as bit masks over r0..r9, packed as use | def << USE_DEF_SHIFT (no pair allocated per instruction). */
function useDef(i: Insn): number {
  const cls = insnClass(i.code);
  const x = (i.code & 0x08) === Source.X;
  switch (cls) {
    case InsnClass.ALU:
    case InsnClass.ALU64: {
      const op = insnOp(i.code);
      if (op === AluOp.MOV) return (x ? regBit(i.src) : 0) | (regBit(i.dst) << USE_DEF_SHIFT);
      return regBit(i.dst) | (x && op !== AluOp.END && op !== AluOp.NEG ? regBit(i.src) : 0) | (regBit(i.dst) << USE_DEF_SHIFT);
    }
    case InsnClass.JMP:
    case InsnClass.JMP32: {
      const op = insnOp(i.code);
      if (op === JmpOp.EXIT) return 1;
      if (op === JmpOp.CALL) return ALL_ARGS | (CALLER_SAVED << USE_DEF_SHIFT);
      if (op === JmpOp.JA) return 0;
      return regBit(i.dst) | (x ? regBit(i.src) : 0);
    }
    case InsnClass.LD:
      return regBit(i.dst) << USE_DEF_SHIFT;
    case InsnClass.LDX:
      return regBit(i.src) | (regBit(i.dst) << USE_DEF_SHIFT);
    case InsnClass.ST:
      return regBit(i.dst);
    default: {
      if (insnMode(i.code) === Mode.ATOMIC) {
        const fetch = (i.imm & 1) !== 0;
        const cmpxchg = i.imm === 0xf1;
        return regBit(i.dst) | regBit(i.src) | (cmpxchg ? 1 : 0) | ((cmpxchg ? 1 : fetch ? regBit(i.src) : 0) << USE_DEF_SHIFT);
      }
      return regBit(i.dst) | regBit(i.src);
    }
  }
}

const USE_DEF_SHIFT = 16;
const USE_MASK = (1 << USE_DEF_SHIFT) - 1;

/** Backward data-flow liveness of r0..r9 per slot (within each function; calls read r1..r5 and clobber r0..r5). */
function liveness(insns: readonly Insn[], successors: number[][], isInsnStart: boolean[]): Int32Array {
  const n = insns.length;
  const liveIn = new Int32Array(n);
  const uses = new Int32Array(n);
  const defs = new Int32Array(n);
  for (let pc = 0; pc < n; pc++) {
    const i = insns[pc];
    if (!isInsnStart[pc] || i === undefined) continue;
    const ud = useDef(i);
    uses[pc] = ud & USE_MASK;
    defs[pc] = ud >>> USE_DEF_SHIFT;
  }
  // non-null: Hot path (a sweep of every slot per pass until nothing changes): the `!`
  // index successors, uses and defs (all of length n) at pc < n, and liveIn at
  // successor slots, which build() checked are inside the program.
  let changed = true;
  while (changed) {
    changed = false;
    for (let pc = n - 1; pc >= 0; pc--) {
      if (!isInsnStart[pc]) continue;
      let out = 0;
      const succ = successors[pc]!;
      for (let k = 0; k < succ.length; k++) out |= liveIn[succ[k]!]!; // indexed: for-of allocates under --no-opt
      const v = uses[pc]! | (out & ~defs[pc]!);
      if (v !== liveIn[pc]) {
        liveIn[pc] = v;
        changed = true;
      }
    }
  }
  return liveIn;
}
