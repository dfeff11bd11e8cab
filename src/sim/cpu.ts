// One CPU core with a CFS-like fair scheduler (a per-core run queue).
//
// CFS facts modelled: every runnable thread has a virtual runtime that grows with
// the CPU time it gets (all threads have nice 0, so vruntime == runtime); the core
// runs the runnable thread with the least vruntime; a thread's time slice is
// sched_latency / nr_running, at least min_granularity; a waking thread is placed
// at max(its vruntime, min_vruntime - sched_latency/2) (gentle fair sleepers) and
// preempts the current thread when it is behind by more than wakeup_granularity.
// Interrupts run on the core they land on, inside whatever thread's slice is
// running: without IRQ time accounting (irqTimeAccounting 0) the time is charged
// to that thread's runtime and vruntime, as Linux does without
// CONFIG_IRQ_TIME_ACCOUNTING; with it, the interrupted thread is not charged.
// The blocking path's costs (simulator.ts SchedParams, sources in
// docs/calibration.md): a thread switched in pays contextSwitchNs (schedule()
// and the switch, from the idle loop too) and, when another thread ran on the
// core since it last did (or it comes from another core), cacheRefillNs; the
// waker pays wakeupNs and a wake onto another core waits ipiNs (+ idleExitNs
// when that core sleeps) before the thread is runnable there.

import type { EventTarget } from './event-queue.ts';
import { SimError } from './errors.ts';
import type { Simulator, SchedParams } from './simulator.ts';
import {
  AFTER_BLOCK,
  AFTER_CONTINUE,
  AFTER_EXIT,
  AFTER_NOTHING,
  IrqContext,
  OP_BLOCK,
  OP_CALL,
  OP_CPU,
  OP_CPU_THEN,
  OP_SPIN,
  THREAD_BLOCKED,
  THREAD_DONE,
  THREAD_RUNNABLE,
  THREAD_RUNNING,
} from './thread.ts';
import type { IrqSource, IrqTask, SimThread } from './thread.ts';

const MODE_IDLE = 0; // no current thread
const MODE_CODE = 1; // current thread is executing code or paused between actions
const MODE_BURST = 2; // current thread is consuming a CPU charge (timer armed)
const MODE_SPIN = 3; // current thread is busy-polling
const MODE_IRQ = 4; // an interrupt handler runs

const TAG_DISPATCH = -1;
const TAG_IRQ = -2;
const TOKEN_MASK = 0x3fffffff;
/** A thread that yields this often with the clock standing still is stuck in a loop. */
const ZERO_TIME_STEPS_MAX = 10_000_000;

export class Core implements EventTarget {
  readonly rq: SimThread[] = [];
  current: SimThread | null = null;
  private mode = MODE_IDLE;
  /** Thread that ran last without an idle gap in between (a switch is free only back to it). */
  private prevThread: SimThread | null = null;
  /** Thread that ran last on this core, idle gaps or not (whose working set the caches hold). */
  private lastRan: SimThread | null = null;
  /** Interrupt time not to charge to the current thread (IRQ time accounting). */
  private irqUnchargedNs = 0;
  private accountedAtNs = 0;
  private burstResumedAtNs = 0;
  private timerToken = 0;
  private dispatchPending = false;
  private irqEventPending = false;
  minVruntimeNs = 0;
  /** Raised interrupts not yet handled: irqQueue[irqHead..irqTail), a queue reset when drained. */
  private readonly irqQueue: (IrqSource | null)[] = [];
  private irqHead = 0;
  private irqTail = 0;
  private irqGen: IrqTask | null = null;
  private irqFinishing = false;
  private readonly irqCtx: IrqContext;
  /** Statistics. */
  irqCount = 0;
  irqNs = 0;
  contextSwitches = 0;
  migrationsIn = 0;

  constructor(
    readonly sim: Simulator,
    readonly id: number,
    private readonly params: SchedParams,
  ) {
    this.irqCtx = new IrqContext(sim, id);
  }

  get idle(): boolean {
    return this.current === null && this.rq.length === 0;
  }

  /** Number of threads that want this core (running + queued). */
  get load(): number {
    return this.rq.length + (this.current === null ? 0 : 1);
  }

  onEvent(tag: number): void {
    if (tag === TAG_DISPATCH) {
      this.dispatchPending = false;
      this.dispatch();
      return;
    }
    if (tag === TAG_IRQ) {
      this.irqEventPending = false;
      if (this.mode !== MODE_IRQ && this.irqHead < this.irqTail) this.enterIrq();
      return;
    }
    if (tag !== this.timerToken) return; // cancelled timer
    if (this.mode === MODE_IRQ) {
      this.runIrq();
      return;
    }
    const t = this.current;
    if (t === null) throw new SimError(`core ${this.id}: timer fired with no thread`);
    if (this.mode === MODE_BURST) t.burstRemainingNs -= this.sim.nowNs - this.burstResumedAtNs;
    this.mode = MODE_CODE;
    this.runThread(t);
  }

