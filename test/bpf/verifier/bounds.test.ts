// The abstract domain is sound: for random abstract scalars and random
// concrete members of them, every ALU result and every branch refinement
// contains the concrete outcome, in 64- and 32-bit forms.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GenRng } from '../../../src/testing/program-gen.ts';
import {
  aluBounds,
  condHolds,
  evalAlu,
  fromBounds64,
  normalize,
  refineBounds,
  scalarConst,
  scalarRange,
  scalarUnknown,
  zeroExtend,
  type AluKind,
  type Bounds,
  type CondKind,
  type Scalar,
} from '../../../src/bpf/verifier/bounds.ts';
import { tnumContains, tnumRange } from '../../../src/bpf/verifier/tnum.ts';

const contains = (b: Bounds, x: bigint, bits: 32 | 64): boolean => {
  const u = BigInt.asUintN(bits, x);
  const s = BigInt.asIntN(bits, x);
  return b.umin <= u && u <= b.umax && b.smin <= s && s <= b.smax && tnumContains(b.t, u);
};
const member = (s: Scalar, x: bigint): boolean => contains(s.b64, x, 64) && contains(s.b32, x & 0xffff_ffffn, 32);

function randomValue(rng: GenRng): bigint {
  switch (rng.below(4)) {
    case 0:
      return BigInt(rng.between(-5, 70));
    case 1:
      return BigInt(rng.nextU32());
    case 2:
      return BigInt.asUintN(64, (BigInt(rng.nextU32()) << 32n) | BigInt(rng.nextU32()));
    default:
      return BigInt.asUintN(64, BigInt(rng.pick([0, 1, 31, 32, 63, 64, 4095, 4096, -1, -4096, 0x7fffffff, -0x80000000])));
  }
}

/** A random abstract scalar and a few of its concrete members. */
function randomScalar(rng: GenRng): [Scalar, bigint[]] {
  const a = BigInt.asUintN(64, randomValue(rng));
  const b = BigInt.asUintN(64, randomValue(rng));
  const [lo, hi] = a < b ? [a, b] : [b, a];
  switch (rng.below(4)) {
    case 0:
      return [scalarConst(lo), [lo]];
    case 1: {
      const s = scalarRange(lo, hi);
      return [s, [lo, hi, lo + (hi - lo) / 2n]];
    }
    case 2: {
      const mask = BigInt(rng.pick([0xff, 0xfff, 0xff8, 31, 0xffff_ffff]));
      const s = fromBounds64(aluBounds('and', scalarUnknown().b64, scalarConst(mask).b64, 64));
      return [s, [lo & mask, hi & mask, mask]];
    }
    default: {
      const t = tnumRange(lo, hi, 64);
      const s = normalize({ b64: { t, umin: 0n, umax: 0xffff_ffff_ffff_ffffn, smin: -(1n << 63n), smax: (1n << 63n) - 1n }, b32: scalarUnknown().b32 })!;
      return [s, [lo, hi]];
    }
  }
}

const KINDS: AluKind[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'lsh', 'rsh', 'arsh', 'xor'];
const CONDS: CondKind[] = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset'];

function holds(cond: CondKind, a: bigint, b: bigint, bits: 32 | 64): boolean {
  const ua = BigInt.asUintN(bits, a);
  const ub = BigInt.asUintN(bits, b);
  const sa = BigInt.asIntN(bits, a);
  const sb = BigInt.asIntN(bits, b);
  switch (cond) {
    case 'jeq':
      return ua === ub;
    case 'jne':
      return ua !== ub;
    case 'jgt':
      return ua > ub;
    case 'jge':
      return ua >= ub;
    case 'jlt':
      return ua < ub;
    case 'jle':
      return ua <= ub;
    case 'jsgt':
      return sa > sb;
    case 'jsge':
      return sa >= sb;
    case 'jslt':
      return sa < sb;
    case 'jsle':
      return sa <= sb;
    case 'jset':
      return (ua & ub) !== 0n;
  }
}

test('random abstract scalars contain their members', () => {
  const rng = new GenRng(1);
  for (let k = 0; k < 2000; k++) {
    const [s, xs] = randomScalar(rng);
    for (const x of xs) assert.ok(member(s, x), `${x} not in its scalar`);
  }
});

test('ALU results contain the concrete result (64- and 32-bit)', () => {
  const rng = new GenRng(2);
  for (let k = 0; k < 6000; k++) {
    const [a, xs] = randomScalar(rng);
    const [b, ys] = randomScalar(rng);
    const kind = rng.pick(KINDS);
    const r64 = fromBounds64(aluBounds(kind, a.b64, b.b64, 64));
    const r32 = zeroExtend(aluBounds(kind, a.b32, b.b32, 32));
    for (const x of xs) {
      for (const y of ys) {
        const c64 = evalAlu(kind, x, y, 64);
        assert.ok(member(r64, c64), `64-bit ${kind}(${x}, ${y}) = ${c64} escapes`);
        const c32 = evalAlu(kind, x & 0xffff_ffffn, y & 0xffff_ffffn, 32);
        assert.ok(member(r32, c32), `32-bit ${kind}(${x}, ${y}) = ${c32} escapes`);
      }
    }
  }
});

test('branch refinement keeps every pair that takes the branch, and finds dead branches', () => {
  const rng = new GenRng(3);
  let dead = 0;
  for (let k = 0; k < 6000; k++) {
    const [a, xs] = randomScalar(rng);
    const [b, ys] = randomScalar(rng);
    const cond = rng.pick(CONDS);
    const bits = rng.chance(0.5) ? 64 : 32;
    for (const taken of [true, false]) {
      const r = refineBounds(cond, taken, bits === 64 ? a.b64 : a.b32, bits === 64 ? b.b64 : b.b32, bits);
      for (const x of xs) {
        for (const y of ys) {
          if (holds(cond, x, y, bits) !== taken) continue;
          assert.ok(r !== undefined, `${cond}/${bits} ${taken} declared impossible for (${x}, ${y})`);
          assert.ok(contains(r[0], x, bits) && contains(r[1], y, bits), `${cond}/${bits} ${taken} lost (${x}, ${y})`);
        }
      }
      if (r === undefined) dead++;
    }
  }
  assert.ok(dead > 100, `only ${dead} dead branches found`);
});

test('condHolds (the verifier\'s shortcut for branches on two constants) agrees with the branch semantics', () => {
  const rng = new GenRng(4);
  for (let k = 0; k < 4000; k++) {
    const a = randomValue(rng);
    const b = rng.chance(0.2) ? a : randomValue(rng);
    const cond = rng.pick(CONDS);
    const bits = rng.chance(0.5) ? 64 : 32;
    assert.equal(condHolds(cond, a, b, bits), holds(cond, a, b, bits), `${cond}/${bits} (${a}, ${b})`);
  }
});
