// Differential test: random generated programs (gen.ts, kernel mode) run in the
// Linux kernel (BPF_PROG_TEST_RUN via bpftool) and in our interpreter must end
// with the same r0 (the kernel reports its low 32 bits) and the same buffer, in
// which each program's epilogue stored r0, r2..r9 and its stack slots.
// Skips with a message when bpftool or root is missing.
// Reproduce a failure: XRP_FUZZ_SEED=<base> node --import tsx --test test/bpf/kernel-diff.test.ts

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExecEnv } from '../../src/bpf/engine.ts';
import { generateProgram, type GeneratedProgram } from '../../src/testing/program-gen.ts';
import { createInterpreter } from '../../src/bpf/interp/interp.ts';
import { kernelOracleUnavailable, runInKernel } from '../../src/testing/kernel-oracle.ts';
import { AddressSpace } from '../../src/bpf/memory.ts';

const PROGRAMS = 600;
/** more programs, with bpf-to-bpf calls (their functions go to .text in the ELF) */
const PROGRAMS_WITH_CALLS = 200;
const BASE_SEED = Number(process.env.XRP_FUZZ_SEED ?? 20260101);
const unavailable = kernelOracleUnavailable();

function interpret(g: GeneratedProgram): { r0: bigint; buffer: Uint8Array } {
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory, new Map(), 1_000_000);
  const buffer = memory.mapBytes('buffer', g.input);
  const result = createInterpreter({ name: `gen-${g.seed}`, insns: g.insns }).run(env, [
    BigInt(buffer.base),
    BigInt(g.bufferBytes),
  ]);
  return { r0: result.r0, buffer: memory.bytes(buffer).slice() };
}

function compareWithKernel(calls: boolean, count: number): void {
  const programs: GeneratedProgram[] = [];
  for (let i = 0; i < count; i++) programs.push(generateProgram({ seed: BASE_SEED + i, kernel: true, calls }));
  const outcomes = runInKernel(programs.map((g) => ({ insns: g.insns, input: g.input, functionStarts: g.functionStarts })));
  assert.equal(outcomes.length, programs.length);
  const retvals = new Set<number>();
  programs.forEach((g, i) => {
    const kernel = outcomes[i]!;
    if (!kernel.ok) assert.fail(`seed ${g.seed}: the kernel rejected a generated program:\n${kernel.error}`);
    const ours = interpret(g);
    const where = `seed ${g.seed}${calls ? ' with calls' : ''} (XRP_FUZZ_SEED=${g.seed} reproduces it as the first program)`;
    assert.equal(Number(ours.r0 & 0xffffffffn), kernel.retval, `${where}: r0 differs`);
    assert.deepEqual(ours.buffer, kernel.dataOut, `${where}: final buffer (registers and stack) differs`);
    retvals.add(kernel.retval);
  });
  // The programs must actually compute different things for the comparison to mean anything.
  assert.ok(retvals.size > count / 2, `only ${retvals.size} distinct results`);
}

test(`interpreter agrees with the Linux kernel on ${PROGRAMS} generated programs`, { skip: unavailable ?? false }, () => {
  compareWithKernel(false, PROGRAMS);
});

test(`... and on ${PROGRAMS_WITH_CALLS} generated programs with local calls`, { skip: unavailable ?? false }, () => {
  compareWithKernel(true, PROGRAMS_WITH_CALLS);
});

if (unavailable !== undefined) {
  test('kernel differential test skipped', () => {
    console.log(`# skipped kernel differential test: ${unavailable}`);
  });
}

test('the oracle really executes in the kernel, and reports verifier rejections per program', { skip: unavailable ?? false }, async () => {
  const { AluOp, InsnClass, JmpOp, Mode, Size, Source, insn } = await import('../../src/bpf/isa.ts');
  const ok = [
    insn(InsnClass.ALU64 | Source.K | AluOp.MOV, 0, 0, 0, 0x1234567),
    insn(InsnClass.STX | Mode.MEM | Size.DW, 1, 0, 8, 0), // *(u64 *)(r1 + 8) = r0
    insn(InsnClass.JMP | JmpOp.EXIT),
  ];
  const rejected = [insn(InsnClass.ALU64 | Source.X | AluOp.MOV, 0, 9, 0, 0), insn(InsnClass.JMP | JmpOp.EXIT)]; // r9 is never written
  const [a, b, c] = runInKernel([
    { insns: ok, input: new Uint8Array(16) },
    { insns: rejected, input: new Uint8Array(16) },
    { insns: ok, input: new Uint8Array(16).fill(0xaa) },
  ]);
  assert.ok(a?.ok && c?.ok, 'the valid programs ran');
  assert.equal(a.retval, 0x1234567);
  assert.deepEqual([...a.dataOut], [0, 0, 0, 0, 0, 0, 0, 0, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0]);
  assert.deepEqual([...c.dataOut.subarray(0, 8)], Array(8).fill(0xaa));
  assert.ok(b !== undefined && !b.ok);
  assert.match(b.error, /R9 !read_ok/);
});
