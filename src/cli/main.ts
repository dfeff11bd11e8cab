#!/usr/bin/env node
// The `xrp` command. Each command group lives in src/cli/commands/<group>.ts and
// exports `register(program)`; this file only wires them together.

import { Command } from 'commander';
import { XrpError } from '../base/errors.ts';
import { register as registerAsm } from './commands/asm.ts';
import { register as registerBench } from './commands/bench.ts';
import { register as registerConformance } from './commands/conformance.ts';
import { register as registerDemo } from './commands/demo.ts';
import { register as registerFs } from './commands/fs.ts';
import { register as registerKv } from './commands/kv.ts';
import { register as registerProgDump } from './commands/prog.ts';
import { register as registerProgRun } from './commands/prog-run.ts';
import { register as registerStack } from './commands/stack.ts';
import { register as registerStruct } from './commands/struct.ts';
import { register as registerVerify } from './commands/verify.ts';
import { register as registerYcsb } from './commands/ycsb.ts';

const program = new Command('xrp')
  .description('XRP in TypeScript: eBPF storage functions over an emulated NVMe stack, and on real files')
  .showHelpAfterError();

// Command groups register themselves here (one import and one call per group).
registerAsm(program);
registerBench(program);
registerConformance(program);
registerDemo(program);
registerFs(program);
registerKv(program);
registerProgDump(program);
registerProgRun(program);
registerStack(program);
registerStruct(program);
registerVerify(program);
registerYcsb(program);

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof XrpError) {
      console.error(`xrp: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}

await main();
