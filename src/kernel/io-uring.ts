// io_uring (Linux 5.x io_uring/, reduced): a submission ring of SQEs and a
// completion ring of CQEs shared between the process and the kernel.
//
// The application fills SQEs and moves the SQ tail in its own memory (no
// cost), then one io_uring_enter() submits the whole batch; completions are
// posted to the CQ ring in the completion interrupt, and the application reaps
// them from memory without a syscall (peekCqe/cqeSeen), entering the kernel
// only to sleep until enough have arrived (IORING_ENTER_GETEVENTS). With
// SQPOLL a kernel thread polls the SQ ring, burning its core, and submits
// what it finds, so the application makes no syscall at all while the thread
// is awake; after `sqThreadIdleNs` without work it sleeps and sets
// IORING_SQ_NEED_WAKEUP, and the next submit must enter with
// IORING_ENTER_SQ_WAKEUP.
//
// CPU cost model, derived from Table 1's layers (not fitted to any io_uring
// curve): what io_uring does per request is what read() does minus the
// syscall crossing:
//   io_uring_enter          one kernel crossing (351 ns) per call, whatever the batch
//   per SQE                 io_init_req + io_prep_rw + fd lookup + rw_verify_area: the
//                           same work as Table 1's "read syscall" layer (199 ns)
//   file system, bio, NVMe  unchanged per request (2006 + 379 + 113 ns)
//   CQE posting             in the completion interrupt, part of the driver's
//                           completion work; reaping from the ring costs no syscall
// So a batch of n reads costs 351 + n * 2697 ns of CPU instead of n * 3048 ns,
// and with SQPOLL the 351 ns crossing moves off the application thread and the
// per-request work moves to the poller's core.

import { BIO_READ, BIO_WRITE, IoWait } from './block.ts';
import { EBADF, EBUSY, EFAULT, EINVAL, EIO, EISDIR, EOPNOTSUPP, ESPIPE } from './errno.ts';
import type { SysResult } from './errno.ts';
import { FS_BLOCK_BYTES } from './fs/layout.ts';
import type { Kernel } from './kernel.ts';
import { LOGICAL_BLOCK_BYTES } from './nvme-driver.ts';
import { FILE_DIRECTORY, FILE_REGULAR } from './syscalls.ts';
import type { OpenFile, Process } from './syscalls.ts';
import type { EventTarget } from '../sim/event-queue.ts';
import type { CpuContext, SimThread, Task } from '../sim/thread.ts';
import { SimError } from '../sim/errors.ts';

export const IORING_OP_NOP = 0;
export const IORING_OP_READ = 22;
export const IORING_OP_WRITE = 23;

export const IORING_ENTER_GETEVENTS = 1;
export const IORING_ENTER_SQ_WAKEUP = 2;
export const IORING_SQ_NEED_WAKEUP = 1;

export const IORING_ENTRIES_MAX = 32768;

/** A submission queue entry (the fields this model uses). */
export class Sqe {
  opcode = IORING_OP_NOP;
  fd = -1;
  /** User buffer address. */
  addr = 0;
  len = 0;
  /** File offset; -1 means the file position. */
  off = 0;
  userData = 0;
  /** IORING_OP_READ_XRP extras: program fd and scratch page address. */
  bpfFd = -1;
  scratchAddr = 0;

  reset(): void {
    this.opcode = IORING_OP_NOP;
    this.fd = -1;
    this.addr = 0;
    this.len = 0;
    this.off = 0;
    this.userData = 0;
    this.bpfFd = -1;
    this.scratchAddr = 0;
  }
}

export class Cqe {
  userData = 0;
  res = 0;
  flags = 0;
  /** Extra completion data of a registered opcode (IORING_OP_READ_XRP's XrpResult), else null. */
  aux: object | null = null;
}

