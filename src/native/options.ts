// The native engine's options: what a caller may set, their defaults and their
// checks (a NativeXrpError naming the option and its range).

import { availableParallelism } from 'node:os';
import { resubmitLimitProblem, XRP_INSN_LIMIT_DEFAULT, XRP_RESUBMIT_LIMIT_DEFAULT } from '../xrp/limits.ts';
import type { XrpCallParams } from '../xrp/engine.ts';
import { NativeXrpError } from './errors.ts';

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

/** see NativeXrpOptions.workerSpinUs and pollUs */
const WORKER_SPIN_US_DEFAULT = 50;
const POLL_US_DEFAULT = 50;
const POLL_MAX_IN_FLIGHT_PER_WORKER = 4;
const POLL_BACKOFF_MAX_DEFAULT = 16;
/** the largest workerSpinUs / pollUs accepted (1 s) */
const SPIN_US_MAX = 1_000_000;

/** Every option, checked, with its default where the caller left it out. */
export function resolveOptions(options: NativeXrpOptions): Required<NativeXrpOptions> {
  const workers = options.workers ?? Math.min(2, availableParallelism());
  const queueDepth = options.queueDepth ?? 64;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new NativeXrpError('EINVAL', `workers must be 1..64, got ${workers}`);
  if (!Number.isInteger(queueDepth) || queueDepth < 1 || queueDepth > 4096 || (queueDepth & (queueDepth - 1)) !== 0) {
    throw new NativeXrpError('EINVAL', `queueDepth must be a power of two in 1..4096, got ${queueDepth}`);
  }
  const resubmitLimit = options.resubmitLimit ?? XRP_RESUBMIT_LIMIT_DEFAULT;
  checkLimit(resubmitLimit);
  return {
    direct: options.direct ?? false,
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
  };
}

export function checkLimit(limit: number): void {
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
