import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExecEnv, ExecutionFault, frameTop, type FaultKind } from '../../src/bpf/engine.ts';
import type { Helper } from '../../src/bpf/helpers.ts';
import { createInterpreter } from '../../src/bpf/interp/interp.ts';
import {
  AluOp,
  AtomicOp,
  CallSrc,
  InsnClass,
  JmpOp,
  LdImm64Src,
  Mode,
  Size,
  Source,
  insn,
  ldImm64,
  type Insn,
} from '../../src/bpf/isa.ts';
import { AddressSpace } from '../../src/bpf/memory.ts';

const A64 = InsnClass.ALU64;
const A32 = InsnClass.ALU;
const EXIT = insn(InsnClass.JMP | JmpOp.EXIT);
const mov64 = (dst: number, imm: number): Insn => insn(A64 | Source.K | AluOp.MOV, dst, 0, 0, imm);
const alu = (cls: number, op: number, dst: number, src: number, off = 0): Insn => insn(cls | Source.X | op, dst, src, off);
const aluK = (cls: number, op: number, dst: number, imm: number, off = 0): Insn => insn(cls | Source.K | op, dst, 0, off, imm);

interface RunOptions {
  mem?: Uint8Array;
  helpers?: Helper[];
  limit?: number;
  trace?: string[];
  memory?: AddressSpace;
}

function run(insns: Insn[], options: RunOptions = {}): { r0: bigint; insnsExecuted: number; memory: AddressSpace; mem: Uint8Array } {
  const memory = options.memory ?? new AddressSpace(1 << 16);
  const env = createExecEnv(memory, new Map((options.helpers ?? []).map((h) => [h.id, h])), options.limit ?? 100_000);
  const region = memory.mapBytes('mem', options.mem ?? new Uint8Array(0));
  const engine = createInterpreter(
    { name: 'test', insns },
    options.trace ? { trace: (line) => options.trace!.push(line) } : {},
  );
  const result = engine.run(env, [BigInt(region.base), BigInt(region.sizeBytes)]);
  return { ...result, memory, mem: memory.bytes(region) };
}