export interface IoUringParams {
  /** SQ entries (rounded up to a power of two, 1..32768). */
  entries: number;
  /** CQ entries (default 2 x SQ). */
  cqEntries?: number;
  /** IORING_SETUP_SQPOLL: a kernel thread polls the SQ. */
  sqpoll?: boolean;
  /** IORING_SETUP_SQ_AFF: core of the SQ thread. */
  sqThreadCpu?: number;
  /** sq_thread_idle: how long the SQ thread spins without work before sleeping (default 1 ms). */
  sqThreadIdleNs?: number;
}

/**
 * An opcode's kernel side: starts the request described by `sqe` (already
 * copied; runs on the submitting context) and eventually calls
 * `ring.complete(ctx, req, res)` exactly once, now or from a completion
 * interrupt. XRP registers IORING_OP_READ_XRP through Kernel.registerIoUringOp.
 */
export interface IoUringOpHandler {
  issue(ctx: CpuContext, ring: IoUring, req: UringRequest): Task;
}

/** One request in flight (io_kiocb). */
export class UringRequest {
  readonly wait = new IoWait();
  /** Bytes the request transfers on success. */
  resBytes = 0;
  /** Buffered reads: kernel bounce buffer copied to the user at completion. */
  bounce: Uint8Array | null = null;
  bounceOffset = 0;
  userAddr = 0;
  file: OpenFile | null = null;
  /** Write requests update the file system when their data has landed. */
  writeOffset = 0;
  readonly sqe = new Sqe();
  constructor(readonly ring: IoUring) {}
}

const SQ_WAKE_WORK = 0;
/** How long the SQ thread busy-polls before looking at a full CQ again. */
const SQ_POLL_RETRY_NS = 100;
const SQ_WAKE_TIMEOUT = 1;

export class IoUring implements EventTarget {
  readonly sqEntries: number;
  readonly cqEntries: number;
  private readonly sqes: Sqe[] = [];
  private readonly cqes: Cqe[] = [];
  /** Ring indices (free-running, masked on access) as in the shared ring headers. */
  sqHead = 0;
  sqTail = 0;
  cqHead = 0;
  cqTail = 0;
  /** IORING_SQ_NEED_WAKEUP when the SQ thread sleeps. */
  sqFlags = 0;
  inflight = 0;
  closed = false;
  private waiter: SimThread | null = null;
  private waitTarget = 0;
  readonly sqThread: SimThread | null = null;
  private sqSpinning = false;
  private sqIdleGeneration = 0;
  private readonly sqThreadIdleNs: number;
  /** Statistics: io_uring_enter calls, SQEs consumed, CQEs posted. */
  enters = 0;
  submitted = 0;
  completed = 0;

  constructor(
    readonly kernel: Kernel,
    readonly proc: Process,
    params: IoUringParams,
    sqEntries: number,
    cqEntries: number,
  ) {
    this.sqEntries = sqEntries;
    this.cqEntries = cqEntries;
    for (let i = 0; i < sqEntries; i++) this.sqes.push(new Sqe());
    for (let i = 0; i < cqEntries; i++) this.cqes.push(new Cqe());
    this.sqThreadIdleNs = params.sqThreadIdleNs ?? 1_000_000;
    if (params.sqpoll === true) {
      const sim = kernel.sim;
      const cpu = params.sqThreadCpu;
      (this as { sqThread: SimThread | null }).sqThread = sim.spawn(`iou-sqp-${proc.pid}`, (t) => this.sqThreadBody(t), cpu === undefined ? {} : { affinity: [cpu] });
    }
  }

  // ---- user space (liburing): memory operations, no CPU charged ----

  /** The next free SQE (reset), or null when the SQ ring is full. */
  getSqe(): Sqe | null {
    if (this.sqTail - this.sqHead >= this.sqEntries) return null;
    const sqe = this.sqes[this.sqTail & (this.sqEntries - 1)];
    if (sqe === undefined) throw new SimError(`io_uring: SQ tail ${this.sqTail} outside ${this.sqes.length} SQEs`);
    sqe.reset();
    this.sqTail++;
    if (this.sqThread !== null && this.sqSpinning) {
      // The polling thread sees the new tail.
      this.sqSpinning = false;
      this.kernel.sim.wake(this.sqThread, SQ_WAKE_WORK);
    }
    return sqe;
  }

