// `xrp stack breakdown`: random O_DIRECT reads through the emulated Linux read
// path, with the mean time spent in each layer (the XRP paper's Table 1).

import type { Command } from 'commander';
import { formatBreakdown, runStackBreakdown } from '../../kernel/stack-breakdown.ts';
import { deviceOption, intIn } from '../options.ts';

export function register(program: Command): void {
  const stack = program.commands.find((c) => c.name() === 'stack') ?? program.command('stack').description('the emulated storage stack');
  stack
    .command('breakdown')
    .description('issue random O_DIRECT reads through the emulated read() path and print the mean latency of each layer')
    .addOption(deviceOption())
    .option('--reads <n>', 'number of reads', intIn(1), 10000)
    .option('--read-bytes <n>', 'bytes per read (multiple of 512)', intIn(1), 512)
    .option('--seed <n>', 'PRNG seed (offsets)', intIn(0), 1)
    .option('--json', 'print the result as JSON')
    .action((options: { device: string; reads: number; readBytes: number; seed: number; json?: boolean }) => {
      const result = runStackBreakdown({ device: options.device, reads: options.reads, readBytes: options.readBytes, seed: options.seed });
      console.log(options.json === true ? JSON.stringify(result, null, 2) : formatBreakdown(result));
    });
}
