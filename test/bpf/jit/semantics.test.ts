// The JIT's translation of each instruction, against hand-computed results (RFC
// 9669 semantics where WebAssembly differs), in every mode: structured control
// flow and the br_table dispatch fallback, with and without region checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../../src/bpf/asm/asm.ts';
import { createExecEnv, ExecutionFault, type ExecEnv, type RunResult } from '../../../src/bpf/engine.ts';
import type { HelperTable } from '../../../src/bpf/helpers.ts';
import { compileJit, JitProgram } from '../../../src/bpf/jit/index.ts';
import { insn, InsnClass, JmpOp, type Insn } from '../../../src/bpf/isa.ts';
import { AddressSpace } from '../../../src/bpf/memory.ts';

const MODES = [
  { checked: false, forceDispatch: false },
  { checked: true, forceDispatch: false },
  { checked: false, forceDispatch: true },
  { checked: true, forceDispatch: true },
];

const helpers: HelperTable = new Map([
  [1, { id: 1, name: 'mix', fn: (r1: bigint, r2: bigint, _r3: bigint, _r4: bigint, r5: bigint) => BigInt.asUintN(64, r1 * 3n + r2 + r5) }],
  [
    2,
    {
      id: 2,
      name: 'poke',
      // Writes through memory: the JIT must see the byte the helper stored.
      fn: (r1: bigint, _r2: bigint, _r3: bigint, _r4: bigint, _r5: bigint, env: { memory: AddressSpace }) => {
        env.memory.u8[Number(r1)] = 0x5a;
        return 0n;
      },
    },
  ],
]);

interface Setup {
  env: ExecEnv;
  args: bigint[];
}

function setup(memBytes = 64, insnLimit = 1_000_000): Setup {
  const memory = new AddressSpace(1 << 16);
  const env = createExecEnv(memory, helpers, insnLimit);
  const mem = memory.map('mem', memBytes);
  for (let i = 0; i < memBytes; i++) memory.u8[mem.base + i] = (i * 37 + 11) & 0xff;
  return { env, args: [BigInt(mem.base), BigInt(memBytes)] };
}

function program(source: string | Insn[]): Insn[] {
  return typeof source === 'string' ? assemble(source) : source;
}

/** Run in every mode; all must agree; return the result. */
function run(source: string | Insn[], insnLimit?: number): RunResult {
  const insns = program(source);
  let first: RunResult | undefined;
  for (const mode of MODES) {
    const s = setup(64, insnLimit);
    const result = compileJit({ name: 't', insns }, mode).run(s.env, s.args);
    if (first === undefined) first = result;
    else assert.deepEqual(result, first, `mode ${JSON.stringify(mode)} differs`);
  }
  return first!;
}

function r0(source: string | Insn[]): bigint {
  return run(source).r0;
}

