// The JIT's entry: arguments and r0 through the NULL page, runCtx, the globals
// set per ExecEnv (and restored after a helper re-enters with another env), and
// faults recorded in memory — always leaving memory as the interpreter does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../../src/bpf/asm/asm.ts';
import { createExecEnv, ExecutionFault, type Engine, type ExecEnv } from '../../../src/bpf/engine.ts';
import type { HelperTable } from '../../../src/bpf/helpers.ts';
import { createInterpreter } from '../../../src/bpf/interp/interp.ts';
import { compileJit, JitRuntimeError } from '../../../src/bpf/jit/index.ts';
import { AddressSpace } from '../../../src/bpf/memory.ts';

const nullPage = (memory: AddressSpace): number[] => [...memory.u8.subarray(0, 64)];
const ZEROS = new Array<number>(64).fill(0);

test('runCtx is run(env, [BigInt(r1)]); arguments do not leak into the next run; the NULL page stays zero', () => {
  // r0 = r1 + r2 * 7 + r5
  const program = { name: 'args', insns: assemble('mov %r0, %r2\nmul %r0, 7\nadd %r0, %r1\nadd %r0, %r5\nexit') };
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory);
  const jit = compileJit(program);
  assert.deepEqual(jit.run(env, [10n, 20n, 30n, 40n, 50n]), { r0: 10n + 140n + 50n, insnsExecuted: 5 });
  assert.deepEqual(nullPage(memory), ZEROS);
  assert.deepEqual(jit.runCtx(env, 0xfffffff0), { r0: 0xfffffff0n, insnsExecuted: 5 });
  assert.deepEqual(jit.run(env, [3n]), { r0: 3n, insnsExecuted: 5 });
  assert.deepEqual(jit.run(env, []), { r0: 0n, insnsExecuted: 5 });
  assert.deepEqual(nullPage(memory), ZEROS);
  const interp = createInterpreter(program);
  assert.deepEqual(interp.runCtx(env, 77), jit.runCtx(env, 77));
});

test('runCtx refuses an r1 that is not an address 0..2^32-1', () => {
  const jit = compileJit({ name: 'r0', insns: assemble('mov %r0, 0\nexit') });
  const env = createExecEnv(new AddressSpace(1 << 16));
  for (const bad of [-1, 0.5, 2 ** 32, Number.NaN]) assert.throws(() => jit.runCtx(env, bad), JitRuntimeError);
});

test('a fault is recorded in the NULL page, thrown with its site, and cleared', () => {
  const jit = compileJit({ name: 'spin', insns: assemble('mov %r0, 0\nl:\nadd %r0, 1\nja l') });
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory, new Map(), 1000);
  assert.throws(
    () => jit.runCtx(env, 0),
    (e: unknown) => e instanceof ExecutionFault && e.kind === 'INSN_LIMIT' && /limit of 1000/.test(e.message),
  );
  assert.deepEqual(nullPage(memory), ZEROS);
  const callx = compileJit({ name: 'callx', insns: assemble('mov %r2, 99\ncallx %r2\nexit') });
  assert.throws(
    () => callx.runCtx(env, 0),
    (e: unknown) => e instanceof ExecutionFault && e.kind === 'UNKNOWN_HELPER' && /99/.test(e.message),
  );
  assert.deepEqual(nullPage(memory), ZEROS);
});

test('a helper that runs the program again with another env leaves the outer run its own frame pointer and limit', () => {
  // Stores r1 on the stack, calls helper 1 (which re-enters with another env on
  // the same memory), then makes a bpf-to-bpf call (its depth check reads fp0) and
  // reads the stored value back: r0 = r1 + 1 after the re-entry.
  const source = [
    'stxdw [%r10-8], %r1',
    'jeq %r1, 0, inner', // the nested run (r1 = 0) returns at once
    'call 1',
    'call local',
    'ldxdw %r0, [%r10-8]',
    'add %r0, 1',
    'exit',
    'inner:',
    'mov %r0, 5',
    'exit',
    'local:',
    'mov %r0, 0',
    'exit',
  ].join('\n');
  const program = { name: 'reenter', insns: assemble(source) };
  const memory = new AddressSpace(1 << 16);
  let engine: Engine | null = null;
  let innerEnv: ExecEnv | null = null;
  const helpers: HelperTable = new Map([
    [
      1,
      {
        id: 1,
        name: 'reenter',
        fn: () => {
          if (engine === null || innerEnv === null) throw new Error('test set-up');
          return engine.runCtx(innerEnv, 0).r0;
        },
      },
    ],
  ]);
  // The outer env's stack is mapped first, the inner's after: different frame pointers.
  const outerEnv = createExecEnv(memory, helpers, 500);
  innerEnv = createExecEnv(memory, helpers, 5);
  for (const make of [() => compileJit(program), () => createInterpreter(program)]) {
    engine = make();
    assert.deepEqual(engine.runCtx(outerEnv, 1234), { r0: 1235n, insnsExecuted: 9 });
    assert.deepEqual(nullPage(memory), ZEROS);
  }
});
