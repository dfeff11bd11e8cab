// `xrp conformance DIR [--engine NAME]`: run the bpf_conformance corpus.

import type { Command } from 'commander';
import { ENGINES, runConformanceDir } from '../../bpf/conformance/conformance.ts';
import { choiceOption } from '../options.ts';

export function register(program: Command): void {
  program
    .command('conformance')
    .description('run every *.data file of a bpf_conformance test directory; prints failures and "N passed, M failed"')
    .argument('<dir>', 'directory of *.data files (e.g. test/fixtures/bpf_conformance/tests)')
    .addOption(choiceOption('--engine <name>', 'execution engine', [...ENGINES.keys()], 'interp'))
    .option('-v, --verbose', 'print a line for every test, not only failures')
    .action((dir: string, options: { engine: string; verbose?: boolean }) => {
      const summary = runConformanceDir(dir, options.engine);
      for (const r of summary.results) {
        if (!r.passed) console.log(`FAIL ${r.name}: ${r.detail}`);
        else if (options.verbose) console.log(`pass ${r.name}: ${r.detail}`);
      }
      console.log(`${summary.passed} passed, ${summary.failed} failed`);
      if (summary.failed > 0) process.exitCode = 1;
    });
}
