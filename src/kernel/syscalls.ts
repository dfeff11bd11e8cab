// Syscalls of one process: open, close, read/pread, write/pwrite, lseek, pipe,
// over a per-process fd table and a user address space. Results follow the raw
// Linux ABI: a non-negative value or -errno (see errno.ts), with Linux's checks
// in Linux's order (ksys_pread64 -> vfs_read -> rw_verify_area -> iomap_dio_rw).
//
// A read of a regular file goes through the layers of the XRP paper's Table 1,
// each charging its CPU cost on the calling thread's core (costs.ts):
// kernel crossing -> read syscall -> file system (extent lookup) -> block layer
// (bio) -> NVMe driver -> device -> completion interrupt -> wake-up -> return.
// O_DIRECT reads DMA straight into the user buffer and need 512-byte alignment
// of buffer address, offset and length (EINVAL otherwise). Buffered reads go
// through a kernel bounce buffer of whole 4 KiB blocks; there is NO page cache:
// every buffered read goes to the device. Buffered writes are copied straight
// to the image (like a page-cache write, no device wait); O_DIRECT writes go
// through the device like reads.

import { AddressSpace } from '../bpf/memory.ts';
import type { XrpProcState } from './xrp/config.ts';
import { BIO_READ, BIO_WRITE, IoWait } from './block.ts';
import type { BlockRequest } from './block.ts';
import { L_BIO, L_CROSSING, L_DEVICE, L_DRIVER, L_FS, L_SYSCALL, L_WAKEUP } from './costs.ts';
import {
  EAGAIN, EBADF, EEXIST, EFAULT, EFBIG, EINVAL, EIO, EISDIR, EMFILE, ENODEV, ENOENT, ENOTDIR, EOPNOTSUPP, EPIPE, ESPIPE,
} from './errno.ts';
import type { SysResult } from './errno.ts';
import { FsError } from './fs/errors.ts';
import type { Inode } from './fs/fs.ts';
import { FILE_BYTES_MAX, normalizeName } from './fs/fs.ts';
import { findExtent } from './fs/extent-map.ts';
import { FS_BLOCK_BYTES } from './fs/layout.ts';
import type { Kernel } from './kernel.ts';
import { LOGICAL_BLOCK_BYTES } from './nvme-driver.ts';
import type { NvmeDriver } from './nvme-driver.ts';
import type { BurstContinuation, Op, SimThread, Task } from '../sim/thread.ts';
import { SimError } from '../sim/errors.ts';

// open(2) flags, x86-64 values.
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECT = 0o40000;
export const O_DIRECTORY = 0o200000;
const O_KNOWN = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECT | O_DIRECTORY;

/** fallocate(2) mode: do not change the file size. */
export const FALLOC_FL_KEEP_SIZE = 1;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;

/** RLIMIT_NOFILE default. */
export const FD_MAX = 1024;
/** Largest read/write count (MAX_RW_COUNT = INT_MAX & PAGE_MASK). */
export const RW_COUNT_MAX = 0x7ffff000;
const PIPE_BYTES_MAX = 65536;

export const FILE_REGULAR = 0;
export const FILE_DIRECTORY = 1;
export const FILE_PIPE = 2;
/** A loaded eBPF program (bpf(BPF_PROG_LOAD) returns an fd of this kind; XRP, src/kernel/xrp/). */
export const FILE_BPF_PROG = 3;

/** A pipe's buffer, shared by its two ends. */
class Pipe {
  data = new Uint8Array(PIPE_BYTES_MAX);
  length = 0;
  readers = 1;
  writers = 1;
}

/**
 * One O_DIRECT read of the fast path (Process.readUntraced), pooled per process:
 * its wait (which keeps its request for reuse) and the continuation that rings the
 * doorbell at the end of the submission charge and puts the thread to sleep.
 */
class DirectRead implements BurstContinuation {
  readonly wait = new IoWait();
  req: BlockRequest | null = null;
  /** read(): the file whose position advances; null for pread. */
  file: OpenFile | null = null;
  posBytes = 0;
  bytes = 0;
  /** Set by onBurstEnd: the request got a tag; the thread sleeps until it completes. */
  placed = false;
  slept = false;

  constructor(private readonly driver: NvmeDriver) {}

