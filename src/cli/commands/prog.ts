// `xrp prog dump FILE.o`: what the ELF loader sees in an object: sections,
// programs, maps, relocations, symbols and each program's disassembly.
// `prog run` lives in prog-run.ts; both get-or-create the `prog` group.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { disassembleInsn } from '../../bpf/asm/disasm.ts';
import { formatDump } from '../../bpf/elf/dump.ts';
import { findProgram, loadElf } from '../../bpf/elf/elf.ts';
import { XrpError } from '../../base/errors.ts';
import { UsageError } from '../errors.ts';
class ProgDumpError extends XrpError {
  constructor(message: string) {
    super('PROG_DUMP', message);
  }
}

/** The `prog` command group, created on first use. */
export function progCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'prog') ?? program.command('prog').description('eBPF programs');
}

interface DumpCliOptions {
  program?: string;
  disasm: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  progCommand(program)
    .command('dump')
    .description('list the sections, programs, maps, relocations and symbols of an ELF object, and disassemble its programs')
    .argument('<file>', 'an object from clang -target bpf (for example bpf/examples/lookup.bpf.o)')
    .option('--program <name>', 'disassemble only this program (function or section name)')
    .option('--no-disasm', 'omit the disassembly')
    .option('--json', 'print the loaded object as JSON instead')
    .action((file: string, options: DumpCliOptions) => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (error) {
        throw new ProgDumpError(`cannot read ${file}: ${(error as Error).message}`);
      }
      const object = loadElf(bytes, file);
      if (options.program !== undefined) {
        try {
          findProgram(object, options.program);
        } catch (error) {
          // a name the object does not have: the command line is wrong
          throw new UsageError((error as Error).message);
        }
      }
      if (options.json) {
        const json = JSON.stringify(object, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value), 2);
        console.log(json);
        return;
      }
      const dump = formatDump(object, (insns, pc) => disassembleInsn(insns, pc), {
        ...(options.program !== undefined ? { programName: options.program } : {}),
        disassembly: options.disasm,
      });
      console.log(dump);
    });
}
