// Typed errors of the file system: a bad image (corrupt or foreign on-disk
// format) and failed operations (no space, no such file...). The syscall layer
// turns operation errors into errno results through `errno`.

import { XrpError } from '../../base/errors.ts';

/** An operation failed; `errno` is the Linux errno a syscall would return. */
export class FsError extends XrpError {
  constructor(
    readonly errno: number,
    message: string,
  ) {
    super('FS', message);
  }
}

/** The image does not hold a valid file system (bad magic, version, checksum, or inconsistent metadata). */
export class FsCorruptError extends XrpError {
  constructor(
    readonly imagePath: string,
    message: string,
  ) {
    super('FS_CORRUPT', `image ${imagePath}: ${message}`);
  }
}
