// Linux errno values returned by the emulated syscalls. A syscall returns a
// non-negative result or the NEGATIVE errno (as the raw Linux syscall ABI does),
// so the hot read path allocates nothing; `errnoName` prints them.

export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const EMFILE = 24;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EPIPE = 32;
export const ENAMETOOLONG = 36;
export const EOPNOTSUPP = 95;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM', [ENOENT]: 'ENOENT', [EIO]: 'EIO', [EBADF]: 'EBADF', [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM', [EFAULT]: 'EFAULT', [EBUSY]: 'EBUSY', [EEXIST]: 'EEXIST', [ENODEV]: 'ENODEV', [ENOTDIR]: 'ENOTDIR',
  [EISDIR]: 'EISDIR', [EINVAL]: 'EINVAL', [EMFILE]: 'EMFILE', [EFBIG]: 'EFBIG', [ENOSPC]: 'ENOSPC',
  [ESPIPE]: 'ESPIPE', [EPIPE]: 'EPIPE', [ENAMETOOLONG]: 'ENAMETOOLONG', [EOPNOTSUPP]: 'EOPNOTSUPP',
};

/** A syscall result: >= 0 on success, -errno on failure. */
export type SysResult = number;

/** 'EBADF' for -9 or 9. */
export function errnoName(result: SysResult): string {
  const e = result < 0 ? -result : result;
  return NAMES[e] ?? `errno ${e}`;
}
