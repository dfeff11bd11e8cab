// The verifier's context: the state of one verification that every part
// reads and writes (the kernel's struct bpf_verifier_env), with the small
// accessors they share. The parts are functions over it, one file per joint:
// explore.ts (paths, checkpoints, pruning), precision.ts, alu.ts, memory.ts,
// jumps.ts (jumps, null checks, exit), helper-calls.ts.

import { FRAME_POINTER, type Insn, type Program } from '../isa.ts';
import type { MapSpec } from '../elf/elf.ts';
import { scalarConst, scalarUnknown, type Scalar } from './bounds.ts';
import { type Cfg } from './cfg.ts';
import { insnText } from './log.ts';
import { VERIFY_INSN_BUDGET_DEFAULT, VERIFY_STATE_BUDGET_DEFAULT, type VerifierBudgetKind } from './budget.ts';
import { newFrame, stateToString, type CoverPlan, type Precision, type Frame, type PtrState, type RegState, type VState } from './state.ts';
import { helpersFor, type HelperProto } from './types.ts';
import { immScalar } from './alu.ts';
import type { VerifierStats, VerifyOptions } from './verifier.ts';

/** The kernel's limit on processed instructions (BPF_COMPLEXITY_LIMIT_INSNS). */
export const PROCESSED_INSNS_MAX = 1_000_000;

/** Largest offset a pointer may carry (the kernel's BPF_MAX_VAR_OFF). */
export const MAX_VAR_OFF = 1 << 29;

export const MAX_VAR_OFF_BIG = BigInt(MAX_VAR_OFF);

const TRAIL_LINES = 24;

/** The trail is a ring of 32 codes (a power of two: the explore loop indexes it with a mask), of which the last TRAIL_LINES are printed. */
const TRAIL_RING = 32;
export const TRAIL_RING_MASK = TRAIL_RING - 1;

/**
 * Monotonic milliseconds, from process.hrtime: the global `performance` is
 * loaded on first use, eleven internal modules of Node's perf_hooks, which
 * made the first verification of a process (`xrp verify`) pay for them.
 */
export function nowMs(): number {
  const t = process.hrtime();
  return t[0] * 1e3 + t[1] / 1e6;
}

export class Reject {
  constructor(
    readonly pc: number,
    readonly reason: string,
    /** set when a budget ran out (src/bpf/verifier/budget.ts) */
    readonly budget: { kind: VerifierBudgetKind; limit: number } | null = null,
  ) {}
}

/** A checkpoint: a state at a prune point and how many paths below it are still pending. */
export interface Checkpoint {
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
  /** the bucket of v.active it sits in while explored (stored checkpoints only): retire() takes it out without recomputing its key */
  activeBucket: Checkpoint[] | null;
  /** coverPlan of its state, computed once it is finished (its precision is final then) and first compared */
  plan: CoverPlan | null;
}

/**
 * Checkpoints of one instruction, per mask of registers (of the innermost
 * frame) that they hold as constants, by those constants: a state can only
 * match the checkpoints whose constants it has (see constKey).
 */
export interface CheckpointBuckets {
  masks: number[];
  byKey: Map<string, Checkpoint[]>[];
}

