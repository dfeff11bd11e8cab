// Tristate numbers are sound: for random tnums and random concrete members of
// them, every operation's result contains the concrete result. tnum_mul walks
// whichever operand has fewer significant bits, so both orders are checked,
// against operands of very different widths.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GenRng } from '../../../src/testing/program-gen.ts';
import { tnumAdd, tnumContains, tnumIntersect, tnumMul, tnumRange, tnumSub, widthMask, type Tnum, type Width } from '../../../src/bpf/verifier/tnum.ts';

function randomWord(rng: GenRng, bits: Width): bigint {
  const w = (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32());
  // narrow values as often as wide ones: small constants, bytes, 16-bit, full width
  const keep = [4n, 8n, 16n, 32n, 64n][rng.below(5)]!;
  return w & ((1n << keep) - 1n) & widthMask(bits);
}

/** A random tnum of `bits` and a few of its members. */
function randomTnum(rng: GenRng, bits: Width): [Tnum, bigint[]] {
  const mask = rng.below(4) === 0 ? 0n : randomWord(rng, bits);
  const value = randomWord(rng, bits) & ~mask;
  const t = { value, mask };
  const members = [value, value | mask];
  for (let k = 0; k < 4; k++) members.push(value | (randomWord(rng, bits) & mask));
  return [t, members];
}

const wrap = (x: bigint, bits: Width): bigint => BigInt.asUintN(bits, x);

test('tnum add, sub and mul contain every concrete result, in both operand orders', () => {
  const rng = new GenRng(0x7a11);
  for (let round = 0; round < 3000; round++) {
    const bits: Width = rng.below(2) === 0 ? 64 : 32;
    const [a, as] = randomTnum(rng, bits);
    const [b, bs] = randomTnum(rng, bits);
    const ab = tnumMul(a, b, bits);
    const ba = tnumMul(b, a, bits);
    const add = tnumAdd(a, b, bits);
    const sub = tnumSub(a, b, bits);
    for (const x of as) {
      for (const y of bs) {
        const at = `round ${round}, ${bits}-bit, a=(${a.value}; ${a.mask}) b=(${b.value}; ${b.mask}) x=${x} y=${y}`;
        assert.ok(tnumContains(ab, wrap(x * y, bits)), `mul ${at}`);
        assert.ok(tnumContains(ba, wrap(y * x, bits)), `mul (swapped) ${at}`);
        assert.ok(tnumContains(add, wrap(x + y, bits)), `add ${at}`);
        assert.ok(tnumContains(sub, wrap(x - y, bits)), `sub ${at}`);
      }
    }
  }
});

test('tnum mul of constants is the constant product; by a small constant it keeps the low known bits', () => {
  assert.deepEqual(tnumMul({ value: 6n, mask: 0n }, { value: 7n, mask: 0n }, 64), { value: 42n, mask: 0n });
  // x * 8 for any x: the three low bits are known zero
  const times8 = tnumMul({ value: 0n, mask: widthMask(64) }, { value: 8n, mask: 0n }, 64);
  assert.equal(times8.value & 7n, 0n);
  assert.equal(times8.mask & 7n, 0n);
});

test('tnumRange holds every value of its range; tnumIntersect keeps exactly the common members', () => {
  const rng = new GenRng(0x9a9e);
  for (let round = 0; round < 3000; round++) {
    const bits: Width = rng.below(2) === 0 ? 64 : 32;
    const p = randomWord(rng, bits);
    const q = randomWord(rng, bits);
    const [lo, hi] = p < q ? [p, q] : [q, p];
    const r = tnumRange(lo, hi, bits);
    for (const x of [lo, hi, lo + (hi - lo) / 2n, lo + (hi - lo) / 3n]) assert.ok(tnumContains(r, x), `range ${lo}..${hi} (${bits}-bit) lacks ${x}`);
    const [a, as] = randomTnum(rng, bits);
    const [b] = randomTnum(rng, bits);
    const both = tnumIntersect(a, b);
    for (const x of as) {
      if (tnumContains(b, x)) {
        assert.ok(both !== undefined && tnumContains(both, x), `intersect lost ${x}`);
      } else if (both !== undefined) {
        assert.ok(!tnumContains(both, x), `intersect kept ${x}, not in b`);
      }
    }
    assert.deepEqual(tnumIntersect(a, { ...a }), a);
  }
});
