// `xrp asm FILE`: assemble uBPF or llvm-style assembler (or the `-- asm` section of a
// bpf_conformance .data file) and print it back in the chosen syntax, or write raw bytecode.
// `xrp disasm FILE`: disassemble raw little-endian bytecode.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { assemble } from '../../bpf/asm/asm.ts';
import type { AsmSyntax } from '../../bpf/asm/asm.ts';
import { parseConformanceFile } from '../../bpf/conformance/file.ts';
import { disassemble, formatUbpf } from '../../bpf/asm/disasm.ts';
import { XrpError } from '../../base/errors.ts';
import { decode, encode } from '../../bpf/isa.ts';
import { choiceOption } from '../options.ts';
import type { Insn } from '../../bpf/isa.ts';

export class AsmCommandError extends XrpError {
  constructor(message: string) {
    super('ASM_COMMAND', message);
  }
}

const FORMATS = ['llvm', 'ubpf', 'hex'] as const;
type Format = (typeof FORMATS)[number];

function readOrFail(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new AsmCommandError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** One 64-bit word per slot, low byte = opcode: the notation of a `-- raw` section. */
function hexWords(insns: readonly Insn[]): string {
  const bytes = encode(insns);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words: string[] = [];
  for (let at = 0; at < bytes.length; at += 8) words.push(`0x${view.getBigUint64(at, true).toString(16).padStart(16, '0')}`);
  return words.join('\n');
}

function print(insns: readonly Insn[], format: Format): void {
  if (format === 'ubpf') console.log(formatUbpf(insns));
  else if (format === 'hex') console.log(hexWords(insns));
  else console.log(disassemble(insns).join('\n'));
}

export function register(program: Command): void {
  program
    .command('asm')
    .description('assemble uBPF or llvm-objdump style assembler (or the -- asm section of a .data file)')
    .argument('<file>', 'source file; a .data file uses its -- asm section')
    .addOption(choiceOption('--syntax <syntax>', 'auto (per line), ubpf or llvm', ['auto', 'ubpf', 'llvm'], 'auto'))
    .addOption(choiceOption('--format <format>', 'print as llvm (objdump style), ubpf or hex (64-bit words)', FORMATS, 'llvm'))
    .option('-o, --out <path>', 'also write the raw little-endian bytecode to this file')
    .action((file: string, options: { syntax: AsmSyntax; format: Format; out?: string }) => {
      const format = options.format;
      const text = readOrFail(file).toString('utf8');
      let source = text;
      let firstLine = 1;
      if (file.endsWith('.data')) {
        const parsed = parseConformanceFile(text, file);
        if (parsed.asm === undefined) throw new AsmCommandError(`${file} has no -- asm section`);
        source = parsed.asm;
        firstLine = parsed.asmFirstLine ?? 1;
      }
      const insns = assemble(source, { syntax: options.syntax, fileName: file, firstLine });
      if (options.out !== undefined) {
        try {
          writeFileSync(options.out, encode(insns));
        } catch (error) {
          throw new AsmCommandError(`cannot write ${options.out}: ${(error as Error).message}`);
        }
      }
      print(insns, format);
    });

  program
    .command('disasm')
    .description('disassemble raw little-endian eBPF bytecode')
    .argument('<file>', 'bytecode file (a multiple of 8 bytes)')
    .addOption(choiceOption('--format <format>', 'llvm (objdump style), ubpf or hex (64-bit words)', FORMATS, 'llvm'))
    .action((file: string, options: { format: Format }) => {
      print(decode(new Uint8Array(readOrFail(file))), options.format);
    });
}
