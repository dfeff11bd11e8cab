// Exploration and pruning: the path-sensitive walk from the entry, one
// instruction at a time (run() dispatches on the class), checkpoints at prune
// points and the state comparison that prunes a covered path (the kernel's
// do_check and is_state_visited).
//
// visit() and the constant keys run at every prune point in V8's interpreter
// tier: where they keep non-null assertions (`!`), a comment says which array
// of known size they index.

import { InsnClass, Mode, insnClass, insnMode, sizeBytes as sizeOfCode, type Insn } from '../isa.ts';
import { constValue, isConst, type Scalar } from './bounds.ts';
import { buildCfg, type Cfg } from './cfg.ts';
import { cloneState, curFrame, emptyPrecision, stateSubsumes, clearSingularIds, coverPlan, preciseSpillsWithin, LOWEST_REG, REGS_MASK, type VState } from './state.ts';
import { alu, ldImm64 } from './alu.ts';
import { tooComplexReason, VERIFY_INSN_BUDGET_DEFAULT } from './budget.ts';
import { type Checkpoint, type CheckpointBuckets, HISTORY_DEPTH_UNIT, HISTORY_SLOT_BIAS, PROCESSED_INSNS_MAX, type Path, Reject, TRAIL_RING_MASK, type VerifierContext } from './context.ts';
import { jump } from './jumps.ts';
import { VerifierInvariantError } from './log.ts';
import { access, atomic } from './memory.ts';
import { propagate, scratchPrecision } from './precision.ts';

/** Checkpoints kept per instruction; beyond it no new ones are added there (fewer prunes, never unsound). */
const STATES_PER_INSN_MAX = 256;

const CHECKPOINT_INSNS_MIN = 8;

/** Access width in bytes by the size field (code >> 3 & 3: W, H, B, DW), as isa.ts's sizeBytes, without a call per load. */
const LOAD_SIZE_BYTES: readonly number[] = [4, 2, 1, 8];

const CHECKPOINT_JUMPS_MIN = 2;

/**
 * A prune point that starts this many instructions without a jump is always
 * checkpointed: paths meeting there after a few instructions each would
 * otherwise all run the long block (a struct copy, say) before the next
 * checkpoint could cut them.
 */
const CHECKPOINT_RUN_MIN = 16;

function bucketOf(b: CheckpointBuckets, mask: number, key: string): Checkpoint[] {
  let m = b.masks.indexOf(mask);
  if (m < 0) {
    m = b.masks.length;
    b.masks.push(mask);
    b.byKey.push(new Map());
  }
  const byKey = b.byKey[m];
  if (byKey === undefined) throw new VerifierInvariantError('checkpoint masks and buckets out of step');
  let bucket = byKey.get(key);
  if (bucket === undefined) {
    bucket = [];
    byKey.set(key, bucket);
  }
  return bucket;
}

/** For each instruction, the length of the jump-free run starting there, up to the next prune point (capped at 255). */
function straightRuns(insns: readonly Insn[], prunePoints: readonly boolean[]): Uint8Array {
  const n = insns.length;
  const run = new Uint8Array(n);
  for (let pc = n - 1; pc >= 0; pc--) {
    const i = insns[pc];
    if (i === undefined) throw new VerifierInvariantError(`no instruction at ${pc}`);
    const cls = insnClass(i.code);
    if (cls === InsnClass.JMP || cls === InsnClass.JMP32) continue;
    const next = pc + 1 < n && !prunePoints[pc + 1] ? (run[pc + 1] ?? 0) : 0;
    run[pc] = Math.min(255, 1 + next);
  }
  return run;
}

/**
 * Which of the `candidates` registers of the innermost frame st holds as
 * constants. For the live registers of an active checkpoint, an equal state
 * has the same constants; for those a finished one relied on (precise), so
 * does a state it covers.
 */
function constMask(st: VState, candidates: number): number {
  const top = st.frames[st.frames.length - 1];
  if (top === undefined) throw new VerifierInvariantError('a state without frames');
  const regs = top.regs;
  let mask = 0;
  // non-null: hot path (every prune point): LOWEST_REG by a mask within REGS_MASK, regs by r <= 9
  for (let m = candidates & REGS_MASK; m !== 0; m &= m - 1) {
    const r = LOWEST_REG[m]!;
    const v = regs[r];
    if (v?.kind === 'scalar' && isConst(v.s)) mask |= 1 << r;
  }
  return mask;
}