  onBurstEnd(t: SimThread): boolean {
    this.slept = false;
    const req = this.req;
    if (req === null) throw new SimError(`thread '${t.name}': a direct read ended its CPU burst without its request`);
    this.placed = this.driver.tryPlaceOn(t, t.core.id, req);
    if (!this.placed) return false;
    this.wait.lastSubmittedNs = t.nowNs;
    if (this.wait.endSubmit()) return false;
    this.slept = true;
    return true;
  }
}

const PREAD_DONE = 3;

/**
 * pread() with the breakdown off, as an iterator with the generator protocol
 * instead of a generator (for speed: one per simulated read). The common
 * O_DIRECT read is two steps: yield the cpuThen of Process.directReadYield, then
 * return. Every other case hands over to a generator (rw(), or directReadTail
 * after the yield) and forwards to it.
 */
class PreadCall implements Task<SysResult> {
  /** 0: not started; 1: at the cpuThen yield; 2: forwarding to `sub`; 3: done. */
  private state = 0;
  private op: DirectRead | null = null;
  private sub: Task<SysResult> | null = null;
  private result: SysResult = 0;
  private readonly step: IteratorYieldResult<Op> = { done: false, value: 0 };

  constructor(
    private readonly proc: Process,
    private readonly t: SimThread,
    private readonly fd: number,
    private readonly bufAddr: number,
    private readonly count: number,
    private readonly offsetBytes: number,
  ) {}

  get [Symbol.toStringTag](): string {
    return 'PreadCall';
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(value = 0): IteratorResult<Op, SysResult> {
    const state = this.state;
    if (state === 1) {
      const op = this.op;
      if (op === null) throw new SimError(`thread '${this.t.name}': pread resumed without its direct read`);
      this.op = null;
      if (op.slept) return this.finish(this.proc.endDirectRead(op, value));
      this.sub = this.proc.directReadTail(this.t, op, value, false);
      this.state = 2;
      return this.forward(this.sub.next());
    }
    if (state === 0) {
      const op = this.proc.planDirectRead(this.t, this.fd, this.bufAddr, this.count, this.offsetBytes, true);
      if (op === null) {
        this.sub = this.proc.preadSlow(this.t, this.fd, this.bufAddr, this.count, this.offsetBytes);
        this.state = 2;
        return this.forward(this.sub.next());
      }
      this.op = op;
      this.state = 1;
      this.step.value = this.proc.directReadYield(this.t, op, true);
      return this.step;
    }
    if (state === 2) return this.forward(this.delegate().next(value));
    return { done: true, value: this.result };
  }

  /** The generator state 2 forwards to. */
  private delegate(): Task<SysResult> {
    const sub = this.sub;
    if (sub === null) throw new SimError(`thread '${this.t.name}': pread forwards to a generator it never started`);
    return sub;
  }

  return(value: SysResult): IteratorResult<Op, SysResult> {
    if (this.state === 2) return this.forward(this.delegate().return(value));
    return this.finish(value);
  }

  throw(error: unknown): IteratorResult<Op, SysResult> {
    if (this.state === 2) return this.forward(this.delegate().throw(error));
    this.state = PREAD_DONE;
    throw error;
  }

  private forward(r: IteratorResult<Op, SysResult>): IteratorResult<Op, SysResult> {
    if (r.done === true) this.finish(r.value);
    return r;
  }

  private finish(value: SysResult): IteratorResult<Op, SysResult> {
    this.state = PREAD_DONE;
    this.sub = null;
    this.result = value;
    return { done: true, value };
  }
}

/** An open file description (struct file). */
export class OpenFile {
  pos = 0;
  constructor(
    readonly kind: number,
    readonly flags: number,
    readonly inode: Inode | null,
    readonly pipe: Pipe | null,
    /** The kernel object behind an fd that is not a file (a FILE_BPF_PROG's program). */
    readonly object: object | null = null,
  ) {}

  /** The inode of a regular file or directory: one without is a bug of the caller's kind check. */
  requireInode(): Inode {
    if (this.inode === null) throw new SimError(`an open file of kind ${this.kind} has no inode`);
    return this.inode;
  }

  /** The pipe of a pipe end. */
  requirePipe(): Pipe {
    if (this.pipe === null) throw new SimError(`an open file of kind ${this.kind} is not a pipe`);
    return this.pipe;
  }

