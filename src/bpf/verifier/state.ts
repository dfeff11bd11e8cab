// Register and stack state of one verification path (the kernel's
// bpf_reg_state, bpf_func_state and bpf_verifier_state), their printing for
// the log, and the subsumption test used for pruning (states_equal/regsafe).
// Register values are immutable; a state copy copies arrays, not values.
//
// State comparison runs for every checkpoint tried at every prune point, in
// V8's interpreter tier: where a function keeps non-null assertions (`!`), a
// comment says which fixed-size array they index.

import { STACK_FRAME_BYTES } from '../isa.ts';
import { VerifierInvariantError } from './log.ts';
import { scalarEqual, scalarToString, scalarWithin, type Scalar } from './bounds.ts';

export type PtrKind = 'ctx' | 'stack' | 'mem' | 'map_value' | 'map_value_or_null' | 'map_ptr';

export type RegState =
  | { readonly kind: 'uninit' }
  | {
      readonly kind: 'scalar';
      readonly s: Scalar;
      /** copies of one value share a non-zero id, so a branch on one bounds all (find_equal_scalars) */
      readonly id: number;
    }
  | {
      readonly kind: 'ptr';
      readonly ptr: PtrKind;
      /** fixed offset in bytes */
      readonly off: number;
      /** variable offset (a scalar; constant 0 when none) */
      readonly varOff: Scalar;
      /** size of the memory it points into (mem, map_value) */
      readonly sizeBytes: number;
      /** map index (map_ptr, map_value, map_value_or_null), -1 otherwise */
      readonly map: number;
      /** frame number of a stack pointer, -1 otherwise */
      readonly frame: number;
      /** id of a map_value_or_null, shared by its copies so that one null check promotes all */
      readonly id: number;
      /** stores through it are rejected */
      readonly readOnly: boolean;
    };

export type PtrState = Extract<RegState, { kind: 'ptr' }>;
export const UNINIT: RegState = { kind: 'uninit' };

/** Byte types of a stack frame (the kernel's slot_type). */
export const StackByte = { INVALID: 0, MISC: 1, SPILL: 2 } as const;
export const STACK_SLOTS = STACK_FRAME_BYTES / 8;

export interface Frame {
  regs: RegState[];
  /** one entry per byte, StackByte; index 0 is fp-512 */
  stackTypes: Uint8Array;
  /** the same bytes, 4 at a time (fast comparison of whole slots) */
  stack32: Uint32Array;
  /** the register spilled into each 8-byte slot (slot 0 is fp-512), when its bytes are SPILL */
  spills: (RegState | undefined)[];
  /** stackTypes, stack32 and spills may be shared with a copy of the state: call ownStack before changing them */
  stackShared: boolean;
  /** instruction index of the call that created this frame (-1 for the entry function) */
  callsite: number;
  /**
   * Every slot below it is untouched (all bytes INVALID): the stack grows
   * down from fp, so scans over the slots start here instead of at fp-512.
   */
  lowSlot: number;
}

export interface VState {
  frames: Frame[];
}

export function newFrame(callsite: number): Frame {
  const regs: RegState[] = new Array(11).fill(UNINIT);
  const stackTypes = new Uint8Array(STACK_FRAME_BYTES);
  return { regs, stackTypes, stack32: new Uint32Array(stackTypes.buffer), spills: new Array(STACK_SLOTS).fill(undefined), stackShared: false, callsite, lowSlot: STACK_SLOTS };
}

/** A copy of the state; the stacks are shared copy-on-write (most copies never write them). */
export function cloneState(s: VState): VState {
  const from = s.frames;
  // One frame (most states) as a literal: push would allocate room for 17.
  const first = from[0];
  if (from.length === 1 && first !== undefined) return { frames: [cloneFrame(first)] };
  const frames: Frame[] = [];
  for (let fi = 0, f = first; f !== undefined; f = from[++fi]) frames.push(cloneFrame(f));
  return { frames };
}

function cloneFrame(f: Frame): Frame {
  f.stackShared = true;
  return { regs: f.regs.slice(), stackTypes: f.stackTypes, stack32: f.stack32, spills: f.spills, stackShared: true, callsite: f.callsite, lowSlot: f.lowSlot };
}

