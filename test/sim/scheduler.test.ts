import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FREE_BLOCKING, Simulator } from '../../src/sim/simulator.ts';
import { SimError } from '../../src/sim/errors.ts';
import type { CpuContext, IrqSource, SimThread, Task } from '../../src/sim/thread.ts';

// CFS arithmetic without the blocking path's costs (test/sim/blocking.test.ts tests those).
const NO_SWITCH_COST = FREE_BLOCKING;

/** Calls fn at an absolute virtual time (a test-only event source). */
function atTime(sim: Simulator, timeNs: number, fn: () => void): void {
  sim.at(timeNs, { onEvent: fn }, 0);
}

function* burn(t: SimThread, totalNs: number, chunkNs: number, trace?: { t: number; core: number }[]): Task {
  for (let done = 0; done < totalNs; done += chunkNs) {
    yield t.cpu(chunkNs);
    trace?.push({ t: t.nowNs, core: t.coreId });
  }
}

test('one thread: CPU charges advance the clock exactly', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  const seen: number[] = [];
  sim.spawn('a', function* (t) {
    yield t.cpu(100);
    seen.push(t.nowNs);
    yield t.cpu(0);
    seen.push(t.nowNs);
    yield t.cpu(2_500);
    seen.push(t.nowNs);
  });
  sim.run();
  assert.deepEqual(seen, [100, 100, 2_600]);
  assert.equal(sim.threads[0]!.sumExecNs, 2_600);
  assert.equal(sim.threads[0]!.done, true);
});

test('two CPU-bound threads on one core get fair, sliced shares (CFS)', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: { ...NO_SWITCH_COST, schedLatencyNs: 6_000_000, minGranularityNs: 750_000 } });
  const ta: { t: number; core: number }[] = [];
  const tb: { t: number; core: number }[] = [];
  sim.spawn('a', (t) => burn(t, 30_000_000, 100_000, ta));
  sim.spawn('b', (t) => burn(t, 30_000_000, 100_000, tb));
  sim.run();
  assert.equal(sim.nowNs, 60_000_000);
  // Both progress together: at 30 ms each has done about half of its work (within one slice).
  const doneBy = (tr: { t: number }[], at: number): number => tr.filter((x) => x.t <= at).length * 100_000;
  assert.ok(Math.abs(doneBy(ta, 30_000_000) - 15_000_000) <= 3_000_000, `a did ${doneBy(ta, 30_000_000)}`);
  assert.ok(Math.abs(doneBy(tb, 30_000_000) - 15_000_000) <= 3_000_000);
  // Slices are sched_latency / 2 = 3 ms: a runs uninterrupted 3 ms at a time.
  let longestGap = 0;
  for (let i = 1; i < ta.length; i++) longestGap = Math.max(longestGap, ta[i]!.t - ta[i - 1]!.t);
  assert.equal(longestGap, 3_000_000 + 100_000);
  assert.ok(sim.cores[0]!.contextSwitches >= 18);
});

test('more threads than cores queue for CPU; fewer run in parallel', () => {
  for (const [threads, expectedNs] of [[2, 10_000_000], [4, 20_000_000]] as const) {
    const sim = new Simulator({ cores: 2, seed: 1, sched: NO_SWITCH_COST });
    for (let i = 0; i < threads; i++) sim.spawn(`t${i}`, (t) => burn(t, 10_000_000, 1_000_000));
    sim.run();
    assert.equal(sim.nowNs, expectedNs, `${threads} threads`);
  }
});

test('context switches between threads cost contextSwitchNs each (and the first switch in from the idle loop)', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: { ...FREE_BLOCKING, contextSwitchNs: 5_000 } });
  sim.spawn('a', (t) => burn(t, 20_000_000, 1_000_000));
  sim.spawn('b', (t) => burn(t, 20_000_000, 1_000_000));
  sim.run();
  const switches = sim.cores[0]!.contextSwitches;
  assert.ok(switches > 0);
  assert.equal(sim.nowNs, 40_000_000 + (switches + 1) * 5_000);
});