export interface Path {
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

export const scalarReg = (s: Scalar, id = 0): RegState => ({ kind: 'scalar', s, id });

export type ScalarState = Extract<RegState, { kind: 'scalar' }>;

const ZERO_OFF = scalarConst(0n);

export const UNKNOWN_SCALAR = scalarUnknown();

/** History mark: the instruction's result does not depend on its dst's range. */
export const DST_INDEPENDENT = -2;

/**
 * A history entry is two numbers: the pc, and the frame count and stack slot
 * code (-2..8 * 64 - 1) packed as depth * 1024 + slot code + 2 (a small
 * integer: a third number per processed instruction was a third more memory).
 */
export const HISTORY_DEPTH_UNIT = 1024;

export const HISTORY_SLOT_BIAS = 2;

export function typeName(r: RegState): string {
  if (r.kind === 'ptr') return r.ptr === 'stack' ? 'fp' : r.ptr;
  return r.kind === 'scalar' ? 'scalar' : 'uninit';
}

/** The verifier's state while it explores one program: what every part reads and writes (the kernel's struct bpf_verifier_env). */
export class VerifierContext {
  readonly insns: readonly Insn[];
  readonly helpers: Map<number, HelperProto>;
  readonly maps: readonly MapSpec[];
  processed = 0;
  statesStored = 0;
  readonly stateLimit: number;
  pruned = 0;
  peakPending = 0;
  nextId = 1;
  currentPc = 0;
  current: VState | undefined;
  path: Path | undefined;
  /** stack slot (frame * 64 + slot) of a spill or fill by the current instruction, -1 if none */
  lastSlot = -1;
  /** processed instructions (pc >= 0) and path switches (-1 - from, then the target), written by the explore loop at trailNext++ & TRAIL_RING_MASK (a ring: no shifting per instruction); formatted only on rejection */
  readonly trail: number[] = new Array<number>(TRAIL_RING).fill(0);
  trailNext = 0;
  cfg: Cfg | undefined;
  /** per instruction: checkpoints still being explored (only compared for equality: an infinite loop), by their live constants */
  active: (CheckpointBuckets | undefined)[] = [];
  /** per instruction: finished checkpoints, by their relied-on live constants */
  done: (CheckpointBuckets | undefined)[] = [];
  /** per instruction: checkpoints kept for comparison */
  storedAt = new Int32Array(0);
  /** per instruction, how many instructions from it run without a jump or a prune point (capped) */
  runAhead: Uint8Array = new Uint8Array(0);
  immRegs: (RegState | undefined)[] = [];
  /** reusable Precision objects by frame count (scratchPrecision) */
  readonly scratch: (Precision | undefined)[] = [];
  /** refine() results by operand identity (see scalarAlu); null: that outcome is impossible */
  readonly refineMemo = new Map<Scalar, Map<Scalar, ([Scalar, Scalar] | null | undefined)[]>>();

  constructor(
    program: Program,
    readonly options: VerifyOptions,
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
      timeMs: nowMs() - started,
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
    for (let k = Math.max(0, this.trailNext - TRAIL_LINES); k < this.trailNext; k++) codes.push(this.trail[k & TRAIL_RING_MASK] ?? 0);
    for (let k = 0; k < codes.length; k++) {
      const c = codes[k] ?? 0;
      if (c >= 0) lines.push(`${c}: ${insnText(this.insns, c)}`);
      else if (k + 1 < codes.length) lines.push(`from ${-1 - c} to ${codes[++k]}:`);
    }
    return lines;
  }

  acceptLog(): string[] {
    return [`processed ${this.processed} insns (limit ${Math.min(this.options.insnLimit ?? VERIFY_INSN_BUDGET_DEFAULT, PROCESSED_INSNS_MAX)}), stored ${this.statesStored} states, pruned ${this.pruned} paths`];
  }

  initialState(): VState {
    const f = newFrame(-1);
    if (this.options.type === 'xrp' || this.options.type === 'socket') {
      f.regs[1] = this.ptr('ctx', 0);
    } else {
      const size = this.options.memSizeBytes ?? 4096;
      f.regs[1] = { ...this.ptr('mem', size), sizeBytes: size };
      f.regs[2] = scalarReg(scalarConst(BigInt(size)));
    }
    f.regs[FRAME_POINTER] = { ...this.ptr('stack', 0), frame: 0 };
    return { frames: [f] };
  }

  ptr(kind: PtrState['ptr'], sizeBytes: number): PtrState {
    return { kind: 'ptr', ptr: kind, off: 0, varOff: ZERO_OFF, sizeBytes, map: -1, frame: -1, id: 0, readOnly: false };
  }

  read(pc: number, f: Frame, regno: number): RegState {
    const r = f.regs[regno];
    if (r === undefined || r.kind === 'uninit') throw new Reject(pc, `R${regno} !read_ok`);
    return r;
  }

  /** The immediate of instruction pc as a register value, made once per instruction (register values are immutable); kept in immRegs at 2 * pc + (64-bit ? 1 : 0), which alu() reads directly. */
  immReg(pc: number, imm: number, bits: 32 | 64): RegState {
    const k = 2 * pc + (bits === 64 ? 1 : 0);
    let r = this.immRegs[k];
    if (r === undefined) {
      r = scalarReg(immScalar(imm, bits));
      this.immRegs[k] = r;
    }
    return r;
  }

  newId(): number {
    return this.nextId++;
  }
}
