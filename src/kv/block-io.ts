// How a simulated application thread reads one 512-byte block of the BPF-KV
// file, in each user-space mode:
//   read  - pread() on an O_DIRECT fd (the whole kernel read path per hop)
//   uring - one IORING_OP_READ SQE per hop, submitted and waited with io_uring_enter
//           (or, batched, the current hop of every key of a request in one enter)
//   spdk  - the SPDK-style polled driver: the thread's own queue pair, busy-polled;
//           file offsets become LBAs through the file's extent map, read once
//           at start-up (as an SPDK application knows where its data lives)
// Set-up (open, io_uring_setup, queue pair allocation) happens in `openBlockIo`,
// before the timed requests.

import { XrpError } from '../base/errors.ts';
import { errnoName } from '../kernel/errno.ts';
import { findExtent, type Extent } from '../kernel/fs/extent-map.ts';
import { FS_BLOCK_BYTES } from '../kernel/fs/layout.ts';
import { IORING_OP_READ, IoUring, ioUringSetup } from '../kernel/io-uring.ts';
import { O_DIRECT, O_RDONLY, type Process } from '../kernel/syscalls.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import type { SpdkDriver } from '../spdk/spdk.ts';
import { BLOCK_BYTES } from './format.ts';

export class KvIoError extends XrpError {
  constructor(message: string) {
    super('KV_IO', message);
  }
}

export type UserMode = 'read' | 'uring' | 'spdk';

export interface KvBlockIo {
  readonly mode: UserMode;
  /** Reads the 512-byte block at `offsetBytes` (a multiple of 512); the view is valid until the next read. */
  read(t: SimThread, offsetBytes: number): Task<Uint8Array>;
  /** device reads made */
  reads: number;
  /**
   * uring only: reads up to BATCH_READS_MAX blocks with one io_uring_enter
   * (all SQEs submitted together, then every CQE reaped); views in the order
   * of `offsetsBytes`, valid until the next read.
   */
  readMany?(t: SimThread, offsetsBytes: readonly number[]): Task<Uint8Array[]>;
}

/** Blocks one batched io_uring submission reads at most (a scatter-gather request's 32 keys). */
export const BATCH_READS_MAX = 32;

export interface BlockIoContext {
  proc: Process;
  fileName: string;
  /** the file's extents, for SPDK's LBA translation */
  extents: readonly Extent[];
  spdk: SpdkDriver | null;
}

function checkOffset(offsetBytes: number, mode: string): void {
  if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || offsetBytes % BLOCK_BYTES !== 0) {
    throw new KvIoError(`${mode}: block offset ${String(offsetBytes)} is not a non-negative multiple of ${BLOCK_BYTES}`);
  }
}

function* openFd(t: SimThread, ctx: BlockIoContext, mode: string): Task<number> {
  const fd = yield* ctx.proc.open(t, ctx.fileName, O_RDONLY | O_DIRECT);
  if (fd < 0) throw new KvIoError(`${mode}: open('${ctx.fileName}', O_RDONLY|O_DIRECT) failed: ${errnoName(fd)}`);
  return fd;
}

class PreadIo implements KvBlockIo {
  readonly mode = 'read';
  reads = 0;
  private readonly view: Uint8Array;
  constructor(
    private readonly proc: Process,
    private readonly fd: number,
    private readonly buf: number,
  ) {
    this.view = proc.bytes(buf, BLOCK_BYTES);
  }
  *read(t: SimThread, offsetBytes: number): Task<Uint8Array> {
    checkOffset(offsetBytes, 'read');
    const n = yield t.call(this.proc.pread(t, this.fd, this.buf, BLOCK_BYTES, offsetBytes));
    if (n !== BLOCK_BYTES) throw new KvIoError(`read: pread of ${BLOCK_BYTES} bytes at offset ${offsetBytes} returned ${n < 0 ? errnoName(n) : n}`);
    this.reads++;
    return this.view;
  }
}

class UringIo implements KvBlockIo {
  readonly mode = 'uring';
  reads = 0;
  private readonly views: Uint8Array[] = [];
  constructor(
    private readonly ring: IoUring,
    private readonly fd: number,
    /** BATCH_READS_MAX buffers of 512 bytes, one after another */
    private readonly bufs: number,
    proc: Process,
  ) {
    for (let i = 0; i < BATCH_READS_MAX; i++) this.views.push(proc.bytes(bufs + i * BLOCK_BYTES, BLOCK_BYTES));
  }

  private queue(offsetBytes: number, slot: number): void {
    checkOffset(offsetBytes, 'uring');
    const sqe = this.ring.getSqe();
    if (sqe === null) throw new KvIoError('uring: the submission ring is full');
    sqe.opcode = IORING_OP_READ;
    sqe.fd = this.fd;
    sqe.addr = this.bufs + slot * BLOCK_BYTES;
    sqe.len = BLOCK_BYTES;
    sqe.off = offsetBytes;
    sqe.userData = slot;
  }

