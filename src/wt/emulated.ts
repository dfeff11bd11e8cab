// The engine's PageIo on the emulated machine: pread/pwrite with O_DIRECT on a
// simulated thread, and XRP walks with read_xrp and the storage function of
// bpf/wt/lookup.bpf.c (loaded once per process; every thread of the process
// uses the same program fd, as threads share the fd table).

import { fileURLToPath } from 'node:url';
import { O_CREAT, O_DIRECT, O_RDWR, type Process } from '../kernel/syscalls.ts';
import { loadXrpProgramFile, readXrp, XrpStatus, xrpStatusName } from '../kernel/xrp/index.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import { WtError } from './errors.ts';
import { PAGE_BYTES } from './format.ts';
import { shortRead, type PageIo, type XrpWalkOutcome } from './io.ts';
import { readWtQuery, writeWtQuery } from './xrp-check.ts';

export const WT_LOOKUP_OBJECT = fileURLToPath(new URL('../../bpf/wt/lookup.bpf.o', import.meta.url));
export const WT_LOOKUP_PROGRAM = 'wt_lookup';

/** Loads the lookup storage function into `proc` (verifier + JIT); returns its fd. */
export function* loadWtLookup(t: SimThread, proc: Process, engine: 'jit' | 'interp' = 'jit'): Task<number> {
  return yield* loadXrpProgramFile(t, proc, WT_LOOKUP_OBJECT, WT_LOOKUP_PROGRAM, engine);
}

export interface EmulatedIoOptions {
  /** the XRP program fd (from loadWtLookup), or null for no XRP */
  progFd?: number | null;
  /** reads after the first that one walk may make */
  resubmitLimit?: number;
  /** CPU charged per page the engine visits in its cache (default 0) */
  pageVisitNs?: number;
}

export class EmulatedPageIo implements PageIo {
  private readonly dataBuf: number;
  private readonly scratchBuf: number;
  private readonly writeBuf: number;
  readonly xrpWalk?: (block: number, level: number, key: Uint8Array) => Task<XrpWalkOutcome>;
  /** read_xrp calls that ended with each non-DONE status */
  readonly xrpEnds = new Map<string, number>();

  private constructor(
    readonly t: SimThread,
    readonly proc: Process,
    readonly fd: number,
    readonly label: string,
    private readonly options: EmulatedIoOptions,
  ) {
    this.dataBuf = proc.alloc(PAGE_BYTES);
    this.scratchBuf = proc.alloc(PAGE_BYTES);
    this.writeBuf = proc.alloc(PAGE_BYTES);
    if (options.progFd !== undefined && options.progFd !== null) this.xrpWalk = this.walk;
  }

  /** Opens (creating it if asked) `path` with O_DIRECT on thread t. */
  static *open(t: SimThread, proc: Process, path: string, options: EmulatedIoOptions & { create?: boolean } = {}): Task<EmulatedPageIo> {
    const fd = yield* proc.open(t, path, O_RDWR | O_DIRECT | (options.create === true ? O_CREAT : 0));
    if (fd < 0) throw new WtError('WT_IO', `open ${path}: errno ${-fd}`);
    return new EmulatedPageIo(t, proc, fd, path, options);
  }

  visit(): void {
    const ns = this.options.pageVisitNs ?? 0;
    if (ns > 0) this.t.charge(ns);
  }

  *close(): Task<void> {
    yield* this.proc.close(this.t, this.fd);
  }

  sizeBytes(): number {
    return this.proc.file(this.fd)?.inode?.sizeBytes ?? 0;
  }

  *readBlock(block: number): Task<Uint8Array> {
    const got = yield* this.proc.pread(this.t, this.fd, this.dataBuf, PAGE_BYTES, block * PAGE_BYTES);
    if (got < 0) throw new WtError('WT_IO', `${this.label}: pread of block ${block}: errno ${-got}`);
    if (got !== PAGE_BYTES) throw shortRead(this.label, block, got, this.sizeBytes());
    return this.proc.bytes(this.dataBuf, PAGE_BYTES).slice();
  }

  *writeBlock(block: number, bytes: Uint8Array): Task<void> {
    this.proc.bytes(this.writeBuf, PAGE_BYTES).set(bytes);
    const put = yield* this.proc.pwrite(this.t, this.fd, this.writeBuf, PAGE_BYTES, block * PAGE_BYTES);
    if (put !== PAGE_BYTES) throw new WtError('WT_IO', `${this.label}: pwrite of block ${block}: ${put < 0 ? `errno ${-put}` : `${put} bytes`}`);
  }

  /** O_DIRECT writes are on the device when pwrite returns (the emulated device has no volatile cache). */
  *sync(): Task<void> {}

  private *walk(block: number, level: number, key: Uint8Array): Task<XrpWalkOutcome> {
    const progFd = this.options.progFd;
    if (progFd === undefined || progFd === null) return { kind: 'retry', reason: 'no program' };
    const scratch = this.proc.bytes(this.scratchBuf, PAGE_BYTES);
    writeWtQuery(scratch, key, block, level);
    const limit = this.options.resubmitLimit;
    const r = yield* readXrp(this.t, this.proc, this.fd, this.dataBuf, PAGE_BYTES, block * PAGE_BYTES, progFd, this.scratchBuf, limit !== undefined ? { resubmitLimit: limit } : {});
    if (typeof r === 'number') throw new WtError('WT_IO', `${this.label}: read_xrp at block ${block} refused: errno ${-r}`);
    if (r.status !== XrpStatus.DONE) {
      const name = xrpStatusName(r.status);
      this.xrpEnds.set(name, (this.xrpEnds.get(name) ?? 0) + 1);
      return { kind: 'retry', reason: name };
    }
    const q = readWtQuery(scratch);
    if (!q.done) return { kind: 'retry', reason: 'the walk did not reach a leaf' };
    return {
      kind: 'leaf', leafBlock: q.block, leafChecksum: q.checksum, leaf: this.proc.bytes(this.dataBuf, PAGE_BYTES).slice(),
      found: q.found, valueOffset: q.valueOffset, valueBytes: q.valueBytes, hops: q.hops,
    };
  }
}