test('affinity: pinned threads stay on their core even when another core is idle', () => {
  const sim = new Simulator({ cores: 2, seed: 1, sched: NO_SWITCH_COST });
  const trace: { t: number; core: number }[] = [];
  sim.spawn('a', (t) => burn(t, 5_000_000, 500_000, trace), { affinity: [1] });
  sim.spawn('b', (t) => burn(t, 5_000_000, 500_000, trace), { affinity: [1] });
  sim.run();
  assert.ok(trace.every((x) => x.core === 1));
  assert.equal(sim.nowNs, 10_000_000); // serialized on core 1
  assert.throws(() => sim.spawn('c', (t) => burn(t, 1, 1), { affinity: [2] }), SimError);
  assert.throws(() => sim.spawn('d', (t) => burn(t, 1, 1), { affinity: [] }), SimError);
});

test('block/wake: the wake value is returned; a wake before the block is not lost', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  const got: [number, number][] = [];
  const sleeper = sim.spawn('sleeper', function* (t) {
    const v = yield t.block();
    got.push([t.nowNs, v]);
    // Woken early (while running): the next block returns at once.
    sim.wake(t, 7);
    const w = yield t.block();
    got.push([t.nowNs, w]);
  });
  atTime(sim, 1_000, () => sim.wake(sleeper, 42));
  sim.run();
  assert.deepEqual(got, [[1_000, 42], [1_000, 7]]);
  assert.throws(() => sim.wake(sleeper, 1), SimError); // it has ended
});

test('a woken thread preempts a CPU hog on its core (wake-up preemption)', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  sim.spawn('hog', (t) => burn(t, 50_000_000, 10_000_000));
  let wokeAt = -1;
  const sleeper = sim.spawn('sleeper', function* (t) {
    yield t.block();
    wokeAt = t.nowNs;
  });
  atTime(sim, 20_000_000, () => sim.wake(sleeper));
  sim.run();
  // The sleeper's vruntime is far behind the hog's, so it runs at once, not after the hog's slice.
  assert.equal(wokeAt, 20_000_000);
});

test('interrupts run on the core they land on and are charged to the running thread', () => {
  const sim = new Simulator({ cores: 2, seed: 1, sched: NO_SWITCH_COST });
  const handled: [number, number][] = [];
  const source: IrqSource = {
    *handleIrq(ctx: CpuContext): Task {
      yield ctx.cpu(300);
      handled.push([ctx.coreId, ctx.nowNs]);
    },
  };
  let endA = -1;
  const a = sim.spawn('a', function* (t) {
    yield t.cpu(1_000);
    endA = t.nowNs;
  }, { affinity: [0] });
  atTime(sim, 500, () => sim.raiseInterrupt(0, source));
  atTime(sim, 500, () => sim.raiseInterrupt(1, source)); // idle core: handled at once
  sim.run();
  assert.equal(endA, 1_300); // the burst was paused for the handler
  assert.equal(a.sumExecNs, 1_300); // irq time charged to the current thread
  assert.deepEqual(handled.sort((x, y) => x[0] - y[0]), [[0, 800], [1, 800]]);
  assert.equal(sim.cores[0]!.irqCount, 1);
  assert.equal(sim.cores[0]!.irqNs, 300);
});

test('interrupts raised while a handler runs are handled back to back', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  const ends: number[] = [];
  const source: IrqSource = {
    *handleIrq(ctx: CpuContext): Task {
      yield ctx.cpu(100);
      ends.push(ctx.nowNs);
    },
  };
  atTime(sim, 0, () => sim.raiseInterrupt(0, source));
  atTime(sim, 50, () => sim.raiseInterrupt(0, source));
  atTime(sim, 60, () => sim.raiseInterrupt(0, source));
  sim.run();
  assert.deepEqual(ends, [100, 200, 300]);
});

test('a spinning thread burns its core until woken', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  let value = -1;
  const spinner = sim.spawn('spinner', function* (t) {
    value = yield t.spin();
  });
  atTime(sim, 4_000_000, () => sim.wake(spinner, 9));
  sim.run();
  assert.equal(value, 9);
  assert.equal(spinner.sumExecNs, 4_000_000);
});