  get readable(): boolean {
    return (this.flags & O_ACCMODE) !== O_WRONLY;
  }

  get writable(): boolean {
    return (this.flags & O_ACCMODE) !== O_RDONLY;
  }

  get direct(): boolean {
    return (this.flags & O_DIRECT) !== 0;
  }

  /** pread/pwrite/lseek work (FMODE_PREAD): not on pipes. */
  get seekable(): boolean {
    return this.kind !== FILE_PIPE && this.kind !== FILE_BPF_PROG;
  }
}

export class Process {
  /** User memory: regions at addresses; syscalls take addresses into it. */
  readonly mem: AddressSpace;
  /** fds 0-2 (stdio) are not modelled and stay closed; files get 3 and up, lowest free first. */
  private readonly fds: (OpenFile | null)[] = [null, null, null];
  private readonly waitPool: IoWait[] = [];
  private readonly directReads: DirectRead[] = [];
  /** Kernel bounce buffer of buffered I/O, grown on demand. */
  private bounce = new Uint8Array(FS_BLOCK_BYTES * 2);
  /** XRP's kernel memory in this process (src/kernel/xrp/config.ts); null until a request needs it. */
  xrp: XrpProcState | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly pid: number,
    readonly name: string,
    memoryBytes: number,
  ) {
    this.mem = new AddressSpace(memoryBytes);
  }

  /** Maps `sizeBytes` of user memory (like malloc/posix_memalign; no CPU cost) and returns its address. */
  alloc(sizeBytes: number, alignBytes = 4096, name = 'heap'): number {
    return this.mem.map(name, sizeBytes, { alignBytes }).base;
  }

  /** A view of user memory (for the application's own reads and writes of its buffers). */
  bytes(address: number, length: number): Uint8Array {
    return this.mem.u8.subarray(address, address + length);
  }

  /** The open file behind `fd`, which checkRw accepted. */
  private checkedFile(fd: number): OpenFile {
    const f = this.fds[fd];
    if (f === undefined || f === null) throw new SimError(`fd ${fd} passed the read/write checks but is not open`);
    return f;
  }

  /** The open file behind `fd`, or null (for the XRP syscall and io_uring). */
  file(fd: number): OpenFile | null {
    return (Number.isInteger(fd) ? this.fds[fd] : undefined) ?? null;
  }

  /** Installs `f` at the lowest free fd (for kernel objects such as BPF programs); returns the fd or -EMFILE. */
  installFile(f: OpenFile): SysResult {
    const fd = this.freeFd();
    return fd < 0 ? fd : this.install(fd, f);
  }

  /** True when [address, address+length) lies in one mapped user region (writable if asked). */
  validBuffer(address: number, length: number, writable: boolean): boolean {
    if (!Number.isSafeInteger(address) || address <= 0) return false;
    if (length === 0) return true;
    const r = this.mem.find(address, length);
    return r !== undefined && (!writable || r.writable);
  }

  // ---- open / close / lseek / pipe ----

  *open(t: SimThread, path: string, flags: number): Task<SysResult> {
    const c = this.kernel.costs;
    yield t.cpu(c.syscallEntryNs + c.readSyscallNs + c.fsNs);
    const r = this.doOpen(path, flags);
    yield t.cpu(c.syscallExitNs);
    return r;
  }

  private doOpen(path: string, flags: number): SysResult {
    if (!Number.isInteger(flags) || (flags & ~O_KNOWN) !== 0 || (flags & O_ACCMODE) === O_ACCMODE) return -EINVAL;
    const fd = this.freeFd();
    if (fd < 0) return fd;
    if (path === '/' || path === '.' || path === '') {
      if (path === '') return -ENOENT;
      if ((flags & O_ACCMODE) !== O_RDONLY || (flags & O_CREAT) !== 0) return -EISDIR;
      return this.install(fd, new OpenFile(FILE_DIRECTORY, flags, null, null));
    }
    const fs = this.kernel.fs;
    try {
      let inode = fs.lookup(path);
      if (inode === null) {
        if ((flags & O_CREAT) === 0) return -ENOENT;
        inode = fs.create(normalizeName(path));
      } else if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) {
        return -EEXIST;
      }
      if ((flags & O_DIRECTORY) !== 0) return -ENOTDIR;
      if ((flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== O_RDONLY && inode.sizeBytes > 0) fs.truncate(inode, 0);
      return this.install(fd, new OpenFile(FILE_REGULAR, flags, inode, null));
    } catch (error) {
      if (error instanceof FsError) return -error.errno;
      throw error;
    }
  }

