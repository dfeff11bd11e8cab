// The cycle rule of XRP chains, the same in every engine: a branch that asks
// again for a read it already asked for (same offset, same size) while its
// state is unchanged (the scratch page and struct bpf_xrp's slots) would repeat
// forever: the program is deterministic, the block is the same, so the next
// step is the same. The branch ends with CYCLE at once instead of running to
// the resubmission limit (and, when resumed from scratch, forever).
//
// The rule watches a branch from its XRP_CYCLE_WATCH_AFTER-th step on (short
// chains cost a counter). The state kept is one snapshot per branch: the
// scratch page and the ctx's next_addr[1..15] and size[1..15] when the set of
// reads was last started afresh; while the state equals the snapshot, every
// read asked for is recorded (a descent of an index does not change the
// scratch page, so a pointer cycle ends at an offset of the loop visited
// twice); and Brent's method on copies taken at steps 1, 2, 4, 8, ... catches
// a loop whose state changes within it. Programs whose state lives elsewhere
// (maps, random numbers) are outside the rule: their engines turn it off.

import { CTX_NEXT_ADDR, CTX_SIZE, XRP_PAGE_BYTES } from './layout.ts';
import type { XrpMemory } from './step.ts';

/** ctx bytes compared: next_addr[1..15] and size[1..15] (next_addr[0] and size[0] are the read itself). */
const SLOTS_BYTES = 15 * 8;
const CTX_ADDRS_FROM = CTX_NEXT_ADDR + 8;
const CTX_SIZES_FROM = CTX_SIZE + 8;
const CTX_STATE_BYTES = 2 * SLOTS_BYTES;
const EMPTY = new Uint8Array(0);

function sameBytes(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number, n: number): boolean {
  // Buffer.compare is a memcmp: a 4 KB page compares in well under a microsecond
  return Buffer.compare(a.subarray(aAt, aAt + n), b.subarray(bAt, bAt + n)) === 0;
}

/**
 * Steps of a branch before the rule starts watching it: a short chain (a
 * BPF-KV lookup is at most seven reads) then costs a counter, not copies of
 * its state; a cycle is still caught within a few turns after that (it is
 * then reported at an offset on the loop, not necessarily the first one
 * visited twice).
 */
export const XRP_CYCLE_WATCH_AFTER = 8;

export class XrpCycleCheck {
  /** continuations of the branch so far; the rule watches from XRP_CYCLE_WATCH_AFTER on */
  private steps = 0;
  // (allocated when the rule first watches a branch: most chains are short)
  private snapshot = EMPTY;
  /** offset -> size of each read asked for since the snapshot */
  private readonly seen = new Map<number, number>();
  private valid = false;
  // Brent's cycle finding on the same state: a copy at steps 1, 2, 4, 8, ...
  // of the branch, compared (offset and size first) at every step, catches a
  // cycle whose state changes within the loop (a walk that notes each node it
  // asks for) within twice its length.
  private brent = EMPTY;
  private brentOffset = -1;
  private brentSize = -1;
  private brentSteps = 0;
  private brentPower = 1;

  /** `enabled` false for a program whose state is not all in scratch and ctx (it has maps). */
  constructor(readonly enabled = true) {}

  /** A new branch starts (with a cleared ctx). */
  start(): void {
    this.steps = 0;
  }

  private watch(mem: XrpMemory, ctxAddr: number, scratchAddr: number, offsetBytes: number, sizeBytes: number): void {
    if (this.snapshot === EMPTY) {
      this.snapshot = new Uint8Array(XRP_PAGE_BYTES + CTX_STATE_BYTES);
      this.brent = new Uint8Array(XRP_PAGE_BYTES + CTX_STATE_BYTES);
    }
    this.take(mem, ctxAddr, scratchAddr);
    this.seen.set(offsetBytes, sizeBytes);
    this.brent.set(this.snapshot);
    this.brentOffset = offsetBytes;
    this.brentSize = sizeBytes;
    this.brentSteps = 0;
    this.brentPower = 1;
  }

  /**
   * The branch, after a step, asks for `offsetBytes` (`sizeBytes`): true when
   * that repeats a read asked for in the same state (a cycle).
   */
  repeats(mem: XrpMemory, ctxAddr: number, scratchAddr: number, offsetBytes: number, sizeBytes: number): boolean {
    if (!this.enabled) return false;
    this.steps++;
    if (this.steps < XRP_CYCLE_WATCH_AFTER) return false;
    if (this.steps === XRP_CYCLE_WATCH_AFTER) {
      this.watch(mem, ctxAddr, scratchAddr, offsetBytes, sizeBytes);
      return false;
    }
    const u8 = mem.u8;
    if (offsetBytes === this.brentOffset && sizeBytes === this.brentSize && sameState(u8, ctxAddr, scratchAddr, this.brent)) return true;
    if (++this.brentSteps === this.brentPower) {
      this.brentSteps = 0;
      this.brentPower *= 2;
      copyState(u8, ctxAddr, scratchAddr, this.brent);
      this.brentOffset = offsetBytes;
      this.brentSize = sizeBytes;
    }
    const same = this.valid && sameState(u8, ctxAddr, scratchAddr, this.snapshot);
    if (!same) {
      this.take(mem, ctxAddr, scratchAddr);
      this.seen.set(offsetBytes, sizeBytes);
      return false;
    }
    if (this.seen.get(offsetBytes) === sizeBytes) return true;
    this.seen.set(offsetBytes, sizeBytes);
    return false;
  }

  /** The explanation of a CYCLE end at `offsetBytes`. */
  static detail(offsetBytes: number): string {
    return `offset ${offsetBytes} asked for again with the same scratch and context: a cycle`;
  }

  private take(mem: XrpMemory, ctxAddr: number, scratchAddr: number): void {
    copyState(mem.u8, ctxAddr, scratchAddr, this.snapshot);
    this.seen.clear();
    this.valid = true;
  }
}

/** The branch's state (scratch page, ctx slots 1..15) equals `copy`. */
function sameState(u8: Uint8Array, ctxAddr: number, scratchAddr: number, copy: Uint8Array): boolean {
  return sameBytes(u8, scratchAddr, copy, 0, XRP_PAGE_BYTES)
    && sameBytes(u8, ctxAddr + CTX_ADDRS_FROM, copy, XRP_PAGE_BYTES, SLOTS_BYTES)
    && sameBytes(u8, ctxAddr + CTX_SIZES_FROM, copy, XRP_PAGE_BYTES + SLOTS_BYTES, SLOTS_BYTES);
}

function copyState(u8: Uint8Array, ctxAddr: number, scratchAddr: number, copy: Uint8Array): void {
  copy.set(u8.subarray(scratchAddr, scratchAddr + XRP_PAGE_BYTES), 0);
  copy.set(u8.subarray(ctxAddr + CTX_ADDRS_FROM, ctxAddr + CTX_ADDRS_FROM + SLOTS_BYTES), XRP_PAGE_BYTES);
  copy.set(u8.subarray(ctxAddr + CTX_SIZES_FROM, ctxAddr + CTX_SIZES_FROM + SLOTS_BYTES), XRP_PAGE_BYTES + SLOTS_BYTES);
}
