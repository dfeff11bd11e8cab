// The verifier's budget: how much work one verification may do before it
// stops with "too complex". The kernel bounds processed instructions only
// (BPF_COMPLEXITY_LIMIT_INSNS, 1,000,000); a loader that admits untrusted
// objects also needs a bound in time, and time per processed instruction grows
// with the checkpoints stored (each prune point compares against its own), so
// the budget bounds both. The defaults keep the worst objects we found (one
// byte of skiplist.bpf.o changed, six bits of range.bpf.o flipped: see
// docs/verifier.md) under about two seconds on the development machine, while
// the largest shipped storage function (wt_lookup, ~24,000 processed
// instructions, ~1,700 checkpoints) stays inside them. Both are options of
// verify() (and of `xrp verify`); the kernel's limit stays the ceiling.

import type { Program } from '../isa.ts';
import { VerifierError, insnText } from './log.ts';

/** Processed instructions by default: twice the largest shipped storage function's (wt_lookup), 3 times the original authors' range query's. */
export const VERIFY_INSN_BUDGET_DEFAULT = 50_000;
/** Checkpoints stored by default: about 5 times the largest shipped storage function's (wt_lookup). */
export const VERIFY_STATE_BUDGET_DEFAULT = 8_192;

export type VerifierBudgetKind = 'insns' | 'states';

/** "BPF program is too complex": a budget of the verification ran out (not a fault of the program's safety). */
export class VerifierTooComplexError extends VerifierError {
  constructor(
    program: Program,
    pc: number,
    reason: string,
    regState: string,
    /** which budget ran out, and its size */
    readonly budget: VerifierBudgetKind,
    readonly limit: number,
  ) {
    super(program.name, pc, insnText(program.insns, pc), reason, regState);
  }
}

/** The reason text of a budget that ran out at `used`. */
export function tooComplexReason(kind: VerifierBudgetKind, used: number, limit: number): string {
  return kind === 'insns'
    ? `BPF program is too complex: processed ${used} insns (limit ${limit})`
    : `BPF program is too complex: stored ${used} states (limit ${limit})`;
}
