import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng, PrngError } from '../../src/base/prng.ts';


test('xoshiro128** matches the reference C implementation', () => {
  // Reference outputs from the authors' xoshiro128starstar.c (compiled with clang).
  const p = Prng.fromState(1, 2, 3, 4);
  const got = Array.from({ length: 8 }, () => p.nextU32());
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  const q = Prng.fromState(0x9e3779b9, 0x7f4a7c15, 0xf39cc060, 0x5ced1234);
  for (let i = 0; i < 1000; i++) q.nextU32();
  assert.equal(q.nextU32(), 2106696109);
});

test('same seed gives the same stream, different seeds differ', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const sa = Array.from({ length: 100 }, () => a.nextU32());
  const sb = Array.from({ length: 100 }, () => b.nextU32());
  const sc = Array.from({ length: 100 }, () => c.nextU32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  // Seeds above 2^32 use their high half too.
  assert.notEqual(new Prng(2 ** 32 + 5).nextU32(), new Prng(5).nextU32());
});

test('nextBelow is in range and roughly uniform, also for bounds above 2^32', () => {
  const p = new Prng(7);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = p.nextBelow(10);
    assert.ok(x >= 0 && x < 10 && Number.isInteger(x));
    counts[x]!++;
  }
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `bucket count ${c}`);
  const big = 3 * 2 ** 40 + 17;
  let maxSeen = 0;
  for (let i = 0; i < 10_000; i++) {
    const x = p.nextBelow(big);
    assert.ok(x >= 0 && x < big && Number.isSafeInteger(x));
    if (x > maxSeen) maxSeen = x;
  }
  assert.ok(maxSeen > 2 ** 41, 'large bounds use more than 32 bits');
  const f = p.nextFloat();
  assert.ok(f >= 0 && f < 1);
});

test('bad seeds and bounds are typed errors', () => {
  assert.throws(() => new Prng(-1), PrngError);
  assert.throws(() => new Prng(1.5), PrngError);
  assert.throws(() => new Prng(7).nextBelow(0), PrngError);
  assert.throws(() => new Prng(7).nextBelow(2 ** 60), PrngError);
});