  /** Re-evaluates this core at the current time (new runnable thread, wake of a poller). */
  kick(): void {
    if (this.dispatchPending) return;
    this.dispatchPending = true;
    this.sim.queue.push(this.sim.nowNs, this, TAG_DISPATCH);
  }

  /**
   * Queues an interrupt. `atTopLevel` says the caller is an event handler with
   * nothing of its own left to do (a device posting a completion), so no
   * simulated code is running anywhere and the handler may start at once;
   * otherwise delivery goes through an event at the current time.
   */
  raiseIrq(source: IrqSource, atTopLevel: boolean): void {
    if (this.irqTail === this.irqQueue.length) this.irqQueue.push(source);
    else this.irqQueue[this.irqTail] = source;
    this.irqTail++;
    if (this.mode === MODE_IRQ) return; // handled after the running handler
    if (atTopLevel && !this.irqEventPending) {
      this.enterIrq();
      return;
    }
    if (!this.irqEventPending) {
      this.irqEventPending = true;
      this.sim.queue.push(this.sim.nowNs, this, TAG_IRQ);
    }
  }

  /** Charges elapsed time to the current thread (runtime and vruntime). */
  updateCurr(): void {
    const t = this.current;
    const now = this.sim.nowNs;
    if (t !== null) {
      let delta = now - this.accountedAtNs;
      if (this.irqUnchargedNs > 0) {
        const skip = this.irqUnchargedNs < delta ? this.irqUnchargedNs : delta;
        this.irqUnchargedNs -= skip;
        delta -= skip;
      }
      t.sumExecNs += delta;
      t.vruntimeNs += delta;
    } else {
      this.irqUnchargedNs = 0;
    }
    this.accountedAtNs = now;
  }

  /** Monotonic min vruntime of the core (CFS min_vruntime). */
  currentMinVruntimeNs(): number {
    this.updateCurr();
    let m = this.current === null ? Infinity : this.current.vruntimeNs;
    for (const t of this.rq) {
      if (t.vruntimeNs < m) m = t.vruntimeNs;
    }
    if (m !== Infinity && m > this.minVruntimeNs) this.minVruntimeNs = m;
    return this.minVruntimeNs;
  }

  /** Puts a runnable thread on this core's queue and decides on preemption. */
  enqueue(t: SimThread): void {
    const minV = this.currentMinVruntimeNs();
    if (t.core !== this) {
      t.vruntimeNs = t.vruntimeNs - t.core.minVruntimeNs + minV;
      this.migrationsIn++;
    }
    const floorNs = minV - (this.params.schedLatencyNs >> 1);
    if (t.vruntimeNs < floorNs) t.vruntimeNs = floorNs;
    t.core = this;
    t.state = THREAD_RUNNABLE;
    this.rq.push(t);
    const cur = this.current;
    if (cur === null) {
      if (this.mode !== MODE_IRQ) this.kick();
      return;
    }
    if (cur.vruntimeNs - t.vruntimeNs > this.params.wakeupGranularityNs) cur.needResched = true;
    // The first waiter arms the slice timer; a wake-up preemption acts at once.
    if (this.rq.length === 1 || cur.needResched) this.kick();
  }

  private sliceNs(): number {
    const nr = this.rq.length + 1;
    const slice = Math.floor(this.params.schedLatencyNs / nr);
    return slice > this.params.minGranularityNs ? slice : this.params.minGranularityNs;
  }

  /** Absolute time at which the current thread's slice ends. */
  private sliceEndNs(t: SimThread): number {
    const usedNs = t.sumExecNs + (this.sim.nowNs - this.accountedAtNs) - t.sliceStartExecNs;
    const left = this.sliceNs() - usedNs;
    return left > 0 ? this.sim.nowNs + left : this.sim.nowNs;
  }

  private shouldPreempt(t: SimThread): boolean {
    return t.needResched || this.sliceEndNs(t) <= this.sim.nowNs;
  }

  private armTimer(atNs: number): void {
    this.timerToken = (this.timerToken + 1) & TOKEN_MASK;
    this.sim.queue.push(atNs, this, this.timerToken);
  }