/** The fault of a run in every mode (all must fault with the same kind and pc). */
function fault(source: string | Insn[], modes = MODES, insnLimit?: number): ExecutionFault {
  const insns = program(source);
  let first: ExecutionFault | undefined;
  for (const mode of modes) {
    const s = setup(64, insnLimit);
    const engine = compileJit({ name: 't', insns }, mode);
    let caught: unknown;
    try {
      engine.run(s.env, s.args);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof ExecutionFault, `mode ${JSON.stringify(mode)}: expected an ExecutionFault, got ${String(caught)}`);
    if (first === undefined) first = caught;
    else {
      assert.equal(caught.kind, first.kind);
      assert.equal(caught.pc, first.pc);
    }
  }
  return first!;
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

test('division and modulo by zero follow eBPF, not WebAssembly (no trap)', () => {
  assert.equal(r0('mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit'), 0n);
  assert.equal(r0('mov %r0, 7\nmov %r1, 0\nmod %r0, %r1\nexit'), 7n);
  assert.equal(r0('mov %r0, 7\ndiv %r0, 0\nexit'), 0n);
  assert.equal(r0('mov %r0, 7\nmod %r0, 0\nexit'), 7n);
  // 32-bit: x % 0 keeps the low word and zero-extends it
  assert.equal(r0('lddw %r0, 0x1234567800000009\nmov32 %r1, 0\nmod32 %r0, %r1\nexit'), 9n);
  assert.equal(r0('lddw %r0, 0x1234567800000009\nmov32 %r1, 0\ndiv32 %r0, %r1\nexit'), 0n);
  assert.equal(r0('mov %r0, -7\nmov %r1, 0\nsdiv %r0, %r1\nexit'), 0n);
  assert.equal(r0('mov %r0, -7\nmov %r1, 0\nsmod %r0, %r1\nexit'), U64(-7n));
  assert.equal(r0('mov32 %r0, -7\nmov32 %r1, 0\nsmod32 %r0, %r1\nexit'), 0xfffffff9n);
});

test('INT_MIN / -1 wraps and INT_MIN % -1 is 0 (WebAssembly would trap)', () => {
  const min64 = 'lddw %r0, 0x8000000000000000\n';
  assert.equal(r0(`${min64}mov %r1, -1\nsdiv %r0, %r1\nexit`), 0x8000000000000000n);
  assert.equal(r0(`${min64}sdiv %r0, -1\nexit`), 0x8000000000000000n);
  assert.equal(r0(`${min64}mov %r1, -1\nsmod %r0, %r1\nexit`), 0n);
  assert.equal(r0(`${min64}smod %r0, -1\nexit`), 0n);
  assert.equal(r0('mov32 %r0, 0x80000000\nmov32 %r1, -1\nsdiv32 %r0, %r1\nexit'), 0x80000000n);
  assert.equal(r0('mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit'), 0x80000000n);
  assert.equal(r0('mov32 %r0, 0x80000000\nmov32 %r1, -1\nsmod32 %r0, %r1\nexit'), 0n);
  // ordinary signed division truncates toward zero; the remainder has the dividend's sign
  assert.equal(r0('mov %r0, -7\nmov %r1, 2\nsdiv %r0, %r1\nexit'), U64(-3n));
  assert.equal(r0('mov %r0, -7\nmov %r1, 2\nsmod %r0, %r1\nexit'), U64(-1n));
  // unsigned 64-bit division by a negative immediate: the immediate is sign-extended first
  assert.equal(r0('mov %r0, -1\ndiv %r0, -1\nexit'), 1n);
});

test('32-bit results are zero-extended into 64 bits; shifts mask their amount', () => {
  assert.equal(r0('mov %r0, -1\nadd32 %r0, 1\nexit'), 0n);
  assert.equal(r0('mov %r0, -1\nmov32 %r0, %r0\nexit'), 0xffffffffn);
  assert.equal(r0('mov32 %r0, -2\nneg32 %r0\nexit'), 2n);
  assert.equal(r0('mov32 %r0, 1\nlsh32 %r0, 33\nexit'), 2n);
  assert.equal(r0('mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit'), 2n);
  assert.equal(r0('mov32 %r0, 0x80000000\narsh32 %r0, 4\nexit'), 0xf8000000n);
  assert.equal(r0('lddw %r0, 0x8000000000000000\narsh %r0, 63\nexit'), U64(-1n));
  assert.equal(r0('mov %r0, 3\nmul32 %r0, -1\nexit'), 0xfffffffdn);
});

test('byte swaps and endianness conversions', () => {
  assert.equal(r0('lddw %r0, 0x1122334455667788\nbe16 %r0\nexit'), 0x8877n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nbe32 %r0\nexit'), 0x88776655n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nbe64 %r0\nexit'), 0x8877665544332211n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nle16 %r0\nexit'), 0x7788n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nle32 %r0\nexit'), 0x55667788n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nle64 %r0\nexit'), 0x1122334455667788n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nbswap16 %r0\nexit'), 0x8877n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nbswap32 %r0\nexit'), 0x88776655n);
  assert.equal(r0('lddw %r0, 0x1122334455667788\nbswap64 %r0\nexit'), 0x8877665544332211n);
});

