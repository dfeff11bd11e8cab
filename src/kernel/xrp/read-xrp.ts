// read_xrp(fd, data_buf, count, pos, bpf_fd, scratch_buf) and its io_uring
// form IORING_OP_READ_XRP.
//
// Like pread, it does not move the file position. The first read (`count`
// bytes at `pos`) goes down the normal direct-I/O path (syscall, file system,
// bio, NVMe driver, each charging Table 1's cost); every following read is
// issued by the completion hook (hook.ts) without coming back up. The call
// returns -errno when it is refused, else an XrpResult with the explicit
// status (src/xrp/status.ts); the scratch state is in the user's scratch page and the
// last block read by the primary command in the data buffer.
//
// Checks, in this order (the original's, plus what it silently degraded):
//   pos < 0                                        EINVAL
//   fd not open                                    EBADF
//   not seekable (a pipe, a program fd)            ESPIPE
//   not open for reading                           EBADF
//   a directory                                    EISDIR
//   data_buf or scratch_buf not 4096-aligned       EINVAL
//   count not 512..4096 in steps of 512            EINVAL
//   data_buf or scratch_buf not a mapped, writable
//   4096-byte page of the process                  EFAULT (a missing scratch page is reported, not ignored)
//   file not opened with O_DIRECT                  EINVAL
//   pos not a multiple of 512 (direct I/O)         EINVAL
//   bpf_fd not open (a missing program)            EBADF
//   bpf_fd not an XRP program                      EINVAL

import { EBADF, EFAULT, EINVAL, EISDIR, ESPIPE } from '../errno.ts';
import type { SysResult } from '../errno.ts';
import type { IoUring, IoUringOpHandler, UringRequest } from '../io-uring.ts';
import { LOGICAL_BLOCK_BYTES } from '../nvme-driver.ts';
import { FILE_DIRECTORY, type OpenFile, type Process } from '../syscalls.ts';
import type { CpuContext, SimThread, Task } from '../../sim/thread.ts';
import { XRP_PAGE_BYTES } from '../../xrp/layout.ts';
import { isValidReadSize } from '../../xrp/limits.ts';
import { checkFanout, checkResubmitLimit, xrpConfig, type XrpFanoutMode } from './config.ts';
import { XrpRequest } from './hook.ts';
import { programOf, type XrpProgram } from './program.ts';
import { XrpResult } from './result.ts';

/** Our io_uring opcode for READ_XRP (the original patches its own into the enum). */
export const IORING_OP_READ_XRP = 48;

export interface XrpCallOptions {
  /** Reads after the first that the hook may submit (default: the kernel's XrpConfig.resubmitLimit, 4096). */
  resubmitLimit?: number;
  /** Fan-out mode (default: the kernel's XrpConfig.fanout, 'parallel'). */
  fanout?: XrpFanoutMode;
}

interface Checked {
  file: OpenFile;
  /** the file's inode (a seekable, readable regular file has one) */
  ino: number;
  program: XrpProgram;
}

/** The argument checks of read_xrp (and READ_XRP SQEs); the checked file and program, or -errno. */
export function checkReadXrp(proc: Process, fd: number, dataBuf: number, count: number, pos: number, progFd: number, scratchBuf: number): Checked | SysResult {
  if (!Number.isSafeInteger(pos) || pos < 0) return -EINVAL;
  const file = proc.file(fd);
  if (file === null) return -EBADF;
  if (!file.seekable) return -ESPIPE;
  if (!file.readable) return -EBADF;
  if (file.kind === FILE_DIRECTORY) return -EISDIR;
  const inode = file.inode;
  if (inode === null) return -ESPIPE;
  if (!Number.isSafeInteger(dataBuf) || !Number.isSafeInteger(scratchBuf) || dataBuf % XRP_PAGE_BYTES !== 0 || scratchBuf % XRP_PAGE_BYTES !== 0) return -EINVAL;
  if (!isValidReadSize(count)) return -EINVAL;
  if (!proc.validBuffer(dataBuf, XRP_PAGE_BYTES, true) || !proc.validBuffer(scratchBuf, XRP_PAGE_BYTES, true)) return -EFAULT;
  if (!file.direct) return -EINVAL;
  if (pos % LOGICAL_BLOCK_BYTES !== 0) return -EINVAL; // direct I/O alignment, as for pread
  const program = programOf(proc, progFd);
  if (typeof program === 'number') return program;
  return { file, ino: inode.ino, program };
}

