// The resubmission loop of the native engine: what the emulated NVMe driver's
// completion hook does for one read_xrp request, done by one thread with
// positioned reads. It reads a block into the data page, runs the storage
// function, checks the next reads it asks for (size, alignment, inside the
// file, resubmission limit) and goes on until every branch is done or one ends
// abnormally. No thread or ring here: the worker (worker.ts) drives it, and the
// tests drive it directly.

import { readFileSync } from 'node:fs';
import { createExecEnv, ExecutionFault, type Engine, type ExecEnv } from '../bpf/engine.ts';
import { loadElf } from '../bpf/elf.ts';
import type { Program } from '../bpf/isa.ts';
import { linkProgram } from '../bpf/link.ts';
import { compileJit } from '../bpf/jit/index.ts';
import { loadProgram } from '../bpf/load.ts';
import { AddressSpace, PAGE_BYTES, type Region } from '../bpf/memory.ts';
import { createStdHelpers } from '../bpf/std-helpers.ts';
import { isResumable, XrpStatus, type XrpRead, type XrpStatusCode } from '../kernel/xrp/status.ts';

/** struct bpf_xrp (bpf/include/xrp.h) */
export const CTX = { BYTES: 280, DONE: 0, NEXT_ADDR: 8, SIZE: 136, DATA: 264, SCRATCH: 272, FANOUT_MAX: 16 } as const;
export const XRP_BLOCK_BYTES = 512;
export const XRP_SIZE_MAX = 4096;
export const SCRATCH_PAGE_BYTES = 4096;
/** resubmissions (reads after the first) allowed per request unless configured */
export const RESUBMIT_LIMIT_DEFAULT = 4096; // = XRP_RESUBMIT_LIMIT_DEFAULT of src/kernel/xrp/config.ts
/** the largest resubmission limit: bounds the reads (and the fan-out queue) of one request */
export const RESUBMIT_LIMIT_MAX = 1 << 20;

/** Where the program comes from: an object file's bytes and a program (function or section) name, or bytecode. */
export type ProgramSource =
  | { kind: 'object'; bytes: Uint8Array; fileName: string; programName: string }
  | { kind: 'program'; program: Program };

export function readProgramSource(objectPath: string, programName: string): ProgramSource {
  return { kind: 'object', bytes: new Uint8Array(readFileSync(objectPath)), fileName: objectPath, programName };
}

/** A file read with positioned reads: `read` fills buf[at, at + length) from `positionBytes`, returning the bytes read. */
export interface BlockReader {
  readonly sizeBytes: number;
  read(buf: Uint8Array, at: number, lengthBytes: number, positionBytes: number): number;
}

export interface ChainEnd {
  status: XrpStatusCode;
  offsetBytes: number;
  sizeBytes: number;
}

export interface ChainOutcome {
  /** DONE when every branch ended with done != 0, else the FIRST abnormal end (as the emulated read_xrp) */
  status: XrpStatusCode;
  /** r0 of the first PROG_ERROR (0n otherwise) */
  progRet: bigint;
  /** blocks read, the first included */
  reads: number;
  /** reads submitted after the first (continuations and fan-out children): what the limit counts */
  resubmissions: number;
  runs: number;
  insnsExecuted: number;
  /** the offset of the first abnormal end, or of the last block whose run set done */
  stopOffsetBytes: number;
  /** reads not done because their branch stopped for a resumable reason, for a user-space fallback */
  pending: XrpRead[];
  /** abnormal branch ends */
  ends: number;
  /** why the first abnormal end happened (the fault message for FAULT) */
  detail: string;
}

export interface RunRequest {
  offsetBytes: number;
  /** size of the first read, 512..4096 in steps of 512 */
  sizeBytes: number;
  /** resubmissions allowed (reads after the first) */
  resubmitLimit: number;
}

const TWO_32 = 2 ** 32;
const UNREACHABLE_OFFSET = Number.POSITIVE_INFINITY;

/** One loaded storage function with its own address space: ctx, data page and scratch page. */
export class ChainRunner {
  readonly memory: AddressSpace;
  readonly ctx: Region;
  /** 4096-aligned inside the WebAssembly memory, whose base is page-aligned: O_DIRECT reads land here directly */
  readonly data: Region;
  readonly scratch: Region;
  private readonly env: ExecEnv;
  private readonly engine: Engine;
  private readonly args: bigint[];
  // fan-out children waiting for the current branch to end (the emulated 'serial' fan-out order), reused
  private readonly workOffsets: number[] = [];
  private readonly workSizes: number[] = [];

