// The lean way into `xrp verify`: bin/xrp.js comes here first when the command is
// `verify`, so that a plain `xrp verify FILE.o [options]` loads neither commander nor
// the rest of the CLI before the verifier (they cost more start-up than loading the
// verifier itself). Only command lines whose meaning is plain are taken: one file,
// the command's own options each at most once with a separate value that commander
// would accept as it is. Anything else (help, `--opt=value`, an unknown or repeated
// option, a value commander would refuse) returns false and goes to the full CLI
// (main.ts), which parses it with commander as always: same output, same errors.

import { XrpError } from '../base/errors.ts';
import { exitCodeOf } from './errors.ts';
import { runVerify, VERIFY_MEM_SIZE_BYTES_DEFAULT, VERIFY_PROGRAM_TYPE_DEFAULT, VERIFY_PROGRAM_TYPES, type VerifyCliOptions } from './verify-run.ts';

/** A positive decimal integer as commander's intIn(1) reads it, or undefined for anything it would not take unchanged. */
function positiveInt(text: string): number | undefined {
  if (!/^[1-9]\d*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The file and options of `xrp verify ARGS` when ARGS are plain (see above), else undefined. */
export function parseVerifyArgs(args: readonly string[]): { file: string; options: VerifyCliOptions } | undefined {
  let file: string | undefined;
  const seen = new Set<string>();
  const options: VerifyCliOptions = { type: VERIFY_PROGRAM_TYPE_DEFAULT, memSize: VERIFY_MEM_SIZE_BYTES_DEFAULT };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('-')) {
      if (file !== undefined) return undefined;
      file = arg;
      continue;
    }
    if (seen.has(arg)) return undefined;
    seen.add(arg);
    if (arg === '--turbofan') {
      options.turbofan = true;
      continue;
    }
    const value = args[i + 1];
    if (value === undefined || value.startsWith('-')) return undefined;
    i++;
    if (arg === '--section') {
      options.section = value;
    } else if (arg === '--type') {
      const type = VERIFY_PROGRAM_TYPES.find((t) => t === value);
      if (type === undefined) return undefined;
      options.type = type;
    } else {
      const n = positiveInt(value);
      if (n === undefined) return undefined;
      if (arg === '--mem-size') options.memSize = n;
      else if (arg === '--insn-budget') options.insnBudget = n;
      else if (arg === '--state-budget') options.stateBudget = n;
      else return undefined;
    }
  }
  return file === undefined ? undefined : { file, options };
}

/** Runs `xrp verify ARGS` when ARGS are plain (true), or leaves them to the full CLI (false). Errors end as main.ts ends them. */
export async function verifyFast(args: readonly string[]): Promise<boolean> {
  const parsed = parseVerifyArgs(args);
  if (parsed === undefined) return false;
  try {
    await runVerify(parsed.file, parsed.options);
  } catch (error) {
    if (error instanceof XrpError) {
      console.error(`xrp: ${error.message}`);
      process.exit(exitCodeOf(error));
    }
    throw error;
  }
  return true;
}