/** Key text of constant scalars (shared objects: scalarConst caches them), to spare a BigInt-to-string per lookup. */
const constKeyMemo = new WeakMap<Scalar, string>();

/** The constants of the innermost frame's registers in `mask`, as a key; undefined if one is not a constant. */
function constKey(st: VState, mask: number): string | undefined {
  if (mask === 0) return '';
  const top = st.frames[st.frames.length - 1];
  if (top === undefined) throw new VerifierInvariantError('a state without frames');
  const regs = top.regs;
  let key = '';
  // non-null: hot path (every prune point): LOWEST_REG by a mask within REGS_MASK, regs by r <= 9
  for (let m = mask & REGS_MASK; m !== 0; m &= m - 1) {
    const v = regs[LOWEST_REG[m]!];
    if (v?.kind !== 'scalar' || !isConst(v.s)) return undefined;
    let k = constKeyMemo.get(v.s);
    if (k === undefined) {
      k = `${constValue(v.s)},`;
      constKeyMemo.set(v.s, k);
    }
    key += k;
  }
  return key;
}

export function run(v: VerifierContext): Cfg {
  const built = buildCfg(v.insns);
  if (!built.ok) throw new Reject(built.pc, built.message);
  const cfg = built.cfg;
  const limit = Math.min(v.options.insnLimit ?? VERIFY_INSN_BUDGET_DEFAULT, PROCESSED_INSNS_MAX);
  v.cfg = cfg;
  v.active = new Array(cfg.insnCount);
  v.done = new Array(cfg.insnCount);
  v.storedAt = new Int32Array(cfg.insnCount);
  v.runAhead = straightRuns(v.insns, cfg.prunePoints);
  const insns = v.insns;
  const prunePoints = cfg.prunePoints;
  const trail = v.trail;
  const pending: Path[] = [{ pc: 0, state: v.initialState(), parent: null, from: -1, history: [], jumps: 0 }];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (path.from >= 0) {
      trail[v.trailNext++ & TRAIL_RING_MASK] = -1 - path.from;
      trail[v.trailNext++ & TRAIL_RING_MASK] = -1 - path.pc;
    }
    // A path's state is one object, changed in place, for the whole path.
    const st = path.state;
    v.current = st;
    v.path = path;
    // Per processed instruction the loop below is the verifier's innermost
    // code, run in V8's interpreter and baseline tiers, where every call costs
    // a frame: the dispatch on the class is written out here, and the decoding
    // helpers (insnClass, curFrame, the trail's ring write) are inlined as plain expressions.
    for (;;) {
      const pc = path.pc;
      v.currentPc = pc;
      if (prunePoints[pc] === true) {
        if (visit(v, path, cfg)) {
          v.pruned++;
          finish(v, path.parent);
          break;
        }
      }
      if (++v.processed > limit) {
        throw new Reject(pc, tooComplexReason('insns', v.processed - 1, limit), { kind: 'insns', limit });
      }
      trail[v.trailNext++ & TRAIL_RING_MASK] = pc;
      v.lastSlot = -1;
      const insn = insns[pc];
      if (insn === undefined) throw new VerifierInvariantError(`path at insn ${pc}, outside the program`);
      const frames = st.frames;
      const depth = frames.length;
      // non-null: a state always has a frame (the entry's is never popped); LOAD_SIZE_BYTES has 4 entries
      const f = frames[depth - 1]!;
      const code = insn.code;
      const cls = code & 0x07;
      let forked: Path | 'exit' | undefined;
      if (cls === InsnClass.ALU64 || cls === InsnClass.ALU) {
        alu(v, pc, insn, f, cls === InsnClass.ALU64 ? 64 : 32);
        path.pc = pc + 1;
      } else if (cls === InsnClass.LDX) {
        const base = f.regs[insn.src];
        if (base === undefined || base.kind === 'uninit') throw new Reject(pc, `R${insn.src} !read_ok`);
        f.regs[insn.dst] = access(v, pc, st, insn.src, base, insn.off, LOAD_SIZE_BYTES[(code >> 3) & 3]!, 'read', undefined, (code & 0xe0) === Mode.MEMSX);
        path.pc = pc + 1;
      } else if (cls === InsnClass.JMP || cls === InsnClass.JMP32) {
        forked = jump(v, path, insn);
      } else {
        // LD (lddw), ST or STX: the three classes left of the eight
        loadWideOrStore(v, path, pc, insn, cls);
      }
      path.history.push(pc, depth * HISTORY_DEPTH_UNIT + v.lastSlot + HISTORY_SLOT_BIAS);
      if (forked === undefined) {
        const next = path.pc;
        if (next !== pc + 1 || prunePoints[next] === true) path.jumps++;
        continue;
      }
      if (prunePoints[path.pc] === true || path.pc !== pc + 1) path.jumps++;
      if (forked === 'exit') {
        finish(v, path.parent);
        break;
      }
      forked.history = path.history.slice();
      if (path.parent !== null) path.parent.branches++;
      pending.push(forked);
      if (pending.length > v.peakPending) v.peakPending = pending.length;
    }
  }
  v.current = undefined;
  return cfg;
}