  /**
   * `verify: false` only for a program that the verifier has accepted in
   * another thread (the engine's first worker): it is then only JIT-compiled.
   */
  constructor(source: ProgramSource, insnLimit?: number, verify = true) {
    this.memory = new AddressSpace(1 << 20);
    let helpers = new Map() as ExecEnv['helpers'];
    if (source.kind === 'object') {
      const object = loadElf(source.bytes, source.fileName);
      const linked = linkProgram(object, source.programName, this.memory);
      // verify as an xrp program, then JIT (throws the VerifierError of a rejected program)
      this.engine = verify ? loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source }).engine : compileJit(linked.program);
      helpers = createStdHelpers({ maps: linked.maps }).table;
    } else {
      this.engine = verify ? loadProgram(source.program, { type: 'xrp' }).engine : compileJit(source.program);
    }
    this.env = createExecEnv(this.memory, helpers, insnLimit);
    this.ctx = this.memory.map('ctx', CTX.BYTES, { alignBytes: 64 });
    this.data = this.memory.map('data', PAGE_BYTES, { alignBytes: PAGE_BYTES });
    this.scratch = this.memory.map('scratch', SCRATCH_PAGE_BYTES, { alignBytes: PAGE_BYTES });
    this.args = [BigInt(this.ctx.base)];
  }

  /** The scratch page, live. */
  get scratchBytes(): Uint8Array {
    return this.memory.bytes(this.scratch);
  }

  /**
   * Runs one request over `reader`; the scratch page must hold the caller's
   * scratch. The semantics are the emulated hook's (src/kernel/xrp/hook.ts) in
   * its 'serial' fan-out mode: a branch's ctx persists between its runs (done
   * and size[1..15] cleared before each), a fan-out child starts a new branch
   * with a fresh ctx once the current branch has ended; every read after the
   * first counts against the limit.
   */
  run(reader: BlockReader, request: RunRequest): ChainOutcome {
    const { memory, ctx, data } = this;
    const u8 = memory.u8;
    const view = memory.view;
    const fileBytes = reader.sizeBytes;
    const c = ctx.base;
    const workOffsets = this.workOffsets;
    const workSizes = this.workSizes;
    workOffsets.length = 0;
    workSizes.length = 0;
    let workHead = 0;
    const out: ChainOutcome = {
      status: XrpStatus.DONE,
      progRet: 0n,
      reads: 0,
      resubmissions: 0,
      runs: 0,
      insnsExecuted: 0,
      stopOffsetBytes: -1,
      pending: [],
      ends: 0,
      detail: '',
    };
    let lastDoneOffset = -1;
    const limit = request.resubmitLimit;
    u8.fill(0, c, c + CTX.BYTES);
    let offset = request.offsetBytes;
    let size = request.sizeBytes;
    let live = prepareRead(out, offset, size, false, limit, fileBytes);
    for (;;) {
      if (!live) {
        // this branch is over: the next queued child, with a fresh ctx
        if (workHead >= workOffsets.length) break;
        offset = workOffsets[workHead]!;
        size = workSizes[workHead]!;
        workHead++;
        u8.fill(0, c, c + CTX.BYTES);
        live = prepareRead(out, offset, size, true, limit, fileBytes);
        continue;
      }
      // a read past the end of the file is cut there, the rest of the page zeroed (as the emulated driver's validBytes)
      const validBytes = Math.min(size, fileBytes - offset);
      // whole 512-byte blocks (what O_DIRECT requires); at the end of the file the read comes back short
      const ioBytes = Math.ceil(validBytes / XRP_BLOCK_BYTES) * XRP_BLOCK_BYTES;
      let got: number;
      try {
        got = reader.read(u8, data.base, ioBytes, offset);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        endBranch(out, XrpStatus.IO_ERROR, offset, size, `read of ${validBytes} bytes at ${offset}: ${err.message}`);
        live = false;
        continue;
      }
      out.reads++;
      if (got < validBytes) {
        // inside the file when the engine opened it: the file shrank under us
        endBranch(out, XrpStatus.MAPPING_CHANGED, offset, size, `short read at ${offset}: ${got} of ${validBytes} bytes (the file shrank)`);
        live = false;
        continue;
      }
      u8.fill(0, data.base + validBytes, data.base + PAGE_BYTES);
      view.setInt32(c + CTX.DONE, 0, true);
      for (let i = 1; i < CTX.FANOUT_MAX; i++) {
        view.setUint32(c + CTX.SIZE + 8 * i, 0, true);
        view.setUint32(c + CTX.SIZE + 8 * i + 4, 0, true);
      }
      view.setUint32(c + CTX.DATA, data.base, true);
      view.setUint32(c + CTX.DATA + 4, 0, true);
      view.setUint32(c + CTX.SCRATCH, this.scratch.base, true);
      view.setUint32(c + CTX.SCRATCH + 4, 0, true);
      let r0: bigint;
      out.runs++;
      try {
        const result = this.engine.run(this.env, this.args);
        r0 = result.r0;
        out.insnsExecuted += result.insnsExecuted;
      } catch (e) {
        if (!(e instanceof ExecutionFault)) throw e;
        endBranch(out, XrpStatus.FAULT, offset, size, e.message);
        live = false;
        continue;
      }
      if (r0 !== 0n) {
        endBranch(out, XrpStatus.PROG_ERROR, offset, size, `the program returned ${r0}`, r0);
        live = false;
        continue;
      }
      if (view.getInt32(c + CTX.DONE, true) !== 0) {
        lastDoneOffset = offset;
        live = false;
        continue;
      }
      // slot 0 always (this branch goes on); slot i > 0 when size[i] != 0 (a new branch)
      let nextOffset = -1;
      let nextSize = -1;
      for (let i = 0; i < CTX.FANOUT_MAX; i++) {
        const sizeLo = view.getUint32(c + CTX.SIZE + 8 * i, true);
        const sizeHi = view.getUint32(c + CTX.SIZE + 8 * i + 4, true);
        if (i > 0 && sizeLo === 0 && sizeHi === 0) continue;
        const lo = view.getUint32(c + CTX.NEXT_ADDR + 8 * i, true);
        const hi = view.getUint32(c + CTX.NEXT_ADDR + 8 * i + 4, true);
        const slotOffset = hi >= 1 << 21 ? UNREACHABLE_OFFSET : hi * TWO_32 + lo;
        let slotSize: number;
        if (sizeLo === 0 && sizeHi === 0) slotSize = XRP_BLOCK_BYTES;
        else if (sizeHi === 0 && sizeLo >= XRP_BLOCK_BYTES && sizeLo <= XRP_SIZE_MAX && sizeLo % XRP_BLOCK_BYTES === 0) slotSize = sizeLo;
        else {
          const raw = (BigInt(sizeHi) << 32n) | BigInt(sizeLo);
          endBranch(out, XrpStatus.INVALID_SIZE, slotOffset, 0, `size[${i}] is ${raw}: must be 512..4096 in steps of 512`);
          continue;
        }
        if (i === 0) {
          nextOffset = slotOffset;
          nextSize = slotSize;
        } else {
          workOffsets.push(slotOffset);
          workSizes.push(slotSize);
        }
      }
      if (nextSize < 0) {
        live = false;
        continue;
      }
      offset = nextOffset;
      size = nextSize;
      live = prepareRead(out, offset, size, true, limit, fileBytes);
    }
    if (out.status === XrpStatus.DONE) out.stopOffsetBytes = lastDoneOffset;
    return out;
  }
}