  /** SQEs written and not yet consumed by the kernel. */
  get sqPending(): number {
    return this.sqTail - this.sqHead;
  }

  /** CQEs ready to reap. */
  get cqReady(): number {
    return this.cqTail - this.cqHead;
  }

  /** The oldest unreaped CQE, or null: a read of the CQ ring, no syscall. */
  peekCqe(): Cqe | null {
    if (this.cqTail === this.cqHead) return null;
    const cqe = this.cqes[this.cqHead & (this.cqEntries - 1)];
    if (cqe === undefined) throw new SimError(`io_uring: CQ head ${this.cqHead} outside ${this.cqes.length} CQEs`);
    return cqe;
  }

  /** Marks the oldest CQE consumed (moves the CQ head). */
  cqeSeen(): void {
    if (this.cqTail === this.cqHead) throw new RangeError('cqeSeen with an empty completion ring');
    this.cqHead++;
  }

  /** liburing io_uring_submit: enters only when needed (always without SQPOLL). */
  *submit(t: SimThread): Task<SysResult> {
    if (this.sqThread !== null) {
      const n = this.sqPending;
      if ((this.sqFlags & IORING_SQ_NEED_WAKEUP) !== 0) yield* this.enter(t, 0, 0, IORING_ENTER_SQ_WAKEUP);
      return n;
    }
    return yield* this.enter(t, this.sqPending, 0, 0);
  }

  /** liburing io_uring_submit_and_wait. */
  *submitAndWait(t: SimThread, waitNr: number): Task<SysResult> {
    if (this.sqThread !== null) {
      const n = yield* this.submit(t);
      if (this.cqReady < waitNr) yield* this.enter(t, 0, waitNr, IORING_ENTER_GETEVENTS);
      return n;
    }
    return yield* this.enter(t, this.sqPending, waitNr, IORING_ENTER_GETEVENTS);
  }

  /** liburing io_uring_wait_cqe: reaps from memory when possible, else sleeps in io_uring_enter. */
  *waitCqe(t: SimThread): Task<SysResult> {
    if (this.cqReady > 0) return 0;
    return yield* this.enter(t, 0, 1, IORING_ENTER_GETEVENTS);
  }

  // ---- the syscall ----

  /** io_uring_enter(2): submits up to `toSubmit` SQEs, then optionally waits for `minComplete` CQEs. */
  *enter(t: SimThread, toSubmit: number, minComplete: number, flags: number): Task<SysResult> {
    const c = this.kernel.costs;
    this.enters++;
    yield t.cpu(c.syscallEntryNs);
    let r: SysResult;
    if (this.closed) r = -EBADF;
    else if (!Number.isSafeInteger(toSubmit) || toSubmit < 0 || !Number.isSafeInteger(minComplete) || minComplete < 0 || (flags & ~3) !== 0) r = -EINVAL;
    else if (minComplete > this.cqEntries) r = -EINVAL;
    else {
      r = 0;
      if ((flags & IORING_ENTER_SQ_WAKEUP) !== 0 && this.sqThread !== null && (this.sqFlags & IORING_SQ_NEED_WAKEUP) !== 0) {
        this.sqFlags &= ~IORING_SQ_NEED_WAKEUP;
        this.kernel.sim.wake(this.sqThread, SQ_WAKE_WORK);
      }
      if (this.sqThread === null && toSubmit > 0) r = yield* this.submitSqes(t, Math.min(toSubmit, this.sqPending));
      if (r >= 0 && (flags & IORING_ENTER_GETEVENTS) !== 0 && this.cqReady < minComplete) {
        // Waiting for more CQEs than can ever arrive would sleep forever in Linux; refuse it.
        const possible = this.cqReady + this.inflight + (this.sqThread !== null ? this.sqPending : 0);
        if (possible < minComplete) r = r > 0 ? r : -EINVAL;
        else {
          this.waiter = t;
          this.waitTarget = minComplete;
          yield t.block();
        }
      }
    }
    yield t.cpu(c.syscallExitNs);
    return r;
  }

