// The block-device seam of the engine. The engine is written as generators
// (simulated code, src/sim/thread.ts) that `yield*` their I/O: on the emulated
// machine a PageIo issues system calls on a simulated thread (so I/O takes
// virtual time and other threads run meanwhile); on a real file or in memory
// the I/O completes synchronously, never yields, and runSync drives the engine.

import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { Task } from '../sim/thread.ts';
import { WtError } from './errors.ts';
import { PAGE_BYTES } from './format.ts';

/** What the XRP walk of one lookup gave back (see xrp-lookup.ts). */
export type XrpWalkOutcome =
  /** the walk reached a leaf: its page (as read) and the storage function's answer */
  | { kind: 'leaf'; leafBlock: number; leafChecksum: number; leaf: Uint8Array; found: boolean; valueOffset: number; valueBytes: number; hops: number }
  /** the kernel could not finish (a block moved, the limit, a program error): redo the walk in user space */
  | { kind: 'retry'; reason: string };

/** Per-thread access to the engine's file. */
export interface PageIo {
  /** for messages */
  readonly label: string;
  /** the file's size in bytes */
  sizeBytes(): number;
  /** One whole page; a short read (a truncated file) is a WT_IO error naming the block. */
  readBlock(block: number): Task<Uint8Array>;
  writeBlock(block: number, bytes: Uint8Array): Task<void>;
  /** makes every completed write durable */
  sync(): Task<void>;
  /** The engine visited a page in its cache (the emulated machine charges CPU for it). */
  visit?(): void;
  /** Hands a lookup to a storage function from `block` (a page at `level`) down to the leaf; absent where XRP is not available. */
  xrpWalk?(block: number, level: number, key: Uint8Array): Task<XrpWalkOutcome>;
}

/** Runs engine code whose I/O never yields (real files, memory). */
export function runSync<T>(task: Task<T>): T {
  const step = task.next(0);
  if (!step.done) throw new WtError('WT_STATE', 'runSync: the I/O yielded (an emulated PageIo must run on a simulated thread)');
  return step.value;
}

export function shortRead(label: string, block: number, got: number, fileBytes: number): WtError {
  return new WtError('WT_IO', `${label}: short read of block ${block} (file offset ${block * PAGE_BYTES}): ${got} of ${PAGE_BYTES} bytes (file is ${fileBytes} bytes, truncated?)`);
}

/** A real file, with pread/pwrite/fsync. */
export class FilePageIo implements PageIo {
  private fd: number;
  private writes = 0;

  constructor(readonly path: string, options: { create?: boolean } = {}) {
    this.fd = openSync(path, options.create === true ? 'w+' : 'r+');
  }

  get label(): string {
    return this.path;
  }

  sizeBytes(): number {
    return fstatSync(this.fd).size;
  }

  *readBlock(block: number): Task<Uint8Array> {
    const out = new Uint8Array(PAGE_BYTES);
    let got = 0;
    while (got < PAGE_BYTES) {
      const n = readSync(this.fd, out, got, PAGE_BYTES - got, block * PAGE_BYTES + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== PAGE_BYTES) throw shortRead(this.path, block, got, this.sizeBytes());
    return out;
  }

  *writeBlock(block: number, bytes: Uint8Array): Task<void> {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, block * PAGE_BYTES + done);
    this.writes++;
  }

  *sync(): Task<void> {
    fsyncSync(this.fd);
  }

  truncate(bytes: number): void {
    ftruncateSync(this.fd, bytes);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Thrown by MemoryPageIo at the planned crash. */
export class SimulatedCrash extends Error {}

/**
 * A file in memory, for tests. With `crashAfterWrites = k` the (k+1)-th write
 * stops the "machine": it lands torn (its first `tornBytes`, default none)
 * and throws SimulatedCrash; the bytes are then what a reopen would find.
 */
export class MemoryPageIo implements PageIo {
  bytes: Uint8Array;
  length: number;
  writes = 0;
  crashAfterWrites = Infinity;
  tornBytes = 0;
  readonly label = 'memory';

  constructor(initial?: Uint8Array) {
    this.bytes = new Uint8Array(Math.max(1 << 16, initial?.length ?? 0));
    this.length = initial?.length ?? 0;
    if (initial !== undefined) this.bytes.set(initial);
  }

  sizeBytes(): number {
    return this.length;
  }

  snapshot(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  *readBlock(block: number): Task<Uint8Array> {
    const at = block * PAGE_BYTES;
    const got = Math.max(0, Math.min(PAGE_BYTES, this.length - at));
    if (got !== PAGE_BYTES) throw shortRead(this.label, block, got, this.length);
    return this.bytes.slice(at, at + PAGE_BYTES);
  }

  private put(at: number, data: Uint8Array): void {
    if (at + data.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(at + data.length, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(data, at);
    this.length = Math.max(this.length, at + data.length);
  }

  *writeBlock(block: number, data: Uint8Array): Task<void> {
    if (this.writes >= this.crashAfterWrites) {
      if (this.tornBytes > 0) this.put(block * PAGE_BYTES, data.subarray(0, this.tornBytes));
      throw new SimulatedCrash(`crash at write ${this.writes} (block ${block})`);
    }
    this.put(block * PAGE_BYTES, data);
    this.writes++;
  }

  *sync(): Task<void> {}
}
