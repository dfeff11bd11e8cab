#!/usr/bin/env node
// The `xrp` command. Each command group lives in src/cli/commands/<group>.ts and
// exports `register(program)`; src/cli/command-table.ts lists them; this file sets
// the parser up, loads the command being run, and maps errors to exit codes.

import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { XrpError } from '../base/errors.ts';
import { EXIT_OK, EXIT_USAGE, exitCodeOf } from './errors.ts';
import { registerFor } from './command-table.ts';

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

/** Exit codes: 0 success, 1 failure or rejection, 2 usage (src/cli/errors.ts). */
async function main(): Promise<void> {
  try {
    // only the command being run is loaded (src/cli/command-table.ts)
    await registerFor(program, process.argv.slice(2));
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