  /** Releases the ring: stops the SQ thread (so the simulation can end). */
  exit(): void {
    this.closed = true;
    if (this.sqThread !== null && !this.sqThread.done) {
      this.sqSpinning = false;
      this.kernel.sim.wake(this.sqThread, SQ_WAKE_WORK);
    }
  }

  // ---- kernel side ----

  /** io_submit_sqes: consumes up to n SQEs on `ctx`'s core; returns how many were consumed. */
  *submitSqes(ctx: CpuContext, n: number): Task<number> {
    let done = 0;
    while (done < n && this.sqHead !== this.sqTail) {
      // Every request needs a CQ slot: refuse what could overflow the CQ ring
      // (Linux keeps an overflow list and answers EBUSY; we never overflow).
      if (this.inflight + this.cqReady >= this.cqEntries) return done > 0 ? done : -EBUSY;
      const req = new UringRequest(this);
      const src = this.sqes[this.sqHead & (this.sqEntries - 1)];
      if (src === undefined) throw new SimError(`io_uring: SQ head ${this.sqHead} outside ${this.sqes.length} SQEs`);
      Object.assign(req.sqe, src);
      this.sqHead++;
      done++;
      this.submitted++;
      this.inflight++;
      yield ctx.cpu(this.kernel.costs.readSyscallNs);
      yield* this.issue(ctx, req);
    }
    return done;
  }

  private *issue(ctx: CpuContext, req: UringRequest): Task {
    const sqe = req.sqe;
    switch (sqe.opcode) {
      case IORING_OP_NOP:
        this.complete(ctx, req, 0);
        return;
      case IORING_OP_READ:
      case IORING_OP_WRITE:
        yield* this.issueRw(ctx, req, sqe.opcode === IORING_OP_WRITE);
        return;
      default: {
        const handler = this.kernel.ioUringOp(sqe.opcode);
        if (handler === null) this.complete(ctx, req, -EINVAL);
        else yield* handler.issue(ctx, this, req);
      }
    }
  }

  /** Checks of a read/write SQE like io_prep_rw + rw_verify_area; 0 or -errno. */
  private checkRw(req: UringRequest, isWrite: boolean): SysResult {
    const sqe = req.sqe;
    const f = this.proc.file(sqe.fd);
    if (f === null) return -EBADF;
    if (isWrite ? !f.writable : !f.readable) return -EBADF;
    if (f.kind === FILE_DIRECTORY) return -EISDIR;
    if (f.kind !== FILE_REGULAR) return sqe.off === -1 ? -EOPNOTSUPP : -ESPIPE;
    if (!Number.isSafeInteger(sqe.len) || sqe.len < 0 || !Number.isSafeInteger(sqe.off) || sqe.off < -1) return -EINVAL;
    if (!this.proc.validBuffer(sqe.addr, sqe.len, !isWrite)) return -EFAULT;
    req.file = f;
    return 0;
  }