function newRequest(proc: Process, c: Checked, dataBuf: number, count: number, scratchBuf: number, options: XrpCallOptions, startNs: number): XrpRequest {
  const cfg = xrpConfig(proc.kernel);
  const resubmitLimit = options.resubmitLimit ?? cfg.resubmitLimit;
  const fanout = options.fanout ?? cfg.fanout;
  checkResubmitLimit(resubmitLimit);
  checkFanout(fanout);
  return new XrpRequest({
    kernel: proc.kernel, proc, program: c.program, ino: c.ino, dataAddr: dataBuf, scratchAddr: scratchBuf,
    count, resubmitLimit, fanout, startNs,
  });
}

/**
 * read_xrp(2). Returns -errno when refused, else the XrpResult (its `res` is
 * `count`, or -EIO after a device error). Throws XrpConfigError for bad options.
 */
export function* readXrp(
  t: SimThread, proc: Process, fd: number, dataBuf: number, count: number, pos: number, progFd: number, scratchBuf: number,
  options: XrpCallOptions = {},
): Task<XrpResult | SysResult> {
  const k = proc.kernel;
  const c = k.costs;
  const startNs = t.nowNs;
  t.charge(c.syscallEntryNs + c.readSyscallNs);
  const checked = checkReadXrp(proc, fd, dataBuf, count, pos, progFd, scratchBuf);
  let out: XrpResult | SysResult;
  if (typeof checked === 'number') out = checked;
  else {
    const xrq = newRequest(proc, checked, dataBuf, count, scratchBuf, options, startNs);
    // The first read: the file system's direct-I/O path and one bio, like pread.
    t.charge(c.fsNs);
    const cmd = xrq.firstCommand(pos);
    if (cmd !== null) {
      t.charge(c.bioNs);
      xrq.onFinish = (ctx) => ctx.sim.wake(t, 0);
      yield* k.driver.submit(t, cmd);
      while (!xrq.finished) yield t.block();
    }
    out = xrq.result;
  }
  yield t.cpu(c.syscallExitNs);
  if (typeof out !== 'number') out.latencyNs = t.nowNs - startNs;
  return out;
}

/** The XrpResult of an IORING_OP_READ_XRP completion (null for other CQEs and refused SQEs). */
export function xrpResultOfCqe(cqe: { aux: object | null }): XrpResult | null {
  return cqe.aux instanceof XrpResult ? cqe.aux : null;
}

/** IORING_OP_READ_XRP: the SQE carries fd, addr (data buffer), len (count), off (pos), bpfFd and scratchAddr. */
export class ReadXrpOp implements IoUringOpHandler {
  *issue(ctx: CpuContext, ring: IoUring, req: UringRequest): Task {
    const sqe = req.sqe;
    const proc = ring.proc;
    const k = proc.kernel;
    const checked = checkReadXrp(proc, sqe.fd, sqe.addr, sqe.len, sqe.off, sqe.bpfFd, sqe.scratchAddr);
    if (typeof checked === 'number') {
      ring.complete(ctx, req, checked);
      return;
    }
    const xrq = newRequest(proc, checked, sqe.addr, sqe.len, sqe.scratchAddr, {}, ctx.nowNs);
    yield ctx.cpu(k.costs.fsNs);
    const cmd = xrq.firstCommand(sqe.off);
    if (cmd === null) {
      xrq.result.latencyNs = ctx.nowNs - xrq.p.startNs;
      ring.complete(ctx, req, xrq.result.res, xrq.result);
      return;
    }
    xrq.onFinish = (c2) => ring.complete(c2, req, xrq.result.res, xrq.result);
    ctx.charge(k.costs.bioNs);
    yield* k.driver.submit(ctx, cmd);
  }
}