  *close(t: SimThread, fd: number): Task<SysResult> {
    const c = this.kernel.costs;
    yield t.cpu(c.syscallEntryNs);
    const f = this.file(fd);
    let r: SysResult = -EBADF;
    if (f !== null) {
      this.fds[fd] = null;
      if (f.pipe !== null) {
        if (f.readable) f.pipe.readers--;
        else f.pipe.writers--;
      }
      r = 0;
    }
    yield t.cpu(c.syscallExitNs);
    return r;
  }

  *lseek(t: SimThread, fd: number, offset: number, whence: number): Task<SysResult> {
    const c = this.kernel.costs;
    yield t.cpu(c.syscallEntryNs);
    let r: SysResult;
    const f = this.file(fd);
    if (f === null) r = -EBADF;
    else if (!f.seekable) r = -ESPIPE;
    else {
      const base = whence === SEEK_SET ? 0 : whence === SEEK_CUR ? f.pos : whence === SEEK_END ? (f.inode?.sizeBytes ?? 0) : NaN;
      const pos = base + offset;
      if (!Number.isSafeInteger(pos) || pos < 0) r = -EINVAL;
      else r = f.pos = pos;
    }
    yield t.cpu(c.syscallExitNs);
    return r;
  }

  /** pipe(2) (non-blocking ends: reading an empty pipe gives EAGAIN). Returns [readFd, writeFd] or -errno. */
  *pipe(t: SimThread): Task<[number, number] | SysResult> {
    const c = this.kernel.costs;
    yield t.cpu(c.syscallEntryNs + c.readSyscallNs);
    const p = new Pipe();
    const rfd = this.freeFd();
    let out: [number, number] | SysResult = rfd;
    if (rfd >= 0) {
      this.install(rfd, new OpenFile(FILE_PIPE, O_RDONLY, null, p));
      const wfd = this.freeFd();
      if (wfd < 0) {
        this.fds[rfd] = null;
        out = wfd;
      } else {
        this.install(wfd, new OpenFile(FILE_PIPE, O_WRONLY, null, p));
        out = [rfd, wfd];
      }
    }
    yield t.cpu(c.syscallExitNs);
    return out;
  }

  /** ftruncate(2). Charged like a metadata syscall (crossing, syscall layer, file system). */
  *ftruncate(t: SimThread, fd: number, lengthBytes: number): Task<SysResult> {
    return yield* this.metadataOp(t, () => {
      const f = this.file(fd);
      if (f === null) return -EBADF;
      if (f.kind !== FILE_REGULAR || !f.writable) return -EINVAL;
      if (!Number.isSafeInteger(lengthBytes) || lengthBytes < 0) return -EINVAL;
      if (lengthBytes > FILE_BYTES_MAX) return -EFBIG;
      this.kernel.fs.truncate(f.requireInode(), lengthBytes);
      return 0;
    });
  }

