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
//
// The parts, one file per joint (as Linux's verifier and PREVAIL separate
// them), are functions over one VerifierContext (context.ts): explore.ts
// (paths, checkpoints, pruning), precision.ts (precision backtracking), alu.ts
// (ALU and pointer arithmetic), memory.ts (loads, stores, atomics, the stack),
// jumps.ts (jumps, null checks, exit) and helper-calls.ts. They are plain
// functions taking the context first, not methods spread over classes: the
// calls stay monomorphic and allocate nothing more than the one class did.

import type { Program } from '../isa.ts';
import type { MapSpec } from '../elf/elf.ts';
import { resetScalarMemo } from './bounds.ts';
import type { Cfg } from './cfg.ts';
import { VerifierTooComplexError } from './budget.ts';
import { VerifierError, insnText, rejectionLog } from './log.ts';
import type { HelperProto, ProgramType } from './types.ts';
import { nowMs, Reject, VerifierContext } from './context.ts';
import { run } from './explore.ts';

export { PROCESSED_INSNS_MAX } from './context.ts';

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

/** Verify `program` as a program of `options.type`. Never throws: every problem is a rejection. */
export function verify(program: Program, options: VerifyOptions): VerifierResult {
  const started = nowMs();
  resetScalarMemo();
  const v = new VerifierContext(program, options);
  try {
    const cfg = run(v);
    return { ok: true, stats: v.stats(started), cfg, log: v.acceptLog() };
  } catch (e) {
    const reject = e instanceof Reject ? e : new Reject(v.currentPc, `internal verifier error: ${(e as Error)?.message ?? String(e)}`);
    const error = reject.budget !== null
      ? new VerifierTooComplexError(program, reject.pc, reject.reason, v.currentStateText(), reject.budget.kind, reject.budget.limit)
      : new VerifierError(program.name, reject.pc, insnText(program.insns, reject.pc), reject.reason, v.currentStateText());
    return { ok: false, error, stats: v.stats(started), log: rejectionLog(error, v.processed, v.trailLines()) };
  }
}
