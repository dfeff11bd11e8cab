// Simulated threads and the yield protocol shared by threads and interrupt handlers.
//
// Simulated code is a generator function. It runs in zero virtual time between
// yields and yields a small integer opcode to ask the machine for something:
//   yield ctx.cpu(ns)  charge `ns` of CPU on the current core (time passes; the
//                      thread can be preempted or interrupted meanwhile)
//   yield t.block()    sleep until sim.wake(t, value); the yield returns value
//   yield t.spin()     busy-wait on the core (burning it, still schedulable)
//                      until sim.wake(t, value); the yield returns value
// Sub-calls are `yield*` of other generators. Opcodes are numbers and the CPU
// amount travels in a field, so a yield allocates nothing.

import { SimError } from './errors.ts';
import type { EventTarget } from './event-queue.ts';
import type { Core } from './cpu.ts';
import type { Simulator } from './simulator.ts';

export const OP_CPU = 1;
export const OP_BLOCK = 2;
export const OP_SPIN = 3;
export const OP_CALL = 4;
export const OP_CPU_THEN = 5;

/** SimThread.afterBurst values. */
export const AFTER_NOTHING = 0;
export const AFTER_BLOCK = 1;
export const AFTER_EXIT = 2;
export const AFTER_CONTINUE = 3;

/**
 * What a thread does when a CPU burst started by `yield t.cpuThen(ns, k, ns2)` ends:
 * synchronous work at that virtual time (submitting I/O), in place of resuming the
 * thread's code there. Saves the generator round trips of a hot path such as
 * "charge, ring the doorbell, sleep until the completion, charge the return".
 */
export interface BurstContinuation {
  /** Runs when the burst ends; true: sleep as `yield t.block()` does; false: resume the code now (the yield gives 0). */
  onBurstEnd(t: SimThread): boolean;
}

/** What simulated code yields. */
export type Op = number;
/** A piece of simulated code returning T (a thread body, a syscall, a handler). */
export type Task<T = void> = Generator<Op, T, number>;

/** Where simulated code runs: a thread, or an interrupt handler on a core. */
export interface CpuContext {
  readonly sim: Simulator;
  /** Current virtual time. */
  readonly nowNs: number;
  /** Core the code is running on right now. */
  readonly coreId: number;
  /** `yield ctx.cpu(ns)` charges ns of CPU time on the current core. */
  cpu(ns: number): Op;
  /**
   * Deferred charge (no yield): adds ns of CPU time that is consumed, in one
   * burst, before the next yield of this context takes effect (cpu, block,
   * spin, or the end of the code). Use it for pure computation that nobody
   * else observes: the clock does not move until then, which saves an event
   * per layer on hot paths. Anything that interacts (submitting I/O, waking
   * a thread) must come after a yield so that it happens at the right time.
   */
  charge(ns: number): void;
  /** The thread this code belongs to, or null in an interrupt handler. */
  readonly thread: SimThread | null;
}

export const THREAD_NEW = 0;
export const THREAD_RUNNABLE = 1;
export const THREAD_RUNNING = 2;
export const THREAD_BLOCKED = 3;
export const THREAD_DONE = 4;
/** Woken, its reschedule IPI (and the target core's idle exit) still in flight. */
export const THREAD_WAKING = 5;

/** Limit on nested call() frames (runaway recursion is an error, not a hang). */
export const CALL_DEPTH_MAX = 10_000;

function checkCpuNs(ns: number): void {
  if (!Number.isSafeInteger(ns) || ns < 0) {
    throw new SimError(`CPU charge must be a non-negative integer of ns, got ${String(ns)}`);
  }
}

export class SimThread implements CpuContext, EventTarget {
  state = THREAD_NEW;
  /** The core it runs on, or ran on last (wake placement starts there). */
  core: Core;
  /** allowed[coreId] !== 0 when the thread may run there; null = every core. */
  readonly allowed: Uint8Array | null;
  /** CFS virtual runtime and total runtime (integer ns; all threads have nice 0). */
  vruntimeNs = 0;
  sumExecNs = 0;
  sliceStartExecNs = 0;
  /** CPU time still owed by the current `cpu()` charge (plus a context switch). */
  burstRemainingNs = 0;
  pendingCpuNs = 0;
  /** CPU charged with charge(), consumed at the next yield. */
  deferredNs = 0;
  /** What to do once the current burst ends (deferred charge before a block or the end, a continuation). */
  afterBurst = 0;
  /** cpuThen(): the continuation, the CPU to consume after the wake-up, and that CPU once armed. */
  continuation: BurstContinuation | null = null;
  pendingWakeBurstNs = 0;
  wakeBurstNs = 0;
  spinning = false;
  wakePending = false;
  wakeValue = 0;
  resumeValue = 0;
  needResched = false;
  /** Times this thread was switched in after another thread ran on that core. */
  contextSwitches = 0;
  gen: Task<unknown> | null = null;
  /** Callers of `gen` entered with call() (a trampoline instead of a yield* chain). */
  readonly callers: Task<unknown>[] = [];
  pendingCall: Task<unknown> | null = null;
  hasPendingThrow = false;
  pendingThrow: unknown = undefined;
  readonly thread: SimThread;

