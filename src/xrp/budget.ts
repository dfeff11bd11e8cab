// What one request may still submit. Every engine asks its budget before a read
// issued by the hook (a continuation or a fan-out child), so a per-request
// policy on resubmissions lives here and nowhere else: today the resubmission
// limit; a cycle check (an offset revisited within one lookup) or a budget
// shared by the reads of one lookup would go in allows() and take().

export class XrpBudget {
  /** Reads after the first that were submitted. */
  used = 0;

  constructor(public limit: number) {}

  /** Starts a new request with `limit` resubmissions. */
  reset(limit: number): void {
    this.limit = limit;
    this.used = 0;
  }

  /** True when one more read at `offsetBytes` may be submitted (checked before anything else about the read). */
  allows(_offsetBytes: number): boolean {
    return this.used < this.limit;
  }

  /** The read at `offsetBytes` passed every check and is submitted. */
  take(_offsetBytes: number): void {
    this.used++;
  }

  /** A taken read could not be placed after all (it will be submitted again later, and taken again). */
  giveBack(): void {
    this.used--;
  }

  /** The explanation of a LIMIT end. */
  limitDetail(): string {
    return `resubmission limit ${this.limit} reached`;
  }
}

/**
 * The reads one lookup may make across ALL its read_xrp calls (a chain cut by
 * the per-call resubmission limit is resumed by its caller from the scratch
 * page; without a bound across calls a corrupt structure could be resumed
 * forever). Every engine's client charges each call's reads here and asks it
 * for the next call's resubmission limit; when it is spent the lookup ends
 * with LIMIT and a partial answer. The default comes from the structure's
 * depth (lookupReadsDefault), the caller may set another.
 */
export class XrpLookupBudget {
  /** Reads charged so far (every call's, its first read included). */
  reads = 0;
  calls = 0;

  constructor(readonly readsMax: number) {
    if (!Number.isSafeInteger(readsMax) || readsMax < 1) throw new RangeError(`a lookup's read budget must be a positive integer, got ${String(readsMax)}`);
  }

  /** True while another call may be made. */
  get open(): boolean {
    return this.reads < this.readsMax;
  }

  /** The resubmission limit of the next call: what is left after its first read, at most `callLimit`. */
  nextLimit(callLimit: number): number {
    return Math.max(0, Math.min(callLimit, this.readsMax - this.reads - 1));
  }

  /** A call made `reads` reads. */
  charge(reads: number): void {
    this.reads += reads;
    this.calls++;
  }

  /**
   * One read outside a call (the emulated kernel's user-space fallback
   * continuing a call's chain): false, and nothing charged, when the budget
   * is spent.
   */
  takeRead(): boolean {
    if (this.reads >= this.readsMax) return false;
    this.reads++;
    return true;
  }

  /** The explanation of a LIMIT end of the lookup. */
  limitDetail(): string {
    return `the lookup's budget of ${this.readsMax} reads is spent (${this.calls} calls)`;
  }
}

/**
 * Reads a lookup of a structure `depth` levels deep needs at most per item it
 * answers (the descent and one value read), times `items`, doubled for
 * slack: the default of XrpLookupBudget where the depth is known.
 */
export function lookupReadsDefault(depth: number, items: number): number {
  return 2 * (depth + 1) * Math.max(1, items) + 16;
}
