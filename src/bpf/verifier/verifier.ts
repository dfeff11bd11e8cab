// The verifier: a path-sensitive abstract interpreter over an eBPF program, in
// the spirit of Linux's kernel/bpf/verifier.c (do_check, is_state_visited,
// check_mem_access, check_helper_call, adjust_*_min_max_vals).
//
// Every path from the entry is followed with registers and stack typed
// (state.ts) and scalars bounded (bounds.ts). At prune points (jump targets,
// after conditional jumps and calls) the state is checkpointed; a path whose
// state is covered by a checkpoint whose every continuation has been proven
// safe stops there. Checkpoints still being explored are never used to prune
// (that would accept infinite loops); a state *equal* to one of them is an
// infinite loop. Bounded loops are thus unrolled until they exit, within the
// limit of 1,000,000 processed instructions.
//
// Deviations from Linux, all on the conservative side unless stated:
// - precision tracking (mark_chain_precision) is per checkpoint and conservative:
//   a scalar some continuation relied on is compared by range, others match any scalar;
// - register liveness is computed statically from the CFG (the kernel tracks it on the fly);
// - variable-offset stack accesses are rejected (privileged Linux allows reads);
// - pointers may not be stored into memory other than the stack (Linux lets
//   privileged programs store them into maps);
// - division by a zero immediate is accepted (eBPF defines x/0 = 0, x%0 = x);
// - 512 bytes of stack per frame, not 512 in total across frames.

import { performance } from 'node:perf_hooks';
import {
  AluOp,
  CALL_DEPTH_MAX,
  CallSrc,
  FRAME_POINTER,
  InsnClass,
  JmpOp,
  LdImm64Src,
  Mode,
  STACK_FRAME_BYTES,
  insnClass,
  insnMode,
  insnOp,
  ldImm64Value,
  sizeBytes as sizeOfCode,
  type Insn,
  type Program,
} from '../isa.ts';
import type { MapSpec } from '../elf.ts';
import { MapType } from '../elf.ts';
import {
  ALU_INDEX,
  aluBounds,
  boundsConst,
  condHolds,
  evalAlu,
  constValue,
  fromBounds64,
  isConst,
  loadedScalar,
  normalize,
  refineBounds,
  resetScalarMemo,
  scalarAlu,
  scalarConst,
  scalarEqual,
  scalarToString,
  scalarUnknown,
  signExtendBounds,
  truncateScalar,
  view,
  zeroExtend,
  type AluKind,
  type CondKind,
  type Scalar,
} from './bounds.ts';
import { tooComplexReason, VERIFY_INSN_BUDGET_DEFAULT, VERIFY_STATE_BUDGET_DEFAULT, VerifierTooComplexError, type VerifierBudgetKind } from './budget.ts';
import { buildCfg, type Cfg } from './cfg.ts';
import { VerifierError, insnText, rejectionLog } from './log.ts';
import {
  STACK_SLOTS,
  StackByte,
  UNINIT,
  cloneState,
  ownStack,
  curFrame,
  newFrame,
  emptyPrecision,
  stateSubsumes,
  clearSingularIds,
  LOWEST_REG,
  REGS_MASK,
  stateToString,
  type Precision,
  type Frame,
  type PtrState,
  type RegState,
  type VState,
} from './state.ts';
import { findCtxField, helperName, helpersFor, type HelperProto, type ProgramType } from './types.ts';

/** The kernel's limit on processed instructions (BPF_COMPLEXITY_LIMIT_INSNS). */
export const PROCESSED_INSNS_MAX = 1_000_000;
/** Checkpoints kept per instruction; beyond it no new ones are added there (fewer prunes, never unsound). */
const STATES_PER_INSN_MAX = 256;
/** Largest offset a pointer may carry (the kernel's BPF_MAX_VAR_OFF). */
const MAX_VAR_OFF = 1 << 29;
const MAX_VAR_OFF_BIG = BigInt(MAX_VAR_OFF);
const TRAIL_LINES = 24;
const CHECKPOINT_INSNS_MIN = 8;
const CHECKPOINT_JUMPS_MIN = 2;
/**
 * A prune point that starts this many instructions without a jump is always
 * checkpointed: paths meeting there after a few instructions each would
 * otherwise all run the long block (a struct copy, say) before the next
 * checkpoint could cut them.
 */
const CHECKPOINT_RUN_MIN = 16;

export interface VerifyOptions {
  type: ProgramType;
  /** map specs of the object (src/bpf/elf.ts), indexed by the imm of MAP_BY_IDX / MAP_VAL_BY_IDX loads */
  maps?: readonly MapSpec[];
  /** map index of each fd used by MAP_BY_FD / MAP_VAL_BY_FD loads (default: the fd is the index) */
  mapFds?: ReadonlyMap<number, number>;
  /** extra helper prototypes (replace standard ones with the same id) */
  helpers?: readonly HelperProto[];
  /** `mem` programs: the size of r1's buffer, which r2 holds (default 4096) */
  memSizeBytes?: number;
  /** processed-instruction budget (default VERIFY_INSN_BUDGET_DEFAULT; at most the kernel's 1,000,000) */
  insnLimit?: number;
  /** stored-checkpoint budget (default VERIFY_STATE_BUDGET_DEFAULT) */
  stateLimit?: number;
}

export interface VerifierStats {
  processedInsns: number;
  /** checkpoints stored */
  states: number;
  /** paths cut because a checkpoint covered them */
  prunedPaths: number;
  /** largest number of pending paths */
  peakPendingPaths: number;
  timeMs: number;
}

export type VerifierResult =
  | { ok: true; stats: VerifierStats; cfg: Cfg; log: string[] }
  | { ok: false; error: VerifierError; stats: VerifierStats; log: string[] };

class Reject {
  constructor(
    readonly pc: number,
    readonly reason: string,
    /** set when a budget ran out (src/bpf/verifier/budget.ts) */
    readonly budget: { kind: VerifierBudgetKind; limit: number } | null = null,
  ) {}
}

/** A checkpoint: a state at a prune point and how many paths below it are still pending. */
interface Checkpoint {
  readonly pc: number;
  /** compared against (false beyond the per-instruction cap) */
  readonly stored: boolean;
  readonly state: VState;
  branches: number;
  readonly parent: Checkpoint | null;
  /** instructions from the parent checkpoint to this one: (pc, historyCode(frames before, stack slot code)) pairs */
  readonly history: number[];
  /** the scalars some continuation relied on; complete once branches reaches 0 */
  readonly precise: Precision;
  hits: number;
  misses: number;
}

/**
 * Checkpoints of one instruction, per mask of registers (of the innermost
 * frame) that they hold as constants, by those constants: a state can only
 * match the checkpoints whose constants it has (see constKey).
 */
interface CheckpointBuckets {
  masks: number[];
  byKey: Map<string, Checkpoint[]>[];
}

function bucketOf(b: CheckpointBuckets, mask: number, key: string): Checkpoint[] {
  let m = b.masks.indexOf(mask);
  if (m < 0) {
    m = b.masks.length;
    b.masks.push(mask);
    b.byKey.push(new Map());
  }
  const byKey = b.byKey[m]!;
  let bucket = byKey.get(key);
  if (bucket === undefined) {
    bucket = [];
    byKey.set(key, bucket);
  }
  return bucket;
}

interface Path {
  pc: number;
  state: VState;
  parent: Checkpoint | null;
  /** the branch it came from, for the log */
  from: number;
  /** instructions since the parent checkpoint, as in Checkpoint.history */
  history: number[];
  /** jumps since the last checkpoint */
  jumps: number;
}