test('sign-extending moves and loads', () => {
  assert.equal(r0('mov %r1, 0x80\nmovsx864 %r0, %r1\nexit'), U64(-128n));
  assert.equal(r0('mov %r1, 0x8000\nmovsx1664 %r0, %r1\nexit'), U64(-32768n));
  assert.equal(r0('mov32 %r1, 0x80000000\nmovsx3264 %r0, %r1\nexit'), 0xffffffff80000000n);
  assert.equal(r0('mov %r1, 0x80\nmovsx832 %r0, %r1\nexit'), 0xffffff80n);
  assert.equal(r0('mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit'), 0xffff8000n);
  // mem[i] = (i * 37 + 11) & 0xff: mem[3] = 0x7a, mem[4] = 0x9f
  assert.equal(r0('ldxsb %r0, [%r1+4]\nexit'), U64(0x9fn - 256n));
  assert.equal(r0('ldxb %r0, [%r1+4]\nexit'), 0x9fn);
  assert.equal(r0('ldxsh %r0, [%r1+3]\nexit'), U64(0x9f7an - 65536n));
  assert.equal(r0('ldxh %r0, [%r1+3]\nexit'), 0x9f7an);
  assert.equal(r0('stw [%r1+8], -2\nldxsw %r0, [%r1+8]\nexit'), U64(-2n));
  assert.equal(r0('stw [%r1+8], -2\nldxw %r0, [%r1+8]\nexit'), 0xfffffffen);
});

test('stores of every width, with positive and negative offsets', () => {
  const src = `
    lddw %r2, 0x1122334455667788
    stxdw [%r10-16], %r2
    stxw [%r10-24], %r2
    stxh [%r10-32], %r2
    stxb [%r10-40], %r2
    add %r1, 16
    stb [%r1-8], 0x42
    ldxb %r3, [%r1-8]
    ldxdw %r0, [%r10-16]
    ldxw %r4, [%r10-24]
    add %r0, %r4
    ldxh %r4, [%r10-32]
    add %r0, %r4
    ldxb %r4, [%r10-40]
    add %r0, %r4
    add %r0, %r3
    exit`;
  assert.equal(r0(src), U64(0x1122334455667788n + 0x55667788n + 0x7788n + 0x88n + 0x42n));
});

test('atomics: plain, fetch, exchange and compare-exchange, 32 and 64 bits', () => {
  const src = `
    lddw %r2, 0x00000001ffffffff
    stxdw [%r10-8], %r2
    mov %r3, 1
    lock add [%r10-8], %r3
    ldxdw %r4, [%r10-8]
    lddw %r5, 0x200000000
    jne %r4, %r5, fail64
    mov %r3, 5
    lock fetch add32 [%r10-8], %r3
    jne %r3, 0, fail32
    ldxw %r4, [%r10-8]
    jne %r4, 5, fail32
    mov %r0, 5
    mov %r3, 9
    lock cmpxchg32 [%r10-8], %r3
    jne %r0, 5, failcx
    ldxw %r4, [%r10-8]
    jne %r4, 9, failcx
    mov %r0, 77
    lock cmpxchg [%r10-8], %r3
    lddw %r5, 0x200000009
    jne %r0, %r5, failcx
    mov %r3, 3
    lock xchg [%r10-8], %r3
    jne %r3, %r5, failx
    ldxdw %r4, [%r10-8]
    jne %r4, 3, failx
    mov %r3, 6
    lock fetch or [%r10-8], %r3
    mov %r3, 12
    lock fetch and [%r10-8], %r3
    jne %r3, 7, faila
    mov %r3, 1
    lock fetch xor [%r10-8], %r3
    jne %r3, 4, faila
    ldxdw %r0, [%r10-8]
    exit
    fail64:
    mov %r0, 100
    exit
    fail32:
    mov %r0, 101
    exit
    failcx:
    mov %r0, 102
    exit
    failx:
    mov %r0, 103
    exit
    faila:
    mov %r0, 104
    exit`;
  assert.equal(r0(src), 5n);
});

