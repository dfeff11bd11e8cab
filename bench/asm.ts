// Throughput of the assembler and disassembler over the bpf_conformance corpus:
// nanoseconds per instruction slot for assemble (uBPF syntax), disassemble (llvm style),
// assemble (llvm style) and formatUbpf. Run: node --import tsx bench/asm.ts [rounds]

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assemble } from '../src/bpf/asm/asm.ts';
import { readConformanceFile } from '../src/bpf/conformance/file.ts';
import { disassemble, formatUbpf } from '../src/bpf/asm/disasm.ts';
import { benchArgs } from './args.ts';

const CORPUS = fileURLToPath(new URL('../test/fixtures/bpf_conformance/tests', import.meta.url));
const cl = benchArgs({
  script: 'bench/asm.ts',
  usage: 'Usage: node --import tsx bench/asm.ts [ROUNDS]\n  ROUNDS  timed rounds over the bpf_conformance corpus per measurement (default 50)',
  options: {},
  positionals: true,
});
if (cl.positionals.length > 1) cl.fail(`unexpected argument '${cl.positionals[1] ?? ''}'`);
const rounds = cl.positiveInt('ROUNDS', cl.positionals[0] ?? '50');

const sources = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.data'))
  .sort()
  .map((f) => readConformanceFile(join(CORPUS, f)).asm!);
const programs = sources.map((s) => assemble(s));
const listings = programs.map((p) => disassemble(p).join('\n'));
const slots = programs.reduce((n, p) => n + p.length, 0);

function measure(name: string, work: () => void): void {
  work(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) work();
  const ns = Number(process.hrtime.bigint() - start) / (rounds * slots);
  console.log(`${name.padEnd(28)} ${ns.toFixed(0).padStart(6)} ns/slot`);
}

console.log(`${programs.length} programs, ${slots} slots, ${rounds} rounds`);
measure('assemble (uBPF syntax)', () => sources.forEach((s) => assemble(s, { syntax: 'ubpf' })));
measure('assemble (llvm style)', () => listings.forEach((s) => assemble(s, { syntax: 'llvm' })));
measure('disassemble (llvm style)', () => programs.forEach((p) => disassemble(p)));
measure('formatUbpf', () => programs.forEach((p) => formatUbpf(p)));