/** At a prune point: prune (true) if a finished checkpoint covers the state, else checkpoint it. */
export function visit(v: VerifierContext, path: Path, cfg: Cfg): boolean {
  const pc = path.pc;
  const cur = path.state;
  // Like Linux, checkpoint only after at least 8 instructions and 2 jumps since
  // the last one on this path: far fewer states to store and compare. But the
  // first state to reach a prune point is always kept: the paths that meet
  // there later (the exits of a loop, each a jump after the previous
  // checkpoint) can then stop at it instead of each running the rest.
  // non-null: Hot path (every prune point): the `!` index the per-instruction tables
  // (runAhead, storedAt, liveIn: insnCount long) at a pc of the program.
  const addNew = (path.history.length >= 2 * CHECKPOINT_INSNS_MIN && path.jumps >= CHECKPOINT_JUMPS_MIN) || v.runAhead[pc]! >= CHECKPOINT_RUN_MIN || v.storedAt[pc] === 0;
  const active = v.active[pc];
  // nothing to compare against and nothing to store: nothing to do
  if (!addNew && active === undefined && v.done[pc] === undefined) return false;
  clearSingularIds(cur, pc, cfg.liveIn);
  if (active !== undefined) {
    for (let m = 0, mask = active.masks[0]; mask !== undefined; mask = active.masks[++m]) {
      // An equal state has the same constants.
      const key = mask === 0 ? '' : constKey(cur, mask);
      if (key === undefined) continue;
      const bucket = active.byKey[m]?.get(key);
      if (bucket === undefined) continue;
      for (let k = 0, cp = bucket[0]; cp !== undefined; cp = bucket[++k]) {
        // the bucket's key holds the live constants of cp: constantsAgree's test
        if (stateSubsumes(cp.state, cur, pc, cfg.liveIn, true, undefined, undefined, true)) throw new Reject(pc, `infinite loop detected at insn ${pc}`);
      }
    }
  }
  const done = v.done[pc];
  if (done !== undefined) {
    for (let m = 0, mask = done.masks[0]; mask !== undefined; mask = done.masks[++m]) {
      // Only checkpoints that agree with cur on their relied-on constants can cover it.
      const key = mask === 0 ? '' : constKey(cur, mask);
      if (key === undefined) continue;
      const bucket = done.byKey[m]?.get(key);
      if (bucket === undefined) continue;
      // after a splice, k-- and ++k read the checkpoint that moved into slot k
      for (let k = 0, cp = bucket[0]; cp !== undefined; cp = bucket[++k]) {
        let plan = cp.plan;
        if (plan === null) {
          plan = coverPlan(cp.state, pc, cfg.liveIn, cp.precise);
          cp.plan = plan;
        }
        // the bucket's key holds the precise live constants of cp: constantsAgree's test;
        // the precise spilled scalars first, as a necessary condition
        if (preciseSpillsWithin(cp.state, cur, plan.preciseSpills) && stateSubsumes(cp.state, cur, pc, cfg.liveIn, false, cp.precise, plan, true)) {
          // cur is safe for the reasons cp was: what cp relied on, cur's ancestors rely on.
          cp.hits++;
          propagate(v, path, scratchPrecision(v, cp.precise.regs.length - 1, cp.precise));
          return true;
        }
        // Like Linux, forget finished states that keep missing: they cost compares
        // and rarely prune. Also like Linux, a miss counts only where a new state
        // is about to be added: otherwise the iterations of one loop would evict
        // the states its earlier iterations recorded (is_state_visited's miss_cnt).
        // A checkpoint of another iteration (a counter it relied on differs) is
        // in another bucket: not a miss either.
        if (addNew) cp.misses++;
        if (cp.misses > cp.hits * 3 + 3) {
          bucket.splice(k, 1);
          k--;
          v.storedAt[pc]! -= 1;
        }
      }
    }
  }
  if (!addNew) return false;
  path.jumps = 0;
  // Beyond the per-instruction cap the checkpoint is kept only in the path's
  // chain (it bounds the history that precision marks walk back through) and
  // is never compared against.
  const stored = v.storedAt[pc]! < STATES_PER_INSN_MAX;
  const cp: Checkpoint = {
    pc,
    stored,
    state: stored ? cloneState(cur) : cur,
    branches: 1,
    parent: path.parent,
    history: path.history,
    precise: emptyPrecision(cur.frames.length),
    hits: 0,
    misses: 0,
    activeBucket: null,
    plan: null,
  };
  if (stored) {
    let active = v.active[pc];
    if (active === undefined) {
      active = { masks: [], byKey: [] };
      v.active[pc] = active;
    }
    const mask = constMask(cp.state, cfg.liveIn[pc]!);
    const key = constKey(cp.state, mask);
    if (key === undefined) throw new VerifierInvariantError(`checkpoint at insn ${pc}: a register of its constant mask is not constant`);
    const bucket = bucketOf(active, mask, key);
    bucket.push(cp);
    cp.activeBucket = bucket;
    v.storedAt[pc]! += 1;
    if (++v.statesStored > v.stateLimit) {
      throw new Reject(pc, tooComplexReason('states', v.statesStored - 1, v.stateLimit), { kind: 'states', limit: v.stateLimit });
    }
  }
  path.parent = cp;
  path.history = [];
  return false;
}