  /** Stops the current burst/spin (keeping the CPU still owed) so the core can re-decide. */
  private pause(): void {
    if (this.mode === MODE_BURST) {
      const cur = this.current;
      if (cur === null) throw new SimError(`core ${this.id} is in a CPU burst without a current thread`);
      cur.burstRemainingNs -= this.sim.nowNs - this.burstResumedAtNs;
    }
    if (this.mode === MODE_BURST || this.mode === MODE_SPIN) {
      this.timerToken = (this.timerToken + 1) & TOKEN_MASK;
      this.mode = MODE_CODE;
    }
  }

  private dispatch(): void {
    if (this.mode === MODE_IRQ) return; // the interrupt exit re-decides
    if (this.irqHead < this.irqTail) {
      this.enterIrq();
      return;
    }
    this.pause();
    if (this.current !== null) this.runThread(this.current);
    else if (this.mode === MODE_IDLE) this.pickNext();
  }

  /** Drives the current thread until it needs time to pass, blocks, or ends. */
  private runThread(t: SimThread): void {
    const sim = this.sim;
    const queue = sim.queue;
    let startNs = sim.nowNs;
    let steps = 0;
    for (;;) {
      if (t.burstRemainingNs > 0) {
        if (this.rq.length > 0 && this.shouldPreempt(t)) {
          this.preempt(t);
          return;
        }
        const endNs = sim.nowNs + t.burstRemainingNs;
        let timerNs = endNs;
        if (this.rq.length > 0) {
          const sliceEnd = this.sliceEndNs(t);
          if (sliceEnd < timerNs) timerNs = sliceEnd;
        }
        if (timerNs === endNs && queue.peekTimeNs() > endNs) {
          // Nothing can happen anywhere before this charge ends: advance in place.
          sim.nowNs = endNs;
          t.burstRemainingNs = 0;
        } else {
          this.mode = MODE_BURST;
          this.burstResumedAtNs = sim.nowNs;
          this.armTimer(timerNs);
          return;
        }
      }
      if (t.afterBurst !== AFTER_NOTHING) {
        const after = t.afterBurst;
        t.afterBurst = AFTER_NOTHING;
        if (after === AFTER_EXIT) {
          this.finish(t);
          return;
        }
        let sleep = true;
        if (after === AFTER_CONTINUE) {
          // cpuThen(): the continuation runs as the thread's code would, then maybe sleeps.
          const k = t.continuation;
          if (k === null) throw new SimError(`thread '${t.name}' ended a cpuThen() burst without its continuation`);
          t.continuation = null;
          const wakeBurstNs = t.pendingWakeBurstNs;
          t.pendingWakeBurstNs = 0;
          this.mode = MODE_CODE;
          sim.runningCtx = t;
          try {
            sleep = k.onBurstEnd(t);
          } catch (error) {
            t.hasPendingThrow = true;
            t.pendingThrow = error;
            sleep = false;
          }
          if (sleep) {
            t.wakeBurstNs = wakeBurstNs;
            if (t.deferredNs > 0) {
              // Like OP_BLOCK: the continuation's deferred charges are consumed before the sleep.
              t.burstRemainingNs = t.deferredNs;
              t.deferredNs = 0;
              t.afterBurst = AFTER_BLOCK;
              continue;
            }
          }
        }
        // (A continuation that did not sleep resumes the code: the yield gives 0.)
        if (sleep) {
          if (t.wakePending) {
            t.wakePending = false;
            t.resumeValue = t.wakeValue;
          } else {
            this.leave(t, THREAD_BLOCKED);
            return;
          }
        }
      }
      if (t.spinning) {
        if (t.wakePending) {
          t.spinning = false;
          t.wakePending = false;
          t.resumeValue = t.wakeValue;
        } else {
          if (this.rq.length > 0) {
            if (this.shouldPreempt(t)) {
              this.preempt(t);
              return;
            }
            this.armTimer(this.sliceEndNs(t));
          }
          this.mode = MODE_SPIN;
          return;
        }
      }
      this.mode = MODE_CODE;
      if (++steps > ZERO_TIME_STEPS_MAX) {
        if (sim.nowNs === startNs) {
          throw new SimError(`thread '${t.name}' yielded ${ZERO_TIME_STEPS_MAX} times without virtual time passing (a loop of cpu(0) or of pre-woken blocks?)`);
        }
        // Time moved earlier in this run (a switch-in charge, say): count again from here.
        startNs = sim.nowNs;
        steps = 0;
      }
      if (t.wakeBurstNs > 0) {
        // cpuThen(): the CPU after the wake-up, consumed before the code resumes.
        t.burstRemainingNs = t.wakeBurstNs + t.deferredNs;
        t.deferredNs = 0;
        t.wakeBurstNs = 0;
        continue;
      }
      const value = t.resumeValue;
      t.resumeValue = 0;
      let r: IteratorResult<number, unknown>;
      const gen = t.gen;
      if (gen === null) throw new SimError(`thread '${t.name}' is scheduled after it finished`);
      sim.runningCtx = t;
      try {
        if (t.hasPendingThrow) {
          t.hasPendingThrow = false;
          const error = t.pendingThrow;
          t.pendingThrow = undefined;
          r = gen.throw(error);
        } else {
          r = gen.next(value);
        }
      } catch (error) {
        const caller = t.callers.pop();
        if (caller === undefined) throw error;
        // An exception leaves a call() like it leaves a yield*: into the caller.
        t.gen = caller;
        t.hasPendingThrow = true;
        t.pendingThrow = error;
        continue;
      }
      if (r.done === true) {
        const caller = t.callers.pop();
        if (caller !== undefined) {
          // Return from a call(): resume the caller with the result.
          t.gen = caller;
          const result = r.value;
          t.resumeValue = typeof result === 'number' ? result : 0;
          continue;
        }
        if (t.deferredNs > 0) {
          t.burstRemainingNs = t.deferredNs;
          t.deferredNs = 0;
          t.afterBurst = AFTER_EXIT;
          continue;
        }
        this.finish(t);
        return;
      }
      const op = r.value;
      if (op === OP_CPU) {
        t.burstRemainingNs = t.pendingCpuNs + t.deferredNs;
        t.deferredNs = 0;
      } else if (op === OP_BLOCK) {
        if (t.deferredNs > 0) {
          t.burstRemainingNs = t.deferredNs;
          t.deferredNs = 0;
          t.afterBurst = AFTER_BLOCK;
        } else if (t.wakePending) {
          t.wakePending = false;
          t.resumeValue = t.wakeValue;
        } else {
          this.leave(t, THREAD_BLOCKED);
          return;
        }
      } else if (op === OP_CPU_THEN) {
        t.burstRemainingNs = t.pendingCpuNs + t.deferredNs;
        t.deferredNs = 0;
        t.afterBurst = AFTER_CONTINUE;
      } else if (op === OP_CALL) {
        t.callers.push(gen);
        t.gen = t.pendingCall;
        t.pendingCall = null;
      } else if (op === OP_SPIN) {
        t.spinning = true;
        t.burstRemainingNs = t.deferredNs;
        t.deferredNs = 0;
      } else {
        throw new SimError(`thread '${t.name}' yielded ${String(op)}; yield only ctx.cpu(ns), t.cpuThen(...), t.block(), t.spin() or t.call(task)`);
      }
    }
  }

