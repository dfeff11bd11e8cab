// The native engine's request queue on the main thread: requests wait here
// until a ready worker has a free slot (the least loaded first), go out with
// one doorbell per worker per turn, and come back through completion reaping.
// Reaping is a chain of callbacks, never a blocking loop: after a submission
// or a completion the main thread looks for completions on each event-loop
// turn for a bounded window (pollUs), then awaits the workers' doorbell with
// Atomics.waitAsync; its event loop never blocks.

import { NativeWorkerError, NativeXrpError } from './errors.ts';
import type { Lane, Request } from './lane.ts';
import { BELL } from './channel.ts';

// Atomics.waitAsync exists in Node 20 (V8) but TypeScript declares it only in
// lib es2024, newer than this project's lib: typed here, at this one boundary.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: (a: Int32Array, index: number, value: number) => WaitAsyncResult }).waitAsync.bind(Atomics);

const QUEUED_MAX = 1 << 16;
/** a polling window ends early when a worker has not taken its requests this long after the window opened */
const POLL_PICKUP_GRACE_MS = 0.02;

/** What the queue needs of its engine. */
export interface QueueHost {
  /** the workers, in the engine's order (a replacement takes its predecessor's place) */
  readonly lanes: readonly Lane[];
  /** a program is loaded in the workers: requests may go out */
  loaded(): boolean;
  /** the set of outstanding requests changed (the workers keep the process alive only while there is work) */
  updateRef(): void;
}

export interface PollingOptions {
  /** NativeXrpOptions.pollUs, pollMaxInFlight, pollBackoffMax */
  pollUs: number;
  pollMaxInFlight: number;
  pollBackoffMax: number;
}

export class RequestQueue {
  private readonly pending: Request[] = [];
  /** requests in the workers' rings (submitted, not yet completed) */
  private inFlight = 0;
  private pumping = false;
  private idleWaiters: (() => void)[] = [];
  /** workers with submissions whose doorbell rings at the end of this microtask turn */
  private readonly doorbellLanes: Lane[] = [];
  private doorbellScheduled = false;
  /** the main thread's polling window (pollUs) in ms, and its end */
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
  readonly pollStats = { caught: 0, expired: 0 };

  constructor(
    private readonly host: QueueHost,
    /** the workers' doorbell: they bump BELL.COUNT after publishing completions */
    readonly bell: Int32Array,
    private readonly options: PollingOptions,
  ) {
    this.pollMs = options.pollUs / 1000;
  }

  /** Requests taken by workers or waiting in their rings, plus those queued here. */
  get outstanding(): number {
    return this.inFlight + this.pending.length;
  }

  /** Queues `request` and sends out what can go. */
  enqueue(request: Request): void {
    if (this.pending.length >= QUEUED_MAX) throw new NativeXrpError('EAGAIN', `more than ${QUEUED_MAX} requests queued`);
    this.pending.push(request);
    this.dispatch();
  }

  /** Resolves when nothing is outstanding. */
  whenIdle(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Every queued request fails with `error` (the engine cannot go on). */
  failAll(error: Error): void {
    for (const request of this.pending.splice(0)) request.reject(error);
    this.checkIdle();
  }

  /**
   * `lane`'s worker died: its completions are resolved, the requests it had
   * taken fail with a NativeWorkerError, those still in its ring go first to
   * other workers.
   */
  laneDied(lane: Lane, reason: string): void {
    this.drain(lane);
    const { untaken, taken } = lane.abandon();
    for (const request of taken) {
      request.reject(
        new NativeWorkerError(lane.id, `native XRP worker ${lane.id} died (${reason}) while serving the request at offset ${request.offsetBytes}; the request was not completed`),
      );
    }
    this.inFlight -= taken.length + untaken.length;
    this.pending.unshift(...untaken);
  }

  /** Wakes the pump so that it sees a change of the workers (a death, a replacement). */
  wake(): void {
    Atomics.add(this.bell, BELL.COUNT, 1);
    Atomics.notify(this.bell, BELL.COUNT);
  }

  dispatch(): void {
    if (this.pending.length > 0 && this.host.loaded()) {
      while (this.pending.length > 0) {
        let best: Lane | undefined;
        for (const lane of this.host.lanes) {
          if (lane.state !== 'ready' || lane.freeSlots.length === 0) continue;
          if (best === undefined || lane.inFlight < best.inFlight) best = lane;
        }
        const request = best !== undefined ? this.pending.shift() : undefined;
        if (best === undefined || request === undefined) break;
        best.submit(request);
        this.inFlight++;
        this.submittedSincePoll = true;
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
    this.host.updateRef();
    if (this.inFlight > 0 && !this.pumping) this.pump();
  }

  checkIdle(): void {
    if (this.outstanding > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private readonly ringDoorbells = (): void => {
    this.doorbellScheduled = false;
    for (const lane of this.doorbellLanes.splice(0)) lane.ringDoorbell();
  };

  /** Resolves the completions of `lane`'s ring; returns how many entries there were. */
  private drain(lane: Lane): number {
    const before = lane.inFlight;
    const entries = lane.drain();
    this.inFlight -= before - lane.inFlight;
    return entries;
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
    for (const lane of this.host.lanes) completed += this.drain(lane);
    if (completed > 0 && this.polling) {
      // the window caught a completion
      this.polling = false;
      this.pollBackoff = 0;
      this.pollStats.caught++;
    }
    if (this.pending.length > 0) this.dispatch();
    if (this.inFlight === 0) {
      this.pumping = false;
      this.host.updateRef();
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

  /** Whether a worker has submissions in its ring that it has not taken yet. */
  private untakenRequests(): boolean {
    for (const lane of this.host.lanes) if (lane.hasUntaken()) return true;
    return false;
  }

  /** Requests the workers have taken from their rings (a sum of counters that only grow; wraps harmlessly). */
  private takenCount(): number {
    let taken = 0;
    for (const lane of this.host.lanes) taken = (taken + lane.taken()) | 0;
    return taken;
  }
}
