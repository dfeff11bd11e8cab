// Byte sources and sinks the structures read and write through: any
// synchronous positioned-read source (BlockSource of src/kv, e.g. a real file
// or memory) and positioned-write sink (a file, an emulated file system's file).

import type { BlockSource } from '../base/block-source.ts';
import { StructureError } from './errors.ts';

export type { BlockSource } from '../base/block-source.ts';
export { MemoryBlockSource } from '../base/block-source.ts';

/** Where builders write. The builder reuses `data` once the call returns. */
export interface WriteSink {
  write(offsetBytes: number, data: Uint8Array): void;
}

/** Reads exactly `lengthBytes` at `offsetBytes`, or throws naming the short read. */
export function readExact(source: BlockSource, offsetBytes: number, lengthBytes: number, what: string): Uint8Array {
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) {
    throw new StructureError('STRUCT_READ', `invalid offset ${String(offsetBytes)} for ${what}`);
  }
  const out = new Uint8Array(lengthBytes);
  const got = source.pread(out, offsetBytes);
  if (got !== lengthBytes) {
    throw new StructureError(
      'STRUCT_READ',
      `short read of ${what} at offset ${offsetBytes}: ${got} of ${lengthBytes} bytes (file is ${source.sizeBytes} bytes)`,
    );
  }
  return out;
}

/** A growable in-memory file: a BlockSource that can also be written (tests, mutations). */
export class MemoryFile implements BlockSource, WriteSink {
  private buffer: Uint8Array;
  private length = 0;

  constructor(initial?: Uint8Array) {
    this.buffer = new Uint8Array(Math.max(4096, initial?.length ?? 0));
    if (initial !== undefined) {
      this.buffer.set(initial);
      this.length = initial.length;
    }
  }

  get sizeBytes(): number {
    return this.length;
  }

  /** The file's bytes (a view, valid until the next write that grows it). */
  get bytes(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  pread(out: Uint8Array, offsetBytes: number): number {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) throw new StructureError('STRUCT_READ', `invalid read offset ${String(offsetBytes)}`);
    if (offsetBytes >= this.length) return 0;
    const n = Math.min(out.length, this.length - offsetBytes);
    out.set(this.buffer.subarray(offsetBytes, offsetBytes + n));
    return n;
  }

  write(offsetBytes: number, data: Uint8Array): void {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) throw new StructureError('STRUCT_READ', `invalid write offset ${String(offsetBytes)}`);
    const end = offsetBytes + data.length;
    if (end > this.buffer.length) {
      const grown = new Uint8Array(Math.max(end, this.buffer.length * 2));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(data, offsetBytes);
    this.length = Math.max(this.length, end);
  }
}

/**
 * A user-space walk written once for every kind of I/O: a coroutine that
 * yields the file offset of each 512-byte block it needs and is resumed with
 * that block's bytes (valid only until it yields again). runWalk drives it
 * over a BlockSource; src/structures/run.ts drives it with pread() on the
 * emulated machine.
 */
export type BlockWalk<T> = Generator<number, T, Uint8Array>;

export const WALK_BLOCK_BYTES = 512;

/** Runs a walk over a synchronous source. */
export function runWalk<T>(source: BlockSource, walk: BlockWalk<T>): T {
  let step = walk.next(new Uint8Array(0));
  while (!step.done) {
    step = walk.next(readExact(source, step.value, WALK_BLOCK_BYTES, 'a block'));
  }
  return step.value;
}
