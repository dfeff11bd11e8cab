// The event queue: a binary min-heap of (timeNs, seq) keys in parallel arrays.
// Integer times; ties broken by insertion sequence number, so two events at the
// same nanosecond always fire in the order they were scheduled (determinism).
// Events carry a target object and a small integer tag instead of a closure, so
// scheduling an event allocates nothing on the hot path.

export interface EventTarget {
  onEvent(tag: number): void;
}

// non-null: every heap index below `count` holds an event and the arrays are at least `count`
// long (grow keeps them so); push and pop run once per simulated event (bench:sim).
export class EventQueue {
  private timesNs = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private tags = new Int32Array(1024);
  private targets: (EventTarget | null)[] = new Array<EventTarget | null>(1024).fill(null);
  private count = 0;
  private nextSeq = 0;

  get size(): number {
    return this.count;
  }

  /** Time of the earliest event, or +Infinity when empty. */
  peekTimeNs(): number {
    return this.count === 0 ? Infinity : this.timesNs[0]!;
  }

  push(timeNs: number, target: EventTarget, tag: number): void {
    if (this.count === this.timesNs.length) this.grow();
    const seq = this.nextSeq++;
    let i = this.count++;
    const times = this.timesNs;
    const seqs = this.seqs;
    // Sift up with a hole instead of swaps.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt < timeNs || (pt === timeNs && seqs[parent]! < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent]!;
      this.tags[i] = this.tags[parent]!;
      this.targets[i] = this.targets[parent]!;
      i = parent;
    }
    times[i] = timeNs;
    seqs[i] = seq;
    this.tags[i] = tag;
    this.targets[i] = target;
  }

  /** Removes the earliest event; returns its target (tag via lastTag, time via lastTimeNs). */
  lastTag = 0;
  lastTimeNs = 0;
  pop(): EventTarget | null {
    if (this.count === 0) return null;
    const times = this.timesNs;
    const seqs = this.seqs;
    const tags = this.tags;
    const targets = this.targets;
    const top = targets[0]!;
    this.lastTag = tags[0]!;
    this.lastTimeNs = times[0]!;
    const n = --this.count;
    if (n > 0) {
      const t = times[n]!;
      const s = seqs[n]!;
      const g = tags[n]!;
      const o = targets[n]!;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        const r = c + 1;
        if (r < n && (times[r]! < times[c]! || (times[r] === times[c] && seqs[r]! < seqs[c]!))) c = r;
        const ct = times[c]!;
        if (t < ct || (t === ct && s < seqs[c]!)) break;
        times[i] = ct;
        seqs[i] = seqs[c]!;
        tags[i] = tags[c]!;
        targets[i] = targets[c]!;
        i = c;
      }
      times[i] = t;
      seqs[i] = s;
      tags[i] = g;
      targets[i] = o;
    }
    targets[n] = null;
    return top;
  }

  private grow(): void {
    const size = this.timesNs.length * 2;
    const times = new Float64Array(size);
    times.set(this.timesNs);
    const seqs = new Float64Array(size);
    seqs.set(this.seqs);
    const tags = new Int32Array(size);
    tags.set(this.tags);
    this.timesNs = times;
    this.seqs = seqs;
    this.tags = tags;
    const targets = this.targets;
    while (targets.length < size) targets.push(null);
  }
}
