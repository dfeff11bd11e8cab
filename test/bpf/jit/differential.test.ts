// Differential tests: the JIT against the reference interpreter on random
// programs. Each program runs on the interpreter and on three JIT builds
// (structured + unchecked as for verified programs, checked, and the br_table
// dispatch fallback); all must give the same r0, the same executed-instruction
// count and the same bytes in memory, or the same fault.
// Reproduce a failure: XRP_FUZZ_SEED=<seed> node --import tsx --test test/bpf/jit/differential.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExecEnv, ExecutionFault, type Engine } from '../../../src/bpf/engine.ts';
import { generateProgram } from '../../../src/testing/program-gen.ts';
import type { HelperTable } from '../../../src/bpf/helpers.ts';
import { createInterpreter } from '../../../src/bpf/interp/interp.ts';
import { compileJit, type CompileOptions } from '../../../src/bpf/jit/index.ts';
import type { Insn, Program } from '../../../src/bpf/isa.ts';
import { AddressSpace } from '../../../src/bpf/memory.ts';
import { generateShape, MIX_HELPER_ID, mixHelper } from './cfg-gen.ts';

const BASE_SEED = Number(process.env.XRP_FUZZ_SEED ?? 4_2026);
const GEN_PROGRAMS = 1500;
const SHAPE_PROGRAMS = 1500;
const JIT_MODES: CompileOptions[] = [{}, { checked: true }, { forceDispatch: true }];
const helpers: HelperTable = new Map([[MIX_HELPER_ID, { id: MIX_HELPER_ID, name: 'mix', fn: mixHelper }]]);

type Outcome = { r0: string; insns: number; memory: string } | { fault: string };

function runOne(engine: Engine, input: Uint8Array, args: (base: number) => bigint[], insnLimit: number): Outcome {
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory, helpers, insnLimit);
  const buffer = memory.mapBytes('buffer', input);
  try {
    const r = engine.run(env, args(buffer.base));
    const bytes = Buffer.concat([memory.bytes(buffer), memory.bytes(env.stack)]);
    return { r0: r.r0.toString(16), insns: r.insnsExecuted, memory: bytes.toString('hex') };
  } catch (error) {
    if (error instanceof ExecutionFault) return { fault: error.kind };
    throw error;
  }
}

function compare(program: Program, input: Uint8Array, args: (base: number) => bigint[], insnLimit: number, where: string): Outcome {
  const expected = runOne(createInterpreter(program), input, args, insnLimit);
  for (const mode of JIT_MODES) {
    const actual = runOne(compileJit(program, mode), input, args, insnLimit);
    assert.deepEqual(actual, expected, `${where}, JIT mode ${JSON.stringify(mode)}`);
  }
  return expected;
}

test(`JIT = interpreter on ${GEN_PROGRAMS} programs of gen.ts (r0, instructions, buffer and stack)`, () => {
  const results = new Set<string>();
  for (let i = 0; i < GEN_PROGRAMS; i++) {
    const seed = BASE_SEED + i;
    const g = generateProgram({ seed, bodyInsns: 20 + (i % 60) });
    const outcome = compare({ name: `gen-${seed}`, insns: g.insns }, g.input, (base) => [BigInt(base), BigInt(g.bufferBytes)], 1_000_000, `gen seed ${seed}`);
    assert.ok('r0' in outcome, `gen seed ${seed}: generated programs never fault, got ${JSON.stringify(outcome)}`);
    results.add(outcome.r0);
  }
  assert.ok(results.size > GEN_PROGRAMS / 2, `only ${results.size} distinct results`);
});

test(`JIT = interpreter on ${SHAPE_PROGRAMS} programs with loops, irreducible graphs, local and helper calls`, () => {
  let finished = 0;
  let limited = 0;
  let irreducible = 0;
  let withCalls = 0;
  for (let i = 0; i < SHAPE_PROGRAMS; i++) {
    const seed = BASE_SEED + i;
    const insns: Insn[] = generateShape(seed);
    const program = { name: `shape-${seed}`, insns };
    const outcome = compare(program, new Uint8Array(16), () => [BigInt(seed), 7n, 0n, BigInt(-seed), 3n], 3000, `shape seed ${seed}`);
    if ('r0' in outcome) finished++;
    else {
      assert.equal(outcome.fault, 'INSN_LIMIT', `shape seed ${seed}`);
      limited++;
    }
    const jit = compileJit(program);
    if (jit.compiled.shapes.includes('dispatch')) irreducible++;
    if (jit.compiled.functionEntries.length > 1) withCalls++;
  }
  // The generator must produce every shape for the comparison to mean anything.
  assert.ok(finished > SHAPE_PROGRAMS / 4, `only ${finished} programs finished`);
  assert.ok(limited > 10, `only ${limited} programs hit the instruction limit`);
  assert.ok(irreducible > 10, `only ${irreducible} irreducible programs`);
  assert.ok(withCalls > SHAPE_PROGRAMS / 4, `only ${withCalls} programs with bpf-to-bpf calls`);
});
