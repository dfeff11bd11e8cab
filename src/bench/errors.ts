// Errors a user can cause through `xrp bench` (unknown experiment, bad --set
// value) or that an experiment reports about its own run.

import { XrpError } from '../base/errors.ts';

export class BenchError extends XrpError {
  constructor(message: string) {
    super('BENCH', message);
  }
}
