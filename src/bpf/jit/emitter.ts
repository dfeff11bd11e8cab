// The state of translating one eBPF function and the small emitters every
// instruction family uses (register get/set, constants, fault calls), plus the
// module layout they refer to (import, function, global and local indices; see
// compile.ts for the whole layout).

import type { Classified } from './classify.ts';
import type { ProgramBlocks } from './blocks.ts';
import { JitCompileError, type FaultSites } from './sites.ts';
import type { Insn } from '../isa.ts';
import { ByteWriter, I32 as IMPORTED_I32, I64 as IMPORTED_I64, Op, VOID as IMPORTED_VOID } from './wasm-writer.ts';

// Module-local copies: under tsx each access to an imported binding is a getter call.
const O = { ...Op };
const I32 = IMPORTED_I32;
const I64 = IMPORTED_I64;
const VOID = IMPORTED_VOID;

export const G_FP0 = 0;
export const G_LIMIT = 1;
/** i32, non-zero when r1..r5 were written to the NULL page for the next run (run(env, args)); a CtxRunner passes r1 and leaves it 0 */
export const G_ARGS = 2;

/**
 * Where the entry finds r1..r5 (40 bytes) when run(env, args) passes them, and
 * leaves r0 (8 bytes, R0_ADDRESS): the NULL page, which AddressSpace never maps,
 * so no program can observe it (the verifier rejects NULL accesses, checked mode
 * faults on them). A CtxRunner passes r1 as the entry's i32 parameter instead;
 * the entry reads the page only when the G_ARGS global says it was written, and
 * clears what it read. r0 is stored only when it is not 0 (the entry then
 * returns the count complemented, a negative number); the engine clears it
 * after reading it.
 */
export const R0_ADDRESS = 0;
export const ARGS_ADDRESS = 8;
/**
 * A fault stores its site index + 1 here (i32) and its value at FAULT_VALUE_ADDRESS
 * (i64), then traps with `unreachable`; the engine reads and clears them. No
 * imported fault function: every imported signature costs V8 a wrapper compiled
 * with each module (about 0.15 ms), more than the rest of a small module.
 */
export const FAULT_SITE_ADDRESS = 48;
export const FAULT_VALUE_ADDRESS = 56;

// Locals of an eBPF function: r0..r10 are parameters 0..10 (r10, the frame
// pointer, comes from the caller: fp0 - depth * 512), the count parameter 11.
// r10 as a parameter, not computed from a depth in the prologue: TurboFan would
// recompute it inside every loop that touches the stack.
export const L_R10 = 10;
export const L_COUNT = 11;
export const L_LIMIT = 12;
export const L_LABEL = 13;
export const L_A32 = 14;
export const FUNC_LOCALS: Array<[number, number]> = [[3, I32]];
/**
 * The entry form has one parameter, r1 as an i32 (an address: the cheapest value
 * to pass from JS), at index 0; r1..r10 and the count are declared locals at the
 * same indices as in a callee, and r0 moves to L_R0_ENTRY.
 */
export const ENTRY_LOCALS: Array<[number, number]> = [
  [10, I64],
  [4, I32],
  [1, I64],
];
export const L_R1_PARAM = 0;
export const L_R0_ENTRY = 15;

/** What the translation of a whole program shares between its functions. */
export interface ProgramContext {
  readonly programName: string;
  readonly insns: readonly Insn[];
  readonly forms: Int32Array;
  readonly cl: Classified;
  readonly blocks: ProgramBlocks;
  readonly sites: FaultSites;
  /** check every memory access against the region table (unverified programs) */
  readonly checked: boolean;
  /** wasm function index of each eBPF function entry pc that a bpf-to-bpf call targets */
  readonly funcIndex: Map<number, number>;
  /** function index of env.helper, imported only by programs that call helpers (-1: none) */
  readonly helperImport: number;
  /** function index of env.check, imported only in checked mode (-1: none) */
  readonly checkImport: number;
}

export class FnEmitter {
  constructor(
    readonly p: ProgramContext,
    readonly w: ByteWriter,
    /** (code offset, pc) pairs, flat, for mapping a trap back to its instruction */
    readonly marks: number[],
    /** true for the exported entry form: exit stores r0 to memory and returns the count alone */
    readonly isEntry: boolean,
  ) {
    this.r0Local = isEntry ? L_R0_ENTRY : 0;
  }

