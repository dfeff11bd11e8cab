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