/** A path below cp ended (exit or pruned): cp and the ancestors it completes become usable for pruning. */
export function finish(v: VerifierContext, cp: Checkpoint | null): void {
  while (cp !== null) {
    cp.branches--;
    if (cp.branches > 0) return;
    if (cp.stored) retire(v, cp);
    cp = cp.parent;
  }
}

/** Move a finished checkpoint from the active list to the bucket of its relied-on constants. */
export function retire(v: VerifierContext, cp: Checkpoint): void {
  const pc = cp.pc;
  const live = v.cfg?.liveIn[pc];
  const activeBucket = cp.activeBucket;
  if (live === undefined || activeBucket === null) throw new VerifierInvariantError(`retiring a checkpoint at insn ${pc} that is not active`);
  // the most recent checkpoint of a bucket is the one usually finished first
  const at = activeBucket.lastIndexOf(cp);
  if (at < 0) throw new VerifierInvariantError(`retiring a checkpoint at insn ${pc} that is not in its bucket`);
  activeBucket.splice(at, 1);
  cp.activeBucket = null;
  let done = v.done[pc];
  if (done === undefined) {
    done = { masks: [], byKey: [] };
    v.done[pc] = done;
  }
  const mask = constMask(cp.state, live & (cp.precise.regs[cp.state.frames.length - 1] ?? 0));
  const key = constKey(cp.state, mask);
  if (key === undefined) throw new VerifierInvariantError(`checkpoint at insn ${pc}: a register of its constant mask is not constant`);
  bucketOf(done, mask, key).push(cp);
}

/**
 * The instructions the explore loop in run() does not dispatch itself: lddw
 * (class LD) and the stores (ST, STX). None of them forks or ends a path.
 */
function loadWideOrStore(v: VerifierContext, path: Path, pc: number, insn: Insn, cls: number): void {
  const st = path.state;
  if (cls === InsnClass.LD) {
    ldImm64(v, pc, insn, curFrame(st));
    path.pc = pc + 2;
    return;
  }
  const f = curFrame(st);
  const base = v.read(pc, f, insn.dst);
  const size = sizeOfCode(insn.code);
  if (cls === InsnClass.STX && insnMode(insn.code) === Mode.ATOMIC) {
    atomic(v, pc, st, insn, base, size);
  } else {
    const value = cls === InsnClass.ST ? v.immReg(pc, insn.imm, 64) : v.read(pc, f, insn.src);
    access(v, pc, st, insn.dst, base, insn.off, size, 'write', { reg: value, regno: cls === InsnClass.ST ? -1 : insn.src }, false);
  }
  path.pc = pc + 1;
}
