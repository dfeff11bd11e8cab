// The command line of every bench script: node:util parseArgs in strict mode, with
// --help/-h printing the script's usage (exit 0) and any bad input (an unknown option,
// a missing value, an unexpected positional, a value that does not parse) printing one
// line `<script>: <what was wrong>` and the usage to stderr (exit 2), never a stack trace
// or a run of other settings than were asked for.
// bench/verifier-ir.mjs runs without tsx and keeps a small check of its own.

import { parseArgs, type ParseArgsConfig } from 'node:util';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
type StrictConfig<O extends OptionsConfig> = { options: O; strict: true; allowPositionals: boolean; args: string[] };
type Parsed<O extends OptionsConfig> = ReturnType<typeof parseArgs<StrictConfig<O>>>;

/** Where a bench command line writes and how it ends; tests pass their own. */
export interface BenchIo {
  out(text: string): void;
  err(text: string): void;
  exit(code: number): never;
}

const processIo: BenchIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
};

export interface BenchArgsSpec<O extends OptionsConfig> {
  /** The script's name as errors name it, e.g. `bench/kv.ts`. */
  script: string;
  /** What --help prints: the options and their defaults, as the script's header documents them. */
  usage: string;
  options: O;
  /** Whether positional arguments are allowed (default: no). */
  positionals?: boolean;
}

export interface BenchCommandLine<O extends OptionsConfig> {
  values: Parsed<O>['values'];
  positionals: string[];
  /** Prints `<script>: <message>` and the usage to stderr and exits 2. */
  fail(message: string): never;
  /** `text` as an integer >= 1 (and <= max), or fail naming `what` (e.g. `--repeat`). */
  positiveInt(what: string, text: string | undefined, max?: number): number;
  /** `text` as an integer >= 0 (and <= max), or fail naming `what`. */
  nonNegativeInt(what: string, text: string | undefined, max?: number): number;
  /** `text` as a finite number > 0, or fail naming `what`. */
  positiveNumber(what: string, text: string | undefined): number;
  /** `text` as a finite number, or fail naming `what`. */
  finiteNumber(what: string, text: string | undefined): number;
  /** A comma-separated list of integers >= 1 (empty items dropped), or fail naming `what`. */
  positiveIntList(what: string, text: string | undefined): number[];
}

const HELP: OptionsConfig = { help: { type: 'boolean', short: 'h' } };

/** A number as Number() reads it, but never from an empty or blank string (Number('') is 0). */
function numeric(text: string | undefined): number {
  return text === undefined || text.trim() === '' ? Number.NaN : Number(text);
}

/**
 * Reads the command line (`argv`, default process.argv.slice(2)) against `spec`: prints the
 * usage and exits 0 on --help/-h; prints the error and the usage and exits 2 on bad input.
 */
export function benchArgs<const O extends OptionsConfig>(
  spec: BenchArgsSpec<O>,
  argv: string[] = process.argv.slice(2),
  io: BenchIo = processIo,
): BenchCommandLine<O> {
  const usage = spec.usage.endsWith('\n') ? spec.usage : `${spec.usage}\n`;
  const fail = (message: string): never => {
    io.err(`${spec.script}: ${message}\n${usage}`);
    return io.exit(2);
  };
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({
      options: { ...HELP, ...spec.options } as O,
      strict: true,
      allowPositionals: spec.positionals === true,
      args: argv,
    });
  } catch (e) {
    // parseArgs throws TypeErrors with a `code` (ERR_PARSE_ARGS_*) and a message that names the option.
    // The unknown-option message goes on to explain `--` for positionals (its first sentence says what was wrong);
    // others run over several lines, joined here into the one line of the error.
    if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) return fail(e.message.replace(/\. To specify a positional argument[^]*$/, '').replace(/\s*\n\s*/g, ' '));
    throw e;
  }
  if ((parsed.values as Record<string, unknown>)['help'] === true) {
    io.out(usage);
    return io.exit(0);
  }
  const integer = (what: string, text: string | undefined, min: number, max: number): number => {
    const v = numeric(text);
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? (min === 1 ? 'a positive integer' : 'a non-negative integer') : `an integer ${min}..${max}`;
      return fail(`${what} must be ${range}, got '${text ?? ''}'`);
    }
    return v;
  };
  return {
    values: parsed.values,
    positionals: parsed.positionals,
    fail,
    positiveInt: (what, text, max = Number.MAX_SAFE_INTEGER) => integer(what, text, 1, max),
    nonNegativeInt: (what, text, max = Number.MAX_SAFE_INTEGER) => integer(what, text, 0, max),
    positiveNumber: (what, text) => {
      const v = numeric(text);
      return Number.isFinite(v) && v > 0 ? v : fail(`${what} must be a number > 0, got '${text ?? ''}'`);
    },
    finiteNumber: (what, text) => {
      const v = numeric(text);
      return Number.isFinite(v) ? v : fail(`${what} must be a finite number, got '${text ?? ''}'`);
    },
    positiveIntList: (what, text) => {
      const items = (text ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
      if (items.length === 0) return fail(`${what} must be a comma-separated list of positive integers, got '${text ?? ''}'`);
      return items.map((x) => {
        const v = numeric(x);
        return Number.isSafeInteger(v) && v >= 1 ? v : fail(`${what} must be a comma-separated list of positive integers, got '${text ?? ''}'`);
      });
    },
  };
}
