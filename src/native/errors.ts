// The native engine's errors: a typed XrpError whose code names the problem
// (EINVAL, EBADF, NATIVE_CLOSED, ... of src/base/errors.ts), and the one of a
// request whose worker died.

import { XrpError } from '../base/errors.ts';

export class NativeXrpError extends XrpError {}

/** A request failed because the worker serving it died. */
export class NativeWorkerError extends NativeXrpError {
  constructor(
    readonly workerId: number,
    message: string,
  ) {
    super('NATIVE_WORKER', message);
  }
}
