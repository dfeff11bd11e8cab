// Fault sites and compile errors, shared by every part of the JIT.

import type { FaultKind } from '../engine.ts';
import { XrpError } from '../../base/errors.ts';

/** A place in the program that can fault; the wasm code records its index before it traps (emitter.ts, emitFault). */
export interface FaultSite {
  kind: FaultKind;
  pc: number;
  /** message, given the i64 value passed along (for example the helper id of a callx) */
  message: (value: bigint, limit: number) => string;
}

/** The fault sites of one module, in the order the code refers to them. */
export class FaultSites {
  readonly list: FaultSite[] = [];

  add(kind: FaultKind, pc: number, message: FaultSite['message']): number {
    this.list.push({ kind, pc, message });
    return this.list.length - 1;
  }
}

/** The JIT met something it cannot translate (an internal inconsistency, never user input). */
export class JitCompileError extends XrpError {
  constructor(
    programName: string,
    readonly pc: number,
    detail: string,
  ) {
    super('JIT_COMPILE', `JIT of "${programName}", instruction ${pc}: ${detail}`);
  }
}
