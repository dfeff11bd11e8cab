// The simulator: an integer-nanosecond virtual clock, the event queue, the run's
// one seeded PRNG, the CPU cores and the threads. `run()` pops events in (time,
// sequence) order until the queue drains, a time limit, or `stop()`.

import { Core } from './cpu.ts';
import { SimError, assertNonNegativeInt, assertPositiveInt } from './errors.ts';
import { EventQueue } from './event-queue.ts';
import type { EventTarget } from './event-queue.ts';
import { Prng } from '../base/prng.ts';
import { SimThread, THREAD_BLOCKED, THREAD_DONE, THREAD_NEW, THREAD_RUNNABLE, THREAD_RUNNING, THREAD_WAKING } from './thread.ts';
import type { CpuContext, IrqSource, Task } from './thread.ts';

export interface SchedParams {
  /** CFS sched_latency: the period in which every runnable thread runs once. */
  schedLatencyNs: number;
  /** CFS sched_min_granularity: the shortest slice. */
  minGranularityNs: number;
  /** CFS sched_wakeup_granularity: how far behind a waking thread must be to preempt. */
  wakeupGranularityNs: number;
  /** schedule() and the switch itself (registers, stack, mm), paid by a thread each time it is switched in (from idle too). */
  contextSwitchNs: number;
  /** Cache and TLB refill, paid on top when another thread ran on the core since this one did (or it moved cores). */
  cacheRefillNs: number;
  /** try_to_wake_up on the waker's CPU (in the completion interrupt for I/O). */
  wakeupNs: number;
  /** Reschedule IPI from the waker's core to the woken thread's core, when they differ (latency). */
  ipiNs: number;
  /** Exit latency of the idle state a remote core is woken from (cpuidle). */
  idleExitNs: number;
  /** CONFIG_IRQ_TIME_ACCOUNTING: 1 = interrupt time is not charged to the interrupted thread. */
  irqTimeAccounting: number;
}

export interface SimOptions {
  cores: number;
  seed: number;
  /** Overrides of the scheduler parameters (defaults: Linux CFS, scaled by core count). */
  sched?: Partial<SchedParams>;
}

export interface SpawnOptions {
  /** Cores the thread may run on (sched_setaffinity); default all. */
  affinity?: readonly number[];
  /** Core to start on (placement still respects affinity); default: chosen like a wake-up. */
  core?: number;
}

/** Linux CFS defaults: 6 ms latency, 0.75 ms min granularity, 1 ms wakeup granularity, each
 * scaled by 1 + log2(min(cores, 8)) (SCHED_TUNABLESCALING_LOG). */
export function defaultSchedParams(cores: number): SchedParams {
  const factor = 1 + Math.floor(Math.log2(Math.min(cores, 8)));
  return {
    schedLatencyNs: 6_000_000 * factor,
    minGranularityNs: 750_000 * factor,
    wakeupGranularityNs: 1_000_000 * factor,
    // The blocking path, each a named cost with its source in docs/calibration.md.
    contextSwitchNs: 500,
    cacheRefillNs: 1_000,
    wakeupNs: 300,
    ipiNs: 1_000,
    idleExitNs: 2_000,
    irqTimeAccounting: 0,
  };
}

/** Scheduler parameters with the blocking path free (switches, wake-ups, IPIs): for tests of other arithmetic. */
export const FREE_BLOCKING: Partial<SchedParams> = { contextSwitchNs: 0, cacheRefillNs: 0, wakeupNs: 0, ipiNs: 0, idleExitNs: 0 };

export const MAX_CORES = 256;

class StopMark implements EventTarget {
  fired = false;
  onEvent(): void {
    this.fired = true;
  }
}

export class Simulator {
  /** Virtual time, integer nanoseconds. */
  nowNs = 0;
  readonly queue = new EventQueue();
  readonly rng: Prng;
  readonly cores: Core[] = [];
  readonly threads: SimThread[] = [];
  readonly sched: SchedParams;
  private stopped = false;
  private liveThreads = 0;
  /** Events processed so far. */
  eventCount = 0;
  /** The context whose simulated code is running right now (set by the cores), null between events. */
  runningCtx: CpuContext | null = null;
  /** Wake-ups that crossed cores (paid an IPI). */
  remoteWakeups = 0;

  constructor(options: SimOptions) {
    assertPositiveInt(options.cores, 'cores');
    if (options.cores > MAX_CORES) throw new SimError(`cores must be at most ${MAX_CORES}, got ${options.cores}`);
    this.rng = new Prng(options.seed);
    this.sched = { ...defaultSchedParams(options.cores), ...(options.sched ?? {}) };
    for (const [key, value] of Object.entries(this.sched)) assertNonNegativeInt(value as number, `sched.${key}`);
    if (this.sched.schedLatencyNs === 0) throw new SimError('sched.schedLatencyNs must be positive');
    if (this.sched.irqTimeAccounting > 1) throw new SimError(`sched.irqTimeAccounting must be 0 or 1, got ${this.sched.irqTimeAccounting}`);
    for (let i = 0; i < options.cores; i++) this.cores.push(new Core(this, i, this.sched));
  }

  /** Schedules target.onEvent(tag) at absolute time atNs (>= now). */
  at(atNs: number, target: EventTarget, tag: number): void {
    if (!(atNs >= this.nowNs) || !Number.isSafeInteger(atNs)) {
      throw new SimError(`event time must be an integer >= now (${this.nowNs}), got ${String(atNs)}`);
    }
    this.queue.push(atNs, target, tag);
  }

