// The wake-up avoidance of the native engine: the main thread's completion
// polling (setImmediate, bounded) and the workers' spin before sleeping. With
// polling on and 64 requests in flight, timers still fire on time (the event
// loop is never blocked); answers are the same with polling on and off; the
// options are checked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { XrpStatus } from '../../src/xrp/status.ts';
import { NativeXrpEngine, NativeXrpError } from '../../src/native/engine.ts';
import { SCRIPTED, scriptedFile, scriptedLog, TempDir, type BlockSpec } from './helpers.ts';

const dir = new TempDir();
after(() => dir.remove());

const HOPS = 6;
/** a 6-hop chain: block i continues at block i + 1, the last one is done */
const chain: BlockSpec[] = Array.from({ length: HOPS }, (_, i) => (i === HOPS - 1 ? { done: true, tag: 100 + i } : { next: [[512 * (i + 1), 0]], tag: 100 + i }));
const path = dir.file('chain6.bin', scriptedFile(chain));
const expectedLog = chain.map((b) => b.tag!);

test('a timer fires on time while 64 requests are in flight with the main thread polling', async () => {
  // a window of 1 s after every completion and polling at any depth: the main thread polls all the time
  const engine = await NativeXrpEngine.open(path, { workers: 1, pollUs: 1_000_000, pollMaxInFlight: 64, workerSpinUs: 50 });
  try {
    await engine.load(SCRIPTED);
    const busyMs = 600;
    const periodMs = 10;
    const lateMs: number[] = [];
    let timersDone = false;
    const timers = new Promise<void>((resolve) => {
      const start = performance.now();
      const arm = (due: number): void => {
        setTimeout(() => {
          lateMs.push(performance.now() - due);
          if (performance.now() - start < busyMs - 2 * periodMs) arm(performance.now() + periodMs);
          else {
            timersDone = true;
            resolve();
          }
        }, periodMs);
      };
      arm(performance.now() + periodMs);
    });
    let served = 0;
    let maxOutstanding = 0;
    // the callers also stop by the clock, so that a blocked event loop fails this test instead of hanging it
    const hardStopMs = performance.now() + busyMs + 3000;
    const callers = Array.from({ length: 64 }, async () => {
      const scratch = new Uint8Array(4096);
      while (!timersDone && performance.now() < hardStopMs) {
        scratch.fill(0);
        const r = await engine.readXrp(0, scratch);
        assert.equal(r.status, XrpStatus.DONE, r.detail);
        assert.equal(r.reads, HOPS);
        assert.deepEqual(scriptedLog(scratch), expectedLog);
        served++;
        maxOutstanding = Math.max(maxOutstanding, engine.outstanding);
      }
    });
    await Promise.all([timers, ...callers]);
    const stats = engine.pollingStats;
    // windows that run out are counted too: a worker sharing the main thread's core cannot finish while it polls
    assert.ok(stats.pollCaught + stats.pollExpired > 0, `the main thread polled (${JSON.stringify(stats)})`);
    assert.ok(maxOutstanding >= 60, `requests were in flight together (at most ${maxOutstanding})`);
    assert.ok(served >= 64, `requests were served (${served})`);
    // a blocked event loop would make a timer late by the whole busy period (600 ms); a turning
    // one fires each within a scheduler delay, even on a loaded 2-core machine
    assert.ok(lateMs.length >= 10, `timers fired while requests were in flight (${lateMs.length})`);
    const worst = Math.max(...lateMs);
    assert.ok(worst < 150, `every timer fired within 150 ms of its time (worst ${worst.toFixed(1)} ms of ${lateMs.length})`);
  } finally {
    await engine.close();
  }
});

test('one request in flight: the same answers with polling and spinning on and off; the statistics count what happened', async () => {
  for (const [pollUs, workerSpinUs] of [
    [0, 0],
    [1_000_000, 1_000_000],
    [50, 50],
  ] as const) {
    const engine = await NativeXrpEngine.open(path, { workers: 1, pollUs, workerSpinUs });
    try {
      await engine.load(SCRIPTED);
      const scratch = new Uint8Array(4096);
      for (let i = 0; i < 200; i++) {
        scratch.fill(0);
        const r = await engine.readXrp(0, scratch);
        assert.equal(r.status, XrpStatus.DONE, r.detail);
        assert.equal(r.reads, HOPS);
        assert.deepEqual(scriptedLog(scratch), expectedLog);
      }
      const stats = engine.pollingStats;
      if (pollUs === 0) assert.equal(stats.pollCaught + stats.pollExpired, 0, 'no polling window when pollUs is 0');
      if (workerSpinUs === 0) assert.equal(stats.spinCaught + stats.spinExpired, 0, 'no spin when workerSpinUs is 0');
      if (pollUs === 1_000_000) {
        // one window per request at most (opened by its submission; skipped after windows that ran
        // out, which happens when the scheduler puts the worker on the main thread's core)
        assert.ok(stats.pollCaught + stats.pollExpired > 0 && stats.pollCaught + stats.pollExpired <= 200, JSON.stringify(stats));
        assert.ok(stats.spinCaught + stats.spinExpired > 0, JSON.stringify(stats));
      }
    } finally {
      await engine.close();
    }
  }
});

test('the polling options are checked', async () => {
  for (const options of [{ pollUs: -1 }, { pollUs: Number.NaN }, { workerSpinUs: 2_000_000 }, { workerSpinUs: Infinity }, { pollMaxInFlight: 1.5 }, { pollMaxInFlight: -1 }, { pollBackoffMax: 0.5 }]) {
    await assert.rejects(NativeXrpEngine.open(path, options), (e: unknown) => e instanceof NativeXrpError && e.code === 'EINVAL' && /pollUs|workerSpinUs|pollMaxInFlight|pollBackoffMax/.test(e.message), JSON.stringify(options));
  }
});

test('polling windows that run out are skipped with a growing backoff (pollBackoffMax), and never with 0', async () => {
  // 64 hops: a request takes far longer than a 1 µs window, so the windows run out
  const long: BlockSpec[] = Array.from({ length: 64 }, (_, i) => (i === 63 ? { done: true } : { next: [[512 * (i + 1), 0]] }));
  const longPath = dir.file('chain64.bin', scriptedFile(long));
  const windows: Record<number, { pollCaught: number; pollExpired: number }> = {};
  for (const pollBackoffMax of [0, 4]) {
    const engine = await NativeXrpEngine.open(longPath, { workers: 1, pollUs: 1, workerSpinUs: 0, pollBackoffMax });
    try {
      await engine.load(SCRIPTED);
      const scratch = new Uint8Array(4096);
      for (let i = 0; i < 200; i++) {
        const r = await engine.readXrp(0, scratch);
        assert.equal(r.status, XrpStatus.DONE, r.detail);
        assert.equal(r.reads, 64);
      }
      windows[pollBackoffMax] = engine.pollingStats;
    } finally {
      await engine.close();
    }
  }
  // one window per request (opened by its submission) without backoff
  assert.equal(windows[0]!.pollCaught + windows[0]!.pollExpired, 200, JSON.stringify(windows));
  // with it, windows that ran out were followed by skipped ones
  assert.ok(windows[4]!.pollExpired > 0, JSON.stringify(windows));
  assert.ok(windows[4]!.pollCaught + windows[4]!.pollExpired < 120, JSON.stringify(windows));
});