test('two spinners on one core alternate in slices; a wake reaches a preempted spinner when it runs again', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: { ...NO_SWITCH_COST, schedLatencyNs: 6_000_000, minGranularityNs: 750_000 } });
  const woke: Record<string, number> = {};
  const mk = (name: string) =>
    sim.spawn(name, function* (t) {
      yield t.spin();
      woke[name] = t.nowNs;
    });
  const a = mk('a');
  const b = mk('b');
  // At 1 ms 'a' runs (slice 3 ms); waking 'b' (queued) takes effect only when b gets the core at 3 ms.
  atTime(sim, 1_000_000, () => sim.wake(b));
  atTime(sim, 7_000_000, () => sim.wake(a));
  sim.run();
  assert.equal(woke.b, 3_000_000);
  assert.equal(woke.a, 7_000_000);
});

test('misuse is a typed error', () => {
  assert.throws(() => new Simulator({ cores: 0, seed: 1, sched: NO_SWITCH_COST }), SimError);
  assert.throws(() => new Simulator({ cores: 2, seed: 1, sched: { contextSwitchNs: -1 } }), SimError);
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  sim.spawn('bad', function* (t) {
    yield t.cpu(-5);
  });
  assert.throws(() => sim.run(), SimError);
  const sim2 = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  sim2.spawn('bad-op', function* () {
    yield 99;
  });
  assert.throws(() => sim2.run(), /yielded 99/);
  const sim3 = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  const blocker: IrqSource = {
    *handleIrq(): Task {
      yield 2; // OP_BLOCK
    },
  };
  atTime(sim3, 0, () => sim3.raiseInterrupt(0, blocker));
  assert.throws(() => sim3.run(), /handlers may only charge CPU/);
  assert.throws(() => sim3.raiseInterrupt(5, blocker), SimError);
  assert.throws(() => sim3.at(-1, { onEvent() {} }, 0), SimError);
});

test('deferred charges are consumed in one burst at the next yield, block, spin or end', () => {
  const sim = new Simulator({ cores: 2, seed: 1, sched: NO_SWITCH_COST });
  const seen: [string, number][] = [];
  sim.spawn('charger', function* (t) {
    t.charge(100);
    t.charge(200);
    seen.push(['before-yield', t.nowNs]); // the clock has not moved yet
    yield t.cpu(50);
    seen.push(['after-cpu', t.nowNs]);
    t.charge(1_000);
    const v = yield t.block(); // the wake at 600 arrives during the deferred burst
    seen.push([`woken ${v}`, t.nowNs]);
    t.charge(400);
    const w = yield t.spin(); // the wake at 1_500 arrives during the burst before the spin
    seen.push([`spun ${w}`, t.nowNs]);
    t.charge(700); // consumed at the end
  }, { affinity: [0] });
  const charger = sim.threads[0]!;
  atTime(sim, 600, () => sim.wake(charger, 5));
  atTime(sim, 1_500, () => sim.wake(charger, 6));
  sim.run();
  assert.deepEqual(seen, [['before-yield', 0], ['after-cpu', 350], ['woken 5', 1_350], ['spun 6', 1_750]]);
  assert.equal(charger.sumExecNs, 2_450);
  assert.equal(sim.nowNs, 2_450);
});

test('an interrupt handler can defer its charge too', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  const source: IrqSource = {
    *handleIrq(ctx: CpuContext): Task {
      ctx.charge(300);
    },
  };
  let end = -1;
  sim.spawn('a', function* (t) {
    yield t.cpu(1_000);
    end = t.nowNs;
  });
  atTime(sim, 100, () => sim.raiseInterrupt(0, source));
  sim.run();
  assert.equal(end, 1_300);
  assert.equal(sim.cores[0]!.irqNs, 300);
  assert.throws(() => sim.threads[0]!.charge(-1), SimError);
});