  /**
   * fallocate(2) with mode 0 (allocate, extending the size) or
   * FALLOC_FL_KEEP_SIZE: unwritten extents over the holes of the range.
   */
  *fallocate(t: SimThread, fd: number, mode: number, offsetBytes: number, lenBytes: number): Task<SysResult> {
    return yield* this.metadataOp(t, () => {
      if (mode !== 0 && mode !== FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;
      if (!Number.isSafeInteger(offsetBytes) || !Number.isSafeInteger(lenBytes) || offsetBytes < 0 || lenBytes <= 0) return -EINVAL;
      const f = this.file(fd);
      if (f === null || !f.writable) return -EBADF;
      if (f.kind === FILE_PIPE) return -ESPIPE;
      if (f.kind !== FILE_REGULAR) return -ENODEV;
      if (offsetBytes + lenBytes > FILE_BYTES_MAX) return -EFBIG;
      this.kernel.fs.fallocate(f.requireInode(), offsetBytes, lenBytes, { keepSize: mode === FALLOC_FL_KEEP_SIZE });
      return 0;
    });
  }

  private *metadataOp(t: SimThread, op: () => SysResult): Task<SysResult> {
    const c = this.kernel.costs;
    yield t.cpu(c.syscallEntryNs + c.readSyscallNs + c.fsNs);
    let r: SysResult;
    try {
      r = op();
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      r = -error.errno;
    }
    yield t.cpu(c.syscallExitNs);
    return r;
  }

  // ---- read / write ----

  /** read(2): reads at the file position and advances it. */
  read(t: SimThread, fd: number, bufAddr: number, count: number): Task<SysResult> {
    return this.kernel.breakdown.enabled ? this.rw(t, fd, bufAddr, count, 0, false, false) : this.readUntraced(t, fd, bufAddr, count, 0, false);
  }

  /** pread64(2): reads at `offsetBytes`; the file position does not move. */
  pread(t: SimThread, fd: number, bufAddr: number, count: number, offsetBytes: number): Task<SysResult> {
    return this.kernel.breakdown.enabled ? this.rw(t, fd, bufAddr, count, offsetBytes, true, false) : new PreadCall(this, t, fd, bufAddr, count, offsetBytes);
  }

  /**
   * read/pread with the breakdown off. The O_DIRECT read of one extent (every
   * benchmark's hot path) takes rw()'s steps and charges in the same order, but
   * without a driver generator and, in the common case, in one yield (for
   * speed); pread() does the same in a PreadCall. Anything else goes through rw().
   */
  private *readUntraced(t: SimThread, fd: number, bufAddr: number, count: number, offset: number, positional: boolean): Task<SysResult> {
    const op = this.planDirectRead(t, fd, bufAddr, count, offset, positional);
    if (op === null) return yield* this.rw(t, fd, bufAddr, count, offset, positional, false);
    const status = yield this.directReadYield(t, op, positional);
    if (positional && op.slept) return this.endDirectRead(op, status);
    return yield* this.directReadTail(t, op, status, false);
  }

  /**
   * The one yield of a planned direct read: the driver's submission charge (it
   * also consumes the layers' deferred charges), the doorbell (op.onBurstEnd),
   * the sleep until the completion and, for pread, the syscall exit (nothing
   * done between the wake-up and the return is visible to other threads; read()
   * moves the file position there, so it charges the exit after).
   */
  directReadYield(t: SimThread, op: DirectRead, positional: boolean): Op {
    return t.cpuThen(this.kernel.driver.costs.submitNs, op, positional ? this.kernel.costs.syscallExitNs : 0);
  }

  /** After a direct read's I/O: its result; advances read()'s file position and frees the op. */
  endDirectRead(op: DirectRead, status: number): SysResult {
    const r = status !== 0 ? -EIO : op.bytes;
    if (r > 0 && op.file !== null) op.file.pos = op.posBytes + r;
    op.req = null;
    op.file = null;
    this.directReads.push(op);
    return r;
  }

  /** The rest of a direct read whose cpuThen continuation did not sleep (or of read()): wait, end, exit. */
  *directReadTail(t: SimThread, op: DirectRead, status: number, exitCharged: boolean): Task<SysResult> {
    const wait = op.wait;
    if (!op.slept) {
      if (!op.placed) {
        // The queue was full: wait for a tag as driver.submit() does.
        const req = op.req;
        if (req === null) throw new SimError(`thread '${t.name}': a direct read waits for a tag without its request`);
        yield* this.kernel.driver.placeWhenFree(t, req);
        wait.lastSubmittedNs = t.nowNs;
        status = wait.endSubmit() ? wait.status : yield t.block();
      } else {
        status = wait.status; // completed while being submitted
      }
    }
    const r = this.endDirectRead(op, status);
    if (!exitCharged) yield t.cpu(this.kernel.costs.syscallExitNs);
    return r;
  }

  /** rw() for pread (PreadCall's fallback). */
  preadSlow(t: SimThread, fd: number, bufAddr: number, count: number, offsetBytes: number): Task<SysResult> {
    return this.rw(t, fd, bufAddr, count, offsetBytes, true, false);
  }

  /**
   * The checks and the down path of rw() for an O_DIRECT read of a regular file
   * that one extent and one request cover: charges the syscall, file system and
   * bio costs (deferred) and returns the read with its request, not yet submitted.
   * Returns null, having changed nothing, for every other case (errors, EOF,
   * several extents...).
   */
  planDirectRead(t: SimThread, fd: number, bufAddr: number, count: number, offset: number, positional: boolean): DirectRead | null {
    if (count === 0 || count > RW_COUNT_MAX || this.checkRw(fd, bufAddr, count, offset, positional, false) !== 0) return null;
    const f = this.checkedFile(fd);
    if (f.kind !== FILE_REGULAR || !f.direct) return null;
    const pos = positional ? offset : f.pos;
    const inode = f.requireInode();
    if (((bufAddr | pos | count) & (LOGICAL_BLOCK_BYTES - 1)) !== 0 || pos >= inode.sizeBytes) return null;
    const k = this.kernel;
    const n = Math.min(count, inode.sizeBytes - pos);
    const first = Math.floor(pos / FS_BLOCK_BYTES);
    const end = Math.ceil((pos + n) / FS_BLOCK_BYTES);
    const ioBytes = Math.ceil(n / LOGICAL_BLOCK_BYTES) * LOGICAL_BLOCK_BYTES;
    const e = inode.extents[findExtent(inode.extents, first)];
    if (e === undefined || e.unwritten || e.lblk + e.len < end || ioBytes > k.block.maxRequestBytes) return null;
    const c = k.costs;
    t.charge(c.syscallEntryNs + c.readSyscallNs + c.fsNs);
    const op = this.directReads.pop() ?? new DirectRead(k.driver);
    const wait = op.wait;
    wait.begin();
    wait.thread = t;
    const sector = (e.pblk * FS_BLOCK_BYTES + (pos - e.lblk * FS_BLOCK_BYTES)) / LOGICAL_BLOCK_BYTES;
    op.req = k.block.request(BIO_READ, sector, ioBytes, this.mem.u8, bufAddr, wait, null);
    t.charge(c.bioNs);
    op.file = positional ? null : f;
    op.posBytes = pos;
    op.bytes = n;
    return op;
  }

  write(t: SimThread, fd: number, bufAddr: number, count: number): Task<SysResult> {
    return this.rw(t, fd, bufAddr, count, 0, false, true);
  }

  pwrite(t: SimThread, fd: number, bufAddr: number, count: number, offsetBytes: number): Task<SysResult> {
    return this.rw(t, fd, bufAddr, count, offsetBytes, true, true);
  }

  /** Checks of the syscall layer; returns 0 or -errno. `positional`: pread/pwrite (`offset` is used). */
  checkRw(fd: number, bufAddr: number, count: number, offset: number, positional: boolean, isWrite: boolean): SysResult {
    if (positional && !(Number.isSafeInteger(offset) && offset >= 0)) return -EINVAL; // ksys_pread64: pos < 0
    const f = this.file(fd);
    if (f === null) return -EBADF;
    if (positional && !f.seekable) return -ESPIPE;
    if (isWrite ? !f.writable : !f.readable) return -EBADF;
    if (!Number.isSafeInteger(count) || count < 0) return -EINVAL;
    if (!this.validBuffer(bufAddr, Math.min(count, RW_COUNT_MAX), !isWrite)) return -EFAULT;
    if (f.kind === FILE_DIRECTORY) return -EISDIR;
    if (f.kind === FILE_BPF_PROG) return -EINVAL; // anon-inode fds have no read/write
    return 0;
  }

  /**
   * read/pread/write/pwrite. The read of a regular file is written out here in
   * one generator (no sub-generator per layer) because every yield inside a
   * yield* chain resumes each frame: the hot path is rw -> driver.submit.
   * With `kernel.breakdown.enabled` each layer's cost is a separate
   * `yield t.cpu()` and its elapsed time is recorded; otherwise the layer
   * costs are deferred charges (`t.charge`) consumed in one burst by the
   * driver's submission charge, which gives the same virtual times on the
   * submission path with fewer simulator events.
   */
  private *rw(t: SimThread, fd: number, bufAddr: number, count: number, offset: number, positional: boolean, isWrite: boolean): Task<SysResult> {
    const k = this.kernel;
    const c = k.costs;
    const traced = k.breakdown.enabled;
    const bd = k.breakdown;
    const t0 = t.nowNs;
    let t1 = t0;
    let t2 = t0;
    if (traced) {
      yield t.cpu(c.syscallEntryNs);
      t1 = t.nowNs;
      yield t.cpu(c.readSyscallNs);
      t2 = t.nowNs;
    } else {
      t.charge(c.syscallEntryNs + c.readSyscallNs);
    }
    let r = this.checkRw(fd, bufAddr, count, offset, positional, isWrite);
    let timedRead = false;
    if (r === 0 && count > 0) {
      const f = this.checkedFile(fd);
      if (count > RW_COUNT_MAX) count = RW_COUNT_MAX;
      if (f.kind === FILE_PIPE) r = isWrite ? this.pipeWrite(f, bufAddr, count) : this.pipeRead(f, bufAddr, count);
      else if (isWrite) {
        const pos = (f.flags & O_APPEND) !== 0 ? f.requireInode().sizeBytes : positional ? offset : f.pos;
        r = yield* this.fileWrite(t, f, bufAddr, count, pos);
        if (r > 0 && !positional) f.pos = pos + r;
      } else {
        // ---- file system ----
        const pos = positional ? offset : f.pos;
        const inode = f.requireInode();
        if (traced) {
          const tFs = t.nowNs;
          yield t.cpu(c.fsNs);
          bd.add(L_FS, t.nowNs - tFs);
        } else {
          t.charge(c.fsNs);
        }
        const direct = f.direct;
        if (direct && ((bufAddr | pos | count) & (LOGICAL_BLOCK_BYTES - 1)) !== 0) r = -EINVAL;
        else if (pos >= inode.sizeBytes) r = 0;
        else {
          const n = Math.min(count, inode.sizeBytes - pos);
          // Device range: sector-aligned for direct I/O (the tail past EOF lands in
          // the user buffer but is not counted), whole blocks for the bounce buffer.
          const first = Math.floor(pos / FS_BLOCK_BYTES);
          const end = Math.ceil((pos + n) / FS_BLOCK_BYTES);
          let ioStart: number;
          let ioEnd: number;
          let buf: Uint8Array;
          let bufOff0: number; // buf index holding file offset ioStart
          if (direct) {
            ioStart = pos;
            ioEnd = pos + Math.ceil(n / LOGICAL_BLOCK_BYTES) * LOGICAL_BLOCK_BYTES;
            buf = this.mem.u8;
            bufOff0 = bufAddr;
          } else {
            ioStart = first * FS_BLOCK_BYTES;
            ioEnd = end * FS_BLOCK_BYTES;
            if (this.bounce.length < ioEnd - ioStart) this.bounce = new Uint8Array(ioEnd - ioStart);
            buf = this.bounce;
            bufOff0 = 0;
          }
          // Waits (and their request) are reused: a syscall's I/O is over when it returns.
          const wait = this.waitPool.pop() ?? new IoWait();
          wait.begin();
          wait.thread = t;
          const e = inode.extents[findExtent(inode.extents, first)];
          if (e !== undefined && !e.unwritten && e.lblk + e.len >= end && ioEnd - ioStart <= k.block.maxRequestBytes) {
            // ---- block layer + driver, fast path: one extent, one request ----
            const sector = (e.pblk * FS_BLOCK_BYTES + (ioStart - e.lblk * FS_BLOCK_BYTES)) / LOGICAL_BLOCK_BYTES;
            const req = k.block.request(BIO_READ, sector, ioEnd - ioStart, buf, bufOff0, wait, null);
            let tB = t.nowNs;
            if (traced) {
              yield t.cpu(c.bioNs);
              bd.add(L_BIO, t.nowNs - tB);
              tB = t.nowNs;
            } else {
              t.charge(c.bioNs);
            }
            yield* k.driver.submit(t, req);
            wait.lastSubmittedNs = t.nowNs;
            if (traced) bd.add(L_DRIVER, t.nowNs - tB);
          } else {
            for (const s of k.fs.map(inode, first, end - first)) {
              const a = Math.max(ioStart, s.lblk * FS_BLOCK_BYTES);
              const b = Math.min(ioEnd, (s.lblk + s.len) * FS_BLOCK_BYTES);
              if (a >= b) continue;
              const at = bufOff0 + (a - ioStart);
              if (s.pblk < 0 || s.unwritten) {
                buf.fill(0, at, at + (b - a)); // holes and unwritten extents read as zeros, no I/O
                continue;
              }
              const sector = (s.pblk * FS_BLOCK_BYTES + (a - s.lblk * FS_BLOCK_BYTES)) / LOGICAL_BLOCK_BYTES;
              yield* k.block.submitBio(t, BIO_READ, sector, b - a, buf, at, wait, null, traced ? bd : null);
            }
          }
          // ---- device, completion interrupt, wake-up ----
          let status: number;
          if (!wait.endSubmit()) {
            status = yield t.block();
            if (traced) {
              const completeNs = k.driver.costs.completeNs;
              bd.add(L_DEVICE, wait.lastCompletedNs - completeNs - wait.lastSubmittedNs);
              bd.add(L_DRIVER, completeNs);
              bd.add(L_WAKEUP, t.nowNs - wait.lastCompletedNs);
            }
          } else {
            status = wait.status;
          }
          this.waitPool.push(wait);
          if (status !== 0) r = -EIO;
          else {
            if (!direct) this.mem.u8.set(this.bounce.subarray(pos - ioStart, pos - ioStart + n), bufAddr);
            r = n;
            timedRead = true;
          }
        }
        if (r > 0 && !positional) f.pos = pos + r;
      }
    }
    const t3 = t.nowNs;
    yield t.cpu(c.syscallExitNs);
    if (timedRead && traced) {
      bd.add(L_CROSSING, t1 - t0 + (t.nowNs - t3));
      bd.add(L_SYSCALL, t2 - t1);
      k.breakdown.reads++;
    }
    return r;
  }

  /** The file-system part of a write and below. */
  private *fileWrite(t: SimThread, f: OpenFile, bufAddr: number, count: number, pos: number): Task<SysResult> {
    const k = this.kernel;
    const fs = k.fs;
    const inode = f.requireInode();
    yield t.cpu(k.costs.fsNs); // also consumes deferred charges: the write then happens on time
    if (f.direct && ((bufAddr | pos | count) & (LOGICAL_BLOCK_BYTES - 1)) !== 0) return -EINVAL;
    if (pos + count > FILE_BYTES_MAX) return -EFBIG;
    try {
      if (!f.direct) {
        fs.write(inode, pos, this.mem.u8.slice(bufAddr, bufAddr + count));
        return count;
      }
      const segs = fs.prepareWrite(inode, pos, count);
      const wait = new IoWait();
      wait.begin();
      wait.thread = t;
      for (const s of segs) {
        const a = Math.max(pos, s.lblk * FS_BLOCK_BYTES);
        const b = Math.min(pos + count, (s.lblk + s.len) * FS_BLOCK_BYTES);
        if (a >= b) continue;
        const sector = (s.pblk * FS_BLOCK_BYTES + (a - s.lblk * FS_BLOCK_BYTES)) / LOGICAL_BLOCK_BYTES;
        yield* k.block.submitBio(t, BIO_WRITE, sector, b - a, this.mem.u8, bufAddr + (a - pos), wait);
      }
      const status = wait.endSubmit() ? wait.status : yield t.block();
      if (status !== 0) return -EIO;
      fs.completeWrite(inode, pos, count);
      return count;
    } catch (error) {
      if (error instanceof FsError) return -error.errno;
      throw error;
    }
  }

  private pipeRead(f: OpenFile, bufAddr: number, count: number): SysResult {
    const p = f.requirePipe();
    if (p.length === 0) return p.writers > 0 ? -EAGAIN : 0;
    const n = Math.min(count, p.length);
    this.mem.u8.set(p.data.subarray(0, n), bufAddr);
    p.data.copyWithin(0, n, p.length);
    p.length -= n;
    return n;
  }

  private pipeWrite(f: OpenFile, bufAddr: number, count: number): SysResult {
    const p = f.requirePipe();
    if (p.readers === 0) return -EPIPE;
    const n = Math.min(count, PIPE_BYTES_MAX - p.length);
    if (n === 0) return -EAGAIN;
    p.data.set(this.mem.u8.subarray(bufAddr, bufAddr + n), p.length);
    p.length += n;
    return n;
  }

  private freeFd(): SysResult {
    for (let i = 3; i < this.fds.length; i++) if (this.fds[i] === null) return i;
    return this.fds.length < FD_MAX ? this.fds.length : -EMFILE;
  }

  private install(fd: number, f: OpenFile): number {
    if (fd === this.fds.length) this.fds.push(f);
    else this.fds[fd] = f;
    return fd;
  }
}
