// The random program generator (gen.ts): deterministic per seed, and its
// programs are valid and terminate under the interpreter, in both modes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExecEnv } from '../../src/bpf/engine.ts';
import { generateProgram, GenRng } from '../../src/testing/program-gen.ts';
import { createInterpreter } from '../../src/bpf/interp/interp.ts';
import { InsnClass, Mode, encode } from '../../src/bpf/isa.ts';
import { AddressSpace } from '../../src/bpf/memory.ts';

test('the PRNG is a pure function of its seed', () => {
  const a = new GenRng(42);
  const b = new GenRng(42);
  const c = new GenRng(43);
  const xs = Array.from({ length: 8 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 8 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 8 }, () => c.nextU32()));
  for (let i = 0; i < 1000; i++) {
    const v = a.below(7);
    assert.ok(Number.isInteger(v) && v >= 0 && v < 7);
  }
});

test('the same seed gives the same program; different seeds differ', () => {
  const p = generateProgram({ seed: 7 });
  assert.deepEqual(encode(generateProgram({ seed: 7 }).insns), encode(p.insns));
  assert.deepEqual(generateProgram({ seed: 7 }).input, p.input);
  assert.notDeepEqual(encode(generateProgram({ seed: 8 }).insns), encode(p.insns));
});

test('2000 generated programs run to exit without a fault and publish their state', () => {
  let withLoops = 0;
  let withAtomics = 0;
  for (let seed = 1; seed <= 1000; seed++) {
    for (const kernel of [false, true]) {
      const g = generateProgram({ seed, kernel });
      const memory = new AddressSpace(1 << 16);
      const env = createExecEnv(memory, new Map(), 200_000);
      const buffer = memory.mapBytes('buffer', g.input);
      try {
        const result = createInterpreter({ name: `gen-${seed}`, insns: g.insns }).run(env, [BigInt(buffer.base), BigInt(g.bufferBytes)]);
        assert.ok(result.insnsExecuted >= g.insns.length / 4);
        // the epilogue stored r0 first in the result area
        const stored = memory.view.getBigUint64(buffer.base + g.dataBytes, true);
        assert.equal(stored, result.r0);
      } catch (error) {
        assert.fail(`seed ${seed} (kernel: ${kernel}): ${(error as Error).message}`);
      }
      if (g.insns.some((i, pc) => pc > 0 && i.off < 0 && (i.code & 0x07) === InsnClass.JMP)) withLoops++;
      const atomics = g.insns.filter((i) => i.code === (InsnClass.STX | Mode.ATOMIC | 0x18) || i.code === (InsnClass.STX | Mode.ATOMIC));
      if (atomics.length > 0) withAtomics++;
      if (kernel) {
        // the kernel forbids atomics on packet memory: r1 is the buffer
        assert.ok(atomics.every((i) => i.dst === 10), `seed ${seed}: atomic on the buffer in kernel mode`);
      }
    }
  }
  // the generator exercises what it promises
  assert.ok(withLoops > 200, `only ${withLoops} programs with loops`);
  assert.ok(withAtomics > 500, `only ${withAtomics} programs with atomics`);
});

test('with calls: local functions are called and every program still runs to exit', () => {
  let programsWithCalls = 0;
  for (let seed = 1; seed <= 500; seed++) {
    const g = generateProgram({ seed, calls: true });
    const localCalls = g.insns.filter((i) => i.code === (InsnClass.JMP | 0x80) && i.src === 1);
    if (localCalls.length > 0) programsWithCalls++;
    const memory = new AddressSpace(1 << 16);
    const env = createExecEnv(memory, new Map(), 1_000_000);
    const buffer = memory.mapBytes('buffer', g.input);
    try {
      createInterpreter({ name: `gen-${seed}`, insns: g.insns }).run(env, [BigInt(buffer.base), BigInt(g.bufferBytes)]);
    } catch (error) {
      assert.fail(`seed ${seed} (calls): ${(error as Error).message}`);
    }
  }
  assert.ok(programsWithCalls > 350, `only ${programsWithCalls} programs with calls`);
  // in kernel mode all frames must fit 512 bytes together: the entry function keeps to the top 256
  for (let seed = 1; seed <= 200; seed++) {
    const g = generateProgram({ seed, calls: true, kernel: true });
    const entry = g.insns.slice(0, g.functionStarts[0] ?? g.insns.length);
    for (const i of entry) {
      if (i.dst === 10 && (i.code & 0x07) !== 0x04 && (i.code & 0x07) !== 0x07) assert.ok(i.off >= -256, `seed ${seed}: store at r10${i.off}`);
      if (i.src === 10 && (i.code & 0x07) === 0x01) assert.ok(i.off >= -256, `seed ${seed}: load at r10${i.off}`);
    }
  }
});