const ALU_KINDS: Partial<Record<number, AluKind>> = {
  [AluOp.ADD]: 'add',
  [AluOp.SUB]: 'sub',
  [AluOp.MUL]: 'mul',
  [AluOp.DIV]: 'div',
  [AluOp.MOD]: 'mod',
  [AluOp.OR]: 'or',
  [AluOp.AND]: 'and',
  [AluOp.LSH]: 'lsh',
  [AluOp.RSH]: 'rsh',
  [AluOp.ARSH]: 'arsh',
  [AluOp.XOR]: 'xor',
};
const ALU_SYMBOL: Partial<Record<number, string>> = {
  [AluOp.MUL]: '*=',
  [AluOp.DIV]: '/=',
  [AluOp.MOD]: '%=',
  [AluOp.OR]: '|=',
  [AluOp.AND]: '&=',
  [AluOp.LSH]: '<<=',
  [AluOp.RSH]: '>>=',
  [AluOp.ARSH]: 's>>=',
  [AluOp.XOR]: '^=',
};
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

const scalarReg = (s: Scalar, id = 0): RegState => ({ kind: 'scalar', s, id });
type ScalarState = Extract<RegState, { kind: 'scalar' }>;
const ZERO_OFF = scalarConst(0n);
const UNKNOWN_SCALAR = scalarUnknown();
/** History mark: the instruction's result does not depend on its dst's range. */
const DST_INDEPENDENT = -2;
/**
 * A history entry is two numbers: the pc, and the frame count and stack slot
 * code (-2..8 * 64 - 1) packed as depth * 1024 + slot code + 2 (a small
 * integer: a third number per processed instruction was a third more memory).
 */
const HISTORY_DEPTH_UNIT = 1024;
const HISTORY_SLOT_BIAS = 2;

/** An ALU immediate as the scalar it stands for: sign-extended for 64-bit operations, zero-extended for 32-bit ones. */
function immScalar(imm: number, bits: 32 | 64): Scalar {
  return bits === 64 ? scalarConst(BigInt(imm)) : scalarConst(BigInt(imm >>> 0));
}

/** `unknown op imm`: the result of an operation by a constant whatever dst was (cached: programs repeat their masks). */
/** by imm, then by (operation, width): no key string built per lookup */
const blindCache = new Map<number, (Scalar | undefined)[]>();

function blindResult(kind: AluKind, bits: 32 | 64, imm: number, src: Scalar): Scalar {
  let row = blindCache.get(imm);
  if (row === undefined) {
    if (blindCache.size > 1024) blindCache.clear();
    row = [];
    blindCache.set(imm, row);
  }
  const k = ALU_INDEX[kind] * 2 + (bits === 64 ? 1 : 0);
  let r = row[k];
  if (r === undefined) {
    r = bits === 64 ? fromBounds64(aluBounds(kind, UNKNOWN_SCALAR.b64, src.b64, 64)) : zeroExtend(aluBounds(kind, UNKNOWN_SCALAR.b32, src.b32, 32));
    row[k] = r;
  }
  return r;
}

function typeName(r: RegState): string {
  if (r.kind === 'ptr') return r.ptr === 'stack' ? 'fp' : r.ptr;
  return r.kind === 'scalar' ? 'scalar' : 'uninit';
}

/** Verify `program` as a program of `options.type`. Never throws: every problem is a rejection. */
export function verify(program: Program, options: VerifyOptions): VerifierResult {
  const started = performance.now();
  resetScalarMemo();
  const v = new Verifier(program, options);
  try {
    const cfg = v.run();
    return { ok: true, stats: v.stats(started), cfg, log: v.acceptLog() };
  } catch (e) {
    const reject = e instanceof Reject ? e : new Reject(v.currentPc, `internal verifier error: ${(e as Error)?.message ?? String(e)}`);
    const error = reject.budget !== null
      ? new VerifierTooComplexError(program, reject.pc, reject.reason, v.currentStateText(), reject.budget.kind, reject.budget.limit)
      : new VerifierError(program.name, reject.pc, insnText(program.insns, reject.pc), reject.reason, v.currentStateText());
    return { ok: false, error, stats: v.stats(started), log: rejectionLog(error, v.processed, v.trailLines()) };
  }
}

class Verifier {
  private readonly insns: readonly Insn[];
  private readonly helpers: Map<number, HelperProto>;
  private readonly maps: readonly MapSpec[];
  processed = 0;
  private statesStored = 0;
  private readonly stateLimit: number;
  private pruned = 0;
  private peakPending = 0;
  private nextId = 1;
  currentPc = 0;
  private current: VState | undefined;
  private path: Path | undefined;
  /** stack slot (frame * 64 + slot) of a spill or fill by the current instruction, -1 if none */
  private lastSlot = -1;
  private readonly trail: number[] = new Array<number>(TRAIL_LINES).fill(0);
  private trailNext = 0;
  private cfg: Cfg | undefined;
  /** per instruction: checkpoints still being explored (only compared for equality: an infinite loop), by their live constants */
  private active: (CheckpointBuckets | undefined)[] = [];
  /** per instruction: finished checkpoints, by their relied-on live constants */
  private done: (CheckpointBuckets | undefined)[] = [];
  /** per instruction: checkpoints kept for comparison */
  private storedAt = new Int32Array(0);
  /** per instruction, how many instructions from it run without a jump or a prune point (capped) */
  private runAhead: Uint8Array = new Uint8Array(0);
  private immRegs: (RegState | undefined)[] = [];
  /** reusable Precision objects by frame count (scratchPrecision) */
  private readonly scratch: (Precision | undefined)[] = [];
  /** refine() results by operand identity (see scalarAlu); null: that outcome is impossible */
  private readonly refineMemo = new Map<Scalar, Map<Scalar, ([Scalar, Scalar] | null | undefined)[]>>();

  constructor(
    program: Program,
    private readonly options: VerifyOptions,
  ) {
    this.insns = program.insns;
    this.helpers = helpersFor(options.type, options.helpers ?? []);
    this.maps = options.maps ?? [];
    this.stateLimit = options.stateLimit ?? VERIFY_STATE_BUDGET_DEFAULT;
  }

  stats(started: number): VerifierStats {
    return {
      processedInsns: this.processed,
      states: this.statesStored,
      prunedPaths: this.pruned,
      peakPendingPaths: this.peakPending,
      timeMs: performance.now() - started,
    };
  }

  currentStateText(): string {
    try {
      return this.current === undefined ? '' : stateToString(this.current);
    } catch {
      return '';
    }
  }

  trailLines(): string[] {
    const lines: string[] = [];
    const codes: number[] = [];
    for (let k = Math.max(0, this.trailNext - TRAIL_LINES); k < this.trailNext; k++) codes.push(this.trail[k % TRAIL_LINES]!);
    for (let k = 0; k < codes.length; k++) {
      const c = codes[k]!;
      if (c >= 0) lines.push(`${c}: ${insnText(this.insns, c)}`);
      else if (k + 1 < codes.length) lines.push(`from ${-1 - c} to ${codes[++k]}:`);
    }
    return lines;
  }

  acceptLog(): string[] {
    return [`processed ${this.processed} insns (limit ${Math.min(this.options.insnLimit ?? VERIFY_INSN_BUDGET_DEFAULT, PROCESSED_INSNS_MAX)}), stored ${this.statesStored} states, pruned ${this.pruned} paths`];
  }

  /** Remember a processed instruction (pc >= 0) or a path switch (-1 - from, then the target); formatted only on rejection. */
  private note(code: number): void {
    // a ring of the last TRAIL_LINES codes: no shifting per instruction
    this.trail[this.trailNext % TRAIL_LINES] = code;
    this.trailNext++;
  }

