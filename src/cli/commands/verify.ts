// `xrp verify FILE.o [--section NAME] [--type xrp|mem|socket]`: run the verifier on
// the programs of an object. Exit 0 when every selected program is accepted
// (printing processed instructions, states and time), 1 with the log otherwise.
// The command itself is verify-run.ts (verify-fast.ts parses the plain forms of the
// command line without this module and commander).

import type { Command } from 'commander';
import { VERIFY_INSN_BUDGET_DEFAULT, VERIFY_STATE_BUDGET_DEFAULT } from '../../bpf/verifier/budget.ts';
import { choiceOption, intIn } from '../options.ts';
import { runVerify, VERIFY_MEM_SIZE_BYTES_DEFAULT, VERIFY_PROGRAM_TYPE_DEFAULT, VERIFY_PROGRAM_TYPES, type VerifyCliOptions } from '../verify-run.ts';

export function register(program: Command): void {
  program
    .command('verify')
    .description('verify the eBPF programs of an ELF object; exit 0 if all are accepted, 1 with the verifier log otherwise')
    .argument('<file>', 'an object from clang -target bpf (for example bpf/kv/get.bpf.o)')
    .option('--section <name>', 'verify only the programs of this section (or this function name)')
    .addOption(choiceOption('--type <type>', 'program type: xrp (r1 = struct bpf_xrp *), mem (r1 = buffer, r2 = its size) or socket (a socket filter; its context is not modelled)', VERIFY_PROGRAM_TYPES, VERIFY_PROGRAM_TYPE_DEFAULT))
    .option('--mem-size <bytes>', 'buffer size for --type mem', intIn(1), VERIFY_MEM_SIZE_BYTES_DEFAULT)
    .option('--insn-budget <n>', `stop with "too complex" after this many processed instructions (default ${VERIFY_INSN_BUDGET_DEFAULT}; the kernel's limit is 1000000)`, intIn(1))
    .option('--state-budget <n>', `stop with "too complex" after storing this many states (default ${VERIFY_STATE_BUDGET_DEFAULT})`, intIn(1))
    .option('--turbofan', "keep V8's optimizing compiler on (off by default: for one short verification its background compilation costs more than it saves)")
    .action((file: string, options: VerifyCliOptions) => runVerify(file, options));
}
