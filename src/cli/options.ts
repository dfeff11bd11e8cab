// Value parsers for commander options and arguments: a bad value is a parser error
// (exit 2, "option '--x <n>' argument 'y' is invalid. ...") like an unknown option,
// instead of a check by hand in each action.

import { InvalidArgumentError, Option } from 'commander';
import { DEVICE_PROFILES } from '../device/profiles.ts';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** An integer option in [min, max]. */
export function intIn(min: number, max: number = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** An unsigned 64-bit integer, decimal or 0x hex. */
export function parseU64Text(text: string): bigint {
  const t = text.trim();
  if (!/^(0|[1-9]\d*|0x[0-9a-fA-F]+)$/.test(t)) throw new InvalidArgumentError('must be an unsigned 64-bit integer (decimal or 0x hex)');
  const v = BigInt(t);
  if (v > U64_MAX) throw new InvalidArgumentError('is larger than 2^64 - 1');
  return v;
}

/** A comma-separated list of unsigned 64-bit integers. */
export function parseU64List(text: string): bigint[] {
  return text.split(',').map((part) => {
    try {
      return parseU64Text(part);
    } catch (error) {
      throw new InvalidArgumentError(`'${part}' ${(error as Error).message}`);
    }
  });
}

/** An option restricted to `choices` (commander lists them on a bad value and in the help). */
export function choiceOption(flags: string, description: string, choices: readonly string[], defaultValue?: string): Option {
  const option = new Option(flags, description).choices(choices);
  return defaultValue === undefined ? option : option.default(defaultValue);
}

/** --device NAME, one of the device profiles. */
export function deviceOption(defaultValue = 'optane-p5800x'): Option {
  return choiceOption('--device <name>', 'device profile', [...DEVICE_PROFILES.keys()], defaultValue);
}