  /** Submits the queued SQEs, waits for `n` completions and reaps them, checking each. */
  private *complete(t: SimThread, n: number, offsetsBytes: readonly number[]): Task {
    const r = yield* this.ring.submitAndWait(t, n);
    if (r < 0) throw new KvIoError(`uring: io_uring_enter failed: ${errnoName(r)}`);
    for (let reaped = 0; reaped < n; reaped++) {
      let cqe = this.ring.peekCqe();
      if (cqe === null) {
        // Woken before the last completions: wait for the rest.
        const w = yield* this.ring.submitAndWait(t, n - reaped);
        if (w < 0) throw new KvIoError(`uring: io_uring_enter failed: ${errnoName(w)}`);
        cqe = this.ring.peekCqe();
        if (cqe === null) throw new KvIoError(`uring: ${n - reaped} of ${n} completions missing after waiting`);
      }
      const res = cqe.res;
      const slot = cqe.userData;
      this.ring.cqeSeen();
      if (res !== BLOCK_BYTES) {
        throw new KvIoError(`uring: read of ${BLOCK_BYTES} bytes at offset ${offsetsBytes[slot] ?? '?'} completed with ${res < 0 ? errnoName(res) : res}`);
      }
      this.reads++;
    }
  }

  *read(t: SimThread, offsetBytes: number): Task<Uint8Array> {
    this.queue(offsetBytes, 0);
    yield* this.complete(t, 1, [offsetBytes]);
    const view = this.views[0];
    if (view === undefined) throw new KvIoError('uring: no read buffer'); // the ring's views are made with it
    return view;
  }

  *readMany(t: SimThread, offsetsBytes: readonly number[]): Task<Uint8Array[]> {
    const n = offsetsBytes.length;
    if (n < 1 || n > BATCH_READS_MAX) throw new KvIoError(`uring: a batch reads 1 to ${BATCH_READS_MAX} blocks, got ${n}`);
    offsetsBytes.forEach((offset, slot) => this.queue(offset, slot));
    yield* this.complete(t, n, offsetsBytes);
    return this.views.slice(0, n);
  }
}

class SpdkIo implements KvBlockIo {
  readonly mode = 'spdk';
  reads = 0;
  private readonly buf = new Uint8Array(FS_BLOCK_BYTES);
  private readonly view = this.buf.subarray(0, BLOCK_BYTES);
  constructor(
    private readonly qpair: ReturnType<SpdkDriver['allocQpair']>,
    private readonly extents: readonly Extent[],
  ) {}
  *read(t: SimThread, offsetBytes: number): Task<Uint8Array> {
    checkOffset(offsetBytes, 'spdk');
    const lblk = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const i = findExtent(this.extents, lblk);
    const e = i < 0 ? undefined : this.extents[i];
    if (e === undefined || e.unwritten) {
      // a hole or an unwritten extent has no data on the device: it reads as zeros, as pread() gives it (nothing is sent)
      this.view.fill(0);
      return this.view;
    }
    const deviceBytes = (e.pblk + (lblk - e.lblk)) * FS_BLOCK_BYTES + (offsetBytes % FS_BLOCK_BYTES);
    const status = yield* this.qpair.read(t, deviceBytes / BLOCK_BYTES, 1, this.buf);
    if (status !== 0) throw new KvIoError(`spdk: read of LBA ${deviceBytes / BLOCK_BYTES} (offset ${offsetBytes}) failed with NVMe status 0x${status.toString(16)}`);
    this.reads++;
    return this.view;
  }
}

/** Sets up one thread's I/O for `mode` (untimed by the caller's latency histogram, but in virtual time). */
export function* openBlockIo(t: SimThread, mode: UserMode, ctx: BlockIoContext): Task<KvBlockIo> {
  switch (mode) {
    case 'read': {
      const fd = yield* openFd(t, ctx, mode);
      return new PreadIo(ctx.proc, fd, ctx.proc.alloc(FS_BLOCK_BYTES));
    }
    case 'uring': {
      const fd = yield* openFd(t, ctx, mode);
      const ring = yield* ioUringSetup(t, ctx.proc, { entries: BATCH_READS_MAX });
      if (!(ring instanceof IoUring)) throw new KvIoError(`uring: io_uring_setup failed: ${errnoName(ring)}`);
      return new UringIo(ring, fd, ctx.proc.alloc(BATCH_READS_MAX * BLOCK_BYTES), ctx.proc);
    }
    case 'spdk': {
      if (ctx.spdk === null) throw new KvIoError('spdk: no SPDK driver attached to the run');
      return new SpdkIo(ctx.spdk.allocQpair(), ctx.extents);
    }
    default:
      throw new KvIoError(`unknown user-space mode '${String(mode)}'`);
  }
}
