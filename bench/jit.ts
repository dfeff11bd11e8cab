// Nanoseconds per executed instruction of the interpreter and the JIT on the
// uBPF benchmark shapes, and the JIT's compile time:
//   (a) ALU loop: 10 million iterations of multiply, add immediate, subtract 1,
//       jump-if-not-zero;
//   (b) the same loop with a stack store and load;
//   (c) a 1,000-instruction program of 500 basic blocks, run 1,000 times (each
//       run enters wasm from JS, so this includes the per-run entry cost);
//   compile time per 1,000 instructions (translation + WebAssembly.Module).
// V8 compiles wasm with Liftoff first and tiers hot functions up to TurboFan, so
// every figure is the best of several rounds after warm-up runs.
// Run: npm run bench:jit  (or node --import tsx bench/jit.ts)

import { createExecEnv, type Engine } from '../src/bpf/engine.ts';
import { generateProgram } from '../src/testing/program-gen.ts';
import { createInterpreter } from '../src/bpf/interp/interp.ts';
import { compileJit, compileModule } from '../src/bpf/jit/index.ts';
import { AluOp, InsnClass, JmpOp, Mode, Size, Source, insn, type Insn, type Program } from '../src/bpf/isa.ts';
import { AddressSpace } from '../src/bpf/memory.ts';
import { benchArgs } from './args.ts';

benchArgs({
  script: 'bench/jit.ts',
  usage: 'Usage: node --import tsx bench/jit.ts  (npm run bench:jit)\n  ns per executed instruction of the interpreter and the JIT, and JIT compile time; no options',
  options: {},
});

const ITERATIONS = 10_000_000;
const ALU64_K = InsnClass.ALU64 | Source.K;
const ROUNDS = 7;
const WARMUP_MS = 1500;

function loop(withStack: boolean): Insn[] {
  const body: Insn[] = [
    insn(ALU64_K | AluOp.MUL, 0, 0, 0, 3), // r0 *= 3
    insn(ALU64_K | AluOp.ADD, 0, 0, 0, 1), // r0 += 1
  ];
  if (withStack) {
    body.push(insn(InsnClass.STX | Mode.MEM | Size.DW, 10, 0, -8, 0)); // *(u64 *)(r10 - 8) = r0
    body.push(insn(InsnClass.LDX | Mode.MEM | Size.DW, 0, 10, -8, 0)); // r0 = *(u64 *)(r10 - 8)
  }
  body.push(insn(ALU64_K | AluOp.SUB, 1, 0, 0, 1)); // r1 -= 1
  body.push(insn(InsnClass.JMP | Source.K | JmpOp.JNE, 1, 0, -(body.length + 1), 0)); // if r1 != 0 goto loop
  return [insn(ALU64_K | AluOp.MOV, 0, 0, 0, 1), insn(ALU64_K | AluOp.MOV, 1, 0, 0, ITERATIONS), ...body, insn(InsnClass.JMP | JmpOp.EXIT)];
}

/**
 * 1,000 instructions in 500 basic blocks: 499 blocks of `r0 += k; if r0 == MAGIC goto out`
 * (a bounds-check-like branch that is never taken), then `out: r0 &= 0xffff; exit`.
 */
function blocks(): Insn[] {
  const insns: Insn[] = [];
  const blockCount = 499;
  for (let i = 0; i < blockCount; i++) {
    insns.push(insn(ALU64_K | AluOp.ADD, 0, 0, 0, (i * 7919) & 0xffff));
    const remaining = (blockCount - 1 - i) * 2; // slots between this jump and `out`
    insns.push(insn(InsnClass.JMP | Source.K | JmpOp.JEQ, 0, 0, remaining, 0x7fffffff));
  }
  insns.push(insn(ALU64_K | AluOp.AND, 0, 0, 0, 0xffff));
  insns.push(insn(InsnClass.JMP | JmpOp.EXIT));
  return insns;
}

interface Figure {
  nsPerInsn: number;
  insns: number;
  r0: bigint;
}

