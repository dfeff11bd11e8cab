// The blocking path and interrupt-time accounting as mechanisms: a thread that
// sleeps pays its wake-up (try_to_wake_up on the waker, the switch in, and an
// IPI plus idle exit when it is woken onto another core), and interrupt time
// is charged to the interrupted thread unless IRQ time accounting is on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSchedParams, Simulator } from '../../src/sim/simulator.ts';
import type { SchedParams } from '../../src/sim/simulator.ts';
import type { CpuContext, IrqSource, IrqTask, SimThread, Task } from '../../src/sim/thread.ts';

/** An interrupt whose handler charges `ns` and then wakes `sleeper` (if set). */
function irqSource(sim: Simulator, ns: number, sleeper: () => SimThread | null): IrqSource {
  return {
    handleIrq(ctx: CpuContext): IrqTask {
      return (function* (): Generator<number, void, number> {
        yield ctx.cpu(ns);
        const t = sleeper();
        if (t !== null) sim.wake(t, 1);
      })();
    },
  };
}

/** One thread on `core` sleeps at t=0; an interrupt on `irqCore` at 10 µs wakes it; returns when it runs again. */
function wakeAfterIrq(sched: Partial<SchedParams>, core: number, irqCore: number): { resumedNs: number; sim: Simulator } {
  const sim = new Simulator({ cores: 2, seed: 1, sched });
  let sleeper: SimThread | null = null;
  let resumedNs = -1;
  sim.spawn('sleeper', function* (t): Task {
    sleeper = t;
    yield t.block();
    resumedNs = t.nowNs;
  }, { affinity: [core] });
  const src = irqSource(sim, 100, () => sleeper);
  sim.at(10_000, { onEvent: () => sim.raiseInterrupt(irqCore, src) }, 0);
  sim.run();
  return { resumedNs, sim };
}

test('a thread that sleeps pays the wake-up: try_to_wake_up in the interrupt, then the switch in', () => {
  const s = defaultSchedParams(2);
  const local = wakeAfterIrq({}, 0, 0);
  // The handler's 100 ns, try_to_wake_up charged to it, then schedule() and the switch into the sleeper.
  assert.equal(local.resumedNs, 10_000 + 100 + s.wakeupNs + s.contextSwitchNs);
  const free = wakeAfterIrq({ wakeupNs: 0, contextSwitchNs: 0, cacheRefillNs: 0 }, 0, 0);
  assert.equal(free.resumedNs, 10_100, 'with the blocking path free it resumes as the handler ends');
});

test('a wake-up onto another core waits for the IPI and that core\'s idle exit', () => {
  const s = defaultSchedParams(2);
  const remote = wakeAfterIrq({}, 1, 0);
  assert.equal(remote.resumedNs, 10_000 + 100 + s.ipiNs + s.idleExitNs + s.contextSwitchNs);
  assert.equal(remote.sim.remoteWakeups, 1);
});

test('interrupt time moves to the interrupted thread without IRQ time accounting, and not with it', () => {
  const run = (irqTimeAccounting: number): { victimNs: number; otherNs: number } => {
    const sim = new Simulator({ cores: 1, seed: 1, sched: { irqTimeAccounting } });
    const victim = sim.spawn('victim', function* (t): Task {
      for (let i = 0; i < 100; i++) yield t.cpu(10_000);
    });
    const other = sim.spawn('other', function* (t): Task {
      for (let i = 0; i < 100; i++) yield t.cpu(10_000);
    });
    // 200 interrupts of 5 µs each over the first 2 ms, landing in whoever runs.
    const src = irqSource(sim, 5_000, () => null);
    for (let k = 0; k < 200; k++) sim.at(10_000 * k + 3_000, { onEvent: () => sim.raiseInterrupt(0, src) }, 0);
    sim.run();
    return { victimNs: victim.sumExecNs, otherNs: other.sumExecNs };
  };
  const off = run(0);
  const on = run(1);
  const s = defaultSchedParams(1);
  const ownNs = 100 * 10_000;
  const switchesMax = 2 * (s.contextSwitchNs + s.cacheRefillNs) * 200;
  // Off: the 1 ms of interrupt time is charged to the two threads on top of their own work.
  assert.ok(off.victimNs + off.otherNs >= 2 * ownNs + 1_000_000, `off: ${off.victimNs} + ${off.otherNs}`);
  // On: each is charged its own work and its switches, nothing of the interrupts.
  assert.ok(on.victimNs + on.otherNs <= 2 * ownNs + switchesMax, `on: ${on.victimNs} + ${on.otherNs}`);
  assert.ok(on.victimNs + on.otherNs < off.victimNs + off.otherNs - 900_000);
});

test('IRQ time accounting must be 0 or 1', () => {
  assert.throws(() => new Simulator({ cores: 1, seed: 1, sched: { irqTimeAccounting: 2 } }), /irqTimeAccounting/);
});
