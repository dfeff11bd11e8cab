// `xrp verify FILE.o [--section NAME] [--type xrp|mem|socket]`: run the verifier on
// the programs of an object. Exit 0 when every selected program is accepted
// (printing processed instructions, states and time), 1 with the log otherwise.

import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import type { BpfObject, ObjectProgram } from '../../bpf/elf/elf.ts';
import { VERIFY_INSN_BUDGET_DEFAULT, VERIFY_STATE_BUDGET_DEFAULT } from '../../bpf/verifier/budget.ts';
import type { ProgramType } from '../../bpf/verifier/types.ts';
import { CommandError, UsageError } from '../errors.ts';
import { choiceOption, intIn } from '../options.ts';
import { loadVerifyPath } from '../verify-loader.ts';

interface VerifyCliOptions {
  section?: string;
  type: ProgramType;
  memSize: number;
  turbofan?: boolean;
  insnBudget?: number;
  stateBudget?: number;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('verify the eBPF programs of an ELF object; exit 0 if all are accepted, 1 with the verifier log otherwise')
    .argument('<file>', 'an object from clang -target bpf (for example bpf/kv/get.bpf.o)')
    .option('--section <name>', 'verify only the programs of this section (or this function name)')
    .addOption(choiceOption('--type <type>', 'program type: xrp (r1 = struct bpf_xrp *), mem (r1 = buffer, r2 = its size) or socket (a socket filter; its context is not modelled)', ['xrp', 'mem', 'socket'], 'xrp'))
    .option('--mem-size <bytes>', 'buffer size for --type mem', intIn(1), 4096)
    .option('--insn-budget <n>', `stop with "too complex" after this many processed instructions (default ${VERIFY_INSN_BUDGET_DEFAULT}; the kernel's limit is 1000000)`, intIn(1))
    .option('--state-budget <n>', `stop with "too complex" after storing this many states (default ${VERIFY_STATE_BUDGET_DEFAULT})`, intIn(1))
    .option('--turbofan', "keep V8's optimizing compiler on (off by default: for one short verification its background compilation costs more than it saves)")
    .action(async (file: string, options: VerifyCliOptions) => {
      // This command lives for one verification, too short for V8's optimizing
      // compiler to pay off: its background threads took two thirds of the CPU
      // and, on 2 shared cores, starved the main thread (kv_range: 340 ms wall
      // with it, 135 ms without; 150,000 processed insns: 940 vs 760 ms). Set
      // before any verifier code has run, so nothing is optimized yet.
      if (options.turbofan !== true) setFlagsFromString('--no-opt');
      const type = options.type;
      const memSizeBytes = options.memSize;
      const insnLimit: number | undefined = options.insnBudget;
      const stateLimit: number | undefined = options.stateBudget;
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (error) {
        throw new CommandError(`cannot read ${file}: ${(error as Error).message}`);
      }
      // The ELF loader and the verifier come from the code-cached bundle of the
      // compiled package (verify-loader.ts), loaded after the flag above is set.
      const loaded = await loadVerifyPath();
      const { verify } = loaded.api;
      let object: BpfObject;
      try {
        object = loaded.api.loadElf(bytes, file);
      } catch (error) {
        // the bundle has its own copy of the error classes: carry the message over as ours
        if (error instanceof loaded.api.XrpError) throw new CommandError(error.message);
        throw error;
      }
      const selected: ObjectProgram[] = object.programs.filter(
        (p) => options.section === undefined || p.sectionName === options.section || p.name === options.section,
      );
      if (selected.length === 0) {
        const names = object.programs.map((p) => `${p.name} (section ${p.sectionName})`).join(', ');
        throw new UsageError(`${file}: no program in section "${options.section}"; programs: ${names || 'none'}`);
      }
      let rejected = 0;
      for (const p of selected) {
        const result = verify(p, { type, maps: object.maps, memSizeBytes, ...(insnLimit !== undefined ? { insnLimit } : {}), ...(stateLimit !== undefined ? { stateLimit } : {}) });
        const { processedInsns, states, timeMs } = result.stats;
        if (result.ok) {
          console.log(`${p.name} (section ${p.sectionName}, ${p.insns.length} insns): accepted; processed ${processedInsns} insns, ${states} states, ${timeMs.toFixed(1)} ms`);
        } else {
          rejected++;
          console.log(`${p.name} (section ${p.sectionName}, ${p.insns.length} insns): REJECTED after ${processedInsns} insns, ${timeMs.toFixed(1)} ms`);
          for (const line of result.log) console.log(`  ${line}`);
        }
      }
      // a missing or rejected cache (another Node, say) is written anew; not with
      // --turbofan, whose flags V8 would tie the cache to
      if (options.turbofan !== true) loaded.saveCodeCache();
      if (rejected > 0) process.exitCode = 1;
    });
}