function measure(engine: Engine, runsPerRound: number): Figure {
  const env = createExecEnv(new AddressSpace(1 << 16), new Map(), 2e9);
  let best = Infinity;
  let insns = 0;
  let r0 = 0n;
  // Warm-up for WARMUP_MS: V8 runs new wasm code compiled by Liftoff and tiers hot
  // functions up to TurboFan in the background (long branch chains take TurboFan
  // a few hundred ms on a loaded machine); the interpreter's loop gets optimised too.
  const warmupEnd = process.hrtime.bigint() + BigInt(WARMUP_MS * 1e6);
  do {
    for (let i = 0; i < runsPerRound; i++) engine.run(env, []);
  } while (process.hrtime.bigint() < warmupEnd);
  for (let round = 0; round < ROUNDS; round++) {
    let executed = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < runsPerRound; i++) {
      const result = engine.run(env, []);
      executed += result.insnsExecuted;
      r0 = result.r0;
    }
    const ns = Number(process.hrtime.bigint() - start);
    insns = executed / runsPerRound;
    best = Math.min(best, ns / executed);
  }
  return { nsPerInsn: best, insns, r0 };
}

/**
 * Best per-round compile time per 1,000 instructions. Every round compiles programs
 * it has never seen: V8 caches compiled modules by their bytes, so compiling the
 * same program twice would measure the cache.
 */
function compileNsPer1000(rounds: Program[][]): { totalNs: number; translateNs: number } {
  let totalNs = Infinity;
  let translateNs = Infinity;
  for (const programs of rounds) {
    let ns = 0;
    let translate = 0;
    let insns = 0;
    for (const p of programs) {
      const start = process.hrtime.bigint();
      const compiled = compileModule(p);
      const translated = process.hrtime.bigint();
      new WebAssembly.Module(compiled.bytes);
      const end = process.hrtime.bigint();
      ns += Number(end - start);
      translate += Number(translated - start);
      insns += p.insns.length;
    }
    totalNs = Math.min(totalNs, ns / (insns / 1000));
    translateNs = Math.min(translateNs, translate / (insns / 1000));
  }
  return { totalNs, translateNs };
}

const cases: Array<{ name: string; program: Program; runs: number }> = [
  { name: '(a) ALU loop', program: { name: 'alu-loop', insns: loop(false) }, runs: 1 },
  { name: '(b) ALU+stack loop', program: { name: 'stack-loop', insns: loop(true) }, runs: 1 },
  { name: '(c) 500 blocks x1000', program: { name: 'blocks', insns: blocks() }, runs: 1000 },
];

console.log(`eBPF engines, ns per executed instruction (best of ${ROUNDS} rounds after warm-up)`);
console.log('(uBPF on the same bytecode, side by side: npm run bench:vs-ubpf -- --ubpf <checkout>)');
console.log(`${'case'.padEnd(22)} ${'interp'.padStart(8)} ${'jit'.padStart(8)}  insns/run`);
for (const c of cases) {
  const interp = measure(createInterpreter(c.program), c.runs);
  const jit = measure(compileJit(c.program), c.runs);
  if (interp.r0 !== jit.r0 || interp.insns !== jit.insns) {
    throw new Error(`${c.name}: engines disagree (interp r0=${interp.r0} insns=${interp.insns}, jit r0=${jit.r0} insns=${jit.insns})`);
  }
  console.log(
    `${c.name.padEnd(22)} ${interp.nsPerInsn.toFixed(3).padStart(8)} ${jit.nsPerInsn.toFixed(3).padStart(8)}  ${jit.insns}`,
  );
}

// Compile time: 10 rounds (the first 3 warm the compiler up) of 20 distinct
// generated programs of about 1,000 instructions each.
const compileRounds: Program[][] = [];
for (let round = 0; round < 13; round++) {
  const programs: Program[] = [];
  for (let i = 0; i < 20; i++) {
    const seed = 1000 + round * 20 + i;
    programs.push({ name: `gen-${seed}`, insns: generateProgram({ seed, bodyInsns: 1000 }).insns });
  }
  compileRounds.push(programs);
}
compileNsPer1000(compileRounds.slice(0, 3));
const compile = compileNsPer1000(compileRounds.slice(3));
console.log(
  `JIT compile time: ${(compile.totalNs / 1e6).toFixed(3)} ms per 1,000 instructions, of which translation ` +
    `${(compile.translateNs / 1e6).toFixed(3)} ms and WebAssembly.Module the rest (best of 10 rounds ` +
    `of 20 fresh programs of ~1,000 instructions)`,
);