  private *issueRw(ctx: CpuContext, req: UringRequest, isWrite: boolean): Task {
    const k = this.kernel;
    const err = this.checkRw(req, isWrite);
    if (err < 0) {
      this.complete(ctx, req, err);
      return;
    }
    const f = req.file;
    if (f === null) throw new SimError(`io_uring: a read or write passed its checks without a file (fd ${req.sqe.fd})`);
    const sqe = req.sqe;
    const inode = f.requireInode();
    yield ctx.cpu(k.costs.fsNs);
    const pos = sqe.off === -1 ? f.pos : sqe.off;
    if (f.direct && ((sqe.addr | pos | sqe.len) & (LOGICAL_BLOCK_BYTES - 1)) !== 0) {
      this.complete(ctx, req, -EINVAL);
      return;
    }
    const mem = this.proc.mem.u8;
    const wait = req.wait;
    wait.begin();
    wait.onDone = onUringIoDone;
    (wait as IoWaitWithReq).req = req;
    if (isWrite) {
      if (!f.direct || sqe.len === 0) {
        // Buffered writes are copied to the image at once (see syscalls.ts).
        if (sqe.len > 0) k.fs.write(inode, pos, mem.slice(sqe.addr, sqe.addr + sqe.len));
        if (sqe.off === -1) f.pos = pos + sqe.len;
        this.complete(ctx, req, sqe.len);
        return;
      }
      let segs;
      try {
        segs = k.fs.prepareWrite(inode, pos, sqe.len);
      } catch {
        this.complete(ctx, req, -EIO);
        return;
      }
      req.resBytes = sqe.len;
      req.writeOffset = pos;
      for (const s of segs) {
        const a = Math.max(pos, s.lblk * FS_BLOCK_BYTES);
        const b = Math.min(pos + sqe.len, (s.lblk + s.len) * FS_BLOCK_BYTES);
        if (a >= b) continue;
        yield* k.block.submitBio(ctx, BIO_WRITE, (s.pblk * FS_BLOCK_BYTES + (a - s.lblk * FS_BLOCK_BYTES)) / LOGICAL_BLOCK_BYTES, b - a, mem, sqe.addr + (a - pos), wait);
      }
    } else {
      const n = Math.max(0, Math.min(sqe.len, inode.sizeBytes - pos));
      req.resBytes = n;
      if (n > 0) {
        const first = Math.floor(pos / FS_BLOCK_BYTES);
        const end = Math.ceil((pos + n) / FS_BLOCK_BYTES);
        let ioStart: number;
        let ioEnd: number;
        let buf: Uint8Array;
        let bufAt0: number;
        if (f.direct) {
          ioStart = pos;
          ioEnd = pos + Math.ceil(n / LOGICAL_BLOCK_BYTES) * LOGICAL_BLOCK_BYTES;
          buf = mem;
          bufAt0 = sqe.addr;
        } else {
          ioStart = first * FS_BLOCK_BYTES;
          ioEnd = end * FS_BLOCK_BYTES;
          buf = req.bounce = new Uint8Array(ioEnd - ioStart);
          req.bounceOffset = pos - ioStart;
          req.userAddr = sqe.addr;
          bufAt0 = 0;
        }
        for (const s of k.fs.map(inode, first, end - first)) {
          const a = Math.max(ioStart, s.lblk * FS_BLOCK_BYTES);
          const b = Math.min(ioEnd, (s.lblk + s.len) * FS_BLOCK_BYTES);
          if (a >= b) continue;
          const at = bufAt0 + (a - ioStart);
          if (s.pblk < 0 || s.unwritten) {
            buf.fill(0, at, at + (b - a));
            continue;
          }
          yield* k.block.submitBio(ctx, BIO_READ, (s.pblk * FS_BLOCK_BYTES + (a - s.lblk * FS_BLOCK_BYTES)) / LOGICAL_BLOCK_BYTES, b - a, buf, at, wait);
        }
      }
      if (sqe.off === -1) f.pos = pos + n;
    }
    if (wait.endSubmit()) onUringIoDone(ctx, wait);
  }

  /** Posts the CQE of a finished request (in the completion interrupt or at submission) and wakes a waiter. */
  complete(ctx: CpuContext, req: UringRequest, res: number, aux: object | null = null): void {
    this.inflight--;
    if (this.cqTail - this.cqHead >= this.cqEntries) throw new RangeError('io_uring CQ overflow (in-flight requests are limited to the CQ size)');
    const cqe = this.cqes[this.cqTail & (this.cqEntries - 1)];
    if (cqe === undefined) throw new SimError(`io_uring: CQ tail ${this.cqTail} outside ${this.cqes.length} CQEs`);
    cqe.userData = req.sqe.userData;
    cqe.res = res;
    cqe.flags = 0;
    cqe.aux = aux;
    this.cqTail++;
    this.completed++;
    const w = this.waiter;
    if (w !== null && this.cqReady >= this.waitTarget) {
      this.waiter = null;
      ctx.sim.wake(w, 0);
    }
  }