/** Make f's stack its own before changing it (see cloneState). */
export function ownStack(f: Frame): void {
  if (!f.stackShared) return;
  f.stackTypes = f.stackTypes.slice();
  f.stack32 = new Uint32Array(f.stackTypes.buffer);
  f.spills = f.spills.slice();
  f.stackShared = false;
}

export function curFrame(s: VState): Frame {
  const f = s.frames[s.frames.length - 1];
  if (f === undefined) throw new VerifierInvariantError('a state without frames');
  return f;
}

// ---- printing -----------------------------------------------------------------

export function regToString(r: RegState): string {
  switch (r.kind) {
    case 'uninit':
      return 'uninit';
    case 'scalar': {
      const text = scalarToString(r.s);
      return /^-?\d+$/.test(text) ? text : `scalar${text}`;
    }
    case 'ptr': {
      const parts: string[] = [];
      if (r.ptr === 'stack') return `fp${r.off}${r.frame > 0 ? `[frame${r.frame}]` : ''}${varText(r)}`;
      if (r.off !== 0) parts.push(`off=${r.off}`);
      if (r.ptr === 'mem' || r.ptr === 'map_value' || r.ptr === 'map_value_or_null') parts.push(`size=${r.sizeBytes}`);
      if (r.map >= 0) parts.push(`map=${r.map}`);
      if (r.id !== 0) parts.push(`id=${r.id}`);
      const v = varText(r);
      if (v !== '') parts.push(v.slice(1));
      return `${r.ptr}${r.readOnly ? '_rdonly' : ''}(${parts.join(',')})`;
    }
  }
}

function varText(r: PtrState): string {
  const t = scalarToString(r.varOff);
  return t === '0' ? '' : `,var=${t}`;
}

/** "R0=scalar R1=ctx() R10=fp0" for the registers that are initialised, plus the initialised stack slots. */
export function stateToString(s: VState): string {
  const f = curFrame(s);
  const parts: string[] = [];
  f.regs.forEach((r, i) => {
    if (r.kind !== 'uninit') parts.push(`R${i}=${regToString(r)}`);
  });
  for (let slot = STACK_SLOTS - 1; slot >= 0; slot--) {
    const base = slot * 8;
    const types = f.stackTypes.subarray(base, base + 8);
    if (types.every((t) => t === StackByte.INVALID)) continue;
    const fpOff = base - STACK_FRAME_BYTES;
    const spill = f.spills[slot];
    if (types.every((t) => t === StackByte.SPILL) && spill !== undefined) parts.push(`fp${fpOff}=${regToString(spill)}`);
    else parts.push(`fp${fpOff}=${Array.from(types, (t) => (t === StackByte.MISC ? 'm' : t === StackByte.SPILL ? 'r' : '?')).join('')}`);
  }
  return (s.frames.length > 1 ? `frame${s.frames.length - 1}: ` : '') + parts.join(' ');
}

/**
 * LOWEST_REG[m]: the lowest register in the mask m of r0..r9. Loops over a
 * register mask visit only its registers, `for (let m = mask & REGS_MASK; m !==
 * 0; m &= m - 1) { const r = LOWEST_REG[m]; ... }`, not all ten: in V8's
 * baseline code every operator is a call, and most masks hold few registers.
 */
export const REGS_MASK = 0x3ff;
export const LOWEST_REG: readonly number[] = lowestRegTable();

/** Built by a plain loop from the table's own smaller entries: it runs once per process, at load, in V8's interpreter, where a callback per entry costs ten times as much. */
function lowestRegTable(): number[] {
  const table = [-1];
  for (let m = 1; m <= REGS_MASK; m++) table.push((m & 1) !== 0 ? 0 : (table[m >> 1] ?? 0) + 1);
  return table;
}

// ---- subsumption ------------------------------------------------------------------

/** Consistent renaming of ids between an old and a current state (the kernel's idmap). */
class IdMap {
  /** pairs old, cur (few ids are live at once: a linear scan beats a Map) */
  private readonly pairs: number[] = [];
  /** forget every pair: one map serves every comparison (stateSubsumes never nests) */
  reset(): void {
    this.pairs.length = 0;
  }
  check(oldId: number, curId: number): boolean {
    if (oldId === 0) return true;
    if (curId === 0) return false;
    const pairs = this.pairs;
    for (let k = 0; k < pairs.length; k += 2) {
      if (pairs[k] === oldId) return pairs[k + 1] === curId;
      if (pairs[k + 1] === curId) return false;
    }
    pairs.push(oldId, curId);
    return true;
  }
}

