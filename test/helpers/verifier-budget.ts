// The verifier budget a shipped storage function's loader gives it: its own for
// the one that needs more than verify()'s defaults (wt_lookup, src/wt/emulated.ts),
// none for the others. Tests that verify every shipped object ask here, so a
// budget that changes (or goes away) changes in one place.

import { WT_LOOKUP_PROGRAM, WT_LOOKUP_VERIFIER_BUDGET } from '../../src/wt/emulated.ts';

/** verify() / loadProgram() options, as the program's loader sets them. */
export interface LoaderBudget {
  insnLimit: number;
  stateLimit: number;
}

/** The budget the loader of program `name` verifies it with, or null when it uses verify()'s defaults. */
export function loaderBudget(name: string): LoaderBudget | null {
  if (name === WT_LOOKUP_PROGRAM) return { insnLimit: WT_LOOKUP_VERIFIER_BUDGET.insns, stateLimit: WT_LOOKUP_VERIFIER_BUDGET.states };
  return null;
}