  /** The SQPOLL kernel thread: poll (spin) the SQ, submit what appears, sleep after idling. */
  private *sqThreadBody(t: SimThread): Task {
    let lastWorkNs = t.nowNs;
    for (;;) {
      if (this.closed) return;
      const n = this.sqPending;
      if (n > 0) {
        const consumed = yield* this.submitSqes(t, n);
        lastWorkNs = t.nowNs;
        // CQ full (EBUSY): keep polling until the application reaps.
        if (consumed <= 0) yield t.cpu(SQ_POLL_RETRY_NS);
        continue;
      }
      if (t.nowNs - lastWorkNs >= this.sqThreadIdleNs) {
        this.sqFlags |= IORING_SQ_NEED_WAKEUP;
        yield t.block();
        lastWorkNs = t.nowNs;
        continue;
      }
      // Busy-poll until new SQEs are written or the idle time runs out.
      this.sqSpinning = true;
      this.kernel.sim.at(lastWorkNs + this.sqThreadIdleNs, this, ++this.sqIdleGeneration);
      yield t.spin();
    }
  }

  /** Idle-timeout event of the SQ thread. */
  onEvent(tag: number): void {
    if (tag === this.sqIdleGeneration && this.sqSpinning && this.sqThread !== null) {
      this.sqSpinning = false;
      this.kernel.sim.wake(this.sqThread, SQ_WAKE_TIMEOUT);
    }
  }
}

interface IoWaitWithReq extends IoWait {
  req: UringRequest;
}

function onUringIoDone(ctx: CpuContext, wait: IoWait): void {
  const req = (wait as IoWaitWithReq).req;
  const ring = req.ring;
  if (wait.status !== 0) {
    ring.complete(ctx, req, -EIO);
    return;
  }
  if (req.sqe.opcode === IORING_OP_WRITE && req.file !== null && req.file.direct) {
    ring.kernel.fs.completeWrite(req.file.requireInode(), req.writeOffset, req.resBytes);
  }
  if (req.bounce !== null) {
    ring.proc.mem.u8.set(req.bounce.subarray(req.bounceOffset, req.bounceOffset + req.resBytes), req.userAddr);
  }
  ring.complete(ctx, req, req.resBytes);
}

/** Rounds SQ/CQ sizes like io_uring_setup; returns [sq, cq] or -EINVAL. */
export function ringSizes(params: IoUringParams): [number, number] | SysResult {
  const e = params.entries;
  if (!Number.isSafeInteger(e) || e < 1 || e > IORING_ENTRIES_MAX) return -EINVAL;
  const sq = 2 ** Math.ceil(Math.log2(e));
  let cq = 2 * sq;
  if (params.cqEntries !== undefined) {
    const c = params.cqEntries;
    if (!Number.isSafeInteger(c) || c < sq || c > 2 * IORING_ENTRIES_MAX) return -EINVAL;
    cq = 2 ** Math.ceil(Math.log2(c));
  }
  return [sq, cq];
}

/** io_uring_setup(2): a new ring for `proc` (and its SQ thread with SQPOLL). Returns the ring or -errno. */
export function* ioUringSetup(t: SimThread, proc: Process, params: IoUringParams): Task<IoUring | SysResult> {
  const k = proc.kernel;
  yield t.cpu(k.costs.syscallEntryNs);
  let r: IoUring | SysResult;
  const sizes = ringSizes(params);
  if (typeof sizes === 'number') r = sizes;
  else if (params.sqThreadCpu !== undefined && (!Number.isInteger(params.sqThreadCpu) || params.sqThreadCpu < 0 || params.sqThreadCpu >= k.sim.cores.length)) r = -EINVAL;
  else if (params.sqThreadIdleNs !== undefined && (!Number.isSafeInteger(params.sqThreadIdleNs) || params.sqThreadIdleNs < 0)) r = -EINVAL;
  else r = new IoUring(k, proc, params, sizes[0], sizes[1]);
  yield t.cpu(k.costs.syscallExitNs);
  return r;
}