/**
 * Whether every concrete value of `cur` is covered by `old`, which was proven
 * safe (regsafe). `linked`: ids of old's scalars that some continuation relied
 * on (see relyIds); undefined: every scalar's id counts.
 */
function regSafe(old: RegState, cur: RegState, ids: IdMap, exact: boolean, precise: boolean, linked: readonly number[] | undefined): boolean {
  if (old.kind === 'uninit') return exact ? cur.kind === 'uninit' : true;
  if (cur.kind !== old.kind) return false;
  if (old.kind === 'scalar' && cur.kind === 'scalar') {
    // The link of a scalar matters only when it can have bounded a value some
    // continuation relied on: then that value is precise and shares the id.
    if ((exact || precise || linked === undefined || (old.id !== 0 && linked.includes(old.id))) && !ids.check(old.id, cur.id)) return false;
    if (exact) return scalarEqual(old.s, cur.s);
    // A scalar whose value no continuation of old relied on matches any scalar.
    return !precise || scalarWithin(old.s, cur.s);
  }
  if (old.kind === 'ptr' && cur.kind === 'ptr') {
    if (old.ptr !== cur.ptr || old.off !== cur.off || old.sizeBytes !== cur.sizeBytes || old.map !== cur.map) return false;
    if (old.frame !== cur.frame || old.readOnly !== cur.readOnly) return false;
    if (!ids.check(old.id, cur.id)) return false;
    return exact ? scalarEqual(old.varOff, cur.varOff) : scalarWithin(old.varOff, cur.varOff);
  }
  return false;
}

function stackSafe(old: Frame, cur: Frame, ids: IdMap, exact: boolean, precision: Precision | undefined, fi: number, linked: readonly number[] | undefined): boolean {
  const o32 = old.stack32;
  const c32 = cur.stack32;
  // non-null: Hot path: the `!` index a frame's fixed-size stack arrays (slot < STACK_SLOTS,
  // 8 bytes and 2 words a slot).
  // below both low slots, both are untouched: equal, and nothing to compare
  for (let slot = Math.min(old.lowSlot, cur.lowSlot); slot < STACK_SLOTS; slot++) {
    const lo = o32[slot * 2]!;
    const hi = o32[slot * 2 + 1]!;
    if (lo === 0 && hi === 0 && !exact) continue; // untouched in old: anything goes
    const same = lo === c32[slot * 2] && hi === c32[slot * 2 + 1];
    const base = slot * 8;
    if (!same) {
      for (let i = 0; i < 8; i++) {
        const o = old.stackTypes[base + i]!;
        const c = cur.stackTypes[base + i]!;
        if (o === StackByte.INVALID) {
          if (exact && c !== StackByte.INVALID) return false;
          continue;
        }
        if (c === StackByte.INVALID) return false;
        if (o === StackByte.MISC) {
          // old read these bytes as an unknown scalar: cur must not hold a pointer there
          if (c === StackByte.SPILL && cur.spills[slot]?.kind === 'ptr') return false;
          if (exact && c !== o) return false;
          continue;
        }
        if (c !== StackByte.SPILL) return false; // o is SPILL
      }
    }
    if (old.stackTypes[base] === StackByte.SPILL) {
      const os = old.spills[slot];
      const cs = cur.spills[slot];
      if (os === undefined || cs === undefined) return false;
      // the same value (stacks are shared copy-on-write) covers itself unless an id must map
      if (os === cs && (os.kind === 'uninit' || os.id === 0)) continue;
      const precise = precision === undefined || (((precision.slots[2 * fi + (slot >> 5)] ?? 0) >>> (slot & 31)) & 1) === 1;
      if (!regSafe(os, cs, ids, exact, precise, linked)) return false;
    }
  }
  return true;
}

/** Which scalars of a checkpoint some continuation relied on (the kernel's precise marks), per frame. */
export interface Precision {
  /** per frame, a bit per register */
  regs: number[];
  /** per frame, two words of a bit per stack slot: slot k is bit k & 31 of word 2 * frame + (k >> 5) */
  slots: number[];
}

