// The CLI's errors and its exit-code convention, one for commander's parser and our
// own checks alike:
//   0  success
//   1  failure or rejection: the command ran and failed (a file that cannot be read,
//      an object the verifier rejects, a program that faults, a damaged image)
//   2  usage: the command line itself is wrong (unknown option, bad value, missing
//      argument, flags that do not go together)
// A UsageError is exit 2; any other XrpError is exit 1; anything else is a bug and
// ends with its stack.

import { XrpError } from '../base/errors.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command line is wrong: exit 2. */
export class UsageError extends XrpError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** A command ran and failed (exit 1), for failures that have no typed error of their own. */
export class CommandError extends XrpError {
  constructor(message: string) {
    super('COMMAND', message);
  }
}

/** Exit status of an error a command threw. */
export function exitCodeOf(error: XrpError): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
