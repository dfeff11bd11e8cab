// Jumps, null checks and exit: conditional jumps refine both branches'
// scalars (the kernel's reg_set_min_max), a null check types a map value,
// and exit returns from a subprogram or ends the path.
//
// The non-null assertions (`!`) index arrays sized by construction (a frame's
// 11 registers, its 64 stack slots, per-instruction tables of insnCount, the
// frame stack, a path's history in pairs): this is the verifier's hot path,
// tuned for V8's interpreter tier, where a check per access costs.

import { CALL_DEPTH_MAX, CallSrc, FRAME_POINTER, InsnClass, JmpOp, type Insn } from '../isa.ts';
import { condHolds, constValue, isConst, normalize, refineBounds, scalarConst, view, type CondKind, type Scalar } from './bounds.ts';
import { STACK_SLOTS, UNINIT, cloneState, ownStack, curFrame, newFrame, type Frame, type RegState, type VState } from './state.ts';
import { type Path, Reject, type ScalarState, type VerifierContext, scalarReg } from './context.ts';
import { helperCall } from './helper-calls.ts';
import { VerifierInvariantError } from './log.ts';
import { markPrecise } from './precision.ts';

const COND_KINDS: Partial<Record<number, CondKind>> = {
  [JmpOp.JEQ]: 'jeq',
  [JmpOp.JNE]: 'jne',
  [JmpOp.JGT]: 'jgt',
  [JmpOp.JGE]: 'jge',
  [JmpOp.JLT]: 'jlt',
  [JmpOp.JLE]: 'jle',
  [JmpOp.JSGT]: 'jsgt',
  [JmpOp.JSGE]: 'jsge',
  [JmpOp.JSLT]: 'jslt',
  [JmpOp.JSLE]: 'jsle',
  [JmpOp.JSET]: 'jset',
};

const COND_INDEX: Record<CondKind, number> = { jeq: 0, jne: 1, jgt: 2, jge: 3, jlt: 4, jle: 5, jsgt: 6, jsge: 7, jslt: 8, jsle: 9, jset: 10 };

/** v after a null check of the map_value_or_null `id`: 0 (isNull) or a map_value; other values unchanged. */
function nullChecked(v: RegState | undefined, id: number, isNull: boolean): RegState | undefined {
  if (v === undefined || v.kind !== 'ptr' || v.ptr !== 'map_value_or_null' || v.id !== id) return v;
  return isNull ? scalarReg(scalarConst(0n)) : { ...v, ptr: 'map_value', id: 0 };
}

