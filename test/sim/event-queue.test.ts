import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue } from '../../src/sim/event-queue.ts';
import { Prng } from '../../src/base/prng.ts';

test('events pop in (time, insertion) order, also after growing', () => {
  const q = new EventQueue();
  const fired: number[] = [];
  const target = { onEvent: (tag: number) => fired.push(tag) };
  const p = new Prng(11);
  const expected: { t: number; tag: number }[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = p.nextBelow(100); // many ties
    q.push(t, target, i);
    expected.push({ t, tag: i });
  }
  expected.sort((a, b) => a.t - b.t || a.tag - b.tag);
  let lastTime = -1;
  while (q.size > 0) {
    const peek = q.peekTimeNs();
    const tgt = q.pop()!;
    assert.equal(q.lastTimeNs, peek);
    assert.ok(q.lastTimeNs >= lastTime);
    lastTime = q.lastTimeNs;
    tgt.onEvent(q.lastTag);
  }
  assert.deepEqual(fired, expected.map((e) => e.tag));
  assert.equal(q.pop(), null);
  assert.equal(q.peekTimeNs(), Infinity);
});