  constructor(
    readonly sim: Simulator,
    readonly id: number,
    readonly name: string,
    core: Core,
    allowed: Uint8Array | null,
  ) {
    this.core = core;
    this.allowed = allowed;
    this.thread = this;
  }

  get nowNs(): number {
    return this.sim.nowNs;
  }

  get coreId(): number {
    return this.core.id;
  }

  get done(): boolean {
    return this.state === THREAD_DONE;
  }

  cpu(ns: number): Op {
    checkCpuNs(ns);
    this.pendingCpuNs = ns;
    return OP_CPU;
  }

  charge(ns: number): void {
    checkCpuNs(ns);
    this.deferredNs += ns;
  }

  block(): Op {
    return OP_BLOCK;
  }

  /**
   * `const v = yield t.cpuThen(ns, k, afterWakeNs)`: charges ns (plus deferred
   * charges), then runs k.onBurstEnd(t) at the end of that burst. If it returns
   * true the thread sleeps as in `yield t.block()` and, once woken, consumes
   * afterWakeNs of CPU before the yield returns the wake value; if false, the
   * yield returns 0 at once and afterWakeNs is not charged. The same virtual
   * times as `yield t.cpu(ns); <k's work>; v = yield t.block(); yield t.cpu(afterWakeNs)`
   * provided the code between the wake-up and that last charge does nothing
   * another thread can observe (it now runs afterWakeNs later). Exceptions thrown
   * by onBurstEnd are thrown at the yield.
   */
  cpuThen(ns: number, k: BurstContinuation, afterWakeNs: number): Op {
    checkCpuNs(ns);
    checkCpuNs(afterWakeNs);
    this.pendingCpuNs = ns;
    this.continuation = k;
    this.pendingWakeBurstNs = afterWakeNs;
    return OP_CPU_THEN;
  }

  spin(): Op {
    return OP_SPIN;
  }

  /**
   * `const r = yield t.call(sub(t, ...))` runs a sub-task like `yield* sub(t, ...)`
   * and evaluates to its (numeric) result, but the simulator keeps the call
   * stack: a yield deep inside resumes only the innermost generator instead of
   * every frame of a yield* chain. Worth it on deep hot paths (syscall -> fs ->
   * block -> driver). Threads only; sub-tasks must return a number (or nothing).
   */
  call(task: Task<number | void>): Op {
    if (this.callers.length >= CALL_DEPTH_MAX) throw new SimError(`thread '${this.name}': call depth above ${CALL_DEPTH_MAX}`);
    this.pendingCall = task as Task<unknown>;
    return OP_CALL;
  }

  /** The wake-up's IPI arrived at core `coreId`: the thread becomes runnable there. */
  onEvent(coreId: number): void {
    const core = this.sim.cores[coreId];
    if (core === undefined) throw new SimError(`wake-up of thread '${this.name}' arrived at core ${coreId}, which does not exist`);
    core.enqueue(this);
  }

  mayRunOn(coreId: number): boolean {
    return this.allowed === null || this.allowed[coreId] !== 0;
  }
}

/** The context interrupt handlers run in: CPU charges only, no blocking. */
export class IrqContext implements CpuContext {
  pendingCpuNs = 0;
  deferredNs = 0;
  readonly thread: SimThread | null = null;

  constructor(
    readonly sim: Simulator,
    readonly coreId: number,
  ) {}

  get nowNs(): number {
    return this.sim.nowNs;
  }

  cpu(ns: number): Op {
    checkCpuNs(ns);
    this.pendingCpuNs = ns;
    return OP_CPU;
  }

  charge(ns: number): void {
    checkCpuNs(ns);
    this.deferredNs += ns;
  }
}

/**
 * An interrupt handler's code: a generator (a Task), or any iterator with the same
 * protocol (only next() is used; a handler run once per I/O may reuse one object
 * instead of allocating a generator per interrupt).
 */
export type IrqTask = Iterator<Op, void, number>;

/** A device queue (or anything) that raises interrupts: its handler runs on the target core. */
export interface IrqSource {
  handleIrq(ctx: CpuContext): IrqTask;
}