export function jump(v: VerifierContext, path: Path, insn: Insn): Path | 'exit' | undefined {
  const pc = path.pc;
  const st = path.state;
  const f = st.frames[st.frames.length - 1];
  if (f === undefined) throw new VerifierInvariantError('a state without frames');
  const code = insn.code;
  const cls = code & 0x07;
  const op = code & 0xf0;
  if (op === JmpOp.JA) {
    path.pc = cls === InsnClass.JMP32 ? pc + 1 + insn.imm : pc + 1 + insn.off;
    return undefined;
  }
  if (op === JmpOp.EXIT) return exit(v, path);
  if (op === JmpOp.CALL) {
    if (insn.src === CallSrc.LOCAL) {
      if (st.frames.length >= CALL_DEPTH_MAX) throw new Reject(pc, `the call stack of ${st.frames.length + 1} frames is too deep`);
      const callee = newFrame(pc);
      // the callee's registers start as UNINIT; r1..r5 carry the arguments
      for (let r = 1; r <= 5; r++) {
        const arg = f.regs[r];
        if (arg !== undefined) callee.regs[r] = arg;
      }
      callee.regs[FRAME_POINTER] = { ...v.ptr('stack', 0), frame: st.frames.length };
      st.frames.push(callee);
      path.pc = pc + 1 + insn.imm;
      return undefined;
    }
    helperCall(v, pc, st, insn.imm);
    path.pc = pc + 1;
    return undefined;
  }
  const cond = COND_KINDS[op];
  if (cond === undefined) throw new Reject(pc, `invalid BPF_JMP opcode 0x${insn.code.toString(16)}`);
  const bits = cls === InsnClass.JMP32 ? 32 : 64;
  const x = (code & 0x08) !== 0;
  // register reads written out (v.read's checks): once per processed branch
  const regs = f.regs;
  const dst = regs[insn.dst];
  if (dst === undefined || dst.kind === 'uninit') throw new Reject(pc, `R${insn.dst} !read_ok`);
  let src: RegState;
  if (x) {
    const r = regs[insn.src];
    if (r === undefined || r.kind === 'uninit') throw new Reject(pc, `R${insn.src} !read_ok`);
    src = r;
  } else {
    src = v.immReg(pc, insn.imm, 64);
  }
  const target = pc + 1 + insn.off;
  if (dst.kind === 'scalar' && src.kind === 'scalar' && dst.s.b64.t.mask === 0n && src.s.b64.t.mask === 0n) {
    // Both known (loop counters): the outcome is decided, the operands need no refining.
    markPrecise(v, insn.dst);
    if (x) markPrecise(v, insn.src);
    path.pc = condHolds(cond, dst.s.b64.t.value, src.s.b64.t.value, bits) ? target : pc + 1;
    return undefined;
  }
  if (dst.kind === 'scalar' && src.kind === 'scalar' && !(x && insn.src === insn.dst)) {
    // both outcomes from one memo row (refine() per outcome looked the row up twice)
    const row = refineRow(v, dst, src);
    const k = COND_INDEX[cond] * 4 + (bits === 64 ? 2 : 0);
    let takenR = row[k + 1];
    if (takenR === undefined) {
      takenR = refineUncached(v, cond, true, dst, src, bits) ?? null;
      row[k + 1] = takenR;
    }
    let fallR = row[k];
    if (fallR === undefined) {
      fallR = refineUncached(v, cond, false, dst, src, bits) ?? null;
      row[k] = fallR;
    }
    const taken = takenR ?? undefined;
    const fall = fallR ?? undefined;
    if (taken !== undefined && fall !== undefined) {
      const other = cloneState(st);
      applyRefined(v, other, insn, dst, src, x, taken);
      applyRefined(v, st, insn, dst, src, x, fall);
      path.pc = pc + 1;
      return { pc: target, state: other, parent: path.parent, from: pc, history: [], jumps: path.jumps + 1 };
    }
    // The outcome was decided by the operands' ranges: they matter.
    markPrecise(v, insn.dst);
    if (x) markPrecise(v, insn.src);
    if (taken !== undefined) {
      applyRefined(v, st, insn, dst, src, x, taken);
      path.pc = target;
      return undefined;
    }
    if (fall !== undefined) {
      applyRefined(v, st, insn, dst, src, x, fall);
      path.pc = pc + 1;
      return undefined;
    }
    // Neither outcome is possible: the abstract state is empty, so the path is dead.
    return 'exit';
  }
  const other = cloneState(st);
  if (dst.kind === 'ptr' && dst.ptr === 'map_value_or_null' && src.kind === 'scalar' && isConst(src.s) && constValue(src.s) === 0n && bits === 64 && (cond === 'jeq' || cond === 'jne')) {
    markNull(v, other, dst.id, cond === 'jeq');
    markNull(v, st, dst.id, cond !== 'jeq');
  }
  path.pc = pc + 1;
  return { pc: target, state: other, parent: path.parent, from: pc, history: [], jumps: path.jumps + 1 };
}

/** Both operands refined for one outcome of a conditional jump; undefined if that outcome is impossible. */
/** The memo row of refine() results for the operand pair (dst, src), indexed by COND_INDEX[cond] * 4 + (64-bit ? 2 : 0) + (taken ? 1 : 0). */
function refineRow(v: VerifierContext, dst: ScalarState, src: ScalarState): ([Scalar, Scalar] | null | undefined)[] {
  let inner = v.refineMemo.get(dst.s);
  if (inner === undefined) {
    inner = new Map();
    v.refineMemo.set(dst.s, inner);
  }
  let row = inner.get(src.s);
  if (row === undefined) {
    row = [];
    inner.set(src.s, row);
  }
  return row;
}

export function refine(v: VerifierContext, cond: CondKind, taken: boolean, dst: ScalarState, src: ScalarState, bits: 32 | 64): [Scalar, Scalar] | undefined {
  const row = refineRow(v, dst, src);
  const k = COND_INDEX[cond] * 4 + (bits === 64 ? 2 : 0) + (taken ? 1 : 0);
  let r = row[k];
  if (r === undefined) {
    r = refineUncached(v, cond, taken, dst, src, bits) ?? null;
    row[k] = r;
  }
  return r ?? undefined;
}

