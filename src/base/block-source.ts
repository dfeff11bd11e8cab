// A synchronous positioned-read source of file bytes: a real file, a buffer, or
// a computed BPF-KV store. The user-space reference lookups read through it.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { XrpError } from './errors.ts';

export class KvReadError extends XrpError {
  constructor(message: string) {
    super('KV_READ', message);
  }
}

export interface BlockSource {
  readonly sizeBytes: number;
  /** Like pread: fills `out` from `offsetBytes`, returns the bytes read (short at the end of the file). */
  pread(out: Uint8Array, offsetBytes: number): number;
}

function checkOffset(offsetBytes: number): void {
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) {
    throw new KvReadError(`invalid read offset ${String(offsetBytes)}`);
  }
}

/** Reads exactly `lengthBytes` at `offsetBytes`, or throws naming the short read. */
export function readExact(source: BlockSource, offsetBytes: number, lengthBytes: number, what = 'block'): Uint8Array {
  checkOffset(offsetBytes);
  const out = new Uint8Array(lengthBytes);
  const got = source.pread(out, offsetBytes);
  if (got !== lengthBytes) {
    throw new KvReadError(
      `short read of ${what} at offset ${offsetBytes}: ${got} of ${lengthBytes} bytes (file is ${source.sizeBytes} bytes)`,
    );
  }
  return out;
}

export class MemoryBlockSource implements BlockSource {
  constructor(readonly bytes: Uint8Array) {}
  get sizeBytes(): number {
    return this.bytes.length;
  }
  pread(out: Uint8Array, offsetBytes: number): number {
    checkOffset(offsetBytes);
    if (offsetBytes >= this.bytes.length) return 0;
    const n = Math.min(out.length, this.bytes.length - offsetBytes);
    out.set(this.bytes.subarray(offsetBytes, offsetBytes + n));
    return n;
  }
}

/** A file opened read-only; close() when done. */
export class FileBlockSource implements BlockSource {
  private fd: number | undefined;
  readonly sizeBytes: number;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new KvReadError(`cannot open ${path}: ${(e as Error).message}`);
    }
    this.sizeBytes = fstatSync(this.fd).size;
  }

  pread(out: Uint8Array, offsetBytes: number): number {
    checkOffset(offsetBytes);
    if (this.fd === undefined) throw new KvReadError(`${this.path} is closed`);
    let done = 0;
    while (done < out.length) {
      const n = readSync(this.fd, out, done, out.length - done, offsetBytes + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
