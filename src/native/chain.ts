// The resubmission loop of the native engine: what the emulated NVMe driver's
// completion hook does for one read_xrp request, done by one thread with
// positioned reads. It reads a block into the data page, runs the contract's
// step on it (src/xrp/step.ts), checks the next reads it asks for (the
// contract's checkRead: budget, inside the file, alignment) and goes on until
// every branch is done or one ends abnormally. No thread or ring here: the worker (worker.ts) drives it, and the
// tests drive it directly.

import { readFileSync } from 'node:fs';
import { createExecEnv, type Engine, type ExecEnv } from '../bpf/engine.ts';
import { loadElf } from '../bpf/elf/elf.ts';
import type { Program } from '../bpf/isa.ts';
import { linkProgram } from '../bpf/elf/link.ts';
import { compileJit } from '../bpf/jit/index.ts';
import { loadProgram } from '../bpf/load.ts';
import { AddressSpace, PAGE_BYTES, type Region } from '../bpf/memory.ts';
import { createStdHelpers } from '../bpf/std-helpers.ts';
import { XrpBudget } from '../xrp/budget.ts';
import { XrpCycleCheck } from '../xrp/cycle.ts';
import { CTX_BYTES, XRP_PAGE_BYTES } from '../xrp/layout.ts';
import { XRP_BLOCK_BYTES } from '../xrp/limits.ts';
import { isResumable, XrpStatus, type XrpRead, type XrpStatusCode } from '../xrp/status.ts';
import { checkRead, checkReadDetail, clearCtx, READ_OK, xrpStep, XrpStepKind, XrpStepOutcome, type XrpRunner } from '../xrp/step.ts';

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

/** One loaded storage function with its own address space: ctx, data page and scratch page. */
export class ChainRunner {
  readonly memory: AddressSpace;
  readonly ctx: Region;
  /** 4096-aligned inside the WebAssembly memory, whose base is page-aligned: O_DIRECT reads land here directly */
  readonly data: Region;
  readonly scratch: Region;
  private readonly env: ExecEnv;
  private readonly engine: Engine;
  // fan-out children waiting for the current branch to end (the emulated 'serial' fan-out order), reused
  private readonly workOffsets: number[] = [];
  private readonly workSizes: number[] = [];
  private readonly step = new XrpStepOutcome();
  private readonly budget = new XrpBudget(0);
  private readonly cycle: XrpCycleCheck;
  private readonly runner: XrpRunner;

  /**
   * `verify: false` only for a program that the verifier has accepted in
   * another thread (the engine's first worker): it is then only JIT-compiled.
   */
  constructor(source: ProgramSource, insnLimit?: number, verify = true) {
    this.memory = new AddressSpace(1 << 20);
    let helpers = new Map() as ExecEnv['helpers'];
    let stateless = true;
    if (source.kind === 'object') {
      const object = loadElf(source.bytes, source.fileName);
      const linked = linkProgram(object, source.programName, this.memory);
      // verify as an xrp program, then JIT (throws the VerifierError of a rejected program)
      this.engine = verify ? loadProgram(linked.program, { type: 'xrp', maps: linked.mapSpecs, source: linked.source }).engine : compileJit(linked.program);
      helpers = createStdHelpers({ maps: linked.maps }).table;
      // a program with maps keeps state outside scratch and ctx: the cycle rule does not apply to it
      stateless = linked.mapSpecs.length === 0;
    } else {
      this.engine = verify ? loadProgram(source.program, { type: 'xrp' }).engine : compileJit(source.program);
    }
    this.env = createExecEnv(this.memory, helpers, insnLimit);
    this.ctx = this.memory.map('ctx', CTX_BYTES, { alignBytes: 64 });
    this.data = this.memory.map('data', PAGE_BYTES, { alignBytes: PAGE_BYTES });
    this.scratch = this.memory.map('scratch', XRP_PAGE_BYTES, { alignBytes: PAGE_BYTES });
    this.cycle = new XrpCycleCheck(stateless);
    // r1 is this.ctx's address on every run; the engine's CtxRunner makes no BigInt or object per run
    this.runner = this.engine.ctxRunner(this.env);
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
    const { memory, ctx, data, step, budget, cycle } = this;
    const u8 = memory.u8;
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
    budget.reset(request.resubmitLimit);
    clearCtx(memory, c);
    let offset = request.offsetBytes;
    let size = request.sizeBytes;
    cycle.start();
    let live = prepareRead(out, budget, offset, size, false, fileBytes);
    for (;;) {
      if (!live) {
        // this branch is over: the next queued child, with a fresh ctx
        if (workHead >= workOffsets.length) break;
        offset = workOffsets[workHead] ?? 0;
        size = workSizes[workHead] ?? 0;
        workHead++;
        clearCtx(memory, c);
        cycle.start();
        live = prepareRead(out, budget, offset, size, true, fileBytes);
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
      out.runs++;
      xrpStep(memory, c, data.base, validBytes, this.scratch.base, this.runner, step);
      out.insnsExecuted += step.insnsExecuted;
      if (step.kind === XrpStepKind.FAULT) {
        endBranch(out, XrpStatus.FAULT, offset, size, step.fault);
        live = false;
        continue;
      }
      if (step.kind === XrpStepKind.PROG_ERROR) {
        endBranch(out, XrpStatus.PROG_ERROR, offset, size, `the program returned ${step.r0}`, step.r0);
        live = false;
        continue;
      }
      if (step.kind === XrpStepKind.DONE) {
        lastDoneOffset = offset;
        live = false;
        continue;
      }
      for (let k = 0; k < step.invalidSlots.length; k++) {
        endBranch(out, XrpStatus.INVALID_SIZE, step.invalidOffsets[k] ?? 0, 0, step.invalidDetail(k));
      }
      for (let k = 0; k < step.childCount; k++) {
        workOffsets.push(step.childOffsets[k] ?? 0);
        workSizes.push(step.childSizes[k] ?? 0);
      }
      if (step.nextSizeBytes < 0) {
        live = false;
        continue;
      }
      offset = step.nextOffsetBytes;
      size = step.nextSizeBytes;
      if (cycle.repeats(memory, c, this.scratch.base, offset, size)) {
        endBranch(out, XrpStatus.CYCLE, offset, size, XrpCycleCheck.detail(offset));
        live = false;
        continue;
      }
      live = prepareRead(out, budget, offset, size, true, fileBytes);
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

/** The contract's checks before a (re)submission; true when the read may be made. */
function prepareRead(out: ChainOutcome, budget: XrpBudget, offset: number, size: number, counts: boolean, fileBytes: number): boolean {
  const b = counts ? budget : null;
  const refused = checkRead(b, offset, fileBytes);
  if (refused !== READ_OK) {
    endBranch(out, refused, offset, size, checkReadDetail(refused, b, offset, fileBytes));
    return false;
  }
  if (counts) {
    budget.take(offset);
    out.resubmissions = budget.used;
  }
  return true;
}
