// What every execution engine (the reference interpreter, the WebAssembly JIT)
// shares: the environment of a run, its result, and its faults.
//
// Stack layout: one region of CALL_DEPTH_MAX frames of 512 bytes. Frame 0 (the
// entry function) is at the top; r10 of frame d is frameTop(stack, d), and the
// frame occupies the 512 bytes below it. Both engines use this layout, so they
// leave the same bytes in the same places.

import { XrpError } from '../base/errors.ts';
import type { HelperTable } from './helpers.ts';
import { CALL_DEPTH_MAX, STACK_FRAME_BYTES, type Program } from './isa.ts';
import type { AddressSpace, Region } from './memory.ts';

/** The kernel's limit of processed instructions is for the verifier; this is the run-time default. */
export const INSN_LIMIT_DEFAULT = 10_000_000;

export interface ExecEnv {
  readonly memory: AddressSpace;
  /** CALL_DEPTH_MAX * 512 bytes */
  readonly stack: Region;
  readonly helpers: HelperTable;
  /** a run that executes more instructions than this stops with an INSN_LIMIT fault */
  readonly insnLimit: number;
}

export function createExecEnv(
  memory: AddressSpace,
  helpers: HelperTable = new Map(),
  insnLimit: number = INSN_LIMIT_DEFAULT,
): ExecEnv {
  const stack = memory.map('stack', CALL_DEPTH_MAX * STACK_FRAME_BYTES, { writable: true });
  return { memory, stack, helpers, insnLimit };
}

/** r10 of the frame at call depth `depth` (0 = entry). */
export function frameTop(stack: Region, depth: number): number {
  return stack.base + (CALL_DEPTH_MAX - depth) * STACK_FRAME_BYTES;
}

export interface RunResult {
  r0: bigint;
  /** instructions executed (an lddw counts once) */
  insnsExecuted: number;
}

/** An engine runs one program; r1..r5 are its arguments. */
export interface Engine {
  readonly program: Program;
  run(env: ExecEnv, args: readonly bigint[]): RunResult;
  /** The per-block entry of a storage function's driver, bound to `env` (see CtxRunner). */
  ctxRunner(env: ExecEnv): CtxRunner;
}

/**
 * Runs of one engine in one ExecEnv with r1 = an address and r2..r5 = 0: what a
 * storage function's driver (the emulated kernel's XrpProgram, the native
 * engine's chain) calls once per block. `run(r1)` is run(env, [BigInt(r1)])
 * without the BigInt, the array or the result object: it returns the
 * instructions executed and leaves r0 in `r0`. Throws ExecutionFault.
 */
export interface CtxRunner {
  /** one run with r1 = `r1`, an address (an integer 0..2^32-1, as every address of an AddressSpace is) */
  run(r1: number): number;
  /** r0 of the last run that returned */
  readonly r0: bigint;
}

export type FaultKind =
  | 'OUT_OF_BOUNDS' // load or store outside every region
  | 'READ_ONLY' // store into a read-only region
  | 'MISALIGNED_ATOMIC'
  | 'INSN_LIMIT' // executed-instruction limit reached
  | 'UNKNOWN_HELPER'
  | 'CALL_DEPTH' // more than CALL_DEPTH_MAX frames
  | 'INVALID_INSN' // an opcode the runtime does not execute (for example legacy packet access)
  | 'PC_OUT_OF_RANGE' // fell off the end or jumped outside the program
  | 'UNWIND'; // a helper asked the program to stop (conformance tests' unwind helper)

/** A fault during a run, naming the instruction index and, for memory, the address. */
export class ExecutionFault extends XrpError {
  constructor(
    readonly kind: FaultKind,
    readonly pc: number,
    detail: string,
    readonly address?: number,
  ) {
    super(`FAULT_${kind}` as const, `instruction ${pc}: ${detail}`);
  }
}

/** A CtxRunner run with an r1 that is not an address (an integer 0..2^32-1). */
export class ExecutionArgumentError extends XrpError {
  constructor(programName: string, r1: number) {
    super('EINVAL', `"${programName}": r1 must be an address 0..2^32-1, got ${r1}`);
  }
}