export const slotPrecise = (p: Precision, fi: number, slot: number): boolean => (((p.slots[2 * fi + (slot >> 5)] ?? 0) >>> (slot & 31)) & 1) === 1;

export function emptyPrecision(frames: number): Precision {
  // One frame more than the state has: backtracking over a call needs the
  // callee's entry, and arrays sized up front are not grown (and copied) there.
  // one frame (most checkpoints) as literals: no fill() call per checkpoint
  if (frames === 1) return { regs: [0, 0], slots: [0, 0, 0, 0] };
  return { regs: new Array(frames + 1).fill(0), slots: new Array(2 * frames + 2).fill(0) };
}

/**
 * Registers of frame `fi` that the rest of the program may read, at `pc` in
 * the innermost frame: the static liveness there, or after the call for an
 * outer frame (whose r0..r5 the call overwrites).
 */
export function liveRegsOf(s: VState, fi: number, pc: number, liveIn: Int32Array): number {
  const frames = s.frames;
  // non-null: hot path (per frame per state comparison): pc and a callsite + 1 are slots of
  // the program, which liveIn covers; fi + 1 is a frame when fi is not the last
  const callee = frames[fi + 1];
  return callee === undefined ? liveIn[pc]! : liveIn[callee.callsite + 1]! & ~0x3f;
}

/**
 * Forget the id of a live scalar register that no other live register or
 * spilled slot shares (the kernel's clear_singular_ids): a link with nothing
 * bounds nothing, and a stale id would keep a state from matching a checkpoint
 * whose copy of the value was never linked (or was linked to a now-dead
 * register). Dead registers keep theirs: they are never read again.
 */
export function clearSingularIds(s: VState, pc: number, liveIn: Int32Array): void {
  const frames = s.frames;
  // ids of live scalar registers, with how often they occur (few: a linear scan beats a Map)
  const ids = idScratch;
  ids.length = 0;
  // non-null: Hot path (every checkpoint stored): the `!` index LOWEST_REG by a mask within
  // REGS_MASK, a frame's 11 registers by r <= 9, and ids (pairs) at an odd k found in it.
  for (let fi = 0, f = frames[0]; f !== undefined; f = frames[++fi]) {
    const regs = f.regs;
    // liveRegsOf written out (a call per frame per checkpoint)
    const callee = frames[fi + 1];
    const live = callee === undefined ? liveIn[pc]! : liveIn[callee.callsite + 1]! & ~0x3f;
    for (let m = live & REGS_MASK; m !== 0; m &= m - 1) {
      const v = regs[LOWEST_REG[m]!];
      if (v?.kind !== 'scalar' || v.id === 0) continue;
      let k = 0;
      while (k < ids.length && ids[k] !== v.id) k += 2;
      if (k < ids.length) ids[k + 1]!++;
      else ids.push(v.id, 1);
    }
  }
  let singular = false;
  for (let k = 1; k < ids.length; k += 2) if (ids[k] === 1) singular = true;
  if (!singular) return;
  // a spilled copy is a holder too
  for (let fi = 0, f = frames[0]; f !== undefined; f = frames[++fi]) {
    for (let slot = f.lowSlot; slot < STACK_SLOTS; slot++) {
      const v = f.spills[slot];
      if (v === undefined || v.kind !== 'scalar' || v.id === 0 || f.stackTypes[slot * 8] !== StackByte.SPILL) continue;
      for (let k = 0; k < ids.length; k += 2) if (ids[k] === v.id) ids[k + 1]! += 2;
    }
  }
  for (let fi = 0, f = frames[0]; f !== undefined; f = frames[++fi]) {
    const regs = f.regs;
    // liveRegsOf written out (a call per frame per checkpoint)
    const callee = frames[fi + 1];
    const live = callee === undefined ? liveIn[pc]! : liveIn[callee.callsite + 1]! & ~0x3f;
    for (let m = live & REGS_MASK; m !== 0; m &= m - 1) {
      const r = LOWEST_REG[m]!;
      const v = regs[r];
      if (v?.kind !== 'scalar' || v.id === 0) continue;
      let k = 0;
      while (ids[k] !== v.id) k += 2;
      if (ids[k + 1] === 1) regs[r] = { kind: 'scalar', s: v.s, id: 0 };
    }
  }
}
const idScratch: number[] = [];

