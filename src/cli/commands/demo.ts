// `xrp demo`: a short tour of the eBPF runtime on a
// bundled program: assemble it, disassemble it, run it under the reference
// interpreter with a trace summary, check r0 against a reference computed in
// TypeScript, and measure nanoseconds per executed instruction.

import type { Command } from 'commander';
import { assemble } from '../../bpf/asm/asm.ts';
import { disassembleInsn } from '../../bpf/asm/disasm.ts';
import { createExecEnv } from '../../bpf/engine.ts';
import { createInterpreter } from '../../bpf/interp/interp.ts';
import { encode, type Program } from '../../bpf/isa.ts';
import { AddressSpace } from '../../bpf/memory.ts';

/** FNV-1a (64-bit) of the buffer at r1 of length r2, in uBPF assembler. */
export const DEMO_ASM = `# r1 = buffer, r2 = length; r0 = FNV-1a 64-bit hash of the buffer
lddw %r0, 0xcbf29ce484222325
lddw %r6, 0x100000001b3
mov %r3, 0
loop:
jge %r3, %r2, done
mov %r4, %r1
add %r4, %r3
ldxb %r5, [%r4]
xor %r0, %r5
mul %r0, %r6
add %r3, 1
ja loop
done:
exit
`;

export function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h;
}

function runOnce(program: Program, input: Uint8Array, trace?: (line: string) => void): { r0: bigint; insns: number; ns: number } {
  const memory = new AddressSpace(input.length + (1 << 16));
  const env = createExecEnv(memory);
  const buffer = memory.mapBytes('buffer', input);
  const engine = createInterpreter(program, trace ? { trace } : {});
  const start = process.hrtime.bigint();
  const result = engine.run(env, [BigInt(buffer.base), BigInt(input.length)]);
  const ns = Number(process.hrtime.bigint() - start);
  return { r0: result.r0, insns: result.insnsExecuted, ns };
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('a tour of the eBPF runtime: assemble, disassemble, trace and time a bundled program (FNV-1a hash) on the reference interpreter')
    .action(() => {
      console.log('== 1. assemble (uBPF syntax)');
      console.log(DEMO_ASM.trimEnd().replace(/^/gm, '   '));
      const insns = assemble(DEMO_ASM, { fileName: 'demo.asm', firstLine: 1 });
      const prog: Program = { name: 'fnv1a', insns };
      console.log(`   -> ${insns.length} slots, ${encode(insns).length} bytes of bytecode`);

      console.log('\n== 2. disassemble');
      for (let pc = 0; pc < insns.length; pc++) {
        if (insns[pc - 1]?.code === 0x18) continue; // second slot of lddw
        console.log(`${String(pc).padStart(5)}: ${disassembleInsn(insns, pc)}`);
      }

      console.log('\n== 3. run on "hello, XRP" with --trace (first 14 lines)');
      const hello = new TextEncoder().encode('hello, XRP');
      const lines: string[] = [];
      const traced = runOnce(prog, hello, (line) => lines.push(line));
      for (const line of lines.slice(0, 14)) console.log(line);
      console.log(`   ... ${lines.length} instructions traced in all`);
      const expected = fnv1a64(hello);
      console.log(`   r0 = 0x${traced.r0.toString(16)}  (TypeScript reference: 0x${expected.toString(16)}, ${traced.r0 === expected ? 'equal' : 'DIFFERENT'})`);

      console.log('\n== 4. speed: hash 1 MiB');
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
      let best = Infinity;
      let last = runOnce(prog, big);
      for (let round = 0; round < 3; round++) {
        last = runOnce(prog, big);
        best = Math.min(best, last.ns / last.insns);
      }
      const ok = last.r0 === fnv1a64(big);
      console.log(`   ${last.insns} instructions, ${best.toFixed(2)} ns per instruction (best of 3), r0 ${ok ? 'matches' : 'DOES NOT match'} the reference`);
      if (traced.r0 !== expected || !ok) process.exitCode = 1;
    });
}
