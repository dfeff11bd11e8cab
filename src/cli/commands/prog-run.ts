// `xrp prog run`: run one program with r1 = address of the given memory and
// r2 = its length, and print r0. The program comes from an ELF object (FILE.o,
// `--section` picks the program), uBPF assembler (`--asm FILE`) or raw bytecode
// (`--raw FILE`, or a FILE that is not ELF).

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { assemble } from '../../bpf/asm/asm.ts';
import { engineFactory, ENGINES } from '../../bpf/conformance/conformance.ts';
import { loadElf } from '../../bpf/elf/elf.ts';
import { createExecEnv, INSN_LIMIT_DEFAULT } from '../../bpf/engine.ts';
import { XrpError } from '../../base/errors.ts';
import type { HelperTable } from '../../bpf/helpers.ts';
import { createInterpreter } from '../../bpf/interp/interp.ts';
import { decode, type Program } from '../../bpf/isa.ts';
import { linkProgram } from '../../bpf/elf/link.ts';
import { AddressSpace } from '../../bpf/memory.ts';
import { createStdHelpers } from '../../bpf/std-helpers.ts';
import { UsageError } from '../errors.ts';
import { choiceOption, intIn } from '../options.ts';

export class ProgRunError extends XrpError {
  constructor(message: string) {
    super('PROG_RUN', message);
  }
}

interface RunOptions {
  section?: string;
  asm?: string;
  raw?: string;
  mem?: string;
  memFile?: string;
  trace?: boolean;
  engine: string;
  insnLimit: number;
}

const ADDRESS_SPACE_BYTES = 1 << 24;

function readInput(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new ProgRunError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Hex bytes, with or without spaces, `0x` prefixes allowed per byte or for the whole string. */
export function parseHexBytes(text: string): Uint8Array {
  const compact = text.replace(/0x/gi, '').replace(/[\s,:]/g, '');
  if (compact.length % 2 !== 0 || /[^0-9a-f]/i.test(compact)) {
    throw new ProgRunError(`--mem: "${text}" is not a sequence of hex bytes`);
  }
  const out = new Uint8Array(compact.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(compact.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** --mem: bad hex is a usage error. */
function hexOption(text: string): Uint8Array {
  try {
    return parseHexBytes(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function register(program: Command): void {
  const prog = program.commands.find((c) => c.name() === 'prog') ?? program.command('prog').description('eBPF programs');
  prog
    .command('run')
    .description('run a program with r1 = address of the memory and r2 = its length; prints r0')
    .argument('[file]', 'ELF object (.o) or raw bytecode')
    .option('--section <name>', 'program of the ELF object (section or function name)')
    .option('--asm <file>', 'uBPF assembler source instead of FILE')
    .option('--raw <file>', 'raw little-endian bytecode instead of FILE')
    .option('--mem <hex>', 'input memory as hex bytes')
    .option('--mem-file <path>', 'input memory from a file')
    .option('--trace', 'print every executed instruction with the registers it changed')
    .addOption(choiceOption('--engine <name>', 'execution engine', [...ENGINES.keys()], 'interp'))
    .option('--insn-limit <n>', 'stop after this many executed instructions', intIn(1), INSN_LIMIT_DEFAULT)
    .action((file: string | undefined, options: RunOptions) => {
      const sources = [file, options.asm, options.raw].filter((x) => x !== undefined);
      if (sources.length !== 1) throw new UsageError('give exactly one program: FILE, --asm FILE or --raw FILE');
      if (options.mem !== undefined && options.memFile !== undefined) throw new UsageError('give --mem or --mem-file, not both');
      const insnLimit = options.insnLimit;
      if (options.trace && options.engine !== 'interp') throw new UsageError('--trace needs --engine interp');

      const memory = new AddressSpace(ADDRESS_SPACE_BYTES);
      let helpers: HelperTable = new Map();
      let traceLines: string[] | undefined;
      let loaded: Program;
      if (options.asm !== undefined) {
        const text = new TextDecoder().decode(readInput(options.asm));
        loaded = { name: options.asm, insns: assemble(text, { fileName: options.asm, firstLine: 1 }) };
      } else {
        const path = options.raw ?? file;
        if (path === undefined) throw new UsageError('give exactly one program: FILE, --asm FILE or --raw FILE');
        const bytes = readInput(path);
        if (options.raw === undefined && ELF_MAGIC.every((b, i) => bytes[i] === b)) {
          const object = loadElf(bytes, path);
          const name = options.section ?? onlyProgram(object.programs.map((p) => p.name), path);
          const linked = linkProgram(object, name, memory);
          const std = createStdHelpers({ maps: linked.maps });
          helpers = std.table;
          traceLines = std.traceLines;
          loaded = linked.program;
        } else {
          loaded = { name: path, insns: decode(bytes) };
        }
      }
      const mem = options.mem !== undefined ? hexOption(options.mem) : options.memFile !== undefined ? readInput(options.memFile) : new Uint8Array(0);
      const env = createExecEnv(memory, helpers, insnLimit);
      const region = memory.mapBytes('mem', mem);
      const engine = options.trace
        ? createInterpreter(loaded, { trace: (line) => console.log(line) })
        : engineFactory(options.engine)(loaded);
      const result = engine.run(env, [BigInt(region.base), BigInt(mem.length)]);
      for (const line of traceLines ?? []) console.log(`trace_printk: ${line}`);
      console.log(`r0 = 0x${result.r0.toString(16)} (${result.r0})`);
      console.log(`${result.insnsExecuted} instructions executed`);
    });
}

function onlyProgram(names: string[], path: string): string {
  const [only, ...others] = names;
  if (only === undefined) throw new ProgRunError(`${path} holds no program`);
  if (others.length === 0) return only;
  throw new UsageError(`${path} holds ${names.length} programs (${names.join(', ')}): choose one with --section`);
}