  /** the local of r0: 0 in a callee, L_R0_ENTRY in the entry (whose local 0 is its parameter) */
  private readonly r0Local: number;

  /** The instruction at pc (a typed error, not a crash, if the tables disagree). */
  insnAt(pc: number): Insn {
    const insn = this.p.insns[pc];
    if (insn === undefined) throw new JitCompileError(this.p.programName, pc, 'internal: no instruction here');
    return insn;
  }
  /** The decoded form at pc (-1, which no emitter translates, outside the program). */
  formAt(pc: number): number {
    return this.p.forms[pc] ?? -1;
  }
  /** Emit the wasm opcode that `table` gives form `c` (a typed error if it has none). */
  opOf(table: Readonly<Record<number, number>>, c: number, pc: number): void {
    const op = table[c];
    if (op === undefined) throw new JitCompileError(this.p.programName, pc, `internal: no wasm opcode for form 0x${c.toString(16)}`);
    this.w.byte(op);
  }

  mark(pc: number): void {
    this.marks.push(this.w.length, pc);
  }
  o(byte: number): void {
    this.w.byte(byte);
  }
  /** r1..r10 are locals 1..10, r0 local 0 (L_R0_ENTRY in the entry) */
  get(r: number): void {
    this.w.byte(O.local_get);
    this.w.u32(r === 0 ? this.r0Local : r);
  }
  set(r: number): void {
    this.w.byte(O.local_set);
    this.w.u32(r === 0 ? this.r0Local : r);
  }
  local(op: number, index: number): void {
    this.w.byte(op);
    this.w.u32(index);
  }
  i64c(v: number): void {
    this.w.byte(O.i64_const);
    this.w.s32(v);
  }
  i32c(v: number): void {
    this.w.byte(O.i32_const);
    this.w.s32(v);
  }
  get32(r: number): void {
    this.get(r);
    this.w.byte(O.i32_wrap_i64);
  }
  operand64(insn: Insn): void {
    if ((insn.code & 0x08) !== 0) this.get(insn.src);
    else this.i64c(insn.imm);
  }
  operand32(insn: Insn): void {
    if ((insn.code & 0x08) !== 0) this.get32(insn.src);
    else this.i32c(insn.imm);
  }
  setZext32(r: number): void {
    this.w.byte(O.i64_extend_i32_u);
    this.set(r);
  }

  /** Fault at a site (value: an i64 pushed by `value`, else none): record it and trap; never falls through. */
  faultAndStop(siteIndex: number, value?: () => void): void {
    emitFault(this.w, siteIndex, value);
  }
  /** `if (cond) { fault; unreachable }` for the i32 condition on the stack. */
  faultIf(siteIndex: number, value?: () => void): void {
    this.w.byte(O.if);
    this.w.byte(VOID);
    this.faultAndStop(siteIndex, value);
    this.w.byte(O.end);
  }

  /** Fault with INSN_LIMIT at `pc` when the count is over the limit. */
  limitCheck(pc: number): void {
    this.local(O.local_get, L_COUNT);
    this.local(O.local_get, L_LIMIT);
    this.w.byte(O.i32_gt_s);
    this.faultIf(this.p.sites.add('INSN_LIMIT', pc, (_v, limit) => `executed-instruction limit of ${limit} reached`));
  }
}

/** Store the site (+ 1) and value of a fault in the NULL page, then trap. */
export function emitFault(w: ByteWriter, siteIndex: number, value?: () => void): void {
  if (value) {
    w.byte(O.i32_const);
    w.s32(0);
    value();
    w.byte(O.i64_store);
    w.u32(3);
    w.u32(FAULT_VALUE_ADDRESS);
  }
  w.byte(O.i32_const);
  w.s32(0);
  w.byte(O.i32_const);
  w.s32(siteIndex + 1);
  w.byte(O.i32_store);
  w.u32(2);
  w.u32(FAULT_SITE_ADDRESS);
  w.byte(O.unreachable);
}
