// The emulated kernel as an XrpEngine (src/xrp/engine.ts): a machine of its
// own with a copy of a host file, one process, and read_xrp in virtual time.
// Each readXrp runs one thread of the process until the call returns; virtual
// time goes on from call to call. The same caller code then runs on the
// emulated stack and on the native engine.

import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimThread, Task } from '../../sim/thread.ts';
import type { XrpCallParams, XrpEngine, XrpOutcome } from '../../xrp/engine.ts';
import { XRP_PAGE_BYTES } from '../../xrp/layout.ts';
import { XRP_BLOCK_BYTES } from '../../xrp/limits.ts';
import { Machine } from '../machine.ts';
import { O_DIRECT, O_RDONLY, type Process } from '../syscalls.ts';
import { XrpConfigError, xrpConfig } from './config.ts';
import { loadXrpProgramFile } from './prog-load.ts';
import { readXrp } from './read-xrp.ts';

export interface EmulatedXrpEngineOptions {
  /** Device profile (default the machine's). */
  profile?: string;
  cores?: number;
  seed?: number;
  /** Default resubmission limit of a call (default the kernel's). */
  resubmitLimit?: number;
}

/** The copy's name in the machine's file system (for a caller's own process on `machine`). */
export const EMULATED_ENGINE_FILE = 'file';

/** File system slack beyond the file: metadata and the image's own structures. */
const IMAGE_SLACK_BYTES = 16 << 20;

export class EmulatedXrpEngine implements XrpEngine {
  readonly kind = 'emulated';
  private progFd = -1;
  private closed = false;

  private constructor(
    readonly machine: Machine,
    private readonly dir: string,
    private readonly proc: Process,
    private readonly fd: number,
    private readonly dataBuf: number,
    private readonly scratchBuf: number,
    private readonly callLimit: number | undefined,
  ) {}

  get resubmitLimit(): number {
    return this.callLimit ?? xrpConfig(this.machine.kernel).resubmitLimit;
  }

  /** A machine with a copy of the host file at `path` (opened O_DIRECT by one process). */
  static async open(path: string, options: EmulatedXrpEngineOptions = {}): Promise<EmulatedXrpEngine> {
    const bytes = new Uint8Array(readFileSync(path));
    const dir = mkdtempSync(join(tmpdir(), 'xrp-emulated-'));
    const imageBytes = Math.ceil((statSync(path).size + IMAGE_SLACK_BYTES) / XRP_PAGE_BYTES) * XRP_PAGE_BYTES;
    let machine: Machine;
    try {
      machine = Machine.boot({
        imagePath: join(dir, 'engine.img'), mkfsBytes: imageBytes,
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
        ...(options.cores !== undefined ? { cores: options.cores } : {}),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    machine.fs.write(machine.fs.create(EMULATED_ENGINE_FILE), 0, bytes);
    const proc = machine.kernel.createProcess('xrp-engine');
    const fd = run(machine, proc, function* (t) {
      return yield* proc.open(t, EMULATED_ENGINE_FILE, O_RDONLY | O_DIRECT);
    });
    if (fd < 0) throw new XrpConfigError(`opening the copy of ${path} failed (errno ${-fd})`);
    return new EmulatedXrpEngine(machine, dir, proc, fd, proc.alloc(XRP_PAGE_BYTES), proc.alloc(XRP_PAGE_BYTES), options.resubmitLimit);
  }

  async load(objectPath: string, programName: string): Promise<void> {
    this.checkOpen();
    const proc = this.proc;
    this.progFd = run(this.machine, proc, function* (t) {
      return yield* loadXrpProgramFile(t, proc, objectPath, programName);
    });
  }

  async readXrp(offsetBytes: number, scratch: Uint8Array, params: XrpCallParams = {}): Promise<XrpOutcome> {
    this.checkOpen();
    if (this.progFd < 0) throw new XrpConfigError('no storage function loaded: call load() first');
    if (scratch.length < XRP_PAGE_BYTES) throw new XrpConfigError(`the scratch buffer must be at least ${XRP_PAGE_BYTES} bytes`);
    const { proc, fd, dataBuf, scratchBuf, progFd } = this;
    proc.bytes(scratchBuf, XRP_PAGE_BYTES).set(scratch.subarray(0, XRP_PAGE_BYTES));
    const resubmitLimit = params.resubmitLimit ?? this.callLimit;
    const options = resubmitLimit !== undefined ? { resubmitLimit } : {};
    const r = run(this.machine, proc, function* (t) {
      return yield* readXrp(t, proc, fd, dataBuf, params.sizeBytes ?? XRP_BLOCK_BYTES, offsetBytes, progFd, scratchBuf, options);
    });
    if (typeof r === 'number') throw new XrpConfigError(`read_xrp at offset ${offsetBytes} was refused (errno ${-r})`);
    scratch.set(proc.bytes(scratchBuf, XRP_PAGE_BYTES));
    params.data?.set(proc.bytes(dataBuf, XRP_PAGE_BYTES));
    return r;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.machine.shutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private checkOpen(): void {
    if (this.closed) throw new XrpConfigError('the emulated engine is closed');
  }
}

/** Runs `body` as one thread of `proc` until the simulation drains. */
function run<T>(machine: Machine, proc: Process, body: (t: SimThread) => Task<T>): T {
  let out: { value: T } | null = null;
  machine.sim.spawn(`${proc.name}-call`, function* (t) {
    out = { value: yield* body(t) };
  });
  machine.sim.run();
  if (out === null) throw new XrpConfigError('the emulated read_xrp did not return');
  return (out as { value: T }).value;
}