function fault(insns: Insn[], kind: FaultKind, options: RunOptions = {}): ExecutionFault {
  try {
    run(insns, options);
  } catch (error) {
    assert.ok(error instanceof ExecutionFault, `expected ExecutionFault, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    return error;
  }
  assert.fail(`expected a ${kind} fault`);
}

/** r0 = a OP b with 64-bit operands loaded by lddw. */
function binop64(op: number, a: bigint, b: bigint, off = 0, cls: number = A64): bigint {
  return run([...ldImm64(0, a), ...ldImm64(1, b), alu(cls, op, 0, 1, off), EXIT]).r0;
}

const M64 = (1n << 64n) - 1n;
const INT64_MIN = 1n << 63n;

test('64-bit add, sub and mul carry across the 32-bit halves', () => {
  assert.equal(binop64(AluOp.ADD, 0xffffffffn, 1n), 0x100000000n);
  assert.equal(binop64(AluOp.ADD, M64, 2n), 1n);
  assert.equal(binop64(AluOp.SUB, 0x100000000n, 1n), 0xffffffffn);
  assert.equal(binop64(AluOp.SUB, 0n, 1n), M64);
  const a = 0x123456789abcdef1n;
  const b = 0xfedcba9876543211n;
  assert.equal(binop64(AluOp.MUL, a, b), (a * b) & M64);
  assert.equal(binop64(AluOp.MUL, M64, M64), 1n);
});

test('division by zero gives 0, modulo by zero leaves dst (zero-extended in 32-bit)', () => {
  assert.equal(binop64(AluOp.DIV, 1234n, 0n), 0n);
  assert.equal(binop64(AluOp.MOD, 0x1234567890n, 0n), 0x1234567890n);
  assert.equal(binop64(AluOp.MOD, 0x1234567890n, 0n, 0, A32), 0x34567890n);
  assert.equal(binop64(AluOp.DIV, 0x1234567890n, 0n, 0, A32), 0n);
  assert.equal(binop64(AluOp.DIV, M64, 3n), M64 / 3n);
  assert.equal(binop64(AluOp.MOD, M64, 0x100000001n), M64 % 0x100000001n);
  assert.equal(binop64(AluOp.DIV, 0x1ffffffffn, 0x100000003n, 0, A32), 0xffffffffn / 3n);
});

test('signed division and modulo, including INT_MIN / -1', () => {
  assert.equal(binop64(AluOp.DIV, INT64_MIN, M64, 1), INT64_MIN);
  assert.equal(binop64(AluOp.MOD, INT64_MIN, M64, 1), 0n);
  assert.equal(binop64(AluOp.DIV, BigInt.asUintN(64, -7n), 2n, 1), BigInt.asUintN(64, -3n));
  assert.equal(binop64(AluOp.MOD, BigInt.asUintN(64, -7n), 2n, 1), BigInt.asUintN(64, -1n));
  assert.equal(binop64(AluOp.MOD, BigInt.asUintN(64, -7n), 0n, 1), BigInt.asUintN(64, -7n));
  assert.equal(binop64(AluOp.DIV, 0x80000000n, 0xffffffffn, 1, A32), 0x80000000n);
  assert.equal(binop64(AluOp.MOD, 0x80000000n, 0xffffffffn, 1, A32), 0n);
  assert.equal(binop64(AluOp.MOD, 0xfffffff6n, 0n, 1, A32), 0xfffffff6n);
});

test('shifts mask their amount; arsh keeps the sign', () => {
  assert.equal(binop64(AluOp.LSH, 1n, 65n), 2n);
  assert.equal(binop64(AluOp.LSH, 0x80000001n, 33n), 0x200000000n);
  assert.equal(binop64(AluOp.RSH, 0x8000000000000000n, 63n), 1n);
  assert.equal(binop64(AluOp.RSH, 0x1234567800000000n, 36n), 0x1234567n);
  assert.equal(binop64(AluOp.ARSH, INT64_MIN, 63n), M64);
  assert.equal(binop64(AluOp.ARSH, INT64_MIN, 4n), 0xf800000000000000n);
  assert.equal(binop64(AluOp.ARSH, 0x80000000n, 4n, 0, A32), 0xf8000000n);
  assert.equal(binop64(AluOp.LSH, 1n, 33n, 0, A32), 2n);
});

test('32-bit operations zero-extend; neg and movsx', () => {
  assert.equal(run([...ldImm64(0, M64), aluK(A32, AluOp.ADD, 0, 1), EXIT]).r0, 0n);
  assert.equal(run([mov64(0, -1), EXIT]).r0, M64);
  assert.equal(run([aluK(A32, AluOp.MOV, 0, -1), EXIT]).r0, 0xffffffffn);
  assert.equal(run([mov64(0, 0), aluK(A64, AluOp.NEG, 0, 0), EXIT]).r0, 0n);
  assert.equal(run([mov64(0, 5), aluK(A64, AluOp.NEG, 0, 0), EXIT]).r0, BigInt.asUintN(64, -5n));
  assert.equal(run([...ldImm64(1, 0x0123456789abcdefn), alu(A64, AluOp.MOV, 0, 1, 8), EXIT]).r0, BigInt.asUintN(64, -0x11n));
  assert.equal(run([...ldImm64(1, 0x0123456789abcdefn), alu(A64, AluOp.MOV, 0, 1, 32), EXIT]).r0, 0xffffffff89abcdefn);
  assert.equal(run([...ldImm64(1, 0x0123456789abcdefn), alu(A32, AluOp.MOV, 0, 1, 16), EXIT]).r0, 0xffffcdefn);
});

test('byte swaps: le truncates, be and bswap swap', () => {
  const v = 0x1122334455667788n;
  const end = (cls: number, src: number, width: number): bigint =>
    run([...ldImm64(0, v), insn(cls | src | AluOp.END, 0, 0, 0, width), EXIT]).r0;
  assert.equal(end(A32, Source.K, 16), 0x7788n);
  assert.equal(end(A32, Source.K, 32), 0x55667788n);
  assert.equal(end(A32, Source.K, 64), v);
  assert.equal(end(A32, Source.X, 16), 0x8877n);
  assert.equal(end(A32, Source.X, 32), 0x88776655n);
  assert.equal(end(A32, Source.X, 64), 0x8877665544332211n);
  assert.equal(end(A64, Source.K, 64), 0x8877665544332211n);
  assert.equal(end(A64, Source.K, 16), 0x8877n);
});

test('jumps: signed and unsigned 64-bit and 32-bit compares, gotol', () => {
  const cmp = (cls: number, op: number, a: bigint, b: bigint): bigint =>
    run([...ldImm64(1, a), ...ldImm64(2, b), mov64(0, 0), insn(cls | Source.X | op, 1, 2, 1), EXIT, mov64(0, 1), EXIT]).r0;
  assert.equal(cmp(InsnClass.JMP, JmpOp.JGT, M64, 1n), 1n);
  assert.equal(cmp(InsnClass.JMP, JmpOp.JSGT, M64, 1n), 0n);
  assert.equal(cmp(InsnClass.JMP, JmpOp.JSLT, 0xffffffff00000000n, 0xffffffff00000001n), 1n);
  assert.equal(cmp(InsnClass.JMP, JmpOp.JLT, 0x100000000n, 0xffffffffn), 0n);
  assert.equal(cmp(InsnClass.JMP32, JmpOp.JEQ, 0x100000005n, 5n), 1n);
  assert.equal(cmp(InsnClass.JMP32, JmpOp.JSLT, 0x80000000n, 0n), 1n);
  assert.equal(cmp(InsnClass.JMP, JmpOp.JSET, 0x100000000n, 0x300000000n), 1n);
  assert.equal(cmp(InsnClass.JMP32, JmpOp.JSET, 0x100000000n, 0x300000000n), 0n);
  // gotol skips by its imm
  assert.equal(run([mov64(0, 1), insn(InsnClass.JMP32 | JmpOp.JA, 0, 0, 0, 1), mov64(0, 2), EXIT]).r0, 1n);
});

test('loads, stores and sign-extending loads over the input memory', () => {
  const mem = Uint8Array.from([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xfe, 0xff]);
  const LDX = InsnClass.LDX;
  assert.equal(run([insn(LDX | Mode.MEM | Size.DW, 0, 1, 0), EXIT], { mem }).r0, 0x8877665544332211n);
  assert.equal(run([insn(LDX | Mode.MEM | Size.H, 0, 1, 8), EXIT], { mem }).r0, 0xfffen);
  assert.equal(run([insn(LDX | Mode.MEMSX | Size.H, 0, 1, 8), EXIT], { mem }).r0, BigInt.asUintN(64, -2n));
  assert.equal(run([insn(LDX | Mode.MEMSX | Size.B, 0, 1, 7), EXIT], { mem }).r0, BigInt.asUintN(64, -0x78n));
  assert.equal(run([insn(LDX | Mode.MEMSX | Size.W, 0, 1, 4), EXIT], { mem }).r0, 0xffffffff88776655n);
  const stored = run([insn(InsnClass.ST | Mode.MEM | Size.DW, 1, 0, 0, -2), mov64(0, 0), EXIT], { mem });
  assert.deepEqual([...stored.mem.subarray(0, 8)], [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  // the stack: store through r10 and read back
  assert.equal(
    run([mov64(2, 0x1234), insn(InsnClass.STX | Mode.MEM | Size.H, 10, 2, -2), insn(LDX | Mode.MEM | Size.B, 0, 10, -1), EXIT]).r0,
    0x12n,
  );
});

test('out-of-bounds and read-only accesses fault with the instruction index and address', () => {
  const mem = new Uint8Array(8);
  const f = fault([mov64(0, 0), insn(InsnClass.LDX | Mode.MEM | Size.W, 0, 1, 6), EXIT], 'OUT_OF_BOUNDS', { mem });
  assert.equal(f.pc, 1);
  assert.ok(f.address !== undefined && f.message.includes(`0x${f.address.toString(16)}`), f.message);
  assert.match(f.message, /instruction 1: load of 4 bytes/);
  const g = fault([mov64(0, 0), insn(InsnClass.STX | Mode.MEM | Size.DW, 10, 0, 0), EXIT], 'OUT_OF_BOUNDS');
  assert.equal(g.pc, 1);
  // a NULL pointer
  fault([mov64(1, 0), insn(InsnClass.LDX | Mode.MEM | Size.B, 0, 1, 0), EXIT], 'OUT_OF_BOUNDS');
  // a pointer whose high word is set
  fault([...ldImm64(1, 0x100001000n), insn(InsnClass.LDX | Mode.MEM | Size.B, 0, 1, 0), EXIT], 'OUT_OF_BOUNDS');
  const memory = new AddressSpace(1 << 16);
  const ro = memory.mapBytes('ro', new Uint8Array(8), { writable: false });
  const h = fault([...ldImm64(2, BigInt(ro.base)), insn(InsnClass.ST | Mode.MEM | Size.B, 2, 0, 0, 1), EXIT], 'READ_ONLY', { memory });
  assert.equal(h.pc, 2);
});

test('atomics: fetch variants, xchg, cmpxchg, and alignment', () => {
  const STXA = (size: number, op: number, dst: number, src: number, off: number): Insn =>
    insn(InsnClass.STX | Mode.ATOMIC | size, dst, src, off, op);
  const mem = new Uint8Array(16);
  new DataView(mem.buffer).setBigUint64(0, 0x00000001ffffffffn, true);
  // 64-bit fetch-add returns the old value in src
  const r = run([mov64(2, 1), STXA(Size.DW, AtomicOp.ADD | AtomicOp.FETCH, 1, 2, 0), alu(A64, AluOp.MOV, 0, 2), EXIT], { mem });
  assert.equal(r.r0, 0x1ffffffffn);
  assert.equal(new DataView(r.mem.buffer, r.mem.byteOffset).getBigUint64(0, true), 0x200000000n);
  // 32-bit add without fetch leaves src alone and wraps within the word
  const s = run([mov64(2, 1), STXA(Size.W, AtomicOp.ADD, 1, 2, 0), alu(A64, AluOp.MOV, 0, 2), EXIT], { mem });
  assert.equal(s.r0, 1n);
  assert.deepEqual([...s.mem.subarray(0, 8)], [0, 0, 0, 0, 1, 0, 0, 0]);
  // cmpxchg: r0 gets the old value; the store happens only on a match
  const c = run([mov64(0, -1), mov64(2, 7), STXA(Size.W, AtomicOp.CMPXCHG, 1, 2, 0), EXIT], { mem });
  assert.equal(c.r0, 0xffffffffn);
  assert.equal(c.mem[0], 7);
  const d = run([mov64(0, 3), mov64(2, 7), STXA(Size.DW, AtomicOp.CMPXCHG, 1, 2, 0), EXIT], { mem });
  assert.equal(d.r0, 0x1ffffffffn);
  assert.equal(d.mem[0], 0xff);
  const x = run([mov64(2, 9), STXA(Size.DW, AtomicOp.XCHG, 1, 2, 8), alu(A64, AluOp.MOV, 0, 2), EXIT], { mem });
  assert.equal(x.r0, 0n);
  assert.equal(x.mem[8], 9);
  const m = fault([mov64(2, 9), STXA(Size.W, AtomicOp.OR, 1, 2, 2), EXIT], 'MISALIGNED_ATOMIC', { mem });
  assert.equal(m.pc, 1);
});

test('helpers by id, unknown helpers fault', () => {
  const add: Helper = { id: 7, name: 'add', fn: (a, b) => a + b };
  assert.equal(run([mov64(1, 40), mov64(2, 2), insn(InsnClass.JMP | JmpOp.CALL, 0, 0, 0, 7), EXIT], { helpers: [add] }).r0, 42n);
  const f = fault([insn(InsnClass.JMP | JmpOp.CALL, 0, 0, 0, 99), EXIT], 'UNKNOWN_HELPER');
  assert.match(f.message, /helper 99/);
  // callx: the helper id in a register
  assert.equal(
    run([mov64(1, 1), mov64(2, 2), mov64(3, 7), insn(InsnClass.JMP | Source.X | JmpOp.CALL, 3, 0, 0, 0), EXIT], { helpers: [add] }).r0,
    3n,
  );
});

test('local calls: r6-r9 preserved, r10 per frame, depth limited to 8 frames', () => {
  const CALL_LOCAL = (target: number): Insn => insn(InsnClass.JMP | JmpOp.CALL, 0, CallSrc.LOCAL, 0, target);
  const prog = [
    mov64(6, 6),
    CALL_LOCAL(2),
    alu(A64, AluOp.ADD, 0, 6), // r0 = callee's r10 + 6
    EXIT,
    // callee: clobber r6, return its r10
    mov64(6, 100),
    alu(A64, AluOp.MOV, 0, 10),
    EXIT,
  ];
  const memory = new AddressSpace(1 << 16);
  const r = run(prog, { memory });
  const stack = memory.regions.find((x) => x.name === 'stack')!;
  assert.equal(r.r0, BigInt(frameTop(stack, 1) + 6));
  // unbounded recursion stops at the frame limit
  const f = fault([CALL_LOCAL(-1), EXIT], 'CALL_DEPTH');
  assert.equal(f.pc, 0);
});

test('instruction limit stops runaway programs and counts lddw once', () => {
  const f = fault([insn(InsnClass.JMP | JmpOp.JA, 0, 0, -1), EXIT], 'INSN_LIMIT', { limit: 1000 });
  assert.match(f.message, /limit of 1000/);
  assert.equal(run([...ldImm64(0, 5n), EXIT]).insnsExecuted, 2);
});

test('invalid programs fault instead of crashing', () => {
  const abs = fault([insn(InsnClass.LD | Mode.ABS | Size.W, 0, 0, 0, 0), EXIT], 'INVALID_INSN');
  assert.match(abs.message, /legacy packet access \(BPF_ABS/);
  const pseudo = fault([...ldImm64(1, 3n, LdImm64Src.MAP_BY_FD), EXIT], 'INVALID_INSN');
  assert.match(pseudo.message, /not resolved by the loader/);
  fault([insn(0xff), EXIT], 'INVALID_INSN');
  const out = fault([mov64(0, 1), insn(InsnClass.JMP | JmpOp.JA, 0, 0, 5), EXIT], 'PC_OUT_OF_RANGE');
  assert.equal(out.pc, 1);
  const end = fault([mov64(0, 1)], 'PC_OUT_OF_RANGE');
  assert.match(end.message, /fell off the end/);
  // a jump into the second slot of lddw
  fault([insn(InsnClass.JMP | JmpOp.JA, 0, 0, 1), ...ldImm64(0, 1n), EXIT], 'INVALID_INSN');
  fault([mov64(11, 1), EXIT], 'INVALID_INSN');
  fault([insn(A64 | Source.K | AluOp.END, 0, 0, 0, 17), EXIT], 'INVALID_INSN');
});

test('trace prints one line per executed instruction with the registers it changed', () => {
  const lines: string[] = [];
  run([mov64(0, 5), aluK(A64, AluOp.ADD, 0, 2), insn(InsnClass.JMP | JmpOp.JA, 0, 0, 0), EXIT], { trace: lines });
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^\s+0: .*; r0=0x5$/);
  assert.match(lines[1]!, /^\s+1: .*; r0=0x7$/);
  assert.doesNotMatch(lines[2]!, /;/);
  assert.match(lines[3]!, /^\s+3: /);
});

test('the hot loop spells decoded ops as literals (for V8 jump tables) that match interp/decode.ts', async () => {
  // V8 turns a switch into a jump table only when every case is a number literal,
  // so interp.ts writes `case 0x100 /* OP_SDIV64 */:`; this keeps the two in step.
  const { readFileSync } = await import('node:fs');
  const decode = await import('../../src/bpf/interp/decode.ts');
  const source = readFileSync(new URL('../../src/bpf/interp/interp.ts', import.meta.url), 'utf8');
  const cases = [...source.matchAll(/case (0x[0-9a-f]+) \/\* (OP_\w+) \*\//g)];
  assert.ok(cases.length >= 20, `only ${cases.length} named cases found`);
  for (const [, literal, name] of cases) {
    assert.equal(Number(literal), (decode as unknown as Record<string, number>)[name!], `${name} is ${literal} in interp.ts`);
  }
  assert.doesNotMatch(source, /case OP_\w+:/, 'a case label uses a constant instead of a literal');
});

test('an engine runs many times, and re-entrantly from a helper, with fresh registers each run', () => {
  const memory = new AddressSpace(1 << 16);
  // r0 = r1 + r6 (r6 is never written before: it must read as 0 on every run)
  const simple = createInterpreter({ name: 'reuse', insns: [alu(A64, AluOp.MOV, 0, 1), alu(A64, AluOp.ADD, 0, 6), mov64(6, 99), EXIT] });
  assert.equal(simple.run(createExecEnv(memory), [5n]).r0, 5n);
  assert.equal(simple.run(createExecEnv(new AddressSpace(1 << 16)), [7n]).r0, 7n);
  // sum(n) = n + sum(n - 1) through helper 1, which runs the same engine again
  const sum = createInterpreter({
    name: 'sum',
    insns: [
      mov64(0, 0),
      insn(InsnClass.JMP | Source.K | JmpOp.JEQ, 1, 0, 3, 0),
      alu(A64, AluOp.MOV, 6, 1),
      insn(InsnClass.JMP | JmpOp.CALL, 0, 0, 0, 1),
      alu(A64, AluOp.ADD, 0, 6),
      EXIT,
    ],
  });
  const again: Helper = { id: 1, name: 'again', fn: (r1) => sum.run(createExecEnv(new AddressSpace(1 << 16), helpers), [r1 - 1n]).r0 };
  const helpers = new Map([[1, again]]);
  assert.equal(sum.run(createExecEnv(memory, helpers), [4n]).r0, 10n);
  assert.equal(sum.run(createExecEnv(new AddressSpace(1 << 16), helpers), [3n]).r0, 6n);
});

test('random bytecode never crashes the interpreter: it returns or raises an ExecutionFault', async () => {
  const { GenRng } = await import('../../src/testing/program-gen.ts');
  const rng = new GenRng(9669);
  const helpers = new Map<number, Helper>([[1, { id: 1, name: 'one', fn: () => 1n }]]);
  let faults = 0;
  for (let n = 0; n < 3000; n++) {
    const insns: Insn[] = [];
    const length = 1 + rng.below(24);
    for (let i = 0; i < length; i++) {
      // any opcode byte, mostly small registers and offsets
      insns.push(insn(rng.nextU32() & 0xff, rng.below(12), rng.below(12), rng.between(-4, 8), rng.chance(0.5) ? rng.between(-2, 70) : rng.nextU32() | 0));
    }
    const memory = new AddressSpace(1 << 16);
    const region = memory.mapBytes('mem', new Uint8Array(64));
    const env = createExecEnv(memory, helpers, 500);
    try {
      createInterpreter({ name: `fuzz-${n}`, insns }).run(env, [BigInt(region.base), 64n]);
    } catch (error) {
      if (!(error instanceof ExecutionFault)) assert.fail(`program ${n} threw ${String(error)}`);
      assert.match(error.message, /^instruction \d+: /);
      faults++;
    }
  }
  assert.ok(faults > 1000 && faults < 3000, `${faults} faults`);
});

test('add, sub and mul by a constant (the interpreter\'s specialised forms) match 64-bit BigInt arithmetic', () => {
  const env = createExecEnv(new AddressSpace(1 << 16));
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  // full 64-bit values, 32-bit values, values near 2^32 and near 2^64 (carries and borrows)
  const value = (): bigint => {
    const v = (BigInt(next()) << 32n) | BigInt(next());
    return [v, v & 0xffffffffn, 0xffffffffn - (v & 0xffn), (1n << 64n) - (v & 0xffffn)][next() % 4]!;
  };
  const ops: Array<[number, number, (a: bigint, k: bigint) => bigint]> = [
    [AluOp.ADD, 2 ** 31, (a, k) => a + k],
    [AluOp.SUB, 2 ** 31, (a, k) => a - k],
    [AluOp.MUL, 2 ** 21, (a, k) => a * k],
    [AluOp.MUL, 2 ** 31, (a, k) => a * k],
  ];
  for (let i = 0; i < 2000; i++) {
    const x = value();
    for (const [op, kMax, f] of ops) {
      const k = next() % kMax;
      const program = { name: 'k', insns: [...ldImm64(0, x), insn(InsnClass.ALU64 | Source.K | op, 0, 0, 0, k), EXIT] };
      assert.equal(createInterpreter(program).run(env, []).r0, BigInt.asUintN(64, f(x, BigInt(k))), `op 0x${op.toString(16)} x=0x${x.toString(16)} k=${k}`);
    }
  }
});
