// NativeXrpEngine: read_xrp on a real file, at real speed, from Node.js.
//
// A pool of worker threads (worker.ts), each with its own descriptor of the one
// file and its own JIT-compiled copy of the storage function, serves requests
// through shared-memory queue pairs (channel.ts). A whole chain of dependent
// reads costs one crossing between threads instead of one per hop. The main
// thread only copies the scratch page into a slot and bumps a counter
// (queue.ts: the request queue and completion reaping; lane.ts: one worker and
// its rings); its event loop never blocks.
//
//   const engine = await NativeXrpEngine.open(path, { direct: true, workers: 2 });
//   await engine.load('bpf/kv/get.bpf.o', 'kv_get');
//   const r = await engine.readXrp(0, scratch);   // r.status === 'DONE', scratch updated
//   await engine.close();
//
// This file is the XrpEngine face and the pool's policy: loading a program into
// every worker, and a worker that dies failing only the requests it had taken
// (with a NativeWorkerError); requests still waiting in its ring go to other
// workers, and a replacement is started with the same program.

import { errorCode } from '../base/errors.ts';
import type { Program } from '../bpf/isa.ts';
import { XRP_PAGE_BYTES } from '../xrp/layout.ts';
import { isValidReadSize, XRP_BLOCK_BYTES } from '../xrp/limits.ts';
import type { XrpEngine } from '../xrp/engine.ts';
import { CTL, PAGE, REQ_FLAG } from './channel.ts';
import { readProgramSource, type ProgramSource } from './chain.ts';
import { NativeXrpError } from './errors.ts';
import { fileIdentity, probeDirect } from './identity.ts';
import { Lane, type NativeXrpResult } from './lane.ts';
import { checkLimit, resolveOptions, type NativeXrpOptions, type ReadXrpOptions } from './options.ts';
import { RequestQueue } from './queue.ts';
import type { FileIdentity, WorkerReply } from './worker.ts';

export { NativeWorkerError, NativeXrpError } from './errors.ts';
export { probeDirect } from './identity.ts';
export type { NativeXrpResult } from './lane.ts';
export type { NativeXrpOptions, ReadXrpOptions } from './options.ts';

/** Workers that die while starting this many times in a row break the engine. */
const START_FAILURES_MAX = 3;

interface LoadWait {
  generation: number;
  remaining: Set<number>;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class NativeXrpEngine implements XrpEngine {
  readonly kind = 'native';
  private readonly lanes: Lane[] = [];
  private readonly queue: RequestQueue;
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
  private readyWaiters: (() => void)[] = [];
  /** workers replaced after dying */
  replacedWorkers = 0;

  private constructor(
    readonly path: string,
    readonly identity: FileIdentity,
    private readonly options: Required<NativeXrpOptions>,
  ) {
    const host = { lanes: this.lanes, loaded: () => this.loaded, updateRef: () => this.updateRef() };
    this.queue = new RequestQueue(host, new Int32Array(new SharedArrayBuffer(64)), options);
  }

  /** The resubmission limit of a call that does not set its own. */
  get resubmitLimit(): number {
    return this.options.resubmitLimit;
  }

  /** Opens `path` and starts the workers (each opens the file itself). */
  static async open(path: string, options: NativeXrpOptions = {}): Promise<NativeXrpEngine> {
    const resolved = resolveOptions(options);
    const identity = fileIdentity(path);
    if (resolved.direct) {
      const probe = probeDirect(path);
      if (!probe.ok) throw new NativeXrpError('NATIVE_DIRECT', `${path}: O_DIRECT is not usable here (${probe.reason}); open without direct, or put the file on a file system that supports O_DIRECT (not tmpfs)`);
    }
    const engine = new NativeXrpEngine(path, identity, resolved);
    const lanes = Array.from({ length: resolved.workers }, () => engine.startLane());
    await engine.waitStarted(lanes);
    engine.opened = true;
    return engine;
  }

  get workerCount(): number {
    return this.options.workers;
  }

  /** Requests taken by workers or waiting in their rings, plus those queued on the main thread. */
  get outstanding(): number {
    return this.queue.outstanding;
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
    this.queue.dispatch();
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
      return new Promise<NativeXrpResult>((resolve, reject) => {
        this.queue.enqueue({ offsetBytes, sizeBytes, resubmitLimit, flags, scratch, data: options.data, resolve, reject });
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
    return { pollCaught: this.queue.pollStats.caught, pollExpired: this.queue.pollStats.expired, spinCaught, spinExpired };
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
    await this.queue.whenIdle();
    await Promise.all(this.lanes.map((lane) => lane.stop()));
  }

  // ---- the pool ----

  private checkUsable(): void {
    if (this.closing) throw new NativeXrpError('NATIVE_CLOSED', 'the engine is closed');
    if (this.broken !== undefined) throw this.broken;
  }

  private startLane(replacing?: number): Lane {
    const lane = Lane.start(this.nextWorkerId++, this.options.queueDepth, {
      path: this.path,
      direct: this.options.direct,
      identity: this.identity,
      checkFileChange: this.options.checkFileChange,
      insnLimit: this.options.insnLimit,
      debugHooks: this.options.debugHooks,
      spinUs: this.options.workerSpinUs,
      backoffMax: this.options.pollBackoffMax,
      bell: this.queue.bell.buffer as SharedArrayBuffer,
    });
    if (replacing === undefined) this.lanes.push(lane);
    else this.lanes[replacing] = lane;
    lane.worker.on('message', (m: WorkerReply) => this.onReply(lane, m));
    lane.worker.on('error', (e: Error) => {
      lane.lastError = e;
    });
    lane.worker.on('exit', (code: number) => this.onExit(lane, code));
    if (!this.refed) lane.worker.unref();
    return lane;
  }

  private async waitStarted(lanes: Lane[]): Promise<void> {
    const results = await Promise.all(lanes.map((lane) => lane.started()));
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
          this.queue.dispatch();
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
    const reason = lane.lastError?.message ?? `exit code ${code}`;
    this.queue.laneDied(lane, reason);
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
    this.queue.wake();
    this.queue.dispatch();
    this.queue.checkIdle();
  }

  /** The engine cannot go on: every queued request fails with `error`. */
  private fail(error: Error): void {
    this.broken = error;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
    this.queue.failAll(error);
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
}