  private preempt(t: SimThread): void {
    this.updateCurr();
    t.needResched = false;
    this.current = null;
    this.prevThread = t;
    this.mode = MODE_IDLE;
    // Push-balance: move the thread to a core with clearly less work if allowed.
    const cores = this.sim.cores;
    let target: Core = this;
    let best = this.load + 1; // this core's load with t counted
    for (let i = 1; i < cores.length; i++) {
      const c = cores[(this.id + i) % cores.length];
      if (c === undefined || !t.mayRunOn(c.id)) continue;
      if (c.load + 1 < best) {
        best = c.load + 1;
        target = c;
      }
    }
    if (target !== this && best < this.load + 1) {
      target.enqueue(t);
    } else {
      t.state = THREAD_RUNNABLE;
      this.rq.push(t);
    }
    this.pickNext();
  }

  private leave(t: SimThread, state: number): void {
    this.updateCurr();
    t.state = state;
    this.current = null;
    this.prevThread = t;
    this.mode = MODE_IDLE;
    this.pickNext();
  }

  private finish(t: SimThread): void {
    t.gen = null;
    this.leave(t, THREAD_DONE);
    this.sim.threadFinished(t);
  }

  /** Picks the runnable thread with the least vruntime, pulling work when idle. */
  private pickNext(): void {
    if (this.rq.length === 0) this.idlePull();
    const rq = this.rq;
    if (rq.length === 0) {
      this.mode = MODE_IDLE;
      this.prevThread = null;
      return;
    }
    let t = rq[0];
    if (t === undefined) throw new SimError(`core ${this.id} picked from an empty run queue`);
    let best = 0;
    let i = 0;
    for (const a of rq) {
      if (a.vruntimeNs < t.vruntimeNs || (a.vruntimeNs === t.vruntimeNs && a.id < t.id)) {
        best = i;
        t = a;
      }
      i++;
    }
    // Remove t by moving the last thread into its place.
    const last = rq.pop();
    if (last !== undefined && last !== t) rq[best] = last;
    this.updateCurr();
    t.state = THREAD_RUNNING;
    t.core = this;
    t.sliceStartExecNs = t.sumExecNs;
    this.current = t;
    if (this.prevThread !== t) {
      // Switched in (from another thread or from the idle loop): schedule() and the switch,
      // and the refill of caches and TLB another thread's run displaced.
      let costNs = this.params.contextSwitchNs;
      if (this.lastRan !== t) costNs += this.params.cacheRefillNs;
      t.burstRemainingNs += costNs;
      if (this.prevThread !== null) {
        t.contextSwitches++;
        this.contextSwitches++;
      }
    }
    this.prevThread = t;
    this.lastRan = t;
    this.mode = MODE_CODE;
    this.runThread(t);
  }