  run(): Cfg {
    const built = buildCfg(this.insns);
    if (!built.ok) throw new Reject(built.pc, built.message);
    const cfg = built.cfg;
    const limit = Math.min(this.options.insnLimit ?? VERIFY_INSN_BUDGET_DEFAULT, PROCESSED_INSNS_MAX);
    this.cfg = cfg;
    this.active = new Array(cfg.insnCount);
    this.done = new Array(cfg.insnCount);
    this.storedAt = new Int32Array(cfg.insnCount);
    this.runAhead = straightRuns(this.insns, cfg.prunePoints);
    const pending: Path[] = [{ pc: 0, state: this.initialState(), parent: null, from: -1, history: [], jumps: 0 }];
    while (pending.length > 0) {
      const path = pending.pop()!;
      if (path.from >= 0) {
        this.note(-1 - path.from);
        this.note(-1 - path.pc);
      }
      this.current = path.state;
      for (;;) {
        const pc = path.pc;
        this.currentPc = pc;
        if (cfg.prunePoints[pc]) {
          if (this.visit(path, cfg)) {
            this.pruned++;
            this.finish(path.parent);
            break;
          }
        }
        if (++this.processed > limit) {
          throw new Reject(pc, tooComplexReason('insns', this.processed - 1, limit), { kind: 'insns', limit });
        }
        this.note(pc);
        this.path = path;
        this.lastSlot = -1;
        const depth = path.state.frames.length;
        const forked = this.step(path);
        path.history.push(pc, depth * HISTORY_DEPTH_UNIT + this.lastSlot + HISTORY_SLOT_BIAS);
        if (cfg.prunePoints[path.pc] || path.pc !== pc + 1) path.jumps++;
        if (forked !== undefined && forked !== 'exit') forked.history = path.history.slice();
        if (forked === 'exit') {
          this.finish(path.parent);
          break;
        }
        if (forked !== undefined) {
          if (path.parent !== null) path.parent.branches++;
          pending.push(forked);
          if (pending.length > this.peakPending) this.peakPending = pending.length;
        }
      }
    }
    this.current = undefined;
    return cfg;
  }

