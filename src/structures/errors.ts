// Typed errors of the on-disk structures (array chain, skip list): bad
// parameters, short reads, corrupt files, storage-function failures. Each names
// what was wrong and where (offset, index, key).

import { XrpError } from '../base/errors.ts';

export class StructureError extends XrpError {
  constructor(code: 'STRUCT_PARAM' | 'STRUCT_READ' | 'STRUCT_CORRUPT' | 'STRUCT_PROGRAM' | 'STRUCT_RUN', message: string) {
    super(code, message);
  }
}

export function paramError(message: string): StructureError {
  return new StructureError('STRUCT_PARAM', message);
}

export function corruptError(message: string): StructureError {
  return new StructureError('STRUCT_CORRUPT', message);
}
