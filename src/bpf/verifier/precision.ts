// Precision tracking: which scalars a continuation relied on, found by walking
// a path's history backwards (the kernel's mark_chain_precision and
// backtrack_insn), so that checkpoints compare only those by range.
//
// mergePrecision and backtrack are the hot loops of precision tracking, run in
// V8's interpreter tier; their non-null assertions (`!`) are explained where
// they are.

import { AluOp, CallSrc, InsnClass, JmpOp, Mode, type Insn } from '../isa.ts';
import { scalarEqual } from './bounds.ts';
import { STACK_SLOTS, emptyPrecision, type Precision } from './state.ts';
import { VerifierInvariantError } from './log.ts';
import { DST_INDEPENDENT, HISTORY_DEPTH_UNIT, HISTORY_SLOT_BIAS, type Path, UNKNOWN_SCALAR, type VerifierContext } from './context.ts';

/** Add `need` to `into`; whether anything was new. */
function mergePrecision(into: Precision, need: Precision): boolean {
  const ir = into.regs;
  const nr = need.regs;
  const is = into.slots;
  const ns = need.slots;
  const frames = ir.length < nr.length ? ir.length : nr.length;
  let changed = false;
  // non-null: hot path (every checkpoint a path passes back through): fi < frames, and a
  // Precision holds one register word and two slot words per frame
  for (let fi = 0; fi < frames; fi++) {
    const r = ir[fi]!;
    const rm = r | nr[fi]!;
    const w = 2 * fi;
    const s0 = is[w]!;
    const s0m = s0 | ns[w]!;
    const s1 = is[w + 1]!;
    const s1m = s1 | ns[w + 1]!;
    if (rm !== r || s0m !== s0 || s1m !== s1) {
      ir[fi] = rm;
      is[w] = s0m;
      is[w + 1] = s1m;
      changed = true;
    }
  }
  return changed;
}

/**
 * Turn "these registers and slots matter after the history" into "these matter
 * before it", instruction by instruction backwards (the kernel's backtrack_insn).
 * Keeping a mark too many only costs pruning, never soundness.
 */
function backtrack(insns: readonly Insn[], history: readonly number[], need: Precision): void {
  // non-null: The hottest loop of precision tracking: arrays and fields read once, and
  // the emptiness test (all marks gone: stop) redone only after a change.
  // Its `!` read the history (pairs, h even and below length - 1), the
  // instruction at a pc the path executed, and precision words of frames that
  // ensureFrames has grown the arrays to cover.
  const regs = need.regs;
  const slots = need.slots;
  let changed = true;
  for (let h = history.length - 2; h >= 0; h -= 2) {
    const pc = history[h]!;
    const packed = history[h + 1]!;
    const fi = (packed >> 10) - 1;
    const slotCode = (packed & (HISTORY_DEPTH_UNIT - 1)) - HISTORY_SLOT_BIAS;
    if (regs.length <= fi + 1) ensureFrames(need, fi + 1);
    if (changed) {
      // nothing left to mark: earlier instructions cannot add marks back
      // (written out, not a call: it runs after every change)
      let empty = true;
      for (let k = 0; k < regs.length; k++) if (regs[k] !== 0) empty = false;
      for (let k = 0; empty && k < slots.length; k++) if (slots[k] !== 0) empty = false;
      if (empty) return;
      changed = false;
    }
    const insn = insns[pc]!;
    const code = insn.code;
    const cls = code & 0x07;
    const mine = regs[fi]!;
    switch (cls) {
      case InsnClass.ALU:
      case InsnClass.ALU64: {
        const dstBit = 1 << insn.dst;
        if ((mine & dstBit) === 0) break;
        const op = code & 0xf0;
        const x = (code & 0x08) !== 0;
        if (op === AluOp.MOV) {
          regs[fi] = x && insn.src < 10 ? (mine & ~dstBit) | (1 << insn.src) : mine & ~dstBit;
        } else if (slotCode === DST_INDEPENDENT) {
          regs[fi] = mine & ~dstBit;
        } else if (x && op !== AluOp.NEG && op !== AluOp.END && insn.src < 10) regs[fi] = mine | (1 << insn.src);
        changed = true;
        break;
      }
      case InsnClass.LD:
        regs[fi] = mine & ~(1 << insn.dst);
        changed = true;
        break;
      case InsnClass.LDX: {
        const dstBit = 1 << insn.dst;
        if ((mine & dstBit) !== 0) {
          regs[fi] = mine & ~dstBit;
          if (slotCode >= 0) {
            const sf = Math.floor(slotCode / STACK_SLOTS);
            ensureFrames(need, sf);
            const slot = slotCode % STACK_SLOTS;
            slots[2 * sf + (slot >> 5)] = slots[2 * sf + (slot >> 5)]! | (1 << (slot & 31));
          }
          changed = true;
        }
        break;
      }
      case InsnClass.ST:
      case InsnClass.STX: {
        if ((code & 0xe0) === Mode.ATOMIC) {
          const fetch = (insn.imm & 1) !== 0;
          if (insn.imm === 0xf1) regs[fi] = mine & ~1;
          else if (fetch) regs[fi] = mine & ~(1 << insn.src);
          changed = true;
          break;
        }
        if (slotCode >= 0) {
          const sf = Math.floor(slotCode / STACK_SLOTS);
          ensureFrames(need, sf);
          const slot = slotCode % STACK_SLOTS;
          const w = 2 * sf + (slot >> 5);
          if (((slots[w]! >>> (slot & 31)) & 1) === 1) {
            slots[w] = slots[w]! & ~(1 << (slot & 31));
            if (cls === InsnClass.STX && insn.src < 10) regs[fi] = regs[fi]! | (1 << insn.src);
            changed = true;
          }
        }
        break;
      }
      default: {
        const op = code & 0xf0;
        if (op !== JmpOp.CALL && op !== JmpOp.EXIT) break;
        changed = true;
        if (op === JmpOp.EXIT) {
          // Backwards over a callee's exit: the caller's r0 is the callee's r0.
          const callerHasR0 = fi >= 1 && (regs[fi - 1]! & 1) !== 0;
          if (fi >= 1) regs[fi - 1] = regs[fi - 1]! & ~0x3f;
          regs[fi] = callerHasR0 ? 1 : 0;
          slots[2 * fi] = 0;
          slots[2 * fi + 1] = 0;
          break;
        }
        if (insn.src === CallSrc.LOCAL) {
          // Backwards over a call: the callee's r1..r5 are the caller's.
          const args = (regs[fi + 1] ?? 0) & 0x3e;
          regs[fi + 1] = 0;
          if (slots.length > 2 * fi + 2) {
            slots[2 * fi + 2] = 0;
            slots[2 * fi + 3] = 0;
          }
          regs[fi] = regs[fi]! | args;
          break;
        }
        regs[fi] = mine & ~0x3f; // a helper's r0 is new; r1..r5 are clobbered
        break;
      }
    }
  }
}

