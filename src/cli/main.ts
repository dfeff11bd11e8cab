#!/usr/bin/env node
// The `xrp` command. Each command group lives in src/cli/commands/<group>.ts and
// exports `register(program)`; this file only wires them together.

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { XrpError } from '../bpf/errors.ts';
import { EXIT_OK, EXIT_USAGE, exitCodeOf } from './errors.ts';
import { register as registerAsm } from './commands/asm.ts';
import { register as registerBench } from './commands/bench.ts';
import { register as registerConformance } from './commands/conformance.ts';
import { register as registerDemo } from './commands/demo.ts';
import { register as registerFs } from './commands/fs.ts';
import { register as registerKv } from './commands/kv.ts';
import { register as registerProgDump } from './commands/prog.ts';
import { register as registerProgRun } from './commands/prog-run.ts';
import { register as registerSf } from './commands/sf.ts';
import { register as registerStack } from './commands/stack.ts';
import { register as registerStruct } from './commands/struct.ts';
import { register as registerVerify } from './commands/verify.ts';

/** The package's version (package.json is two levels up from src/cli and from dist/cli alike). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

// Settings made here before the groups register are inherited by every subcommand:
// parser errors throw (exitOverride) so that main() gives them the usage exit code,
// and print one line and a pointer to the help instead of the whole help.
const program = new Command('xrp')
  .description('XRP in TypeScript: eBPF storage functions over an emulated NVMe stack, and on real files')
  .version(packageVersion(), '-V, --version', 'print the version and exit')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`xrp: ${text.replace(/^error: /, '')}`) })
  .showHelpAfterError('(add --help for usage)');

// Command groups register themselves here (one import and one call per group).
registerAsm(program);
registerBench(program);
registerConformance(program);
registerDemo(program);
registerFs(program);
registerKv(program);
registerProgDump(program);
registerProgRun(program);
registerSf(program);
registerStack(program);
registerStruct(program);
registerVerify(program);

/** Exit codes: 0 success, 1 failure or rejection, 2 usage (src/cli/errors.ts). */
async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed the message (or the help, or the version) already
      process.exit(error.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
    }
    if (error instanceof XrpError) {
      console.error(`xrp: ${error.message}`);
      process.exit(exitCodeOf(error));
    }
    throw error;
  }
}

await main();
