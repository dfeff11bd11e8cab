// The file a native engine serves: its identity when opened (size, mtime,
// inode, device; each worker checks that it opened the same file and, after
// requests, that it did not change), and whether its file system does O_DIRECT.

import { closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { XRP_BLOCK_BYTES } from '../xrp/limits.ts';
import { PAGE } from './channel.ts';
import { NativeXrpError } from './errors.ts';
import type { FileIdentity } from './worker.ts';

export function fileIdentity(path: string): FileIdentity {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (e) {
    throw new NativeXrpError('EBADF', `cannot open ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new NativeXrpError('ESPIPE', `${path} is not a regular file`);
  return { sizeBytes: Number(st.size), mtimeNs: st.mtimeNs.toString(), ino: st.ino.toString(), dev: st.dev.toString() };
}

/**
 * Whether `path`'s file system accepts O_DIRECT reads into the engine's buffers
 * (a page of a WebAssembly.Memory, page-aligned by V8). Returns the reason when not.
 */
export function probeDirect(path: string): { ok: true } | { ok: false; reason: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    return { ok: false, reason: `open with O_DIRECT failed: ${(e as Error).message}` };
  }
  try {
    const page = new Uint8Array(new WebAssembly.Memory({ initial: 1, maximum: 1 }).buffer);
    readSync(fd, page, PAGE, XRP_BLOCK_BYTES, 0);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `an aligned 512-byte O_DIRECT read failed: ${(e as Error).message}` };
  } finally {
    closeSync(fd);
  }
}
