// Typed errors of the simulator. A SimError means the simulated program broke a
// rule of the machine (negative CPU time, blocking inside an interrupt handler,
// bad configuration), never a bug the user cannot act on.

import { XrpError } from '../base/errors.ts';

export class SimError extends XrpError {
  constructor(message: string) {
    super('SIM', message);
  }
}

/** Throws a SimError unless `value` is a non-negative safe integer. */
export function assertNonNegativeInt(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new SimError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
}

/** Throws a SimError unless `value` is a positive safe integer. */
export function assertPositiveInt(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new SimError(`${what} must be a positive integer, got ${String(value)}`);
  }
}
