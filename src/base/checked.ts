// Narrowing with a typed error instead of a non-null assertion (`x!`): for an
// index or a lookup that the types cannot prove is there and whose absence
// means the program's own bookkeeping is wrong. Input a user controls is checked
// where it is read, with the error of its area; these are for the rest. The
// error names what was looked up and where.

import { XrpError } from './errors.ts';

/** A broken invariant of the program itself: a bug, reported with what and where instead of a TypeError later. */
export class InternalError extends XrpError {
  constructor(message: string) {
    super('INTERNAL', message);
  }
}

/** `items[index]`, or an InternalError naming `what` and the index when there is no item there. */
export function at<T>(items: ArrayLike<T | undefined>, index: number, what: string): T {
  const item = items[index];
  if (item === undefined) throw new InternalError(`${what}: no item at index ${index} (length ${items.length})`);
  return item;
}

/** `value`, or an InternalError naming `what` when it is null or undefined. */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new InternalError(`${what} is missing`);
  return value;
}