test('lddw and gotol (JMP32 JA with a 32-bit offset)', () => {
  const insns: Insn[] = [
    ...assemble('lddw %r0, 0xfedcba9876543210'),
    insn(InsnClass.JMP32 | JmpOp.JA, 0, 0, 0, 1), // gotol +1
    insn(InsnClass.ALU64 | 0xb0, 0, 0, 0, 1), // skipped: mov r0, 1
    insn(InsnClass.JMP | JmpOp.EXIT),
  ];
  assert.equal(r0(insns), 0xfedcba9876543210n);
});

test('bpf-to-bpf calls: r6..r9 callee-saved, r10 per frame, r1..r5 passed', () => {
  const src = `
    mov %r6, 6
    mov %r9, 9
    mov %r1, 40
    mov %r2, 2
    stxdw [%r10-8], %r1
    call local f
    add %r0, %r6
    add %r0, %r9
    ldxdw %r1, [%r10-8]
    add %r0, %r1
    exit
    f:
    mov %r6, 1000
    mov %r9, 1000
    mov %r0, %r1
    add %r0, %r2
    stxdw [%r10-8], %r6
    mov %r3, %r10
    call local g
    exit
    g:
    sub %r3, %r10
    add %r0, %r3
    exit`;
  // f: r0 = 42; g: r3 = r10(f) - r10(g) = 512; 42 + 512 + 6 + 9 + 40 (the caller's frame is intact)
  assert.equal(r0(src), 42n + 512n + 6n + 9n + 40n);
});

test('call depth is limited to 8 frames', () => {
  const src = `
    mov %r0, 0
    call local f
    exit
    f:
    add %r0, 1
    call local f
    exit`;
  const f = fault(src);
  assert.equal(f.kind, 'CALL_DEPTH');
  assert.equal(f.pc, 4);
  // 7 nested calls are fine
  const ok = `
    mov %r0, 0
    mov %r6, 7
    call local f
    exit
    f:
    add %r0, 1
    sub %r6, 1
    jeq %r6, 0, done
    call local f
    done:
    exit`;
  assert.equal(r0(ok), 7n);
});

test('helper calls: arguments, result, memory written by the helper, unknown helper', () => {
  assert.equal(r0('mov %r1, 5\nmov %r2, 7\nmov %r5, 100\ncall 1\nexit'), 122n);
  assert.equal(r0('call 2\nldxb %r0, [%r1]\nexit'), 0x5an);
  const f = fault('mov %r0, 0\ncall 99\nexit');
  assert.equal(f.kind, 'UNKNOWN_HELPER');
  assert.equal(f.pc, 1);
});

test('insnsExecuted counts every executed instruction (lddw once), across calls and loops', () => {
  const result = run(`
    lddw %r0, 0
    mov %r1, 10
    loop:
    add %r0, %r1
    call local f
    sub %r1, 1
    jne %r1, 0, loop
    exit
    f:
    mov %r2, 1
    exit`);
  assert.equal(result.r0, 55n);
  // lddw + mov + 10 * (add, call, sub, jne, mov, exit) + exit
  assert.equal(result.insnsExecuted, 2 + 10 * 6 + 1);
});

test('the executed-instruction limit stops infinite loops and straight-line overruns', () => {
  const f = fault('mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit', MODES, 1000);
  assert.equal(f.kind, 'INSN_LIMIT');
  assert.equal(fault('mov %r0, 0\nmov %r0, 1\nmov %r0, 2\nexit', MODES, 3).kind, 'INSN_LIMIT');
  assert.equal(run('mov %r0, 0\nmov %r0, 1\nmov %r0, 2\nexit', 4).insnsExecuted, 4);
});