  /** At a prune point: prune (true) if a finished checkpoint covers the state, else checkpoint it. */
  private visit(path: Path, cfg: Cfg): boolean {
    const pc = path.pc;
    const cur = path.state;
    // Like Linux, checkpoint only after at least 8 instructions and 2 jumps since
    // the last one on this path: far fewer states to store and compare.
    const addNew = (path.history.length >= 2 * CHECKPOINT_INSNS_MIN && path.jumps >= CHECKPOINT_JUMPS_MIN) || this.runAhead[pc]! >= CHECKPOINT_RUN_MIN;
    const active = this.active[pc];
    // nothing to compare against and nothing to store: nothing to do
    if (!addNew && active === undefined && this.done[pc] === undefined) return false;
    clearSingularIds(cur, pc, cfg.liveIn);
    if (active !== undefined) {
      for (let m = 0; m < active.masks.length; m++) {
        // An equal state has the same constants.
        const key = constKey(cur, active.masks[m]!);
        if (key === undefined) continue;
        const bucket = active.byKey[m]!.get(key);
        if (bucket === undefined) continue;
        for (let k = 0; k < bucket.length; k++) {
          if (stateSubsumes(bucket[k]!.state, cur, pc, cfg.liveIn, true)) throw new Reject(pc, `infinite loop detected at insn ${pc}`);
        }
      }
    }
    const done = this.done[pc];
    if (done !== undefined) {
      for (let m = 0; m < done.masks.length; m++) {
        // Only checkpoints that agree with cur on their relied-on constants can cover it.
        const key = constKey(cur, done.masks[m]!);
        if (key === undefined) continue;
        const bucket = done.byKey[m]!.get(key);
        if (bucket === undefined) continue;
        for (let k = 0; k < bucket.length; k++) {
          const cp = bucket[k]!;
          if (stateSubsumes(cp.state, cur, pc, cfg.liveIn, false, cp.precise)) {
            // cur is safe for the reasons cp was: what cp relied on, cur's ancestors rely on.
            cp.hits++;
            this.propagate(path, this.scratchPrecision(cp.precise.regs.length - 1, cp.precise));
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
            this.storedAt[pc]! -= 1;
          }
        }
      }
    }
    if (!addNew) return false;
    path.jumps = 0;
    // Beyond the per-instruction cap the checkpoint is kept only in the path's
    // chain (it bounds the history that precision marks walk back through) and
    // is never compared against.
    const stored = this.storedAt[pc]! < STATES_PER_INSN_MAX;
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
    };
    if (stored) {
      let active = this.active[pc];
      if (active === undefined) {
        active = { masks: [], byKey: [] };
        this.active[pc] = active;
      }
      const mask = constMask(cp.state, cfg.liveIn[pc]!);
      bucketOf(active, mask, constKey(cp.state, mask)!).push(cp);
      this.storedAt[pc]! += 1;
      if (++this.statesStored > this.stateLimit) {
        throw new Reject(pc, tooComplexReason('states', this.statesStored - 1, this.stateLimit), { kind: 'states', limit: this.stateLimit });
      }
    }
    path.parent = cp;
    path.history = [];
    return false;
  }

  /** A path below cp ended (exit or pruned): cp and the ancestors it completes become usable for pruning. */
  private finish(cp: Checkpoint | null): void {
    while (cp !== null) {
      cp.branches--;
      if (cp.branches > 0) return;
      if (cp.stored) this.retire(cp);
      cp = cp.parent;
    }
  }

  /** Move a finished checkpoint from the active list to the bucket of its relied-on constants. */
  private retire(cp: Checkpoint): void {
    const pc = cp.pc;
    const live = this.cfg!.liveIn[pc]!;
    const activeMask = constMask(cp.state, live);
    const activeBucket = bucketOf(this.active[pc]!, activeMask, constKey(cp.state, activeMask)!);
    activeBucket.splice(activeBucket.indexOf(cp), 1);
    let done = this.done[pc];
    if (done === undefined) {
      done = { masks: [], byKey: [] };
      this.done[pc] = done;
    }
    const mask = constMask(cp.state, live & (cp.precise.regs[cp.state.frames.length - 1] ?? 0));
    bucketOf(done, mask, constKey(cp.state, mask)!).push(cp);
  }

  // ---- precision (the kernel's mark_chain_precision / backtrack_insn) -------------------

  /** Scalar register `regno` of the current frame is about to be relied on (pointer offset, size, decided branch). */
  private markPrecise(regno: number): void {
    const path = this.path!;
    const frames = path.state.frames.length;
    const reg = curFrame(path.state).regs[regno];
    if (reg === undefined || reg.kind !== 'scalar') return;
    // A value known to be anything at all relies on no range.
    if (scalarEqual(reg.s, UNKNOWN_SCALAR)) return;
    const need = this.scratchPrecision(frames, undefined);
    need.regs[frames - 1] = 1 << regno;
    this.propagate(path, need);
  }

  /**
   * A Precision for `frames` frames to hand to propagate(), which only reads
   * and narrows it and keeps no reference: one reused object per frame count
   * (propagate never nests), zeroed or a copy of `from`.
   */
  private scratchPrecision(frames: number, from: Precision | undefined): Precision {
    let p = this.scratch[frames];
    if (p === undefined) {
      p = emptyPrecision(frames);
      this.scratch[frames] = p;
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
  private propagate(path: Path, need: Precision): void {
    backtrack(this.insns, path.history, need);
    let cp = path.parent;
    while (cp !== null) {
      if (!mergePrecision(cp.precise, need)) return; // nothing new: its ancestors already have it
      backtrack(this.insns, cp.history, need);
      cp = cp.parent;
    }
  }

  private initialState(): VState {
    const f = newFrame(-1);
    if (this.options.type === 'xrp') {
      f.regs[1] = this.ptr('ctx', 0);
    } else {
      const size = this.options.memSizeBytes ?? 4096;
      f.regs[1] = { ...this.ptr('mem', size), sizeBytes: size };
      f.regs[2] = scalarReg(scalarConst(BigInt(size)));
    }
    f.regs[FRAME_POINTER] = { ...this.ptr('stack', 0), frame: 0 };
    return { frames: [f] };
  }

  private ptr(kind: PtrState['ptr'], sizeBytes: number): PtrState {
    return { kind: 'ptr', ptr: kind, off: 0, varOff: ZERO_OFF, sizeBytes, map: -1, frame: -1, id: 0, readOnly: false };
  }

  // ---- one instruction ------------------------------------------------------------

  /** Execute the instruction at path.pc; returns a forked path, 'exit' when the path ends, or undefined. */
  private step(path: Path): Path | 'exit' | undefined {
    const pc = path.pc;
    const insn = this.insns[pc]!;
    const cls = insnClass(insn.code);
    const st = path.state;
    switch (cls) {
      case InsnClass.ALU:
      case InsnClass.ALU64:
        this.alu(pc, insn, curFrame(st), cls === InsnClass.ALU64 ? 64 : 32);
        path.pc = pc + 1;
        return undefined;
      case InsnClass.LD:
        this.ldImm64(pc, insn, curFrame(st));
        path.pc = pc + 2;
        return undefined;
      case InsnClass.LDX: {
        const f = curFrame(st);
        const base = this.read(pc, f, insn.src);
        const size = sizeOfCode(insn.code);
        f.regs[insn.dst] = this.access(pc, st, insn.src, base, insn.off, size, 'read', undefined, insnMode(insn.code) === Mode.MEMSX);
        path.pc = pc + 1;
        return undefined;
      }
      case InsnClass.ST:
      case InsnClass.STX: {
        const f = curFrame(st);
        const base = this.read(pc, f, insn.dst);
        const size = sizeOfCode(insn.code);
        if (cls === InsnClass.STX && insnMode(insn.code) === Mode.ATOMIC) {
          this.atomic(pc, st, insn, base, size);
        } else {
          const value = cls === InsnClass.ST ? this.immReg(pc, insn.imm, 64) : this.read(pc, f, insn.src);
          this.access(pc, st, insn.dst, base, insn.off, size, 'write', { reg: value, regno: cls === InsnClass.ST ? -1 : insn.src }, false);
        }
        path.pc = pc + 1;
        return undefined;
      }
      default:
        return this.jump(path, insn);
    }
  }

  private read(pc: number, f: Frame, regno: number): RegState {
    const r = f.regs[regno]!;
    if (r.kind === 'uninit') throw new Reject(pc, `R${regno} !read_ok`);
    return r;
  }

  /** The immediate of instruction pc as a register value, made once per instruction (register values are immutable). */
  private immReg(pc: number, imm: number, bits: 32 | 64): RegState {
    const k = 2 * pc + (bits === 64 ? 1 : 0);
    let r = this.immRegs[k];
    if (r === undefined) {
      r = scalarReg(immScalar(imm, bits));
      this.immRegs[k] = r;
    }
    return r;
  }

  private newId(): number {
    return this.nextId++;
  }

  // ---- ALU ------------------------------------------------------------------------

  private alu(pc: number, insn: Insn, f: Frame, bits: 32 | 64): void {
    const op = insnOp(insn.code);
    const x = (insn.code & 0x08) !== 0;
    const d = insn.dst;
    if (op === AluOp.MOV) {
      if (!x) {
        f.regs[d] = this.immReg(pc, insn.imm, bits);
        return;
      }
      const src = this.read(pc, f, insn.src);
      if (insn.off !== 0) {
        if (src.kind !== 'scalar') throw new Reject(pc, `R${insn.src} sign-extension of pointer prohibited`);
        const from = insn.off as 8 | 16 | 32;
        if (bits === 64) f.regs[d] = scalarReg(fromBounds64(signExtendBounds(src.s.b64, from, 64)));
        else f.regs[d] = scalarReg(zeroExtend(signExtendBounds(src.s.b32, from, 32)));
        return;
      }
      if (bits === 64) {
        if (src.kind === 'scalar' && insn.src !== d) {
          // Link the copies: a later branch on one bounds both.
          const id = src.id !== 0 ? src.id : this.newId();
          const linked: RegState = { kind: 'scalar', s: src.s, id };
          f.regs[insn.src] = linked;
          f.regs[d] = linked;
        } else {
          f.regs[d] = src;
        }
        return;
      }
      if (src.kind === 'ptr') throw new Reject(pc, `R${insn.src} partial copy of pointer`);
      if (src.kind === 'scalar') f.regs[d] = scalarReg(zeroExtend(src.s.b32));
      return;
    }
    const dst = this.read(pc, f, d);
    if (op === AluOp.NEG || op === AluOp.END) {
      if (dst.kind !== 'scalar') throw new Reject(pc, `R${d} pointer arithmetic with ${op === AluOp.NEG ? 'neg' : 'byte swap'} prohibited`);
      f.regs[d] = scalarReg(op === AluOp.NEG ? this.neg(dst.s, bits) : this.byteSwap(dst.s, insn, bits));
      return;
    }
    const src: RegState = x ? this.read(pc, f, insn.src) : this.immReg(pc, insn.imm, bits);
    const kind0 = ALU_KINDS[op];
    if (kind0 === undefined) throw new Reject(pc, `invalid BPF_ALU opcode 0x${insn.code.toString(16)}`);
    const kind: AluKind = insn.off === 1 && kind0 === 'div' ? 'sdiv' : insn.off === 1 && kind0 === 'mod' ? 'smod' : kind0;
    if (dst.kind === 'ptr' || src.kind === 'ptr') {
      f.regs[d] = this.pointerArith(pc, insn, kind, dst, src, bits);
      return;
    }
    if (dst.kind !== 'scalar' || src.kind !== 'scalar') throw new Reject(pc, `R${d} !read_ok`);
    let result: Scalar;
    if (isConst(dst.s) && isConst(src.s)) {
      // Both known: the concrete result (what the general path computes, without the bounds work).
      const a = constValue(dst.s);
      const b = constValue(src.s);
      result = scalarConst(bits === 64 ? evalAlu(kind, a, b, 64) : evalAlu(kind, a & 0xffff_ffffn, b & 0xffff_ffffn, 32));
    } else {
      result = scalarAlu(kind, dst.s, src.s, bits);
    }
    f.regs[d] = scalarReg(result);
    if (!x && (kind === 'and' || kind === 'mod' || kind === 'rsh' || kind === 'mul')) {
      // A mask (or modulo, shift) by a constant often gives the same bounds
      // whatever dst was: then nothing later depends on dst's range.
      if (scalarEqual(blindResult(kind, bits, insn.imm, src.s), result)) this.lastSlot = DST_INDEPENDENT;
    }
  }

  private neg(s: Scalar, bits: 32 | 64): Scalar {
    const zero = boundsConst(0n, bits);
    const r = aluBounds('sub', zero, view(s, bits), bits);
    return bits === 64 ? fromBounds64(r) : zeroExtend(r);
  }

  private byteSwap(s: Scalar, insn: Insn, bits: 32 | 64): Scalar {
    const width = insn.imm as 16 | 32 | 64;
    const toLe = bits === 32 && (insn.code & 0x08) === 0;
    if (toLe) return truncateScalar(s, width / 8);
    if (isConst(s)) {
      let v = constValue(s) & ((1n << BigInt(width)) - 1n);
      let out = 0n;
      for (let i = 0; i < width / 8; i++) {
        out = (out << 8n) | (v & 0xffn);
        v >>= 8n;
      }
      return scalarConst(out);
    }
    return width === 64 ? scalarUnknown() : truncateScalar(scalarUnknown(), width / 8);
  }

  private pointerArith(pc: number, insn: Insn, kind: AluKind, dst: RegState, src: RegState, bits: 32 | 64): RegState {
    const d = insn.dst;
    const op = insnOp(insn.code);
    if (bits === 32) throw new Reject(pc, `R${d} 32-bit pointer arithmetic prohibited`);
    if (kind !== 'add' && kind !== 'sub') {
      const sym = ALU_SYMBOL[op] ?? '?';
      const bitwise = kind === 'and' || kind === 'or' || kind === 'xor';
      throw new Reject(pc, `R${d} ${bitwise ? 'bitwise operator' : 'pointer arithmetic with'} ${sym} ${bitwise ? 'on pointer' : 'operator'} prohibited`);
    }
    if (dst.kind === 'ptr' && src.kind === 'ptr') {
      if (kind === 'sub' && dst.ptr === src.ptr && dst.ptr !== 'map_value_or_null' && dst.frame === src.frame && dst.map === src.map) {
        return scalarReg(scalarUnknown());
      }
      throw new Reject(pc, `R${d} pointer ${kind === 'add' ? '+=' : '-='} pointer prohibited`);
    }
    // no array destructuring: under --no-opt it runs the iterator protocol
    const p = dst.kind === 'ptr' ? dst : (src as PtrState);
    const s = dst.kind === 'ptr' ? src : dst;
    const pRegno = dst.kind === 'ptr' ? d : insn.src;
    if (dst.kind !== 'ptr' && kind === 'sub') throw new Reject(pc, `R${d} tried to subtract pointer from scalar`);
    if (s.kind !== 'scalar') throw new Reject(pc, `R${d} !read_ok`);
    if (p.ptr === 'map_value_or_null') throw new Reject(pc, `R${pRegno} pointer arithmetic on map_value_or_null prohibited, null-check it first`);
    if (p.ptr === 'map_ptr') throw new Reject(pc, `R${pRegno} pointer arithmetic on map_ptr prohibited`);
    this.markPrecise(dst.kind === 'ptr' ? insn.src : d);
    if (isConst(s.s)) {
      const c = BigInt.asIntN(64, constValue(s.s));
      const off = BigInt(p.off) + (kind === 'add' ? c : -c);
      if (off <= -MAX_VAR_OFF_BIG || off >= MAX_VAR_OFF_BIG) {
        throw new Reject(pc, `value ${c} makes ${typeName(p)} pointer be out of bounds`);
      }
      return { ...p, off: Number(off) };
    }
    const b = s.s.b64;
    if (b.smin <= -MAX_VAR_OFF_BIG || b.smax >= MAX_VAR_OFF_BIG) {
      throw new Reject(pc, `math between ${typeName(p)} pointer and register with unbounded ${b.smin <= -MAX_VAR_OFF_BIG ? 'min' : 'max'} value is not allowed`);
    }
    const varOff = scalarAlu(kind, p.varOff, s.s, 64);
    return { ...p, varOff };
  }

  // ---- lddw -----------------------------------------------------------------------

  private ldImm64(pc: number, insn: Insn, f: Frame): void {
    const value = ldImm64Value(this.insns, pc);
    const src = insn.src;
    if (src === LdImm64Src.IMM64) {
      f.regs[insn.dst] = scalarReg(scalarConst(value));
      return;
    }
    const byFd = src === LdImm64Src.MAP_BY_FD || src === LdImm64Src.MAP_VAL_BY_FD;
    const index = byFd ? (this.options.mapFds?.get(insn.imm) ?? insn.imm) : insn.imm;
    const spec = this.maps[index];
    if (spec === undefined) {
      throw new Reject(pc, byFd ? `fd ${insn.imm} is not pointing to valid bpf_map` : `map index ${insn.imm} does not exist (${this.maps.length} maps)`);
    }
    if (src === LdImm64Src.MAP_BY_FD || src === LdImm64Src.MAP_BY_IDX) {
      f.regs[insn.dst] = { ...this.ptr('map_ptr', 0), map: index };
      return;
    }
    if (spec.type !== MapType.ARRAY || spec.maxEntries < 1) throw new Reject(pc, `direct value access on map "${spec.name}" of type ${spec.type} is not supported (array maps only)`);
    const off = this.insns[pc + 1]!.imm;
    if (off < 0 || off >= spec.valueSizeBytes) throw new Reject(pc, `invalid access to map value pointer, value_size=${spec.valueSizeBytes} off=${off >>> 0}`);
    f.regs[insn.dst] = { ...this.ptr('map_value', spec.valueSizeBytes), map: index, off, readOnly: spec.readOnly };
  }

  // ---- memory -------------------------------------------------------------------

  /**
   * Check an access of `size` bytes at `reg + off` (reg is register `regno`,
   * already read); for reads return the loaded value, for writes store `value`.
   */
  private access(
    pc: number,
    st: VState,
    regno: number,
    reg: RegState,
    off: number,
    size: number,
    mode: 'read' | 'write',
    value: { reg: RegState; regno: number } | undefined,
    signed: boolean,
  ): RegState {
    if (reg.kind !== 'ptr') throw new Reject(pc, `R${regno} invalid mem access '${typeName(reg)}'`);
    switch (reg.ptr) {
      case 'map_value_or_null':
      case 'map_ptr':
        throw new Reject(pc, `R${regno} invalid mem access '${reg.ptr}'`);
      case 'ctx':
        return this.ctxAccess(pc, regno, reg, off, size, mode, value, signed);
      case 'stack':
        return this.stackAccess(pc, st, regno, reg, off, size, mode, value, signed);
      case 'mem':
      case 'map_value': {
        this.checkMemRange(pc, regno, reg, off, size);
        if (mode === 'write') {
          if (reg.readOnly) throw new Reject(pc, reg.ptr === 'map_value' ? 'write into map forbidden' : `R${regno} cannot write into rdonly mem`);
          if (value!.reg.kind === 'ptr') throw new Reject(pc, `R${value!.regno} leaks addr into ${reg.ptr === 'mem' ? 'mem' : 'map'}`);
          return UNINIT;
        }
        return scalarReg(loadedScalar(size, signed));
      }
    }
  }

  /** Bounds of an access into mem or a map value: the whole variable range must fit. */
  private checkMemRange(pc: number, regno: number, reg: PtrState, off: number, size: number): void {
    const what = reg.ptr === 'mem' ? 'memory, mem_size' : 'map value, value_size';
    const b = reg.varOff.b64;
    if (b.smin < 0n) {
      throw new Reject(pc, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
    }
    // In numbers when the offset is small (always, for an access that passes):
    // no BigInt allocations on the common path.
    if (b.umax < MAX_VAR_OFF_BIG) {
      const lo = reg.off + off + Number(b.umin);
      const hi = reg.off + off + Number(b.umax) + size;
      if (lo >= 0 && hi <= reg.sizeBytes) return;
    }
    const fixed = BigInt(reg.off + off);
    const lo = fixed + b.umin;
    const hi = fixed + b.umax + BigInt(size);
    if (lo < 0n || hi > BigInt(reg.sizeBytes)) {
      if (isConst(reg.varOff)) throw new Reject(pc, `invalid access to ${what}=${reg.sizeBytes} off=${fixed + b.umin} size=${size}`);
      if (b.umax >= BigInt(MAX_VAR_OFF)) throw new Reject(pc, `R${regno} unbounded memory access, make sure to bounds check any such access`);
      throw new Reject(pc, `R${regno} max value is outside of the allowed memory range: ${what}=${reg.sizeBytes} off=${fixed} var=[${b.umin}, ${b.umax}] size=${size}`);
    }
  }

  private ctxAccess(
    pc: number,
    regno: number,
    reg: PtrState,
    off: number,
    size: number,
    mode: 'read' | 'write',
    value: { reg: RegState; regno: number } | undefined,
    signed: boolean,
  ): RegState {
    if (!isConst(reg.varOff) || constValue(reg.varOff) !== 0n) {
      throw new Reject(pc, `variable ctx access var_off=${scalarToString(reg.varOff)} disallowed`);
    }
    const at = reg.off + off;
    const field = this.options.type === 'xrp' ? findCtxField(at, size) : undefined;
    if (field === undefined) throw new Reject(pc, `invalid bpf_context access off=${at} size=${size}`);
    if (mode === 'write') {
      if (!field.writable) throw new Reject(pc, `invalid bpf_context access off=${at} size=${size}: ${field.name} is read-only`);
      if (value!.reg.kind === 'ptr') throw new Reject(pc, `R${value!.regno} leaks addr into ctx`);
      return UNINIT;
    }
    if (field.pointsToMemBytes !== undefined) {
      if (signed) throw new Reject(pc, `invalid bpf_context access off=${at} size=${size}: sign-extending load of a pointer`);
      return { ...this.ptr('mem', field.pointsToMemBytes) };
    }
    return scalarReg(loadedScalar(size, signed));
  }

  private frameIndexOf(f: Frame): number {
    return this.path!.state.frames.indexOf(f);
  }

  private stackFrameOf(pc: number, st: VState, reg: PtrState): Frame {
    const f = st.frames[reg.frame];
    if (f === undefined) throw new Reject(pc, `stack pointer into frame ${reg.frame}, which has returned`);
    return f;
  }

  /** Fixed stack offset of an access (variable offsets are rejected), checked against the frame. */
  private stackOffset(pc: number, regno: number, reg: PtrState, off: number, size: number, what: string): number {
    if (!isConst(reg.varOff)) throw new Reject(pc, `variable stack access var_off=${scalarToString(reg.varOff)} disallowed`);
    const at = reg.off + off + Number(BigInt.asIntN(64, constValue(reg.varOff)));
    if (at < -STACK_FRAME_BYTES || at + size > 0) throw new Reject(pc, `invalid ${what} stack R${regno} off=${at} size=${size}`);
    return at;
  }

  private stackAccess(
    pc: number,
    st: VState,
    regno: number,
    reg: PtrState,
    off: number,
    size: number,
    mode: 'read' | 'write',
    value: { reg: RegState; regno: number } | undefined,
    signed: boolean,
  ): RegState {
    const f = this.stackFrameOf(pc, st, reg);
    const at = this.stackOffset(pc, regno, reg, off, size, mode === 'read' ? 'read from' : 'write to');
    const idx = at + STACK_FRAME_BYTES;
    if (mode === 'write') {
      this.stackWrite(pc, f, idx, size, value!.reg);
      return UNINIT;
    }
    return this.stackRead(pc, f, idx, size, at, signed);
  }

  private stackWrite(pc: number, f: Frame, idx: number, size: number, value: RegState): void {
    if (size === 8 && idx % 8 === 0) {
      this.lastSlot = this.frameIndexOf(f) * STACK_SLOTS + idx / 8;
      ownStack(f);
      if (idx >> 3 < f.lowSlot) f.lowSlot = idx >> 3;
      f.stackTypes.fill(StackByte.SPILL, idx, idx + 8);
      f.spills[idx / 8] = value;
      return;
    }
    if (value.kind === 'ptr') throw new Reject(pc, `invalid size of register spill`);
    this.markMisc(f, idx, size);
  }

  /** Bytes become unknown data; a spilled register partly overwritten becomes unknown data too. */
  private markMisc(f: Frame, idx: number, size: number): void {
    ownStack(f);
    if (idx >> 3 < f.lowSlot) f.lowSlot = idx >> 3;
    for (let slot = idx >> 3; slot <= (idx + size - 1) >> 3; slot++) {
      if (f.stackTypes[slot * 8] === StackByte.SPILL) {
        f.stackTypes.fill(StackByte.MISC, slot * 8, slot * 8 + 8);
        f.spills[slot] = undefined;
      }
    }
    f.stackTypes.fill(StackByte.MISC, idx, idx + size);
  }

  private stackRead(pc: number, f: Frame, idx: number, size: number, at: number, signed: boolean): RegState {
    for (let k = 0; k < size; k++) {
      if (f.stackTypes[idx + k] === StackByte.INVALID) throw new Reject(pc, `invalid read from stack off ${at}+${k} size ${size}`);
    }
    const slot = idx >> 3;
    const spilled = f.stackTypes[idx] === StackByte.SPILL ? f.spills[slot] : undefined;
    if (spilled !== undefined && idx % 8 === 0) {
      this.lastSlot = this.frameIndexOf(f) * STACK_SLOTS + slot;
      if (size === 8) return spilled;
      if (spilled.kind === 'ptr') throw new Reject(pc, 'invalid size of register fill');
      if (spilled.kind === 'scalar' && !signed) return scalarReg(truncateScalar(spilled.s, size));
      return scalarReg(loadedScalar(size, signed));
    }
    for (let s = slot; s <= (idx + size - 1) >> 3; s++) {
      const r = f.stackTypes[s * 8] === StackByte.SPILL ? f.spills[s] : undefined;
      if (r !== undefined && r.kind === 'ptr') throw new Reject(pc, 'invalid size of register fill');
    }
    return scalarReg(loadedScalar(size, signed));
  }

  private atomic(pc: number, st: VState, insn: Insn, base: RegState, size: number): void {
    const f = curFrame(st);
    const src = this.read(pc, f, insn.src);
    const op = insn.imm;
    const cmpxchg = op === 0xf1;
    if (base.kind !== 'ptr') throw new Reject(pc, `R${insn.dst} invalid mem access '${typeName(base)}'`);
    if (cmpxchg) {
      const r0 = this.read(pc, f, 0);
      if (r0.kind === 'ptr') throw new Reject(pc, `R0 leaks addr into mem`);
    }
    if (base.ptr === 'ctx') throw new Reject(pc, `BPF_ATOMIC stores into R${insn.dst} ctx is not allowed`);
    if (src.kind === 'ptr') throw new Reject(pc, `R${insn.src} leaks addr into mem`);
    if (base.ptr === 'stack') {
      const sf = this.stackFrameOf(pc, st, base);
      const at = this.stackOffset(pc, insn.dst, base, insn.off, size, 'atomic access to');
      if (at % size !== 0) throw new Reject(pc, `misaligned stack access off ${at} size ${size}`);
      const idx = at + STACK_FRAME_BYTES;
      this.stackRead(pc, sf, idx, size, at, false);
      const spilled = sf.stackTypes[idx] === StackByte.SPILL ? sf.spills[idx >> 3] : undefined;
      if (spilled !== undefined && spilled.kind === 'ptr') throw new Reject(pc, `BPF_ATOMIC on a stack slot holding a pointer is not allowed`);
      this.markMisc(sf, idx, size);
    } else if (base.ptr === 'mem' || base.ptr === 'map_value') {
      this.checkMemRange(pc, insn.dst, base, insn.off, size);
      if (base.readOnly) throw new Reject(pc, base.ptr === 'map_value' ? 'write into map forbidden' : `R${insn.dst} cannot write into rdonly mem`);
      const fixed = base.off + insn.off;
      const t = base.varOff.b64.t;
      const low = BigInt(size - 1);
      if (fixed % size !== 0 || ((t.value | t.mask) & low) !== 0n) {
        throw new Reject(pc, `misaligned access off ${fixed}+${scalarToString(base.varOff)} size ${size}`);
      }
    } else {
      throw new Reject(pc, `R${insn.dst} invalid mem access '${base.ptr}'`);
    }
    const old = size === 4 ? scalarReg(loadedScalar(4, false)) : scalarReg(scalarUnknown());
    if (cmpxchg) f.regs[0] = old;
    else if ((op & 1) !== 0) f.regs[insn.src] = old;
  }

  // ---- jumps, calls, exit -------------------------------------------------------------

  private jump(path: Path, insn: Insn): Path | 'exit' | undefined {
    const pc = path.pc;
    const st = path.state;
    const f = curFrame(st);
    const cls = insnClass(insn.code);
    const op = insnOp(insn.code);
    if (op === JmpOp.JA) {
      path.pc = cls === InsnClass.JMP32 ? pc + 1 + insn.imm : pc + 1 + insn.off;
      return undefined;
    }
    if (op === JmpOp.EXIT) return this.exit(path);
    if (op === JmpOp.CALL) {
      if (insn.src === CallSrc.LOCAL) {
        if (st.frames.length >= CALL_DEPTH_MAX) throw new Reject(pc, `the call stack of ${st.frames.length + 1} frames is too deep`);
        const callee = newFrame(pc);
        for (let r = 1; r <= 5; r++) callee.regs[r] = f.regs[r]!;
        callee.regs[FRAME_POINTER] = { ...this.ptr('stack', 0), frame: st.frames.length };
        st.frames.push(callee);
        path.pc = pc + 1 + insn.imm;
        return undefined;
      }
      this.helperCall(pc, st, insn.imm);
      path.pc = pc + 1;
      return undefined;
    }
    const cond = COND_KINDS[op];
    if (cond === undefined) throw new Reject(pc, `invalid BPF_JMP opcode 0x${insn.code.toString(16)}`);
    const bits = cls === InsnClass.JMP32 ? 32 : 64;
    const x = (insn.code & 0x08) !== 0;
    const dst = this.read(pc, f, insn.dst);
    const src: RegState = x ? this.read(pc, f, insn.src) : this.immReg(pc, insn.imm, 64);
    const target = pc + 1 + insn.off;
    if (dst.kind === 'scalar' && src.kind === 'scalar' && isConst(dst.s) && isConst(src.s)) {
      // Both known (loop counters): the outcome is decided, the operands need no refining.
      this.markPrecise(insn.dst);
      if (x) this.markPrecise(insn.src);
      path.pc = condHolds(cond, constValue(dst.s), constValue(src.s), bits) ? target : pc + 1;
      return undefined;
    }
    if (dst.kind === 'scalar' && src.kind === 'scalar' && !(x && insn.src === insn.dst)) {
      const taken = this.refine(cond, true, dst, src, bits);
      const fall = this.refine(cond, false, dst, src, bits);
      if (taken !== undefined && fall !== undefined) {
        const other = cloneState(st);
        this.applyRefined(other, insn, dst, src, x, taken);
        this.applyRefined(st, insn, dst, src, x, fall);
        path.pc = pc + 1;
        return { pc: target, state: other, parent: path.parent, from: pc, history: [], jumps: path.jumps + 1 };
      }
      // The outcome was decided by the operands' ranges: they matter.
      this.markPrecise(insn.dst);
      if (x) this.markPrecise(insn.src);
      if (taken !== undefined) {
        this.applyRefined(st, insn, dst, src, x, taken);
        path.pc = target;
        return undefined;
      }
      if (fall !== undefined) {
        this.applyRefined(st, insn, dst, src, x, fall);
        path.pc = pc + 1;
        return undefined;
      }
      // Neither outcome is possible: the abstract state is empty, so the path is dead.
      return 'exit';
    }
    const other = cloneState(st);
    if (dst.kind === 'ptr' && dst.ptr === 'map_value_or_null' && src.kind === 'scalar' && isConst(src.s) && constValue(src.s) === 0n && bits === 64 && (cond === 'jeq' || cond === 'jne')) {
      this.markNull(other, dst.id, cond === 'jeq');
      this.markNull(st, dst.id, cond !== 'jeq');
    }
    path.pc = pc + 1;
    return { pc: target, state: other, parent: path.parent, from: pc, history: [], jumps: path.jumps + 1 };
  }

  /** Both operands refined for one outcome of a conditional jump; undefined if that outcome is impossible. */
  private refine(cond: CondKind, taken: boolean, dst: ScalarState, src: ScalarState, bits: 32 | 64): [Scalar, Scalar] | undefined {
    let inner = this.refineMemo.get(dst.s);
    if (inner === undefined) {
      inner = new Map();
      this.refineMemo.set(dst.s, inner);
    }
    let row = inner.get(src.s);
    if (row === undefined) {
      row = [];
      inner.set(src.s, row);
    }
    const k = COND_INDEX[cond] * 4 + (bits === 64 ? 2 : 0) + (taken ? 1 : 0);
    let r = row[k];
    if (r === undefined) {
      r = this.refineUncached(cond, taken, dst, src, bits) ?? null;
      row[k] = r;
    }
    return r ?? undefined;
  }

  private refineUncached(cond: CondKind, taken: boolean, dst: ScalarState, src: ScalarState, bits: 32 | 64): [Scalar, Scalar] | undefined {
    const r = refineBounds(cond, taken, view(dst.s, bits), view(src.s, bits), bits);
    if (r === undefined) return undefined;
    // An operand the branch did not narrow is returned as it was: already normal.
    const nd = r[0] === view(dst.s, bits) ? dst.s : normalize(bits === 64 ? { b64: r[0], b32: dst.s.b32 } : { b64: dst.s.b64, b32: r[0] });
    if (nd === undefined) return undefined;
    const ns = r[1] === view(src.s, bits) ? src.s : normalize(bits === 64 ? { b64: r[1], b32: src.s.b32 } : { b64: src.s.b64, b32: r[1] });
    return nd === undefined || ns === undefined ? undefined : [nd, ns];
  }

  private applyRefined(st: VState, insn: Insn, dst: ScalarState, src: ScalarState, x: boolean, refined: [Scalar, Scalar]): void {
    const f = curFrame(st);
    this.setScalar(st, f, insn.dst, dst, refined[0]);
    if (x) this.setScalar(st, f, insn.src, src, refined[1]);
  }

  /** Give register `regno` the refined value, and every copy sharing its id too. */
  private setScalar(st: VState, f: Frame, regno: number, old: Extract<RegState, { kind: 'scalar' }>, s: Scalar): void {
    const updated: RegState = { kind: 'scalar', s, id: old.id };
    f.regs[regno] = updated;
    if (old.id === 0) return;
    // indexed loops: --no-opt runs this unoptimised, where for-of allocates an iterator result per step
    for (let fi = 0; fi < st.frames.length; fi++) {
      const fr = st.frames[fi]!;
      for (let r = 0; r < 10; r++) {
        const v = fr.regs[r]!;
        if (v.kind === 'scalar' && v.id === old.id) fr.regs[r] = updated;
      }
      for (let slot = 0; slot < STACK_SLOTS; slot++) {
        const v = fr.spills[slot];
        if (v !== undefined && v.kind === 'scalar' && v.id === old.id) {
          ownStack(fr);
          fr.spills[slot] = updated;
        }
      }
    }
  }

  /** After a null check: copies of the map_value_or_null with `id` become 0 (isNull) or map_value. */
  private markNull(st: VState, id: number, isNull: boolean): void {
    for (let fi = 0; fi < st.frames.length; fi++) {
      const fr = st.frames[fi]!;
      for (let r = 0; r < 10; r++) fr.regs[r] = nullChecked(fr.regs[r], id, isNull)!;
      for (let slot = 0; slot < STACK_SLOTS; slot++) {
        const v = fr.spills[slot];
        const w = nullChecked(v, id, isNull);
        if (w === v) continue;
        ownStack(fr);
        fr.spills[slot] = w;
      }
    }
  }

  private exit(path: Path): 'exit' | undefined {
    const pc = path.pc;
    const st = path.state;
    const f = curFrame(st);
    // Like Linux, a function's exit does not read r0: clang drops the return
    // value of a static function whose callers ignore it, and an uninitialised
    // r0 stays uninitialised in the caller (reading it there is rejected).
    const r0 = st.frames.length > 1 ? f.regs[0]! : this.read(pc, f, 0);
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

  private helperCall(pc: number, st: VState, id: number): void {
    const f = curFrame(st);
    const proto = this.helpers.get(id);
    if (proto === undefined) {
      const name = helperName(id, this.helpers);
      throw new Reject(pc, name === 'func' ? `invalid func unknown#${id}` : `program of this type cannot use helper ${name}#${id}`);
    }
    let map: MapSpec | undefined;
    let mapIndex = -1;
    proto.args.forEach((arg, k) => {
      const regno = k + 1;
      if (arg === 'optional') return;
      const r = this.read(pc, f, regno);
      switch (arg) {
        case 'anything':
          return;
        case 'const_map_ptr':
          if (r.kind !== 'ptr' || r.ptr !== 'map_ptr') throw new Reject(pc, `R${regno} type=${typeName(r)} expected=map_ptr`);
          map = this.maps[r.map];
          mapIndex = r.map;
          return;
        case 'map_key':
        case 'map_value': {
          if (map === undefined) throw new Reject(pc, `invalid map_ptr to access map->${arg === 'map_key' ? 'key' : 'value'}`);
          const n = arg === 'map_key' ? map.keySizeBytes : map.valueSizeBytes;
          this.helperMem(pc, st, regno, r, n, true);
          return;
        }
        case 'mem_readonly': {
          const sizeReg = this.read(pc, f, regno + 1);
          if (sizeReg.kind !== 'scalar') throw new Reject(pc, `R${regno + 1} type=${typeName(sizeReg)} expected=scalar`);
          this.markPrecise(regno + 1);
          const b = sizeReg.s.b64;
          if (b.smin < 0n) throw new Reject(pc, `R${regno + 1} min value is negative, either use unsigned or 'var &= const'`);
          if (b.umax >= BigInt(MAX_VAR_OFF)) throw new Reject(pc, `R${regno + 1} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
          const kindOfSize = proto.args[k + 1];
          if (b.umin === 0n && kindOfSize === 'const_size') throw new Reject(pc, `R${regno + 1} invalid zero-sized read`);
          if (b.umax > 0n) this.helperMem(pc, st, regno, r, Number(b.umax), false);
          return;
        }
        case 'const_size':
        case 'const_size_or_zero':
          return;
      }
    });
    for (let r = 1; r <= 5; r++) f.regs[r] = UNINIT;
    switch (proto.ret) {
      case 'integer':
      case 'void':
        f.regs[0] = scalarReg(scalarUnknown());
        break;
      case 'map_value_or_null': {
        if (map === undefined) throw new Reject(pc, `${proto.name} returns a map value but has no map argument`);
        f.regs[0] = { ...this.ptr('map_value_or_null', map.valueSizeBytes), map: mapIndex, id: this.newId(), readOnly: map.readOnly };
        break;
      }
    }
  }

  /** A helper reads `n` bytes at the pointer in register `regno`. */
  private helperMem(pc: number, st: VState, regno: number, r: RegState, n: number, noPointers: boolean): void {
    if (r.kind !== 'ptr' || (r.ptr !== 'stack' && r.ptr !== 'mem' && r.ptr !== 'map_value')) {
      throw new Reject(pc, `R${regno} type=${typeName(r)} expected=fp, map_value, mem`);
    }
    if (r.ptr === 'stack') {
      const sf = this.stackFrameOf(pc, st, r);
      const at = this.stackOffset(pc, regno, r, 0, n, 'indirect access to');
      const idx = at + STACK_FRAME_BYTES;
      for (let k = 0; k < n; k++) {
        if (sf.stackTypes[idx + k] === StackByte.INVALID) throw new Reject(pc, `invalid indirect read from stack R${regno} off ${at}+${k} size ${n}`);
      }
      if (noPointers) {
        for (let s = idx >> 3; s <= (idx + n - 1) >> 3; s++) {
          const v = sf.stackTypes[s * 8] === StackByte.SPILL ? sf.spills[s] : undefined;
          if (v !== undefined && v.kind === 'ptr') throw new Reject(pc, `R${regno} leaks addr into map`);
        }
      }
      return;
    }
    this.checkMemRange(pc, regno, r, 0, n);
  }
}

/** v after a null check of the map_value_or_null `id`: 0 (isNull) or a map_value; other values unchanged. */
function nullChecked(v: RegState | undefined, id: number, isNull: boolean): RegState | undefined {
  if (v === undefined || v.kind !== 'ptr' || v.ptr !== 'map_value_or_null' || v.id !== id) return v;
  return isNull ? scalarReg(scalarConst(0n)) : { ...v, ptr: 'map_value', id: 0 };
}

/** Add `need` to `into`; whether anything was new. */
function mergePrecision(into: Precision, need: Precision): boolean {
  const ir = into.regs;
  const nr = need.regs;
  const is = into.slots;
  const ns = need.slots;
  const frames = ir.length < nr.length ? ir.length : nr.length;
  let changed = false;
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
  // The hottest loop of precision tracking: arrays and fields read once, and
  // the emptiness test (all marks gone: stop) redone only after a change.
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
      if (precisionEmpty(need)) return;
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

/** For each instruction, the length of the jump-free run starting there, up to the next prune point (capped at 255). */
function straightRuns(insns: readonly Insn[], prunePoints: readonly boolean[]): Uint8Array {
  const n = insns.length;
  const run = new Uint8Array(n);
  for (let pc = n - 1; pc >= 0; pc--) {
    const cls = insnClass(insns[pc]!.code);
    if (cls === InsnClass.JMP || cls === InsnClass.JMP32) continue;
    const next = pc + 1 < n && !prunePoints[pc + 1] ? run[pc + 1]! : 0;
    run[pc] = Math.min(255, 1 + next);
  }
  return run;
}

function precisionEmpty(p: Precision): boolean {
  const regs = p.regs;
  const slots = p.slots;
  const n = regs.length;
  const m = slots.length;
  for (let k = 0; k < n; k++) if (regs[k] !== 0) return false;
  for (let k = 0; k < m; k++) if (slots[k] !== 0) return false;
  return true;
}

function ensureFrames(need: Precision, fi: number): void {
  while (need.regs.length <= fi) {
    need.regs.push(0);
    need.slots.push(0, 0);
  }
}

/**
 * Which of the `candidates` registers of the innermost frame st holds as
 * constants. For the live registers of an active checkpoint, an equal state
 * has the same constants; for those a finished one relied on (precise), so
 * does a state it covers.
 */
function constMask(st: VState, candidates: number): number {
  const regs = st.frames[st.frames.length - 1]!.regs;
  let mask = 0;
  for (let m = candidates & REGS_MASK; m !== 0; m &= m - 1) {
    const r = LOWEST_REG[m]!;
    const v = regs[r]!;
    if (v.kind === 'scalar' && isConst(v.s)) mask |= 1 << r;
  }
  return mask;
}

/** Key text of constant scalars (shared objects: scalarConst caches them), to spare a BigInt-to-string per lookup. */
const constKeyMemo = new WeakMap<Scalar, string>();

/** The constants of the innermost frame's registers in `mask`, as a key; undefined if one is not a constant. */
function constKey(st: VState, mask: number): string | undefined {
  if (mask === 0) return '';
  const regs = st.frames[st.frames.length - 1]!.regs;
  let key = '';
  for (let m = mask & REGS_MASK; m !== 0; m &= m - 1) {
    const v = regs[LOWEST_REG[m]!]!;
    if (v.kind !== 'scalar' || !isConst(v.s)) return undefined;
    let k = constKeyMemo.get(v.s);
    if (k === undefined) {
      k = `${constValue(v.s)},`;
      constKeyMemo.set(v.s, k);
    }
    key += k;
  }
  return key;
}


