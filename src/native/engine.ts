// NativeXrpEngine: read_xrp on a real file, at real speed, from Node.js.
//
// A pool of worker threads (worker.ts), each with its own descriptor of the one
// file and its own JIT-compiled copy of the storage function, serves requests
// through shared-memory queue pairs (channel.ts). A whole chain of dependent
// reads costs one crossing between threads instead of one per hop. The main
// thread only copies the scratch page into a slot and bumps a counter; it looks
// for completions on each event-loop turn for a bounded window (pollUs), then
// awaits the doorbell with Atomics.waitAsync: its event loop never blocks.
//
//   const engine = await NativeXrpEngine.open(path, { direct: true, workers: 2 });
//   await engine.load('bpf/kv/get.bpf.o', 'kv_get');
//   const r = await engine.readXrp(0, scratch);   // r.status === 'DONE', scratch updated
//   await engine.close();
//
// A worker that dies fails only the requests it had taken (with a
// NativeWorkerError); requests still waiting in its ring go to other workers,
// and a replacement is started with the same program.

// Non-null assertions here read fields of the shared-memory channel's slots
// (channel.ts): typed-array indexes inside a slot, or a ring index masked into
// its array, on every completion; checking each would only cost.

import { availableParallelism } from 'node:os';
import { closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { errorCode, XrpError } from '../base/errors.ts';
import type { Program } from '../bpf/isa.ts';
import { XRP_PAGE_BYTES } from '../xrp/layout.ts';
import { isValidReadSize, resubmitLimitProblem, XRP_BLOCK_BYTES, XRP_INSN_LIMIT_DEFAULT, XRP_RESUBMIT_LIMIT_DEFAULT } from '../xrp/limits.ts';
import type { XrpCallParams, XrpEngine } from '../xrp/engine.ts';
import { XrpStatus, xrpStatusName, type XrpRead, type XrpStatusCode } from '../xrp/status.ts';
import { workerBootCode } from './boot.ts';
import { BELL, Channel, createChannelBuffers, CTL, MF, MI, PAGE, PENDING_MAX, REQ_FLAG } from './channel.ts';
import { readProgramSource, type ChainOutcome, type ProgramSource } from './chain.ts';
import type { ControlMessage, FileIdentity, WorkerInit, WorkerReply } from './worker.ts';

export class NativeXrpError extends XrpError {}

/** A request failed because the worker serving it died. */
export class NativeWorkerError extends NativeXrpError {
  constructor(
    readonly workerId: number,
    message: string,
  ) {
    super('NATIVE_WORKER', message);
  }
}

export interface NativeXrpOptions {
  /** open with O_DIRECT (reads bypass the page cache; needs a file system that supports it: not procfs, nor tmpfs before Linux 6.6) */
  direct?: boolean;
  /** worker threads (default: min(2, cores)) */
  workers?: number;
  /** requests in flight per worker, a power of two (default 64); more wait in a queue on the main thread */
  queueDepth?: number;
  /** resubmissions (reads after the first) per request (default 4096) */
  resubmitLimit?: number;
  /** executed-instruction limit per program run (default 1,000,000, as the emulated XRP) */
  insnLimit?: number;
  /** fstat the file after every request and report a change of size or mtime as MAPPING_CHANGED (default true) */
  checkFileChange?: boolean;
  /** accept debugCrash requests (tests) */
  debugHooks?: boolean;
  /**
   * microseconds a worker keeps polling its ring after its last request before it sleeps in
   * Atomics.wait (default 200; 0 sleeps at once): the next request of a caller that keeps one in
   * flight then needs no futex wake-up. Burns up to that much of a core each time the worker runs
   * out of requests. Keep it short on a shared machine: a long spin burns the CPU time that the
   * thread it waits for needs (see docs/native.md).
   */
  workerSpinUs?: number;
  /**
   * microseconds the main thread looks for completions on every event-loop turn (setImmediate,
   * never a blocking loop) after a submission or a completion, before it awaits the workers'
   * doorbell with Atomics.waitAsync (default 200; 0 awaits at once). Saves the cross-thread
   * wake-up of the main thread (tens of microseconds here) for requests that complete within
   * the window, at the cost of a busy event loop (timers and I/O still run) while it lasts.
   */
  pollUs?: number;
  /**
   * the main thread polls only while at most this many requests are in the workers' rings
   * (default 4 per worker): with more, completions come often enough that the doorbell's wake-up
   * is amortized, and the core is better left to the workers
   */
  pollMaxInFlight?: number;
  /**
   * after a polling window or a worker's spin that ran out (the other thread did not run
   * meanwhile), the next 1, 2, 4 ... up to this many windows or spins are skipped (default 16;
   * 0: never skip). A lower cap returns sooner to polling when cores free up; a higher one wastes
   * less when the threads share a core.
   */
  pollBackoffMax?: number;
}

export interface ReadXrpOptions extends XrpCallParams {
  /** debug hook: make the worker that takes this request die */
  debugCrash?: 'throw' | 'exit';
}

/** A completed request (an XrpOutcome of the contract, src/xrp/engine.ts): the chain's outcome (pending lists at most 64 reads) as the worker reported it. */
export interface NativeXrpResult extends ChainOutcome {
  /** 'DONE', 'LIMIT', ... */
  statusName: string;
  /** the walk did not finish here (status !== DONE) */
  partial: boolean;
  /** more pending reads existed than are listed */
  pendingTruncated: boolean;
  /** the worker that served the request */
  workerId: number;
}

// Atomics.waitAsync exists in Node 20 (V8) but TypeScript declares it only in
// lib es2024, newer than this project's lib: typed here, at this one boundary.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, index: number, value: number) => WaitAsyncResult }).waitAsync.bind(Atomics);

const QUEUED_MAX = 1 << 16;
/** see NativeXrpOptions.workerSpinUs and pollUs */
const WORKER_SPIN_US_DEFAULT = 50;
const POLL_US_DEFAULT = 50;
const POLL_MAX_IN_FLIGHT_PER_WORKER = 4;
/** a polling window ends early when a worker has not taken its requests this long after the window opened */
const POLL_PICKUP_GRACE_MS = 0.02;
const POLL_BACKOFF_MAX_DEFAULT = 16;
/** the largest workerSpinUs / pollUs accepted (1 s) */
const SPIN_US_MAX = 1_000_000;
const START_FAILURES_MAX = 3;
const STOP_GRACE_MS = 2000;

interface Request {
  offsetBytes: number;
  sizeBytes: number;
  resubmitLimit: number;
  flags: number;
  scratch: Uint8Array;
  data: Uint8Array | undefined;
  resolve: (r: NativeXrpResult) => void;
  reject: (e: Error) => void;
}

type LaneState = 'starting' | 'loading' | 'ready' | 'dead' | 'stopping';

/** One worker and its queue pair. */
class Lane {
  state: LaneState = 'starting';
  /** the worker opened the file and said 'ready' */
  booted = false;
  /** submissions not yet announced to the worker (SQ_TAIL not yet stored) */
  doorbellDue = false;
  readonly freeSlots: number[] = [];
  readonly slotRequest: (Request | undefined)[];
  sqTail = 0;
  cqHead = 0;
  inFlight = 0;
  lastError: Error | undefined;
  exited: Promise<number>;
  constructor(
    readonly id: number,
    readonly worker: Worker,
    readonly ch: Channel,
    readonly control: MessagePort,
  ) {
    this.slotRequest = new Array<Request | undefined>(ch.slots).fill(undefined);
    for (let s = ch.slots - 1; s >= 0; s--) this.freeSlots.push(s);
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
  }

  send(message: ControlMessage): void {
    this.control.postMessage(message);
    Atomics.add(this.ch.ctl, CTL.CONTROL, 1);
    Atomics.add(this.ch.ctl, CTL.WAKE, 1);
    Atomics.notify(this.ch.ctl, CTL.WAKE);
  }
}

interface LoadWait {
  generation: number;
  remaining: Set<number>;
  resolve: () => void;
  reject: (e: Error) => void;
}

function fileIdentity(path: string): FileIdentity {
  let st;
  try {
    st = statSync(path, { bigint: true });
  } catch (e) {
    throw new NativeXrpError('EBADF', `cannot open ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new NativeXrpError('ESPIPE', `${path} is not a regular file`);
  return { sizeBytes: Number(st.size), mtimeNs: st.mtimeNs.toString(), ino: st.ino.toString(), dev: st.dev.toString() };
}

/**
 * Whether `path`'s file system accepts O_DIRECT reads into the engine's buffers
 * (a page of a WebAssembly.Memory, page-aligned by V8). Returns the reason when not.
 */
export function probeDirect(path: string): { ok: true } | { ok: false; reason: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECT);
  } catch (e) {
    return { ok: false, reason: `open with O_DIRECT failed: ${(e as Error).message}` };
  }
  try {
    const page = new Uint8Array(new WebAssembly.Memory({ initial: 1, maximum: 1 }).buffer);
    readSync(fd, page, PAGE, XRP_BLOCK_BYTES, 0);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: `an aligned 512-byte O_DIRECT read failed: ${(e as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

export class NativeXrpEngine implements XrpEngine {
  readonly kind = 'native';
  private readonly lanes: Lane[] = [];
  private readonly pending: Request[] = [];
  private readonly bell = new Int32Array(new SharedArrayBuffer(64));
  private inFlight = 0;
  private pumping = false;
  private closing = false;
  private broken: Error | undefined;
  /** the program asked for last; `loaded` once every worker has it */
  private source: ProgramSource | undefined;
  private loaded = false;
  private opened = false;
  private generation = 0;
  private loadWait: LoadWait | undefined;
  private nextWorkerId = 0;
  private startFailures = 0;
  private refed = true;
  private idleWaiters: (() => void)[] = [];
  private readyWaiters: (() => void)[] = [];
  /** workers with submissions whose doorbell rings at the end of this microtask turn */
  private readonly doorbellLanes: Lane[] = [];
  private doorbellScheduled = false;
  /** the main thread's polling window (NativeXrpOptions.pollUs) in ms, and its end */
  private readonly pollMs: number;
  private pollUntilMs = 0;
  private pickupDueMs = 0;
  private takenAtWindow = 0;
  private submittedSincePoll = false;
  /** in a polling window; windows skipped after windows that ran out (see pumpStep) */
  private polling = false;
  private pollBackoff = 0;
  private pollSkip = 0;
  /** the main thread's polling windows that caught a completion, and that ran out */
  private readonly pollStats = { caught: 0, expired: 0 };
  /** workers replaced after dying */
  replacedWorkers = 0;

  private constructor(
    readonly path: string,
    readonly identity: FileIdentity,
    private readonly options: Required<NativeXrpOptions>,
  ) {
    this.pollMs = options.pollUs / 1000;
  }

  /** The resubmission limit of a call that does not set its own. */
  get resubmitLimit(): number {
    return this.options.resubmitLimit;
  }

  /** Opens `path` and starts the workers (each opens the file itself). */
  static async open(path: string, options: NativeXrpOptions = {}): Promise<NativeXrpEngine> {
    const workers = options.workers ?? Math.min(2, availableParallelism());
    const queueDepth = options.queueDepth ?? 64;
    if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new NativeXrpError('EINVAL', `workers must be 1..64, got ${workers}`);
    if (!Number.isInteger(queueDepth) || queueDepth < 1 || queueDepth > 4096 || (queueDepth & (queueDepth - 1)) !== 0) {
      throw new NativeXrpError('EINVAL', `queueDepth must be a power of two in 1..4096, got ${queueDepth}`);
    }
    const resubmitLimit = options.resubmitLimit ?? XRP_RESUBMIT_LIMIT_DEFAULT;
    checkLimit(resubmitLimit);
    const identity = fileIdentity(path);
    const direct = options.direct ?? false;
    if (direct) {
      const probe = probeDirect(path);
      if (!probe.ok) throw new NativeXrpError('NATIVE_DIRECT', `${path}: O_DIRECT is not usable here (${probe.reason}); open without direct, or put the file on a file system that supports O_DIRECT (not tmpfs)`);
    }
    const engine = new NativeXrpEngine(path, identity, {
      direct,
      workers,
      queueDepth,
      resubmitLimit,
      insnLimit: checkInsnLimit(options.insnLimit ?? XRP_INSN_LIMIT_DEFAULT),
      checkFileChange: options.checkFileChange ?? true,
      debugHooks: options.debugHooks ?? false,
      workerSpinUs: checkMicros('workerSpinUs', options.workerSpinUs ?? WORKER_SPIN_US_DEFAULT),
      pollUs: checkMicros('pollUs', options.pollUs ?? POLL_US_DEFAULT),
      pollMaxInFlight: checkCount('pollMaxInFlight', options.pollMaxInFlight ?? POLL_MAX_IN_FLIGHT_PER_WORKER * workers),
      pollBackoffMax: checkCount('pollBackoffMax', options.pollBackoffMax ?? POLL_BACKOFF_MAX_DEFAULT),
    });
    const lanes = Array.from({ length: workers }, () => engine.startLane());
    await engine.waitStarted(lanes);
    engine.opened = true;
    return engine;
  }

  get workerCount(): number {
    return this.options.workers;
  }

  /** Requests taken by workers or waiting in their rings, plus those queued on the main thread. */
  get outstanding(): number {
    return this.inFlight + this.pending.length;
  }

  /**
   * Loads a storage function into every worker: the first verifies it as an
   * xrp program, then every worker links it and compiles it with the JIT. `program` is an object file path
   * (with the program's function or section name) or bytecode.
   */
  async load(program: string | Program, programName = 'xrp'): Promise<void> {
    this.checkUsable();
    if (this.outstanding > 0 || this.loadWait !== undefined) throw new NativeXrpError('EBUSY', 'load() while requests are in flight or another load runs');
    let source: ProgramSource;
    if (typeof program === 'string') {
      try {
        source = readProgramSource(program, programName);
      } catch (e) {
        throw new NativeXrpError('ENOENT', `cannot read ${program}: ${(e as Error).message}`);
      }
    } else source = { kind: 'program', program };
    this.source = source;
    this.loaded = false;
    const generation = ++this.generation;
    const live = this.lanes.filter((l) => l.state !== 'dead' && l.state !== 'stopping');
    for (const lane of live) lane.state = 'loading';
    try {
      if (live.length === 0) throw new NativeXrpError('NATIVE_WORKER', 'no live worker to load the program into');
      // verified once, by the first worker; the others only link and JIT-compile it (verifying N times costs N cores)
      await this.loadInto(live.slice(0, 1), source, generation, true);
      await this.loadInto(live.slice(1), source, generation, false);
      this.loaded = true;
    } catch (e) {
      this.source = undefined;
      throw e;
    }
    // replacements that booted during the load
    for (const lane of this.lanes) {
      if (lane.state === 'starting' && lane.booted) {
        lane.state = 'loading';
        lane.send({ type: 'load', source, generation, verify: false });
      }
    }
    this.dispatch();
  }

  private async loadInto(lanes: Lane[], source: ProgramSource, generation: number, verify: boolean): Promise<void> {
    if (lanes.length === 0) return;
    const done = new Promise<void>((resolve, reject) => {
      this.loadWait = { generation, remaining: new Set(lanes.map((l) => l.id)), resolve, reject };
    });
    this.updateRef();
    for (const lane of lanes) lane.send({ type: 'load', source, generation, verify });
    try {
      await done;
    } finally {
      this.loadWait = undefined;
      this.updateRef();
    }
  }

  /**
   * read_xrp: runs the loaded storage function on the chain that starts with a
   * read at `offsetBytes`, with `scratch` (4096 bytes, updated in place) as its
   * scratch page. Resolves with the completion status; rejects only when the
   * request cannot be served (bad arguments, no program, engine closed, its
   * worker died).
   */
  readXrp(offsetBytes: number, scratch: Uint8Array, options: ReadXrpOptions = {}): Promise<NativeXrpResult> {
    try {
      this.checkUsable();
      if (!this.loaded) throw new NativeXrpError('NATIVE_NO_PROGRAM', 'no storage function loaded: call load() first');
      if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) throw new NativeXrpError('EINVAL', `offset ${String(offsetBytes)} is not a non-negative integer`);
      if (offsetBytes % XRP_BLOCK_BYTES !== 0) throw new NativeXrpError('EINVAL', `offset ${offsetBytes} is not a multiple of ${XRP_BLOCK_BYTES}`);
      if (!(scratch instanceof Uint8Array) || scratch.length < XRP_PAGE_BYTES) {
        throw new NativeXrpError('EFAULT', `the scratch buffer must be a Uint8Array of at least ${XRP_PAGE_BYTES} bytes`);
      }
      const sizeBytes = options.sizeBytes ?? XRP_BLOCK_BYTES;
      if (!isValidReadSize(sizeBytes)) {
        throw new NativeXrpError('EINVAL', `sizeBytes ${String(sizeBytes)} is not 512..4096 in steps of 512`);
      }
      const resubmitLimit = options.resubmitLimit ?? this.options.resubmitLimit;
      checkLimit(resubmitLimit);
      if (options.data !== undefined && (!(options.data instanceof Uint8Array) || options.data.length < PAGE)) {
        throw new NativeXrpError('EFAULT', `the data buffer must be a Uint8Array of at least ${PAGE} bytes`);
      }
      let flags = options.data !== undefined ? REQ_FLAG.WANT_DATA : 0;
      if (options.debugCrash !== undefined) {
        if (!this.options.debugHooks) throw new NativeXrpError('EINVAL', 'debugCrash needs an engine opened with debugHooks: true');
        flags |= options.debugCrash === 'throw' ? REQ_FLAG.CRASH_THROW : REQ_FLAG.CRASH_EXIT;
      }
      if (this.pending.length >= QUEUED_MAX) throw new NativeXrpError('EAGAIN', `more than ${QUEUED_MAX} requests queued`);
      return new Promise<NativeXrpResult>((resolve, reject) => {
        this.pending.push({ offsetBytes, sizeBytes, resubmitLimit, flags, scratch, data: options.data, resolve, reject });
        this.dispatch();
      });
    } catch (e) {
      return Promise.reject(e as Error);
    }
  }

  /**
   * How the wake-up avoidance fares: the main thread's polling windows that caught a completion
   * or ran out, and the workers' spins (current workers) that caught a submission or ran out.
   */
  get pollingStats(): { pollCaught: number; pollExpired: number; spinCaught: number; spinExpired: number } {
    let spinCaught = 0;
    let spinExpired = 0;
    for (const lane of this.lanes) {
      spinCaught += Atomics.load(lane.ch.ctl, CTL.SPIN_CAUGHT);
      spinExpired += Atomics.load(lane.ch.ctl, CTL.SPIN_EXPIRED);
    }
    return { pollCaught: this.pollStats.caught, pollExpired: this.pollStats.expired, spinCaught, spinExpired };
  }

  /** Workers up with the program loaded. */
  get readyWorkers(): number {
    return this.lanes.filter((l) => l.state === 'ready').length;
  }

  /** Resolves when every worker of the pool (replacements included) is up with the program loaded. */
  async whenAllReady(): Promise<void> {
    while (this.readyWorkers < this.options.workers) {
      this.checkUsable();
      await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    }
  }

  /** Test hook: terminates worker `index` (0-based position in the pool) as if it had crashed. */
  async debugTerminateWorker(index: number): Promise<void> {
    const lane = this.lanes[index];
    if (lane === undefined) throw new NativeXrpError('EINVAL', `no worker at index ${index}`);
    await lane.worker.terminate();
  }

  /** Waits for every outstanding request, then stops the workers. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.outstanding > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await Promise.all(
      this.lanes.map(async (lane) => {
        if (lane.state === 'dead') return;
        lane.state = 'stopping';
        lane.send({ type: 'stop' });
        const timer = setTimeout(() => void lane.worker.terminate(), STOP_GRACE_MS);
        await lane.exited;
        clearTimeout(timer);
        lane.control.close();
      }),
    );
  }

  // ---- internals ----

  private checkUsable(): void {
    if (this.closing) throw new NativeXrpError('NATIVE_CLOSED', 'the engine is closed');
    if (this.broken !== undefined) throw this.broken;
  }

  private startLane(replacing?: number): Lane {
    const buffers = createChannelBuffers(this.options.queueDepth);
    const { port1, port2 } = new MessageChannel();
    const id = this.nextWorkerId++;
    const init: WorkerInit = {
      workerId: id,
      path: this.path,
      direct: this.options.direct,
      identity: this.identity,
      checkFileChange: this.options.checkFileChange,
      insnLimit: this.options.insnLimit,
      debugHooks: this.options.debugHooks,
      spinUs: this.options.workerSpinUs,
      backoffMax: this.options.pollBackoffMax,
      buffers,
      bell: this.bell.buffer as SharedArrayBuffer,
      control: port2,
    };
    const worker = new Worker(workerBootCode(), { eval: true, workerData: init, transferList: [port2] });
    const lane = new Lane(id, worker, new Channel(buffers), port1);
    if (replacing === undefined) this.lanes.push(lane);
    else this.lanes[replacing] = lane;
    worker.on('message', (m: WorkerReply) => this.onReply(lane, m));
    worker.on('error', (e: Error) => {
      lane.lastError = e;
    });
    worker.on('exit', (code: number) => this.onExit(lane, code));
    if (!this.refed) worker.unref();
    return lane;
  }

  private async waitStarted(lanes: Lane[]): Promise<void> {
    const results = await Promise.all(
      lanes.map(
        (lane) =>
          new Promise<string | undefined>((resolve) => {
            const onMessage = (m: WorkerReply): void => {
              if (m.type === 'ready') resolve(undefined);
              else if (m.type === 'open-error') resolve(m.message);
              else return;
              lane.worker.off('message', onMessage);
            };
            lane.worker.on('message', onMessage);
            void lane.exited.then((code) => resolve(`worker exited with code ${code} while starting${lane.lastError ? `: ${lane.lastError.message}` : ''}`));
          }),
      ),
    );
    const failure = results.find((r) => r !== undefined);
    if (failure !== undefined) {
      await this.close();
      throw new NativeXrpError('EBADF', failure);
    }
  }

  private onReply(lane: Lane, m: WorkerReply): void {
    this.handleReply(lane, m);
    this.updateRef();
  }

  private handleReply(lane: Lane, m: WorkerReply): void {
    switch (m.type) {
      case 'ready':
        lane.booted = true;
        if (lane.state !== 'starting') return;
        // a replacement: give it the current program (already verified by this engine)
        if (this.source !== undefined && this.loaded) {
          lane.state = 'loading';
          lane.send({ type: 'load', source: this.source, generation: this.generation, verify: false });
        }
        return;
      case 'open-error':
        lane.lastError = new NativeXrpError('EBADF', m.message);
        return;
      case 'loaded':
      case 'load-error': {
        if (m.generation !== this.generation) return;
        const wait = this.loadWait;
        if (m.type === 'loaded') {
          lane.state = 'ready';
          for (const resolve of this.readyWaiters.splice(0)) resolve();
          this.startFailures = 0;
          if (wait !== undefined) {
            wait.remaining.delete(lane.id);
            if (wait.remaining.size === 0) wait.resolve();
          }
          this.dispatch();
        } else {
          lane.state = 'starting';
          const error = new NativeXrpError(errorCode(m.code, 'NATIVE_WORKER'), m.message);
          if (wait !== undefined) wait.reject(error);
          else this.fail(error);
        }
        return;
      }
    }
  }

  private onExit(lane: Lane, code: number): void {
    const wasState = lane.state;
    lane.state = 'dead';
    if (wasState === 'stopping') return;
    this.drain(lane);
    const reason = lane.lastError?.message ?? `exit code ${code}`;
    // requests still in the ring were never taken: they go to other workers
    const taken = Atomics.load(lane.ch.ctl, CTL.SQ_HEAD);
    const requeue: Request[] = [];
    for (let i = taken; i !== lane.sqTail; i = (i + 1) | 0) {
      const slot = lane.ch.ctl[lane.ch.sqBase + (i & lane.ch.mask)]!;
      const request = lane.slotRequest[slot];
      if (request === undefined) continue;
      lane.slotRequest[slot] = undefined;
      requeue.push(request);
    }
    let failed = 0;
    for (let slot = 0; slot < lane.slotRequest.length; slot++) {
      const request = lane.slotRequest[slot];
      if (request === undefined) continue;
      lane.slotRequest[slot] = undefined;
      failed++;
      request.reject(
        new NativeWorkerError(lane.id, `native XRP worker ${lane.id} died (${reason}) while serving the request at offset ${request.offsetBytes}; the request was not completed`),
      );
    }
    this.inFlight -= failed + requeue.length;
    lane.inFlight = 0;
    this.pending.unshift(...requeue);
    if (wasState === 'starting' || wasState === 'loading') this.startFailures++;
    const wait = this.loadWait;
    if (wait !== undefined && wait.remaining.has(lane.id)) wait.reject(new NativeXrpError('NATIVE_WORKER', `native XRP worker ${lane.id} died (${reason}) while loading the program`));
    if (!this.closing && this.opened) {
      if (this.startFailures >= START_FAILURES_MAX) {
        this.fail(new NativeXrpError('NATIVE_WORKER', `native XRP workers keep dying while starting (last: ${reason})`));
      } else {
        this.replacedWorkers++;
        this.startLane(this.lanes.indexOf(lane));
        this.updateRef();
      }
    }
    // wake the pump so that it sees the new count
    Atomics.add(this.bell, BELL.COUNT, 1);
    Atomics.notify(this.bell, BELL.COUNT);
    this.dispatch();
    this.checkIdle();
  }

  /** The engine cannot go on: every queued request fails with `error`. */
  private fail(error: Error): void {
    this.broken = error;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    for (const request of this.pending.splice(0)) request.reject(error);
    this.checkIdle();
  }

  private dispatch(): void {
    if (this.pending.length > 0 && this.loaded) {
      while (this.pending.length > 0) {
        let best: Lane | undefined;
        for (const lane of this.lanes) {
          if (lane.state !== 'ready' || lane.freeSlots.length === 0) continue;
          if (best === undefined || lane.inFlight < best.inFlight) best = lane;
        }
        if (best === undefined) break;
        this.submit(best, this.pending.shift()!);
        if (!best.doorbellDue) {
          best.doorbellDue = true;
          this.doorbellLanes.push(best);
        }
      }
      // one doorbell per worker for all the submissions of this turn (the callers' continuations
      // run as microtasks one after another): a sleeping worker is woken once, not once per request
      if (this.doorbellLanes.length > 0 && !this.doorbellScheduled) {
        this.doorbellScheduled = true;
        queueMicrotask(this.ringDoorbells);
      }
    }
    this.updateRef();
    if (this.inFlight > 0 && !this.pumping) this.pump();
  }

  private readonly ringDoorbells = (): void => {
    this.doorbellScheduled = false;
    for (const lane of this.doorbellLanes.splice(0)) {
      lane.doorbellDue = false;
      if (lane.state === 'dead') continue;
      Atomics.store(lane.ch.ctl, CTL.SQ_TAIL, lane.sqTail);
      Atomics.add(lane.ch.ctl, CTL.WAKE, 1);
      Atomics.notify(lane.ch.ctl, CTL.WAKE);
    }
  };

  private submit(lane: Lane, request: Request): void {
    const slot = lane.freeSlots.pop()!;
    const { ch } = lane;
    const mi = slot * MI.COUNT;
    const mf = slot * MF.COUNT;
    ch.mf[mf + MF.OFFSET] = request.offsetBytes;
    ch.mi[mi + MI.SIZE] = request.sizeBytes;
    ch.mi[mi + MI.FLAGS] = request.flags;
    ch.mi[mi + MI.LIMIT] = request.resubmitLimit;
    ch.scratch.set(request.scratch.subarray(0, PAGE), slot * PAGE);
    lane.slotRequest[slot] = request;
    ch.ctl[ch.sqBase + (lane.sqTail & ch.mask)] = slot;
    lane.sqTail = (lane.sqTail + 1) | 0;
    lane.inFlight++;
    this.inFlight++;
    this.submittedSincePoll = true;
  }

  /**
   * Completion reaping, as a chain of callbacks (never a blocking loop): drain every completion
   * ring; then, while within the polling window (pollUs after the last submission or completion),
   * look again on the next event-loop turn (setImmediate: timers and I/O run in between); after
   * it, await the doorbell with Atomics.waitAsync, which wakes this thread through a task that
   * V8 posts to the event loop.
   */
  private pump(): void {
    this.pumping = true;
    this.polling = false;
    this.pumpStep();
  }

  private readonly pumpStep = (): void => {
    // the doorbell count before draining: a completion published after the drain makes waitAsync return at once
    const seen = Atomics.load(this.bell, BELL.COUNT);
    let completed = 0;
    for (const lane of this.lanes) completed += this.drain(lane);
    if (completed > 0 && this.polling) {
      // the window caught a completion
      this.polling = false;
      this.pollBackoff = 0;
      this.pollStats.caught++;
    }
    if (this.pending.length > 0) this.dispatch();
    if (this.inFlight === 0) {
      this.pumping = false;
      this.updateRef();
      this.checkIdle();
      return;
    }
    if (this.pollMs > 0 && this.inFlight <= this.options.pollMaxInFlight) {
      const nowMs = performance.now();
      if (completed > 0 || this.submittedSincePoll) {
        // a new window after each submission or completion
        this.submittedSincePoll = false;
        this.polling = this.pollSkip === 0;
        if (this.polling) {
          this.pollUntilMs = nowMs + this.pollMs;
          this.pickupDueMs = nowMs + Math.min(this.pollMs, POLL_PICKUP_GRACE_MS);
          this.takenAtWindow = this.takenCount();
        } else this.pollSkip--;
      }
      if (this.polling) {
        // workers that have taken nothing within the grace while requests wait in their rings are not
        // running (asleep, preempted, or on this thread's core, where polling keeps them from
        // running): the window has failed
        const stalled = nowMs >= this.pickupDueMs && this.takenCount() === this.takenAtWindow && this.untakenRequests();
        if (nowMs < this.pollUntilMs && !stalled) {
          // the callers' continuations (microtasks) run before this, so their next requests are already submitted
          setImmediate(this.pumpStep);
          return;
        }
        // a window without a completion: the workers did not run meanwhile (preempted, or sharing
        // this thread's core, where polling only delays them): skip the next 1, 2, 4 .. pollBackoffMax windows
        this.polling = false;
        this.pollStats.expired++;
        this.pollBackoff = Math.min(Math.max(1, 2 * this.pollBackoff), this.options.pollBackoffMax);
        this.pollSkip = this.pollBackoff;
      }
    } else this.polling = false;
    const wait = waitAsync(this.bell, BELL.COUNT, seen);
    // when more completions arrived meanwhile, still yield once: the callers'
    // continuations (microtasks) must run and submit their next requests
    // before this drains again, or the rings would empty in convoys
    if (wait.async) void wait.value.then(this.pumpStep);
    else queueMicrotask(this.pumpStep);
  };

  /** Requests the workers have taken from their rings (a sum of counters that only grow; wraps harmlessly). */
  private takenCount(): number {
    let taken = 0;
    for (const lane of this.lanes) taken = (taken + Atomics.load(lane.ch.ctl, CTL.SQ_HEAD)) | 0;
    return taken;
  }

  /** Whether a worker has submissions in its ring that it has not taken yet. */
  private untakenRequests(): boolean {
    for (const lane of this.lanes) {
      if (lane.state === 'ready' && !lane.doorbellDue && Atomics.load(lane.ch.ctl, CTL.SQ_HEAD) !== lane.sqTail) return true;
    }
    return false;
  }

  /** Resolves the completions of `lane`'s ring; returns how many there were. */
  private drain(lane: Lane): number {
    const { ch } = lane;
    const tail = Atomics.load(ch.ctl, CTL.CQ_TAIL);
    if (tail === lane.cqHead) return 0;
    const count = (tail - lane.cqHead) | 0;
    while (lane.cqHead !== tail) {
      const slot = ch.ctl[ch.cqBase + (lane.cqHead & ch.mask)]!;
      lane.cqHead = (lane.cqHead + 1) | 0;
      const request = lane.slotRequest[slot];
      if (request === undefined) continue;
      lane.slotRequest[slot] = undefined;
      lane.freeSlots.push(slot);
      lane.inFlight--;
      this.inFlight--;
      const mi = slot * MI.COUNT;
      const mf = slot * MF.COUNT;
      request.scratch.set(ch.scratch.subarray(slot * PAGE, (slot + 1) * PAGE));
      if (request.data !== undefined) request.data.set(ch.data.subarray(slot * PAGE, (slot + 1) * PAGE));
      const lo = ch.mi[mi + MI.R0_LO]!;
      const hi = ch.mi[mi + MI.R0_HI]!;
      const status = ch.mi[mi + MI.STATUS]! as XrpStatusCode;
      const listed = ch.mi[mi + MI.PENDING]!;
      const pending: XrpRead[] = [];
      for (let i = 0; i < listed; i++) {
        pending.push({ offsetBytes: ch.pendingOffsets[slot * PENDING_MAX + i]!, sizeBytes: ch.pendingSizes[slot * PENDING_MAX + i]! });
      }
      request.resolve({
        status,
        statusName: xrpStatusName(status),
        partial: status !== XrpStatus.DONE,
        progRet: hi === 0 && lo === 0 ? 0n : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0),
        reads: ch.mi[mi + MI.READS]!,
        resubmissions: ch.mi[mi + MI.RESUBMISSIONS]!,
        runs: ch.mi[mi + MI.RUNS]!,
        insnsExecuted: ch.mf[mf + MF.INSNS]!,
        stopOffsetBytes: ch.mf[mf + MF.STOP_OFFSET]!,
        pending,
        pendingTruncated: ch.mi[mi + MI.PENDING_ALL]! > listed,
        ends: ch.mi[mi + MI.ENDS]!,
        detail: ch.readDetail(slot),
        workerId: lane.id,
      });
    }
    Atomics.store(ch.ctl, CTL.CQ_HEAD, lane.cqHead);
    return count;
  }

  /** Workers keep the process alive only while there is work (a forgotten engine does not hang a script). */
  private updateRef(): void {
    // booting or loading workers count as work, so that a replacement finishes starting
    const busy = this.outstanding > 0 || this.loadWait !== undefined || this.lanes.some((l) => (l.state === 'starting' && !l.booted) || l.state === 'loading');
    if (busy === this.refed) return;
    this.refed = busy;
    for (const lane of this.lanes) {
      if (busy) lane.worker.ref();
      else lane.worker.unref();
    }
  }

  private checkIdle(): void {
    if (this.outstanding > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

function checkLimit(limit: number): void {
  const problem = resubmitLimitProblem(limit);
  if (problem !== null) throw new NativeXrpError('EINVAL', problem);
}

function checkMicros(name: string, us: number): number {
  if (typeof us !== 'number' || !Number.isFinite(us) || us < 0 || us > SPIN_US_MAX) throw new NativeXrpError('EINVAL', `${name} must be 0..${SPIN_US_MAX} microseconds, got ${String(us)}`);
  return us;
}

function checkCount(name: string, count: number): number {
  if (!Number.isInteger(count) || count < 0 || count > 1 << 20) throw new NativeXrpError('EINVAL', `${name} must be an integer 0..2^20, got ${String(count)}`);
  return count;
}

function checkInsnLimit(limit: number): number {
  // the JIT counts instructions in an i32 (src/bpf/jit): at most 2^30
  if (!Number.isInteger(limit) || limit < 1 || limit > 2 ** 30) throw new NativeXrpError('EINVAL', `insnLimit must be 1..2^30, got ${String(limit)}`);
  return limit;
}