export function refineUncached(v: VerifierContext, cond: CondKind, taken: boolean, dst: ScalarState, src: ScalarState, bits: 32 | 64): [Scalar, Scalar] | undefined {
  const r = refineBounds(cond, taken, view(dst.s, bits), view(src.s, bits), bits);
  if (r === undefined) return undefined;
  // An operand the branch did not narrow is returned as it was: already normal.
  const nd = r[0] === view(dst.s, bits) ? dst.s : normalize(bits === 64 ? { b64: r[0], b32: dst.s.b32 } : { b64: dst.s.b64, b32: r[0] });
  if (nd === undefined) return undefined;
  const ns = r[1] === view(src.s, bits) ? src.s : normalize(bits === 64 ? { b64: r[1], b32: src.s.b32 } : { b64: src.s.b64, b32: r[1] });
  return nd === undefined || ns === undefined ? undefined : [nd, ns];
}

export function applyRefined(v: VerifierContext, st: VState, insn: Insn, dst: ScalarState, src: ScalarState, x: boolean, refined: [Scalar, Scalar]): void {
  const f = st.frames[st.frames.length - 1];
  if (f === undefined) throw new VerifierInvariantError('a state without frames');
  setScalar(v, st, f, insn.dst, dst, refined[0]);
  if (x) setScalar(v, st, f, insn.src, src, refined[1]);
}

/** Give register `regno` the refined value, and every copy sharing its id too. */
export function setScalar(v: VerifierContext, st: VState, f: Frame, regno: number, old: Extract<RegState, { kind: 'scalar' }>, s: Scalar): void {
  const updated: RegState = { kind: 'scalar', s, id: old.id };
  f.regs[regno] = updated;
  if (old.id === 0) return;
  // indexed loops: --no-opt runs this unoptimised, where for-of allocates an iterator result per step
  for (let fi = 0, fr = st.frames[0]; fr !== undefined; fr = st.frames[++fi]) {
    for (let r = 0; r < 10; r++) {
      const v = fr.regs[r];
      if (v !== undefined && v.kind === 'scalar' && v.id === old.id) fr.regs[r] = updated;
    }
    // below lowSlot no slot was ever written: nothing spilled there
    for (let slot = fr.lowSlot; slot < STACK_SLOTS; slot++) {
      const v = fr.spills[slot];
      if (v !== undefined && v.kind === 'scalar' && v.id === old.id) {
        ownStack(fr);
        fr.spills[slot] = updated;
      }
    }
  }
}

/** After a null check: copies of the map_value_or_null with `id` become 0 (isNull) or map_value. */
export function markNull(v: VerifierContext, st: VState, id: number, isNull: boolean): void {
  // indexed loops, as in setScalar
  for (let fi = 0, fr = st.frames[0]; fr !== undefined; fr = st.frames[++fi]) {
    for (let r = 0; r < 10; r++) {
      const w = nullChecked(fr.regs[r], id, isNull);
      if (w !== undefined) fr.regs[r] = w;
    }
    for (let slot = fr.lowSlot; slot < STACK_SLOTS; slot++) {
      const v = fr.spills[slot];
      const w = nullChecked(v, id, isNull);
      if (w === v) continue;
      ownStack(fr);
      fr.spills[slot] = w;
    }
  }
}

export function exit(v: VerifierContext, path: Path): 'exit' | undefined {
  const pc = path.pc;
  const st = path.state;
  const f = curFrame(st);
  // Like Linux, a function's exit does not read r0: clang drops the return
  // value of a static function whose callers ignore it, and an uninitialised
  // r0 stays uninitialised in the caller (reading it there is rejected).
  const r0 = st.frames.length > 1 ? (f.regs[0] ?? UNINIT) : v.read(pc, f, 0);
  if (st.frames.length > 1) {
    if (r0.kind === 'ptr' && r0.ptr === 'stack' && r0.frame === st.frames.length - 1) throw new Reject(pc, 'cannot return stack pointer to the caller');
    st.frames.pop();
    const caller = curFrame(st);
    caller.regs[0] = r0;
    for (let r = 1; r <= 5; r++) caller.regs[r] = UNINIT;
    path.pc = f.callsite + 1;
    return undefined;
  }
  if (r0.kind === 'ptr') throw new Reject(pc, `R0 leaks addr as return value`);
  return 'exit';
}