// (module-level functions, not closures: run() is hot and allocates nothing per call it can avoid)

/** Records an abnormal end of a branch; the first one sets the request's status (as XrpResult.end). */
function endBranch(out: ChainOutcome, status: XrpStatusCode, offsetBytes: number, sizeBytes: number, detail: string, progRet = 0n): void {
  if (out.ends === 0) {
    out.status = status;
    out.stopOffsetBytes = offsetBytes;
    out.detail = detail;
    if (status === XrpStatus.PROG_ERROR) out.progRet = progRet;
  }
  out.ends++;
  if (isResumable(status)) out.pending.push({ offsetBytes, sizeBytes });
}

/** The driver's checks before a (re)submission, in the emulated hook's order; true when the read may be made. */
function prepareRead(out: ChainOutcome, offset: number, size: number, counts: boolean, limit: number, fileBytes: number): boolean {
  if (counts && out.resubmissions >= limit) {
    endBranch(out, XrpStatus.LIMIT, offset, size, `resubmission limit ${limit} reached`);
    return false;
  }
  if (!Number.isSafeInteger(offset) || offset >= fileBytes) {
    if (Number.isSafeInteger(offset) && offset % XRP_BLOCK_BYTES !== 0) {
      endBranch(out, XrpStatus.MISALIGNED, offset, size, `offset ${offset} is not a multiple of ${XRP_BLOCK_BYTES}`);
    } else {
      endBranch(out, XrpStatus.OUT_OF_FILE, offset, size, `offset ${offset} is past the end of the file (${fileBytes} bytes)`);
    }
    return false;
  }
  if (offset % XRP_BLOCK_BYTES !== 0) {
    endBranch(out, XrpStatus.MISALIGNED, offset, size, `offset ${offset} is not a multiple of ${XRP_BLOCK_BYTES}`);
    return false;
  }
  if (counts) out.resubmissions++;
  return true;
}
