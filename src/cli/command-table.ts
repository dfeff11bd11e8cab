// The top-level commands of `xrp`, each with the module(s) that register it. main.ts
// loads only the module of the command being run (loading every command's code for
// `xrp --help` cost most of its start-up); for the top-level help and for unknown
// commands it lists these names and descriptions (test/cli/command-table.test.ts
// checks them against what the modules register).
//
// To add a command: write src/cli/commands/NAME.ts exporting `register(program)` and
// add a line here.

import type { Command } from 'commander';

export interface CommandModule {
  register(program: Command): void;
}

export interface TopCommand {
  name: string;
  description: string;
  modules: readonly (() => Promise<CommandModule>)[];
}

const asm = (): Promise<CommandModule> => import('./commands/asm.ts');

export const COMMANDS: readonly TopCommand[] = [
  { name: 'asm', description: 'assemble uBPF or llvm-objdump style assembler (or the -- asm section of a .data file)', modules: [asm] },
  { name: 'bench', description: 'run the evaluation (experiments by name or number; default: all) on the emulated machine; tables, CSV, JSON and an HTML report', modules: [() => import('./commands/bench.ts')] },
  { name: 'conformance', description: 'run every *.data file of a bpf_conformance test directory; prints failures and "N passed, M failed"', modules: [() => import('./commands/conformance.ts')] },
  { name: 'demo', description: 'a tour of the eBPF runtime: assemble, disassemble, trace and time a bundled program (FNV-1a hash) on the reference interpreter', modules: [() => import('./commands/demo.ts')] },
  { name: 'disasm', description: 'disassemble raw little-endian eBPF bytecode', modules: [asm] },
  { name: 'fs', description: 'xrpfs images: make one, copy files in and out, list', modules: [() => import('./commands/fs.ts')] },
  { name: 'kv', description: 'BPF-KV: the B+-tree store of the original XRP, on the emulated machine or (--engine native) on a real file', modules: [() => import('./commands/kv.ts')] },
  { name: 'prog', description: 'eBPF programs', modules: [() => import('./commands/prog.ts'), () => import('./commands/prog-run.ts')] },
  { name: 'sf', description: 'storage functions of your own, over any file', modules: [() => import('./commands/sf.ts')] },
  { name: 'stack', description: 'the emulated storage stack', modules: [() => import('./commands/stack.ts')] },
  { name: 'struct', description: 'the array chain and the on-disk skip list on the emulated machine', modules: [() => import('./commands/struct.ts')] },
  { name: 'verify', description: 'verify the eBPF programs of an ELF object; exit 0 if all are accepted, 1 with the verifier log otherwise', modules: [() => import('./commands/verify.ts')] },
  { name: 'ycsb', description: 'YCSB workloads over the WiredTiger-style B+-tree (emulated disk or real file)', modules: [() => import('./commands/ycsb.ts')] },
];

/**
 * Registers what `argv` (the arguments after `xrp`) needs: the modules of its command
 * (or of `help COMMAND`'s), or else every command's name and description only.
 */
export async function registerFor(program: Command, argv: readonly string[]): Promise<void> {
  const operands = argv.filter((a) => !a.startsWith('-'));
  const name = operands[0] === 'help' ? operands[1] : operands[0];
  const chosen = COMMANDS.find((c) => c.name === name);
  if (chosen !== undefined) {
    const loaded = new Set<() => Promise<CommandModule>>();
    for (const load of chosen.modules) {
      if (loaded.has(load)) continue;
      loaded.add(load);
      (await load()).register(program);
    }
    return;
  }
  for (const c of COMMANDS) program.command(c.name).description(c.description);
}

/** Every command's modules, registered (the docs generator and tests). */
export async function registerAll(program: Command): Promise<void> {
  const loaded = new Set<() => Promise<CommandModule>>();
  for (const c of COMMANDS) {
    for (const load of c.modules) {
      if (loaded.has(load)) continue;
      loaded.add(load);
      (await load()).register(program);
    }
  }
}