/**
 * Whether old, a checkpoint at `pc`, covers cur (exact: equals it on what is
 * live). `precision` says which of old's scalars were relied on; without it,
 * every scalar is compared by range.
 */
/**
 * A cheap necessary condition, tried first: a live register that old holds as a
 * constant it relied on (a loop counter, typically) must be the same constant
 * in cur. It rejects most non-matching checkpoints without comparing ranges.
 */
function constantsAgree(old: VState, cur: VState, pc: number, liveIn: Int32Array, exact: boolean, precision: Precision | undefined): boolean {
  const top = old.frames.length - 1;
  const oldTop = old.frames[top];
  const curTop = cur.frames[top];
  if (oldTop === undefined || curTop === undefined) return false;
  const o = oldTop.regs;
  const c = curTop.regs;
  // non-null: Hot path (first test of every comparison): the `!` index liveIn at a slot of
  // the program, precision at a frame it covers, LOWEST_REG by a mask within
  // REGS_MASK and a frame's 11 registers by r <= 9.
  const live = liveIn[pc]!;
  const precise = exact || precision === undefined ? 0x3ff : precision.regs[top]!;
  for (let m = live & precise & REGS_MASK; m !== 0; m &= m - 1) {
    const r = LOWEST_REG[m]!;
    const a = o[r];
    if (a === undefined || a.kind !== 'scalar') continue;
    const at = a.s.b64.t;
    if (at.mask !== 0n) continue;
    const b = c[r];
    if (b === a) continue;
    if (b === undefined || b.kind !== 'scalar') return false;
    const bt = b.s.b64.t;
    if (bt.mask !== 0n || bt.value !== at.value) return false;
  }
  return true;
}

/**
 * The ids of old's precise scalars (live registers and spilled slots): a
 * scalar linked to one of them may have bounded it through a branch on the
 * copy, so its link must hold in a covered state too; the id of a scalar
 * linked to no precise one bounded nothing relied on (as in Linux, whose
 * backtracking marks the copies a branch refined precise together).
 */
export function relyIds(old: VState, pc: number, liveIn: Int32Array, precision: Precision): number[] {
  const out: number[] = [];
  const frames = old.frames;
  // non-null: hot path: the `!` index LOWEST_REG by a mask within REGS_MASK and a frame's 11 registers
  for (let fi = 0, f = frames[0]; f !== undefined; f = frames[++fi]) {
    const regs = f.regs;
    for (let m = liveRegsOf(old, fi, pc, liveIn) & (precision.regs[fi] ?? 0) & REGS_MASK; m !== 0; m &= m - 1) {
      const v = regs[LOWEST_REG[m]!];
      if (v?.kind === 'scalar' && v.id !== 0) out.push(v.id);
    }
    if ((precision.slots[2 * fi] ?? 0) === 0 && (precision.slots[2 * fi + 1] ?? 0) === 0) continue;
    for (let slot = f.lowSlot; slot < STACK_SLOTS; slot++) {
      if (!slotPrecise(precision, fi, slot) || f.stackTypes[slot * 8] !== StackByte.SPILL) continue;
      const v = f.spills[slot];
      if (v !== undefined && v.kind === 'scalar' && v.id !== 0) out.push(v.id);
    }
  }
  return out;
}

const idMapScratch = new IdMap();

/**
 * What comparing a state with a finished checkpoint needs of the checkpoint
 * alone, computed once: its precision no longer changes once it is finished.
 */
export interface CoverPlan {
  /** relyIds of the checkpoint */
  readonly linked: readonly number[];
  /**
   * (frame, slot) pairs of its spilled scalars that some continuation relied
   * on. They are compared first: a state covered by the checkpoint holds
   * each within its range (what the full comparison checks too), and in
   * loops that spill their bounds they are what tells most checkpoints apart.
   */
  readonly preciseSpills: readonly number[];
}