  /** Newly idle balance: take a queued thread from the busiest core that lets it run here. */
  private idlePull(): void {
    const cores = this.sim.cores;
    let from: Core | null = null;
    let fromIndex = -1;
    let t: SimThread | null = null;
    for (let i = 1; i < cores.length; i++) {
      const c = cores[(this.id + i) % cores.length];
      if (c === undefined || (from !== null && c.rq.length <= from.rq.length)) continue;
      const j = c.rq.findIndex((q) => q.mayRunOn(this.id));
      if (j >= 0) {
        from = c;
        fromIndex = j;
        t = c.rq[j] ?? null;
      }
    }
    if (from === null || t === null) return;
    from.rq.splice(fromIndex, 1);
    const minV = this.currentMinVruntimeNs();
    t.vruntimeNs = t.vruntimeNs - from.minVruntimeNs + minV;
    t.core = this;
    this.migrationsIn++;
    this.rq.push(t);
  }

  private enterIrq(): void {
    this.pause();
    this.mode = MODE_IRQ;
    this.startNextIrq();
  }

  private startNextIrq(): void {
    if (this.params.irqTimeAccounting !== 0) this.updateCurr(); // the thread's time up to here is its own
    const source = this.irqQueue[this.irqHead];
    if (source === null || source === undefined) throw new SimError(`core ${this.id} entered an interrupt with none queued`);
    this.irqQueue[this.irqHead++] = null;
    if (this.irqHead === this.irqTail) {
      this.irqHead = 0;
      this.irqTail = 0;
    }
    this.irqCount++;
    this.irqGen = source.handleIrq(this.irqCtx);
    this.runIrq();
  }

  private runIrq(): void {
    const sim = this.sim;
    const ctx = this.irqCtx;
    let startNs = sim.nowNs;
    let steps = 0;
    for (;;) {
      if (++steps > ZERO_TIME_STEPS_MAX) {
        if (sim.nowNs === startNs) throw new SimError(`interrupt handler on core ${this.id} yielded ${ZERO_TIME_STEPS_MAX} times without virtual time passing`);
        startNs = sim.nowNs;
        steps = 0;
      }
      let ns: number;
      if (this.irqFinishing) {
        this.irqFinishing = false;
        this.endIrq();
        return;
      }
      sim.runningCtx = ctx;
      const irqGen = this.irqGen;
      if (irqGen === null) throw new SimError(`core ${this.id} runs an interrupt handler that was never started`);
      const r = irqGen.next(0);
      if (r.done === true) {
        if (ctx.deferredNs === 0) {
          this.endIrq();
          return;
        }
        // Consume the handler's deferred charge, then end it.
        ns = ctx.deferredNs;
        ctx.deferredNs = 0;
        this.irqFinishing = true;
      } else {
        if (r.value !== OP_CPU) {
          throw new SimError(`interrupt handler on core ${this.id} yielded ${String(r.value)}; handlers may only charge CPU`);
        }
        ns = ctx.pendingCpuNs + ctx.deferredNs;
        ctx.deferredNs = 0;
      }
      const endNs = sim.nowNs + ns;
      this.irqNs += ns;
      if (this.params.irqTimeAccounting !== 0 && this.current !== null) this.irqUnchargedNs += ns;
      if (sim.queue.peekTimeNs() > endNs) {
        sim.nowNs = endNs;
      } else {
        this.armTimer(endNs);
        return;
      }
    }
  }

  /** The running handler is done: start the next queued one or leave interrupt mode. */
  private endIrq(): void {
    this.irqGen = null;
    if (this.irqHead < this.irqTail) this.startNextIrq();
    else this.exitIrq();
  }

  private exitIrq(): void {
    if (this.current !== null) {
      this.mode = MODE_CODE;
      this.runThread(this.current);
    } else {
      this.mode = MODE_IDLE;
      this.prevThread = null;
      this.pickNext();
    }
  }
}
