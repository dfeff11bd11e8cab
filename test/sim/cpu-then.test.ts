import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FREE_BLOCKING, Simulator } from '../../src/sim/simulator.ts';
import type { EventTarget } from '../../src/sim/event-queue.ts';
import type { BurstContinuation, SimThread, Task } from '../../src/sim/thread.ts';

/** Wakes a thread with a value when its event fires (a device completion stand-in). */
class Waker implements EventTarget {
  constructor(
    private readonly sim: Simulator,
    private readonly t: SimThread,
  ) {}

  onEvent(tag: number): void {
    this.sim.wake(this.t, tag);
  }
}

/**
 * Workers on 2 cores with a CPU hog: each iteration charges, then does an
 * "action" (schedule its own wake-up later, wake itself at once, or nothing),
 * sleeps unless the action said not to, then charges a return cost. `fused`
 * writes that as one `yield t.cpuThen(...)`, otherwise as separate yields.
 * Returns the timeline of every iteration.
 */
function run(fused: boolean): { log: string[]; endNs: number; events: number } {
  const sim = new Simulator({ cores: 2, seed: 11, sched: FREE_BLOCKING });
  const rng = sim.rng;
  const log: string[] = [];
  function* worker(t: SimThread): Task {
    const waker = new Waker(sim, t);
    let sleeps = true;
    const action: BurstContinuation = {
      onBurstEnd(th: SimThread): boolean {
        const kind = rng.nextBelow(4);
        sleeps = kind !== 0;
        if (kind === 1) sim.wake(th, 7); // already woken when it goes to sleep
        else if (kind >= 2) sim.at(sim.nowNs + 200 + rng.nextBelow(5000), waker, 100 + kind);
        if (kind === 3) th.charge(50 + rng.nextBelow(100)); // deferred CPU before the sleep
        return sleeps;
      },
    };
    for (let i = 0; i < 300; i++) {
      t.charge(rng.nextBelow(400));
      const submitNs = 50 + rng.nextBelow(3000);
      const exitNs = rng.nextBelow(3) === 0 ? 0 : 100 + rng.nextBelow(300);
      let v: number;
      if (fused) {
        v = yield t.cpuThen(submitNs, action, exitNs);
        if (!sleeps) yield t.cpu(exitNs); // exitNs is charged by cpuThen only after a sleep
      } else {
        yield t.cpu(submitNs);
        action.onBurstEnd(t);
        v = sleeps ? yield t.block() : 0;
        yield t.cpu(exitNs);
      }
      log.push(`${t.name} ${i} at=${t.nowNs} core=${t.coreId} v=${v}`);
    }
  }
  function* hog(t: SimThread): Task {
    for (let i = 0; i < 40; i++) yield t.cpu(20_000 + rng.nextBelow(50_000));
  }
  for (let i = 0; i < 4; i++) sim.spawn(`w${i}`, worker);
  sim.spawn('hog', hog);
  sim.run();
  return { log, endNs: sim.nowNs, events: sim.eventCount };
}

test('cpuThen gives the same virtual times as cpu + work + block + cpu (contention, pre-woken and non-sleeping cases)', () => {
  const a = run(false);
  const b = run(true);
  assert.equal(b.log.length, 4 * 300);
  assert.deepEqual(b.log, a.log);
  assert.equal(b.endNs, a.endNs);
  assert.equal(b.events, a.events);
});

test('an exception thrown by the continuation is thrown at the yield', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: FREE_BLOCKING });
  let caught: unknown = null;
  let after = -1;
  sim.spawn('t', function* (t: SimThread): Task {
    try {
      yield t.cpuThen(100, { onBurstEnd: () => { throw new Error('boom'); } }, 50);
    } catch (error) {
      caught = error;
      after = t.nowNs;
    }
  });
  sim.run();
  assert.ok(caught instanceof Error && caught.message === 'boom');
  assert.equal(after, 100);
});
