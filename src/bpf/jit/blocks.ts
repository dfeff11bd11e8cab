// Block structuring: the basic blocks of a program (leaders, terminators, block
// lengths for the instruction count), the eBPF functions (entry 0 and every
// local-call target), and the control-flow graph of one function as structure.ts
// wants it. Jump targets outside the program become fault sites.

import type { Classified } from './classify.ts';
import * as Forms from './forms.ts';
import * as Decoded from '../interp/decode.ts';
import type { FaultSites } from './sites.ts';
import type { Exit, Target } from './structure.ts';

// Local copies of imported bindings (under tsx each access to one is a getter call).
const { isCondForm } = Forms;
const { OP_CALL_LOCAL, OP_INVALID, OP_LDDW } = Decoded;

export interface Block {
  start: number;
  /** pc of the last slot that belongs to the block's instructions (the terminator if any) */
  last: number;
  /** instructions executed when the whole block runs (lddw counts once) */
  insnCount: number;
  exit: RawExit;
}

/** Exits with program pcs as targets; outside targets are negative fault-site references. */
type RawExit =
  | { kind: 'goto'; target: number }
  | { kind: 'cond'; taken: number; fall: number }
  | { kind: 'end' };

/** One function's graph: its blocks (node 0 is the entry) and their exits in node numbers. */
export interface FunctionGraph {
  blocks: Block[];
  exits: Exit[];
}

const outsideRef = (site: number): number => -1 - site;

export class ProgramBlocks {
  /** entry pcs of the eBPF functions, ascending (0 first) */
  readonly functionEntries: number[];
  /** true when a bpf-to-bpf call targets pc 0 (function 0 is then also compiled as a callee) */
  readonly entryCalled: boolean;
  private readonly n: number;
  private readonly leader: Uint8Array;
  private readonly blockAt: Array<Block | undefined>;
  private readonly outsideSites = new Map<string, number>();

  constructor(
    private readonly forms: Int32Array,
    private readonly cl: Classified,
    private readonly sites: FaultSites,
  ) {
    const n = forms.length;
    this.n = n;
    const leader = new Uint8Array(n + 1);
    const entries = new Set<number>([0]);
    let entryCalled = false;
    if (n > 0) leader[0] = 1;
    for (let pc = 0; pc < n; pc = this.nextPc(pc)) {
      const c = forms[pc] ?? -1;
      if (isCondForm(c) || c === 0x05) {
        const t = this.jumpTarget(pc);
        if (t >= 0) leader[t] = 1;
      }
      if (this.isTerminator(pc) && pc + 1 < n) leader[this.nextPc(pc)] = 1;
      if (c === OP_CALL_LOCAL) {
        const t = this.jumpTarget(pc);
        if (t >= 0) {
          if (t === 0) entryCalled = true;
          entries.add(t);
          leader[t] = 1;
        }
      }
    }
    this.leader = leader;
    this.entryCalled = entryCalled;
    this.blockAt = new Array<Block | undefined>(n);
    this.functionEntries = [...entries].filter((e) => e < n).sort((a, b) => a - b);
  }

  nextPc(pc: number): number {
    return this.forms[pc] === OP_LDDW ? pc + 2 : pc + 1;
  }
  isCondJump(pc: number): boolean {
    return isCondForm(this.forms[pc] ?? -1);
  }
  isJa(pc: number): boolean {
    return this.forms[pc] === 0x05;
  }
  isTerminator(pc: number): boolean {
    const c = this.forms[pc] ?? -1;
    return isCondForm(c) || c === 0x05 || c === 0x95 || c === OP_INVALID;
  }

  /** A jump target: the pc, or (outside the program) a negative fault-site reference, shared per (from, to). */
  targetRef(from: number, to: number): number {
    const n = this.n;
    if (to >= 0 && to < n) return to;
    const key = `${from}:${to}`;
    let s = this.outsideSites.get(key);
    if (s === undefined) {
      s =
        from < 0
          ? this.sites.add('PC_OUT_OF_RANGE', n - 1, () => 'execution fell off the end of the program')
          : this.sites.add('PC_OUT_OF_RANGE', from, () => `jump to instruction ${to}, outside the program (0..${n - 1})`);
      this.outsideSites.set(key, s);
    }
    return outsideRef(s);
  }
  jumpTarget(pc: number): number {
    return this.targetRef(pc, this.cl.target[pc] ?? -1);
  }

  block(start: number): Block {
    let b = this.blockAt[start];
    if (b === undefined) {
      b = this.buildBlock(start);
      this.blockAt[start] = b;
    }
    return b;
  }

  private buildBlock(start: number): Block {
    const n = this.n;
    let pc = start;
    let count = 0;
    for (;;) {
      count++;
      if (this.isTerminator(pc)) {
        let exit: RawExit;
        if (this.isJa(pc)) exit = { kind: 'goto', target: this.jumpTarget(pc) };
        else if (this.isCondJump(pc)) {
          const next = this.nextPc(pc);
          exit = { kind: 'cond', taken: this.jumpTarget(pc), fall: next < n ? next : this.targetRef(-1, n) };
        } else exit = { kind: 'end' };
        return { start, last: pc, insnCount: count, exit };
      }
      const next = this.nextPc(pc);
      if (next >= n) return { start, last: pc, insnCount: count, exit: { kind: 'goto', target: this.targetRef(-1, n) } };
      if (this.leader[next] === 1) return { start, last: pc, insnCount: count, exit: { kind: 'goto', target: next } };
      pc = next;
    }
  }

  /** The blocks reachable from a function's entry by jumps (calls start other functions), as a graph. */
  functionGraph(entry: number): FunctionGraph {
    const ids = new Int32Array(this.n).fill(-1);
    const blocks: Block[] = [];
    const work = [entry];
    ids[entry] = 0;
    blocks.push(this.block(entry));
    const visit = (t: number): void => {
      if (t >= 0 && ids[t] === -1) {
        ids[t] = blocks.length;
        blocks.push(this.block(t));
        work.push(t);
      }
    };
    for (let next = work.pop(); next !== undefined; next = work.pop()) {
      const exit = this.block(next).exit;
      if (exit.kind === 'goto') visit(exit.target);
      else if (exit.kind === 'cond') {
        visit(exit.taken);
        visit(exit.fall);
      }
    }
    // Every non-negative target was given an id above.
    const mapTarget = (t: number): Target => (t >= 0 ? (ids[t] ?? -1) : t);
    const exits: Exit[] = blocks.map((b) => {
      const e = b.exit;
      if (e.kind === 'goto') return { kind: 'goto', target: mapTarget(e.target) };
      if (e.kind === 'cond') return { kind: 'cond', taken: mapTarget(e.taken), fall: mapTarget(e.fall) };
      return { kind: 'end' };
    });
    return { blocks, exits };
  }
}
