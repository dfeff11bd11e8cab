// One worker of the native engine: opens the file itself (its own descriptor,
// O_DIRECT if asked), loads the storage function (verify + JIT in this thread),
// then serves its channel: takes slot numbers from the submission ring, runs
// the chain with positioned reads (chain.ts), publishes the results in the slot
// and the slot number in the completion ring, and rings the engine's doorbell.
// When the ring is empty it polls it for a bounded time (workerSpinUs, backing
// off when spins run out), then sleeps in Atomics.wait; control messages (load,
// stop) come through a MessagePort that it polls with receiveMessageOnPort, so
// the serving loop never has to return to the event loop.

import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { XrpError } from '../base/errors.ts';
import { Channel, CTL, MF, MI, PAGE, PENDING_MAX, REQ_FLAG, type ChannelBuffers } from './channel.ts';
import { ChainRunner, type BlockReader, type ProgramSource } from './chain.ts';
import { XrpStatus, xrpStatusName } from '../xrp/status.ts';

export interface FileIdentity {
  sizeBytes: number;
  /** decimal strings (BigInt does not cross postMessage in every Node version's workerData) */
  mtimeNs: string;
  ino: string;
  dev: string;
}

export interface WorkerInit {
  workerId: number;
  path: string;
  direct: boolean;
  identity: FileIdentity;
  checkFileChange: boolean;
  insnLimit: number;
  debugHooks: boolean;
  /** microseconds the worker polls its ring after its last request before it sleeps */
  spinUs: number;
  /** idle periods without a spin, at most, after spins that ran out (see the serving loop) */
  backoffMax: number;
  buffers: ChannelBuffers;
  bell: SharedArrayBuffer;
  control: MessagePort;
}

/** verify: false when another worker of the engine has verified the same program */
export type ControlMessage = { type: 'load'; source: ProgramSource; generation: number; verify: boolean } | { type: 'stop' };

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'open-error'; message: string }
  | { type: 'loaded'; generation: number }
  | { type: 'load-error'; generation: number; message: string; code: string };

class FdReader implements BlockReader {
  constructor(
    readonly fd: number,
    readonly sizeBytes: number,
  ) {}
  read(buf: Uint8Array, at: number, lengthBytes: number, positionBytes: number): number {
    // a regular file's pread comes back short only at the end of the file (and a
    // second O_DIRECT read there would be misaligned): one call
    return readSync(this.fd, buf, at, lengthBytes, positionBytes);
  }
}

/** How often a worker checks that the path still names its file: a stat of a path costs more than the fstat of every request. */
const IDENTITY_CHECK_MS = 1;
let identityCheckedMs = -Infinity;

function changedSince(fd: number, path: string, identity: FileIdentity, mtimeMs: number): string | undefined {
  // the number (not BigInt) form: no allocation per request; mtimeMs keeps ~0.4 us of precision today
  const st = fstatSync(fd);
  if (st.size !== identity.sizeBytes) return `file size changed from ${identity.sizeBytes} to ${st.size} bytes`;
  if (st.mtimeMs !== mtimeMs) return `file modified (mtime ${identity.mtimeNs} ns -> ${fstatSync(fd, { bigint: true }).mtimeNs} ns)`;
  // the file's identity: the path must still name the open file (a rename over it, or a removal, leaves the fd on the old inode);
  // checked at most every IDENTITY_CHECK_MS, so a rename is noticed by the requests that complete a millisecond after it
  const nowMs = performance.now();
  if (nowMs - identityCheckedMs < IDENTITY_CHECK_MS) return undefined;
  identityCheckedMs = nowMs;
  // (number form, no allocation: inode numbers past 2^53 compare rounded, which only a rename between two such neighbours could fool)
  const named = statSync(path, { throwIfNoEntry: false });
  if (named === undefined) {
    identityCheckedMs = -Infinity; // (a changed file stays changed: every later request says so)
    return `${path} no longer names a file (removed or renamed away); the engine serves inode ${identity.ino}`;
  }
  if (named.ino !== Number(identity.ino) || named.dev !== Number(identity.dev)) {
    identityCheckedMs = -Infinity;
    return `${path} now names another file (device ${named.dev}, inode ${named.ino}; the engine opened device ${identity.dev}, inode ${identity.ino})`;
  }
  return undefined;
}