function ensureFrames(need: Precision, fi: number): void {
  while (need.regs.length <= fi) {
    need.regs.push(0);
    need.slots.push(0, 0);
  }
}

/** Scalar register `regno` of the current frame is about to be relied on (pointer offset, size, decided branch). */
export function markPrecise(v: VerifierContext, regno: number): void {
  const path = v.path;
  if (path === undefined) throw new VerifierInvariantError(`R${regno} marked precise outside any path`);
  const stateFrames = path.state.frames;
  const frames = stateFrames.length;
  const reg = stateFrames[frames - 1]?.regs[regno];
  if (reg === undefined || reg.kind !== 'scalar') return;
  // A value known to be anything at all relies on no range.
  if (scalarEqual(reg.s, UNKNOWN_SCALAR)) return;
  const need = scratchPrecision(v, frames, undefined);
  need.regs[frames - 1] = 1 << regno;
  propagate(v, path, need);
}

/**
 * A Precision for `frames` frames to hand to propagate(), which only reads
 * and narrows it and keeps no reference: one reused object per frame count
 * (propagate never nests), zeroed or a copy of `from`.
 */
export function scratchPrecision(v: VerifierContext, frames: number, from: Precision | undefined): Precision {
  let p = v.scratch[frames];
  if (p === undefined) {
    p = emptyPrecision(frames);
    v.scratch[frames] = p;
  }
  const regs = p.regs;
  const slots = p.slots;
  const n = regs.length;
  const m = slots.length;
  if (from === undefined) {
    for (let k = 0; k < n; k++) regs[k] = 0;
    for (let k = 0; k < m; k++) slots[k] = 0;
  } else {
    const fr = from.regs;
    const fs = from.slots;
    for (let k = 0; k < n; k++) regs[k] = fr[k] ?? 0;
    for (let k = 0; k < m; k++) slots[k] = fs[k] ?? 0;
  }
  return p;
}

/** Walk `need` back through the path's history into its checkpoints, marking them precise. */
export function propagate(v: VerifierContext, path: Path, need: Precision): void {
  backtrack(v.insns, path.history, need);
  let cp = path.parent;
  while (cp !== null) {
    if (!mergePrecision(cp.precise, need)) return; // nothing new: its ancestors already have it
    backtrack(v.insns, cp.history, need);
    cp = cp.parent;
  }
}