test('out-of-memory accesses become OUT_OF_BOUNDS faults naming the instruction', () => {
  // far outside the 64 KiB address space: a wasm trap in unchecked mode, a region miss in checked mode
  const src = 'mov %r0, 0\nlddw %r2, 0x10000000\nldxdw %r0, [%r2]\nexit';
  const f = fault(src);
  assert.equal(f.kind, 'OUT_OF_BOUNDS');
  assert.equal(f.pc, 3);
  const store = fault('mov %r0, 0\nmov %r2, -8\nstxdw [%r2], %r0\nexit');
  assert.equal(store.kind, 'OUT_OF_BOUNDS');
  assert.equal(store.pc, 2);
  // checked mode also catches accesses inside the memory but outside every region (NULL)
  const nul = fault('mov %r2, 0\nldxb %r0, [%r2+16]\nexit', MODES.filter((m) => m.checked));
  assert.equal(nul.kind, 'OUT_OF_BOUNDS');
  assert.equal(nul.pc, 1);
});

test('a trap inside a subprogram names the subprogram\'s instruction', () => {
  const src = `
    mov %r0, 0
    call local f
    exit
    f:
    mov %r0, 1
    lddw %r2, 0x40000000
    ldxw %r0, [%r2+4]
    exit`;
  const f = fault(src);
  assert.equal(f.kind, 'OUT_OF_BOUNDS');
  assert.equal(f.pc, 6);
});

test('misaligned atomics fault', () => {
  const f = fault('mov %r0, 0\nmov %r3, 1\nlock add [%r10-12], %r3\nexit');
  assert.equal(f.kind, 'MISALIGNED_ATOMIC');
  assert.equal(f.pc, 2);
});

test('invalid instructions and bad jumps fault when executed, not at compile time', () => {
  const bad = [...assemble('mov %r0, 1\nja +1'), insn(0xff), insn(InsnClass.JMP | JmpOp.EXIT)];
  assert.equal(r0(bad), 1n); // the invalid slot is jumped over
});

test('an invalid opcode on the path faults with INVALID_INSN; a jump outside the program with PC_OUT_OF_RANGE', () => {
  const f = fault([...assemble('mov %r0, 1'), insn(0xff), insn(InsnClass.JMP | JmpOp.EXIT)]);
  assert.equal(f.kind, 'INVALID_INSN');
  assert.equal(f.pc, 1);
  const j = fault([...assemble('mov %r0, 1'), insn(InsnClass.JMP | JmpOp.JA, 0, 0, 5), insn(InsnClass.JMP | JmpOp.EXIT)]);
  assert.equal(j.kind, 'PC_OUT_OF_RANGE');
  assert.equal(j.pc, 1);
  const off = fault(assemble('mov %r0, 1\nmov %r0, 2'));
  assert.equal(off.kind, 'PC_OUT_OF_RANGE');
  assert.equal(off.pc, 1);
  assert.equal(fault([]).kind, 'PC_OUT_OF_RANGE');
});

test('an irreducible graph (a loop with two entries) compiles to the dispatch loop and runs', () => {
  // r1 = 0: enter the loop at b; r1 != 0: enter at a. Each iteration adds to r0.
  const src = `
    mov %r0, 0
    mov %r2, 5
    jeq %r1, 0, b
    a:
    add %r0, 1
    b:
    add %r0, 10
    sub %r2, 1
    jne %r2, 0, a
    exit`;
  const engine = compileJit({ name: 'irr', insns: assemble(src) });
  assert.deepEqual(engine.compiled.shapes, ['dispatch']);
  const s = setup();
  assert.equal(engine.run(s.env, [0n]).r0, 54n);
  assert.equal(engine.run(s.env, [1n]).r0, 55n);
  assert.deepEqual(compileJit({ name: 'loop', insns: assemble('mov %r0, 3\nl:\nsub %r0, 1\njne %r0, 0, l\nexit') }).compiled.shapes, [
    'structured',
  ]);
});

test('one compiled program runs in several address spaces and keeps them apart', () => {
  const engine = compileJit({ name: 'm', insns: assemble('ldxdw %r0, [%r1]\nadd %r0, 1\nstxdw [%r1], %r0\nexit') });
  const a = setup();
  const b = setup();
  assert.ok(engine instanceof JitProgram);
  engine.run(a.env, a.args);
  engine.run(a.env, a.args);
  const rb = engine.run(b.env, b.args);
  const ra = engine.run(a.env, a.args);
  assert.equal(ra.r0 - rb.r0, 2n);
});
