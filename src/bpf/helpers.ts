// Helper functions, called by `call imm` with the helper's id in imm.
// A helper receives r1..r5 and returns the new r0; pointer arguments are
// addresses in the run's AddressSpace.

import type { AddressSpace } from './memory.ts';

export interface HelperEnv {
  readonly memory: AddressSpace;
}

export type HelperFn = (r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, env: HelperEnv) => bigint;

export interface Helper {
  readonly id: number;
  readonly name: string;
  readonly fn: HelperFn;
}

/** Helpers by id. */
export type HelperTable = ReadonlyMap<number, Helper>;