export function coverPlan(old: VState, pc: number, liveIn: Int32Array, precision: Precision): CoverPlan {
  const preciseSpills: number[] = [];
  const frames = old.frames;
  for (let fi = 0, f = frames[0]; f !== undefined; f = frames[++fi]) {
    if ((precision.slots[2 * fi] ?? 0) === 0 && (precision.slots[2 * fi + 1] ?? 0) === 0) continue;
    for (let slot = f.lowSlot; slot < STACK_SLOTS; slot++) {
      if (!slotPrecise(precision, fi, slot) || f.stackTypes[slot * 8] !== StackByte.SPILL) continue;
      if (f.spills[slot]?.kind === 'scalar') preciseSpills.push(fi, slot);
    }
  }
  return { linked: relyIds(old, pc, liveIn, precision), preciseSpills };
}

/**
 * A necessary condition of stateSubsumes(old, cur, ..., not exact, with
 * old's precision): cur has old's frame count and holds every precise
 * spilled scalar of old (`spills`, from its cover plan) within its range.
 * explore.ts tries it before the full comparison.
 */
export function preciseSpillsWithin(old: VState, cur: VState, spills: readonly number[]): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  // non-null: hot path (every comparison with a finished checkpoint): the pairs name
  // frames of old, whose frame count cur shares (checked first)
  for (let k = 0; k < spills.length; k += 2) {
    const fi = spills[k]!;
    const slot = spills[k + 1]!;
    const os = old.frames[fi]!.spills[slot];
    const cf = cur.frames[fi]!;
    const cs = cf.spills[slot];
    if (os === cs || os === undefined || os.kind !== 'scalar') continue;
    if (cs === undefined || cs.kind !== 'scalar' || cf.stackTypes[slot * 8] !== StackByte.SPILL) return false;
    // the 64-bit ranges first, in place: they differ in most misses
    const ob = os.s.b64;
    const cb = cs.s.b64;
    if (ob.umin > cb.umin || ob.umax < cb.umax || ob.smin > cb.smin || ob.smax < cb.smax) return false;
    if (!scalarWithin(os.s, cs.s)) return false;
  }
  return true;
}

/**
 * `plan`: coverPlan(old, pc, liveIn, precision), when the caller keeps it
 * (a finished checkpoint's is computed once, not at every comparison); the
 * caller has then found preciseSpillsWithin(old, cur, plan.preciseSpills).
 * `constantsChecked`: the caller found old among the checkpoints keyed by
 * the constants constantsAgree compares (explore.ts's buckets), so they
 * agree already and the test is skipped.
 */
export function stateSubsumes(old: VState, cur: VState, pc: number, liveIn: Int32Array, exact = false, precision?: Precision, plan?: CoverPlan, constantsChecked = false): boolean {
  if (old.frames.length !== cur.frames.length) return false;
  if (!constantsChecked && !constantsAgree(old, cur, pc, liveIn, exact, precision)) return false;
  let linked: readonly number[] | undefined;
  if (!exact && precision !== undefined) {
    if (plan !== undefined) {
      // the caller has tried preciseSpillsWithin (a cover plan comes with it)
      linked = plan.linked;
    } else {
      linked = relyIds(old, pc, liveIn, precision);
    }
  }
  const ids = idMapScratch;
  ids.reset();
  // non-null: Hot path (every checkpoint tried): the `!` index precision at a frame it
  // covers, LOWEST_REG by a mask within REGS_MASK and a frame's 11 registers.
  for (let fi = 0, o = old.frames[0], c = cur.frames[0]; o !== undefined && c !== undefined; o = old.frames[++fi], c = cur.frames[fi]) {
    if (o.callsite !== c.callsite) return false;
    const preciseRegs = precision === undefined ? REGS_MASK : precision.regs[fi]!;
    const oRegs = o.regs;
    const cRegs = c.regs;
    const callee = cur.frames[fi + 1];
    const live = callee === undefined ? liveIn[pc]! : liveIn[callee.callsite + 1]! & ~0x3f;
    for (let m = live & REGS_MASK; m !== 0; m &= m - 1) {
      const r = LOWEST_REG[m]!;
      const or = oRegs[r]!;
      const cr = cRegs[r]!;
      // the same value (states share register values) covers itself unless an id must map
      if (or === cr && (or.kind === 'uninit' || or.id === 0)) continue;
      if (!regSafe(or, cr, ids, exact, (preciseRegs & (1 << r)) !== 0, linked)) return false;
    }
    if (!stackSafe(o, c, ids, exact, precision, fi, linked)) return false;
  }
  return true;
}
