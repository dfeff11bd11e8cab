// The JIT's entry: arguments and r0 through the NULL page, the CtxRunner of the
// per-block drivers, the globals set per ExecEnv (and restored after a helper
// re-enters with another env, or another runner ran), and faults recorded in
// memory — always leaving memory as the interpreter does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../../src/bpf/asm/asm.ts';
import { createExecEnv, ExecutionArgumentError, ExecutionFault, type Engine, type ExecEnv, type RunResult } from '../../../src/bpf/engine.ts';
import type { HelperTable } from '../../../src/bpf/helpers.ts';
import { createInterpreter } from '../../../src/bpf/interp/interp.ts';
import { compileJit } from '../../../src/bpf/jit/index.ts';
import { AddressSpace } from '../../../src/bpf/memory.ts';

const nullPage = (memory: AddressSpace): number[] => [...memory.u8.subarray(0, 64)];
const ZEROS = new Array<number>(64).fill(0);
/** One CtxRunner run as a RunResult. */
const runCtx = (engine: Engine, env: ExecEnv, r1: number): RunResult => {
  const runner = engine.ctxRunner(env);
  const insnsExecuted = runner.run(r1);
  return { r0: runner.r0, insnsExecuted };
};

test('a CtxRunner run is run(env, [BigInt(r1)]); arguments do not leak into the next run; the NULL page stays zero', () => {
  // r0 = r1 + r2 * 7 + r5
  const program = { name: 'args', insns: assemble('mov %r0, %r2\nmul %r0, 7\nadd %r0, %r1\nadd %r0, %r5\nexit') };
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory);
  const jit = compileJit(program);
  assert.deepEqual(jit.run(env, [10n, 20n, 30n, 40n, 50n]), { r0: 10n + 140n + 50n, insnsExecuted: 5 });
  assert.deepEqual(nullPage(memory), ZEROS);
  assert.deepEqual(runCtx(jit, env, 0xfffffff0), { r0: 0xfffffff0n, insnsExecuted: 5 });
  // one runner, many runs: r0 of each (0 and not 0), r2..r5 of an earlier run(env, args) never seen
  const runner = jit.ctxRunner(env);
  assert.equal(runner.run(0), 5);
  assert.equal(runner.r0, 0n);
  jit.run(env, [1n, 1n, 1n, 1n, 1n]);
  assert.equal(runner.run(9), 5);
  assert.equal(runner.r0, 9n);
  assert.equal(runner.run(0), 5);
  assert.equal(runner.r0, 0n);
  assert.deepEqual(jit.run(env, [3n]), { r0: 3n, insnsExecuted: 5 });
  assert.deepEqual(jit.run(env, []), { r0: 0n, insnsExecuted: 5 });
  assert.deepEqual(nullPage(memory), ZEROS);
  const interp = createInterpreter(program);
  assert.deepEqual(runCtx(interp, env, 77), runCtx(jit, env, 77));
});

test('a CtxRunner refuses an r1 that is not an address 0..2^32-1, on both engines', () => {
  const program = { name: 'r0', insns: assemble('mov %r0, 0\nexit') };
  const env = createExecEnv(new AddressSpace(1 << 16));
  for (const engine of [compileJit(program), createInterpreter(program)]) {
    for (const bad of [-1, 0.5, 2 ** 32, Number.NaN]) assert.throws(() => engine.ctxRunner(env).run(bad), ExecutionArgumentError);
  }
});

test('r0 of 64 bits comes back whole; runners of two envs on one memory each keep their own limit', () => {
  const wide = compileJit({ name: 'wide', insns: assemble('lddw %r0, 0x8000000100000002\nexit') });
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory);
  assert.deepEqual(runCtx(wide, env, 0), { r0: 0x8000000100000002n, insnsExecuted: 2 });
  assert.deepEqual(nullPage(memory), ZEROS);
  // 3 + 3 * r1 instructions: the tight env faults at r1 = 10, the loose one does not
  const loop = compileJit({ name: 'loop', insns: assemble('mov %r0, 0\nl:\njeq %r1, 0, out\nsub %r1, 1\nja l\nout:\nexit') });
  const loose = loop.ctxRunner(createExecEnv(memory, new Map(), 1000));
  const tight = loop.ctxRunner(createExecEnv(memory, new Map(), 10));
  assert.equal(loose.run(10), 33);
  assert.throws(() => tight.run(10), (e: unknown) => e instanceof ExecutionFault && e.kind === 'INSN_LIMIT');
  assert.equal(loose.run(10), 33);
  assert.equal(tight.run(1), 6);
  assert.deepEqual(nullPage(memory), ZEROS);
});

test('a fault is recorded in the NULL page, thrown with its site, and cleared', () => {
  const jit = compileJit({ name: 'spin', insns: assemble('mov %r0, 0\nl:\nadd %r0, 1\nja l') });
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory, new Map(), 1000);
  assert.throws(
    () => runCtx(jit, env, 0),
    (e: unknown) => e instanceof ExecutionFault && e.kind === 'INSN_LIMIT' && /limit of 1000/.test(e.message),
  );
  assert.deepEqual(nullPage(memory), ZEROS);
  const callx = compileJit({ name: 'callx', insns: assemble('mov %r2, 99\ncallx %r2\nexit') });
  assert.throws(
    () => runCtx(callx, env, 0),
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
          return runCtx(engine, innerEnv, 0).r0;
        },
      },
    ],
  ]);
  // The outer env's stack is mapped first, the inner's after: different frame pointers.
  const outerEnv = createExecEnv(memory, helpers, 500);
  innerEnv = createExecEnv(memory, helpers, 5);
  for (const make of [() => compileJit(program), () => createInterpreter(program)]) {
    engine = make();
    assert.deepEqual(runCtx(engine, outerEnv, 1234), { r0: 1235n, insnsExecuted: 9 });
    assert.deepEqual(nullPage(memory), ZEROS);
  }
});