  /** Creates a thread running `body(thread)`; it becomes runnable at the current time. */
  spawn(name: string, body: (t: SimThread) => Task<unknown>, options: SpawnOptions = {}): SimThread {
    let allowed: Uint8Array | null = null;
    if (options.affinity !== undefined) {
      if (options.affinity.length === 0) throw new SimError(`thread '${name}': empty affinity`);
      allowed = new Uint8Array(this.cores.length);
      for (const c of options.affinity) {
        if (!Number.isInteger(c) || c < 0 || c >= this.cores.length) {
          throw new SimError(`thread '${name}': affinity core ${String(c)} out of range 0..${this.cores.length - 1}`);
        }
        allowed[c] = 1;
      }
    }
    let start = options.core ?? (allowed === null ? 0 : allowed.indexOf(1));
    const startCore = Number.isInteger(start) ? this.cores[start] : undefined;
    if (startCore === undefined) {
      throw new SimError(`thread '${name}': core ${String(start)} out of range 0..${this.cores.length - 1}`);
    }
    if (allowed !== null && allowed[start] === 0) throw new SimError(`thread '${name}': core ${start} is outside its affinity`);
    const t = new SimThread(this, this.threads.length, name, startCore, allowed);
    t.gen = body(t);
    this.threads.push(t);
    this.liveThreads++;
    // New threads start at the core's min vruntime, placed like a wake-up.
    const core = options.core !== undefined ? startCore : this.selectCore(t);
    t.vruntimeNs = core.currentMinVruntimeNs();
    t.core = core;
    core.enqueue(t);
    return t;
  }

  /**
   * Wakes a thread blocked in `yield t.block()` or spinning in `yield t.spin()`;
   * the yield returns `value`. Waking a thread that is not waiting yet makes its
   * next block()/spin() return at once (one pending wake is remembered).
   */
  wake(t: SimThread, value = 0): void {
    const state = t.state;
    if (state === THREAD_BLOCKED) {
      t.resumeValue = value;
      const target = this.selectCore(t);
      const s = this.sched;
      const waker = this.runningCtx;
      if (waker !== null) {
        // try_to_wake_up runs on the waker; an IPI (and the idle exit of a sleeping core) if the thread goes elsewhere.
        if (s.wakeupNs > 0) waker.charge(s.wakeupNs);
        if (target.id !== waker.coreId) {
          this.remoteWakeups++;
          const delayNs = s.ipiNs + (target.idle ? s.idleExitNs : 0);
          if (delayNs > 0) {
            t.state = THREAD_WAKING;
            this.queue.push(this.nowNs + delayNs, t, target.id);
            return;
          }
        }
      }
      target.enqueue(t);
      return;
    }
    if (state === THREAD_DONE || state === THREAD_NEW) {
      throw new SimError(`cannot wake thread '${t.name}': it has ${state === THREAD_DONE ? 'ended' : 'not started'}`);
    }
    t.wakePending = true;
    t.wakeValue = value;
    if (t.spinning && state === THREAD_RUNNING) t.core.kick();
    else if (state !== THREAD_RUNNABLE && state !== THREAD_RUNNING && state !== THREAD_WAKING) throw new SimError(`thread '${t.name}' in bad state ${state}`);
  }

  /**
   * Delivers an interrupt from `source` to core `coreId`; its handler runs there
   * (at once if the core is free to take it, else after the running handler).
   * `fromDeviceEvent` may be true only when called as the last act of an event
   * handler that runs no simulated code (a device posting a completion): the
   * handler then starts without an extra event. Everyone else leaves it false.
   */
  raiseInterrupt(coreId: number, source: IrqSource, fromDeviceEvent = false): void {
    const core = this.cores[coreId];
    if (core === undefined) throw new SimError(`interrupt to core ${String(coreId)}: no such core`);
    core.raiseIrq(source, fromDeviceEvent);
  }

  /** Wake placement: the previous core if idle, else an idle allowed core, else the least loaded. */
  selectCore(t: SimThread): Core {
    const cores = this.cores;
    const prev = t.core;
    if (t.mayRunOn(prev.id) && prev.idle) return prev;
    let best: Core | null = null;
    for (let i = 1; i <= cores.length; i++) {
      const c = cores[(prev.id + i) % cores.length];
      if (c === undefined || !t.mayRunOn(c.id)) continue;
      if (c.idle) return c;
      if (best === null || c.load < best.load || (c.load === best.load && c === prev)) best = c;
    }
    if (best === null) throw new SimError(`thread '${t.name}' may run on no core`);
    return best;
  }

  /** Called by a core when a thread's body returns. */
  threadFinished(_t: SimThread): void {
    this.liveThreads--;
  }

  get liveThreadCount(): number {
    return this.liveThreads;
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Runs events until the queue is empty, `untilNs` is reached (the clock then
   * reads untilNs), `maxEvents` events ran, or stop() was called.
   */
  run(options: { untilNs?: number; maxEvents?: number } = {}): void {
    this.stopped = false;
    const queue = this.queue;
    let mark: StopMark | null = null;
    if (options.untilNs !== undefined) {
      assertNonNegativeInt(options.untilNs, 'untilNs');
      if (options.untilNs < this.nowNs) throw new SimError(`untilNs ${options.untilNs} is before now (${this.nowNs})`);
      mark = new StopMark();
      queue.push(options.untilNs, mark, 0);
    }
    const maxEvents = options.maxEvents ?? Infinity;
    let n = 0;
    while (!this.stopped && n < maxEvents) {
      const target = queue.pop();
      if (target === null) break;
      this.nowNs = queue.lastTimeNs;
      this.runningCtx = null;
      n++;
      target.onEvent(queue.lastTag);
      if (mark !== null && mark.fired) break;
    }
    this.eventCount += n;
  }
}
