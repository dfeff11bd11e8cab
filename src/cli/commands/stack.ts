// `xrp stack breakdown`: random O_DIRECT reads through the emulated Linux read
// path, with the mean time spent in each layer (the XRP paper's Table 1).

import type { Command } from 'commander';
import { XrpError } from '../../base/errors.ts';
import { DEVICE_PROFILES } from '../../device/profiles.ts';
import { formatBreakdown, runStackBreakdown } from '../../kernel/stack-breakdown.ts';

class StackCliError extends XrpError {
  constructor(message: string) {
    super('STACK_CLI', message);
  }
}

function intOption(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new StackCliError(`${name} must be a positive integer, got '${text}'`);
  return n;
}

export function register(program: Command): void {
  const stack = program.commands.find((c) => c.name() === 'stack') ?? program.command('stack').description('the emulated storage stack');
  stack
    .command('breakdown')
    .description('issue random O_DIRECT reads through the emulated read() path and print the mean latency of each layer')
    .option('--device <name>', `device profile (${[...DEVICE_PROFILES.keys()].join(', ')})`, 'optane-p5800x')
    .option('--reads <n>', 'number of reads', '10000')
    .option('--read-bytes <n>', 'bytes per read (multiple of 512)', '512')
    .option('--seed <n>', 'PRNG seed (offsets)', '1')
    .option('--json', 'print the result as JSON')
    .action((options: { device: string; reads: string; readBytes: string; seed: string; json?: boolean }) => {
      if (!DEVICE_PROFILES.has(options.device)) {
        throw new StackCliError(`unknown device '${options.device}'; known: ${[...DEVICE_PROFILES.keys()].join(', ')}`);
      }
      const result = runStackBreakdown({
        device: options.device,
        reads: intOption(options.reads, '--reads'),
        readBytes: intOption(options.readBytes, '--read-bytes'),
        seed: intOption(options.seed, '--seed'),
      });
      console.log(options.json === true ? JSON.stringify(result, null, 2) : formatBreakdown(result));
    });
}