test('call() runs sub-tasks like yield*, with results, nesting, CPU charges and exceptions', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  const log: string[] = [];
  function* leaf(t: SimThread, x: number): Task<number> {
    yield t.cpu(10);
    const v = yield t.block();
    return x + v;
  }
  function* middle(t: SimThread, x: number): Task<number> {
    const a = (yield t.call(leaf(t, x))) as number;
    const b = (yield t.call(leaf(t, 100))) as number;
    return a * 1000 + b;
  }
  function* failing(t: SimThread): Task<number> {
    yield t.cpu(5);
    throw new SimError('inner failure');
  }
  function* catcher(t: SimThread): Task<number> {
    try {
      yield t.call(failing(t));
      return -1;
    } catch (error) {
      log.push(`caught ${(error as Error).message} at ${t.nowNs}`);
      return 7;
    } finally {
      log.push('finally ran');
    }
  }
  const th = sim.spawn('caller', function* (t) {
    const r = (yield t.call(middle(t, 2))) as number;
    log.push(`middle -> ${r} at ${t.nowNs}`);
    const c = (yield t.call(catcher(t))) as number;
    log.push(`catcher -> ${c}`);
    yield t.call(failing(t)); // uncaught: leaves the thread and the run
  });
  atTime(sim, 50, () => sim.wake(th, 3));
  atTime(sim, 80, () => sim.wake(th, 4));
  assert.throws(() => sim.run(), /inner failure/);
  assert.deepEqual(log, ['middle -> 5104 at 80', 'caught inner failure at 85', 'finally ran', 'catcher -> 7']);
});

test('a thread that loops without letting time pass is reported, not a hang', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  sim.spawn('stuck', function* (t) {
    for (;;) yield t.cpu(0);
  });
  assert.throws(() => sim.run(), /without virtual time passing/);
});

test('run({ untilNs }) stops the clock at the limit and can resume', () => {
  const sim = new Simulator({ cores: 1, seed: 1, sched: NO_SWITCH_COST });
  const t = sim.spawn('long', (th) => burn(th, 10_000, 1_000));
  sim.run({ untilNs: 4_500 });
  assert.equal(sim.nowNs, 4_500);
  assert.equal(t.done, false);
  sim.run();
  assert.equal(sim.nowNs, 10_000);
  assert.equal(t.done, true);
});

test('wake-up placement: back on the previous core when idle, else on an idle core', () => {
  const sim = new Simulator({ cores: 3, seed: 1, sched: NO_SWITCH_COST });
  const cores: number[] = [];
  const sleeper = sim.spawn('sleeper', function* (t) {
    for (let i = 0; i < 3; i++) {
      yield t.cpu(1_000);
      cores.push(t.coreId);
      yield t.block();
    }
  }, { core: 1 });
  // A hog takes core 1 while the sleeper sleeps the second time.
  atTime(sim, 1_500, () => {
    sim.spawn('hog', (t) => burn(t, 5_000_000, 1_000_000), { affinity: [1] });
  });
  atTime(sim, 1_200, () => sim.wake(sleeper)); // core 1 idle: back to core 1
  atTime(sim, 3_000, () => sim.wake(sleeper)); // core 1 busy with the hog: an idle core
  sim.run();
  assert.equal(cores[0], 1);
  assert.equal(cores[1], 1);
  assert.notEqual(cores[2], 1);
});

test('an idle core pulls a waiting thread from a busy one', () => {
  const sim = new Simulator({ cores: 2, seed: 1, sched: NO_SWITCH_COST });
  const seen = new Set<number>();
  // Three threads start on core 0; core 1 must take work instead of idling.
  for (let i = 0; i < 3; i++) {
    sim.spawn(`t${i}`, function* (t) {
      for (let k = 0; k < 30; k++) {
        yield t.cpu(1_000_000);
        seen.add(t.coreId);
      }
    }, { core: 0 });
  }
  sim.run();
  assert.ok(seen.has(1), 'core 1 ran something');
  // 90 ms of work on 2 cores: close to 45 ms, far from the 90 ms of one core.
  assert.ok(sim.nowNs < 50_000_000, `finished at ${sim.nowNs}`);
  assert.ok(sim.cores[1]!.migrationsIn > 0);
});
