// Nanoseconds per executed instruction of the reference interpreter on two loops
// (the uBPF benchmark shapes): an ALU loop of 10 million iterations of multiply,
// add immediate, subtract 1, jump-if-not-zero; and the same loop with a stack
// store and load. Run: npm run bench:interp  (or node --import tsx bench/interp.ts)

import { createExecEnv } from '../src/bpf/engine.ts';
import { createInterpreter } from '../src/bpf/interp/interp.ts';
import { AluOp, InsnClass, JmpOp, Mode, Size, Source, insn, ldImm64, type Insn } from '../src/bpf/isa.ts';
import { AddressSpace } from '../src/bpf/memory.ts';
import { benchArgs } from './args.ts';

benchArgs({
  script: 'bench/interp.ts',
  usage: 'Usage: node --import tsx bench/interp.ts  (npm run bench:interp)\n  ns per executed instruction of the reference interpreter on the uBPF loop shapes; no options',
  options: {},
});

const ITERATIONS = 10_000_000;
const ALU64_K = InsnClass.ALU64 | Source.K;

function loop(withStack: boolean, wideMultiplier = false): Insn[] {
  const body: Insn[] = [
    wideMultiplier
      ? insn(InsnClass.ALU64 | Source.X | AluOp.MUL, 0, 6, 0, 0) // r0 *= r6 (a 41-bit multiplier)
      : insn(ALU64_K | AluOp.MUL, 0, 0, 0, 3), // r0 *= 3
    insn(ALU64_K | AluOp.ADD, 0, 0, 0, 1), // r0 += 1
  ];
  if (withStack) {
    body.push(insn(InsnClass.STX | Mode.MEM | Size.DW, 10, 0, -8, 0)); // *(u64 *)(r10 - 8) = r0
    body.push(insn(InsnClass.LDX | Mode.MEM | Size.DW, 0, 10, -8, 0)); // r0 = *(u64 *)(r10 - 8)
  }
  body.push(insn(ALU64_K | AluOp.SUB, 1, 0, 0, 1)); // r1 -= 1
  body.push(insn(InsnClass.JMP | Source.K | JmpOp.JNE, 1, 0, -(body.length + 1), 0)); // if r1 != 0 goto loop
  return [
    ...ldImm64(6, 0x100000001b3n),
    insn(ALU64_K | AluOp.MOV, 0, 0, 0, 1),
    insn(ALU64_K | AluOp.MOV, 1, 0, 0, ITERATIONS),
    ...body,
    insn(InsnClass.JMP | JmpOp.EXIT),
  ];
}

function measure(name: string, insns: Insn[]): void {
  const engine = createInterpreter({ name, insns });
  let best = Infinity;
  let executed = 0;
  let r0 = 0n;
  for (let round = 0; round < 5; round++) {
    const env = createExecEnv(new AddressSpace(1 << 16), new Map(), 1e9);
    const start = process.hrtime.bigint();
    const result = engine.run(env, []);
    const ns = Number(process.hrtime.bigint() - start);
    executed = result.insnsExecuted;
    r0 = result.r0;
    best = Math.min(best, ns / executed);
  }
  console.log(`${name.padEnd(22)} ${best.toFixed(2)} ns/insn  (${executed} insns, best of 5, r0=0x${r0.toString(16)})`);
}

console.log(`interpreter, ${ITERATIONS} iterations per loop (uBPF side by side: npm run bench:vs-ubpf -- --ubpf <checkout>)`);
measure('alu loop', loop(false));
measure('alu + stack loop', loop(true));
// A multiplier too wide for the exact-double carry shortcut: the 16-bit split path.
measure('alu loop, wide mul', loop(false, true));