/** Polls WAKE until it differs from `wake` (true) or the clock passes `untilMs` (false). */
function spinUntilWoken(ctl: Int32Array, wake: number, untilMs: number): boolean {
  for (;;) {
    for (let i = 0; i < 256; i++) if (Atomics.load(ctl, CTL.WAKE) !== wake) return true;
    if (performance.now() >= untilMs) return false;
  }
}

function main(init: WorkerInit): void {
  const port = parentPort;
  if (port === null) throw new Error('src/native/worker.ts must run as a worker thread');
  const reply = (m: WorkerReply): void => port.postMessage(m);
  let fd: number;
  try {
    fd = openSync(init.path, constants.O_RDONLY | (init.direct ? constants.O_DIRECT : 0));
    const st = fstatSync(fd, { bigint: true });
    if (st.ino.toString() !== init.identity.ino || st.dev.toString() !== init.identity.dev) {
      closeSync(fd);
      reply({ type: 'open-error', message: `${init.path} is no longer the file the engine opened (inode changed)` });
      return;
    }
  } catch (e) {
    reply({ type: 'open-error', message: `cannot open ${init.path}: ${(e as Error).message}` });
    return;
  }
  const reader = new FdReader(fd, init.identity.sizeBytes);
  // the per-request check compares the number form of fstat (no BigInt allocation) with this
  // worker's own first reading, provided that reading is still the file the engine opened
  // (number form, exact form, number form again: a change between the readings cannot slip through)
  const before = fstatSync(fd);
  const exact = fstatSync(fd, { bigint: true });
  const after = fstatSync(fd);
  const changedBeforeStart =
    Number(exact.size) !== init.identity.sizeBytes || exact.mtimeNs.toString() !== init.identity.mtimeNs || before.mtimeMs !== after.mtimeMs
      ? `file changed between the engine's open and worker ${init.workerId}'s (size ${exact.size}, mtime ${exact.mtimeNs} ns)`
      : undefined;
  const mtimeMsAtOpen = before.mtimeMs;
  const ch = new Channel(init.buffers);
  const ctl = ch.ctl;
  const bell = new Int32Array(init.bell);
  let runner: ChainRunner | undefined;
  reply({ type: 'ready' });

  const handleControl = (): boolean => {
    for (;;) {
      const got = receiveMessageOnPort(init.control);
      if (got === undefined) return true;
      const m = got.message as ControlMessage;
      if (m.type === 'stop') return false;
      try {
        runner = new ChainRunner(m.source, init.insnLimit, m.verify);
        reply({ type: 'loaded', generation: m.generation });
      } catch (e) {
        const code = e instanceof XrpError ? e.code : 'NATIVE_WORKER';
        reply({ type: 'load-error', generation: m.generation, message: (e as Error).message, code });
      }
    }
  };

  // Non-null assertions below read a slot's fields of the shared-memory channel (indexes inside
  // the slot, or a ring index masked into its array) on every request: checking each would only cost.
  // non-null: slot fields of the shared-memory channel, read on every request
  const serveSlot = (slot: number, active: ChainRunner): void => {
    const mi = slot * MI.COUNT;
    const mf = slot * MF.COUNT;
    const flags = ch.mi[mi + MI.FLAGS]!;
    if (init.debugHooks && (flags & REQ_FLAG.CRASH_THROW) !== 0) throw new Error(`debug hook: worker ${init.workerId} crashes on purpose`);
    if (init.debugHooks && (flags & REQ_FLAG.CRASH_EXIT) !== 0) process.exit(70);
    active.scratchBytes.set(ch.scratchPage(slot));
    const outcome = active.run(reader, { offsetBytes: ch.mf[mf + MF.OFFSET]!, sizeBytes: ch.mi[mi + MI.SIZE]!, resubmitLimit: ch.mi[mi + MI.LIMIT]! });
    let status: number = outcome.status;
    let detail = outcome.detail;
    let pending = outcome.pending;
    if (init.checkFileChange) {
      const change = changedBeforeStart ?? changedSince(fd, init.path, init.identity, mtimeMsAtOpen);
      if (change !== undefined) {
        // the native counterpart of the digest's version check: nothing read can be trusted
        status = XrpStatus.MAPPING_CHANGED;
        detail = outcome.status === XrpStatus.DONE ? change : `${change}; the chain had ended with ${xrpStatusName(outcome.status)}: ${detail}`;
        pending = [{ offsetBytes: ch.mf[mf + MF.OFFSET]!, sizeBytes: ch.mi[mi + MI.SIZE]! }];
      }
    }
    ch.scratchPage(slot).set(active.scratchBytes);
    if ((flags & REQ_FLAG.WANT_DATA) !== 0) ch.dataPage(slot).set(active.memory.u8.subarray(active.data.base, active.data.base + PAGE));
    ch.mi[mi + MI.STATUS] = status;
    ch.mi[mi + MI.R0_LO] = Number(BigInt.asIntN(32, outcome.progRet));
    ch.mi[mi + MI.R0_HI] = Number(BigInt.asIntN(32, outcome.progRet >> 32n));
    ch.mi[mi + MI.READS] = outcome.reads;
    ch.mi[mi + MI.RESUBMISSIONS] = outcome.resubmissions;
    ch.mi[mi + MI.RUNS] = outcome.runs;
    ch.mi[mi + MI.ENDS] = outcome.ends;
    ch.mf[mf + MF.INSNS] = outcome.insnsExecuted;
    ch.mf[mf + MF.STOP_OFFSET] = outcome.stopOffsetBytes;
    const listed = Math.min(pending.length, PENDING_MAX);
    for (let i = 0; i < listed; i++) {
      const p = pending[i];
      if (p === undefined) break;
      ch.pendingOffsets[slot * PENDING_MAX + i] = p.offsetBytes;
      ch.pendingSizes[slot * PENDING_MAX + i] = p.sizeBytes;
    }
    ch.mi[mi + MI.PENDING] = listed;
    ch.mi[mi + MI.PENDING_ALL] = pending.length;
    if (detail === '') ch.mi[mi + MI.DETAIL_BYTES] = 0;
    else ch.writeDetail(slot, detail);
  };

  const spinMs = init.spinUs / 1000;
  let spinBackoff = 0;
  let spinSkip = 0;
  let head = Atomics.load(ctl, CTL.SQ_HEAD);
  let cqTail = Atomics.load(ctl, CTL.CQ_TAIL);
  let controlSeen = 0;
  for (;;) {
    const wake = Atomics.load(ctl, CTL.WAKE);
    const control = Atomics.load(ctl, CTL.CONTROL);
    if (control !== controlSeen) {
      controlSeen = control;
      if (!handleControl()) break;
    }
    // non-null: a ring index masked into its array, on every request
    if (runner !== undefined && head !== Atomics.load(ctl, CTL.SQ_TAIL)) {
      const slot = ctl[ch.sqBase + (head & ch.mask)]!;
      head++;
      // taken: from here on the request is this worker's (if it dies, the request fails)
      Atomics.store(ctl, CTL.SQ_HEAD, head);
      serveSlot(slot, runner);
      ctl[ch.cqBase + (cqTail & ch.mask)] = slot;
      cqTail++;
      Atomics.store(ctl, CTL.CQ_TAIL, cqTail);
      Atomics.add(bell, 0, 1);
      Atomics.notify(bell, 0);
      continue;
    }
    // poll the ring for a bounded time before sleeping: a caller that keeps one request in flight
    // submits the next within microseconds of a completion, and catching it here saves the futex
    // sleep and wake-up (tens of microseconds in this VM) on the way in. The clock is read only
    // every 256 loads (a load costs ~1 ns, performance.now ~30 ns).
    // A spin that runs out means the main thread did not run meanwhile (preempted, or sharing this
    // worker's core, where spinning only delays it): skip the spin for the next 1, 2, 4 .. backoffMax
    // idle periods, then try again; a spin that catches a request resets this.
    if (spinMs > 0) {
      if (spinSkip > 0) spinSkip--;
      else if (spinUntilWoken(ctl, wake, performance.now() + spinMs)) {
        spinBackoff = 0;
        Atomics.add(ctl, CTL.SPIN_CAUGHT, 1);
        continue;
      } else {
        Atomics.add(ctl, CTL.SPIN_EXPIRED, 1);
        spinBackoff = Math.min(Math.max(1, 2 * spinBackoff), init.backoffMax);
        spinSkip = spinBackoff;
      }
    }
    Atomics.wait(ctl, CTL.WAKE, wake);
  }
  closeSync(fd);
  init.control.close();
}

main(workerData as WorkerInit);
