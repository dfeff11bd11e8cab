// eBPF -> WebAssembly: basic blocks, one wasm function per eBPF function, and
// the code of each instruction with the exact RFC 9669 semantics.
//
// Module layout (indices are fixed):
//   imports  0 env.fault(site i32, value i64)            throws the ExecutionFault of a fault site
//            1 env.helper(id i32, r1..r5 i64, pc i32) -> i64   a helper call (rare: BigInt is fine)
//            2 env.check(lo, hi, off, size, write, pc: i32)    region check (checked mode only)
//            env.memory                                    the AddressSpace's memory
//   funcs    3 run(r1..r5 i64, fp0 i64, limit i32) -> r0 i64   the exported entry
//            4+f eBPF function f: (r0..r9 i64, depth i32, count i32) -> (r0..r5 i64, count i32)
//            last: count() -> i32, the instructions executed by the last run (exported)
//   globals  0 fp0 (r10 of frame 0), 1 limit, 2 count
//
// Registers are i64 locals (r0..r9 are the parameters, r10 a local), so V8 keeps
// them in machine registers. A callee gets all of r0..r9 (as the interpreter does)
// and returns r0..r5; the caller's r6..r9 are its own locals, hence callee-saved.
// The executed-instruction count is an i32 local, incremented once per basic block
// and compared with the limit at loop headers and at exit.

import type { FaultKind } from '../engine.ts';
import { XrpError } from '../../base/errors.ts';
import * as Kinds from './classify.ts';
import { AtomicOp, CALL_DEPTH_MAX, type Insn, type Program } from '../isa.ts';
import { emitStructured, type Exit, type NodeEmitter, type Shape, type Target } from './structure.ts';
import { assembleModule, AtomicOpcode, ByteWriter, I32 as IMPORTED_I32, I64 as IMPORTED_I64, Op, VOID as IMPORTED_VOID, type FuncBody } from './wasm-writer.ts';

// Module-local copies of imported constants: under tsx an imported binding is read
// through a getter on every access, which is measurable in a per-instruction loop.
const O = { ...Op };
const AO = { ...AtomicOpcode };
const AT = { ...AtomicOp };
const I32 = IMPORTED_I32;
const I64 = IMPORTED_I64;
const VOID = IMPORTED_VOID;
const DEPTH_MAX = CALL_DEPTH_MAX;
const { classify, K_CALL_HELPER, K_CALL_LOCAL, K_CALLX, K_COND, K_EXIT, K_INVALID, K_JA, K_LDDW } = Kinds;

// The JIT's own names for instruction forms (the numbering of interp-decode.ts):
// RFC opcodes keep their byte with the source bit cleared, the rest are above 0xff.
const OP_SDIV64 = 0x100;
const OP_SMOD64 = 0x101;
const OP_SDIV32 = 0x102;
const OP_SMOD32 = 0x103;
const OP_MOVSX64_8 = 0x104;
const OP_MOVSX64_16 = 0x105;
const OP_MOVSX64_32 = 0x106;
const OP_MOVSX32_8 = 0x107;
const OP_MOVSX32_16 = 0x108;
const OP_LE = 0x109;
const OP_BE = 0x10a;
const OP_BSWAP = 0x10b;
const OP_CALL_HELPER = 0x10c;
const OP_CALL_LOCAL = 0x10d;
const OP_CALLX = 0x10e;
const OP_LDDW = 0x10f;
const OP_ATOMIC32 = 0x110;
const OP_ATOMIC64 = 0x111;
const OP_INVALID = 0x1f1;

const COND32_OPS: Record<number, number> = {
  0x10: O.i32_eq,
  0x20: O.i32_gt_u,
  0x30: O.i32_ge_u,
  0x50: O.i32_ne,
  0x60: O.i32_gt_s,
  0x70: O.i32_ge_s,
  0xa0: O.i32_lt_u,
  0xb0: O.i32_le_u,
  0xc0: O.i32_lt_s,
  0xd0: O.i32_le_s,
};

const COND64_OPS: Record<number, number> = {
  0x10: O.i64_eq,
  0x20: O.i64_gt_u,
  0x30: O.i64_ge_u,
  0x50: O.i64_ne,
  0x60: O.i64_gt_s,
  0x70: O.i64_ge_s,
  0xa0: O.i64_lt_u,
  0xb0: O.i64_le_u,
  0xc0: O.i64_lt_s,
  0xd0: O.i64_le_s,
};

const ALU64_OPS: Record<number, number> = {
  0x07: O.i64_add,
  0x17: O.i64_sub,
  0x27: O.i64_mul,
  0x47: O.i64_or,
  0x57: O.i64_and,
  0xa7: O.i64_xor,
  0x67: O.i64_shl,
  0x77: O.i64_shr_u,
  0xc7: O.i64_shr_s,
};

const ALU32_OPS: Record<number, number> = {
  0x04: O.i32_add,
  0x14: O.i32_sub,
  0x24: O.i32_mul,
  0x44: O.i32_or,
  0x54: O.i32_and,
  0xa4: O.i32_xor,
  0x64: O.i32_shl,
  0x74: O.i32_shr_u,
  0xc4: O.i32_shr_s,
};

const LOAD_OPS: Record<number, number> = {
  0x61: O.i64_load32_u,
  0x69: O.i64_load16_u,
  0x71: O.i64_load8_u,
  0x79: O.i64_load,
  0x81: O.i64_load32_s,
  0x89: O.i64_load16_s,
  0x91: O.i64_load8_s,
};

/** The instruction form of a slot, from its classification and opcode byte. */
function formOf(insn: Insn, kind: number): number {
  const c = insn.code;
  switch (kind) {
    case K_LDDW:
      return OP_LDDW;
    case K_CALL_HELPER:
      return OP_CALL_HELPER;
    case K_CALLX:
      return OP_CALLX;
    case K_CALL_LOCAL:
      return OP_CALL_LOCAL;
    case K_INVALID:
      return OP_INVALID;
    case K_EXIT:
      return 0x95;
    case K_JA:
      return 0x05;
    case K_COND:
      return c & ~0x08;
  }
  const cls = c & 0x07;
  if (cls === 0x04 || cls === 0x07) {
    const is64 = cls === 0x07;
    const op = c & 0xf0;
    const isX = (c & 0x08) !== 0;
    if (op === 0xd0) return is64 ? OP_BSWAP : isX ? OP_BE : OP_LE;
    if (op === 0x80) return c;
    if ((op === 0x30 || op === 0x90) && insn.off === 1) {
      return op === 0x30 ? (is64 ? OP_SDIV64 : OP_SDIV32) : is64 ? OP_SMOD64 : OP_SMOD32;
    }
    if (op === 0xb0 && insn.off !== 0) {
      if (is64) return insn.off === 8 ? OP_MOVSX64_8 : insn.off === 16 ? OP_MOVSX64_16 : OP_MOVSX64_32;
      return insn.off === 8 ? OP_MOVSX32_8 : OP_MOVSX32_16;
    }
    return c & ~0x08;
  }
  if (cls === 0x03 && (c & 0xe0) === 0xc0) return (c & 0x18) === 0x00 ? OP_ATOMIC32 : OP_ATOMIC64;
  return c;
}

/** A place in the program that can fault; the wasm code passes its index to env.fault. */
export interface FaultSite {
  kind: FaultKind;
  pc: number;
  /** message, given the i64 value passed along (for example the helper id of a callx) */
  message: (value: bigint, limit: number) => string;
}

export interface CompileOptions {
  /** check every memory access against the AddressSpace's regions (for unverified programs) */
  checked?: boolean;
  /** use the br_table dispatch loop even for reducible graphs (tests) */
  forceDispatch?: boolean;
}

export interface CompiledModule {
  bytes: Uint8Array<ArrayBuffer>;
  sites: FaultSite[];
  /** sorted module byte offsets of instruction starts, and the pc of each */
  offsetTable: { offsets: Int32Array; pcs: Int32Array };
  /** shape of each eBPF function's body */
  shapes: Shape[];
  functionEntries: number[];
}

const IMPORT_FAULT = 0;
const IMPORT_HELPER = 1;
const IMPORT_CHECK = 2;
const FUNC_RUN = 3;
const FUNC_FIRST = 4;
const G_FP0 = 0;
const G_LIMIT = 1;
const G_COUNT = 2;

// Locals of an eBPF function.
const L_DEPTH = 10;
const L_COUNT = 11;
const L_R10 = 12;
const L_LIMIT = 13;
const L_LABEL = 14;
const L_A32 = 15;
const FUNC_LOCALS: Array<[number, number]> = [
  [1, I64],
  [3, I32],
];

const TYPE_FUNC = 0;
const TYPE_FAULT = 1;
const TYPE_HELPER = 2;
const TYPE_CHECK = 3;
const TYPE_RUN = 4;
const TYPE_COUNT = 5;

interface Block {
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

const outsideRef = (site: number): number => -1 - site;

export function compileModule(program: Program, options: CompileOptions = {}): CompiledModule {
  const insns = program.insns;
  const n = insns.length;
  const cl = classify(insns);
  const forms = new Int32Array(n);
  for (let pc = 0; pc < n; pc++) forms[pc] = formOf(insns[pc]!, cl.kind[pc]!);
  const op = (pc: number): number => forms[pc]!;
  const sites: FaultSite[] = [];
  const site = (kind: FaultKind, pc: number, message: FaultSite['message']): number => {
    sites.push({ kind, pc, message });
    return sites.length - 1;
  };

  const isLddw = (pc: number): boolean => op(pc) === OP_LDDW;
  const nextPc = (pc: number): number => (isLddw(pc) ? pc + 2 : pc + 1);
  const isCondJump = (pc: number): boolean => {
    const c = op(pc);
    const cls = c & 0x07;
    if (c >= 0x100 || (cls !== 0x05 && cls !== 0x06)) return false;
    const o = c & 0xf0;
    return o !== 0x00 && o !== 0x80 && o !== 0x90;
  };
  const isJa = (pc: number): boolean => op(pc) === 0x05;
  const isExitInsn = (pc: number): boolean => op(pc) === 0x95;
  const isInvalid = (pc: number): boolean => op(pc) === OP_INVALID;
  const isTerminator = (pc: number): boolean => isCondJump(pc) || isJa(pc) || isExitInsn(pc) || isInvalid(pc);

  // Targets outside the program become fault sites (shared per (from, to)).
  const outsideSites = new Map<string, number>();
  const targetRef = (from: number, to: number): number => {
    if (to >= 0 && to < n) return to;
    const key = `${from}:${to}`;
    let s = outsideSites.get(key);
    if (s === undefined) {
      s =
        from < 0
          ? site('PC_OUT_OF_RANGE', n - 1, () => 'execution fell off the end of the program')
          : site('PC_OUT_OF_RANGE', from, () => `jump to instruction ${to}, outside the program (0..${n - 1})`);
      outsideSites.set(key, s);
    }
    return outsideRef(s);
  };
  const jumpTarget = (pc: number): number => targetRef(pc, cl.target[pc]!);

  // ---- leaders and blocks ----
  const leader = new Uint8Array(n + 1);
  const entries = new Set<number>([0]);
  if (n > 0) leader[0] = 1;
  for (let pc = 0; pc < n; pc = nextPc(pc)) {
    if (isCondJump(pc) || isJa(pc)) {
      const t = jumpTarget(pc);
      if (t >= 0) leader[t] = 1;
    }
    if (isTerminator(pc) && pc + 1 < n) leader[nextPc(pc)] = 1;
    if (op(pc) === OP_CALL_LOCAL) {
      const t = jumpTarget(pc);
      if (t >= 0) {
        entries.add(t);
        leader[t] = 1;
      }
    }
  }
  const blockAt = new Map<number, Block>();
  const buildBlock = (start: number): Block => {
    let pc = start;
    let count = 0;
    for (;;) {
      count++;
      if (isTerminator(pc)) {
        let exit: RawExit;
        if (isJa(pc)) exit = { kind: 'goto', target: jumpTarget(pc) };
        else if (isCondJump(pc)) {
          const next = nextPc(pc);
          exit = { kind: 'cond', taken: jumpTarget(pc), fall: next < n ? next : targetRef(-1, n) };
        } else exit = { kind: 'end' };
        return { start, last: pc, insnCount: count, exit };
      }
      const next = nextPc(pc);
      if (next >= n) return { start, last: pc, insnCount: count, exit: { kind: 'goto', target: targetRef(-1, n) } };
      if (leader[next] === 1) return { start, last: pc, insnCount: count, exit: { kind: 'goto', target: next } };
      pc = next;
    }
  };
  const getBlock = (start: number): Block => {
    let b = blockAt.get(start);
    if (b === undefined) {
      b = buildBlock(start);
      blockAt.set(start, b);
    }
    return b;
  };

  const functionEntries = [...entries].filter((e) => e < n).sort((a, b) => a - b);
  const funcIndex = new Map<number, number>();
  functionEntries.forEach((e, i) => funcIndex.set(e, FUNC_FIRST + i));

  const bodies: FuncBody[] = [];
  const perFunctionOffsets: number[][] = [];
  const shapes: Shape[] = [];
  for (const entry of functionEntries) {
    let w = new ByteWriter();
    let marks: number[] = [];
    let shape: Shape;
    try {
      shape = emitFunction(entry, w, marks, options.forceDispatch === true);
    } catch (error) {
      // The structured translation recurses along the dominator tree; on a small
      // JS stack a very deep tree can exhaust it. The dispatch loop does not recurse.
      if (!(error instanceof RangeError)) throw error;
      w = new ByteWriter();
      marks = [];
      shape = emitFunction(entry, w, marks, true);
    }
    shapes.push(shape);
    bodies.push({ type: TYPE_FUNC, locals: FUNC_LOCALS, code: w.finish() });
    perFunctionOffsets.push(marks);
  }
  if (n === 0) {
    // An empty program falls off its end at once.
    const w = new ByteWriter();
    const s = targetRef(-1, 0);
    emitFault(w, -1 - s);
    w.byte(O.unreachable);
    bodies.push({ type: TYPE_FUNC, locals: FUNC_LOCALS, code: w.finish() });
    perFunctionOffsets.push([]);
    functionEntries.push(0);
  }

  const runBody = new ByteWriter();
  emitRun(runBody);

  const assembled = assembleModule({
    types: [
      { params: [I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I32, I32], results: [I64, I64, I64, I64, I64, I64, I32] },
      { params: [I32, I64], results: [] },
      { params: [I32, I64, I64, I64, I64, I64, I32], results: [I64] },
      { params: [I32, I32, I32, I32, I32, I32], results: [] },
      { params: [I64, I64, I64, I64, I64, I64, I32], results: [I64] },
      { params: [], results: [I32] },
    ],
    imports: [
      { module: 'env', name: 'fault', type: TYPE_FAULT },
      { module: 'env', name: 'helper', type: TYPE_HELPER },
      { module: 'env', name: 'check', type: TYPE_CHECK },
    ],
    memoryImport: { module: 'env', name: 'memory' },
    globals: [
      { type: I64, mutable: true, init: 0 },
      { type: I32, mutable: true, init: 0 },
      { type: I32, mutable: true, init: 0 },
    ],
    funcs: [{ type: TYPE_RUN, locals: [[1, I32], [1, I64]], code: runBody.finish() }, ...bodies, { type: TYPE_COUNT, locals: [], code: countBody() }],
    exports: [
      { name: 'run', kind: 'func', index: FUNC_RUN },
      // A function, not the global: calling it from JS costs a few ns, Global.value about 20.
      { name: 'count', kind: 'func', index: FUNC_FIRST + bodies.length },
    ],
  });
  // Marks are in emission order and functions are laid out in order: already sorted.
  let markCount = 0;
  for (const marks of perFunctionOffsets) markCount += marks.length / 2;
  const offsets = new Int32Array(markCount);
  const pcs = new Int32Array(markCount);
  let at = 0;
  perFunctionOffsets.forEach((marks, i) => {
    const base = assembled.codeOffsets[i + 1]!;
    for (let k = 0; k < marks.length; k += 2, at++) {
      offsets[at] = base + marks[k]!;
      pcs[at] = marks[k + 1]!;
    }
  });
  return { bytes: assembled.bytes, sites, offsetTable: { offsets, pcs }, shapes, functionEntries };

  function countBody(): Uint8Array {
    const w = new ByteWriter();
    w.byte(O.global_get);
    w.u32(G_COUNT);
    return w.finish();
  }

  // ---- the exported entry ----
  function emitRun(w: ByteWriter): void {
    const lCount = 7;
    const lR0 = 8;
    w.byte(O.local_get);
    w.u32(5);
    w.byte(O.global_set);
    w.u32(G_FP0);
    w.byte(O.local_get);
    w.u32(6);
    w.byte(O.global_set);
    w.u32(G_LIMIT);
    w.byte(O.i64_const);
    w.s32(0);
    for (let i = 0; i < 5; i++) {
      w.byte(O.local_get);
      w.u32(i);
    }
    for (let i = 0; i < 4; i++) {
      w.byte(O.i64_const);
      w.s32(0);
    }
    w.byte(O.i32_const);
    w.s32(0);
    w.byte(O.i32_const);
    w.s32(0);
    w.byte(O.call);
    w.u32(FUNC_FIRST);
    w.byte(O.local_set);
    w.u32(lCount);
    for (let i = 0; i < 5; i++) w.byte(O.drop);
    w.byte(O.local_set);
    w.u32(lR0);
    w.byte(O.local_get);
    w.u32(lCount);
    w.byte(O.global_set);
    w.u32(G_COUNT);
    w.byte(O.local_get);
    w.u32(lR0);
  }

  function emitFault(w: ByteWriter, siteIndex: number, value?: () => void): void {
    w.byte(O.i32_const);
    w.s32(siteIndex);
    if (value) value();
    else {
      w.byte(O.i64_const);
      w.s32(0);
    }
    w.byte(O.call);
    w.u32(IMPORT_FAULT);
  }

  // ---- one eBPF function ----
  /** `marks` receives (code offset, pc) pairs, flat. */
  function emitFunction(entry: number, w: ByteWriter, marks: number[], forceDispatch: boolean): Shape {
    // Nodes: the blocks reachable from the entry by jumps (calls start other functions).
    const ids = new Map<number, number>();
    const blocks: Block[] = [];
    const work = [entry];
    ids.set(entry, 0);
    blocks.push(getBlock(entry));
    while (work.length > 0) {
      const b = getBlock(work.pop()!);
      const exit = b.exit;
      const targets = exit.kind === 'goto' ? [exit.target] : exit.kind === 'cond' ? [exit.taken, exit.fall] : [];
      for (const t of targets) {
        if (t >= 0 && !ids.has(t)) {
          ids.set(t, blocks.length);
          blocks.push(getBlock(t));
          work.push(t);
        }
      }
    }
    const mapTarget = (t: number): Target => (t >= 0 ? ids.get(t)! : t);
    const exits: Exit[] = blocks.map((b) => {
      const e = b.exit;
      if (e.kind === 'goto') return { kind: 'goto', target: mapTarget(e.target) };
      if (e.kind === 'cond') return { kind: 'cond', taken: mapTarget(e.taken), fall: mapTarget(e.fall) };
      return { kind: 'end' };
    });

    // Prologue: r10 = fp0 - depth * 512; the limit in a local.
    w.byte(O.global_get);
    w.u32(G_FP0);
    w.byte(O.local_get);
    w.u32(L_DEPTH);
    w.byte(O.i64_extend_i32_u);
    w.byte(O.i64_const);
    w.s32(9);
    w.byte(O.i64_shl);
    w.byte(O.i64_sub);
    w.byte(O.local_set);
    w.u32(L_R10);
    w.byte(O.global_get);
    w.u32(G_LIMIT);
    w.byte(O.local_set);
    w.u32(L_LIMIT);

    const emitter: NodeEmitter = {
      w,
      labelLocal: L_LABEL,
      node(id, loopHead) {
        const b = blocks[id]!;
        // count += block length
        w.byte(O.local_get);
        w.u32(L_COUNT);
        w.byte(O.i32_const);
        w.s32(b.insnCount);
        w.byte(O.i32_add);
        w.byte(O.local_set);
        w.u32(L_COUNT);
        if (loopHead) emitLimitCheck(b.start);
        for (let pc = b.start; ; pc = nextPc(pc)) {
          if (pc === b.last && (isCondJump(pc) || isJa(pc))) break;
          marks.push(w.length, pc);
          emitInsn(pc);
          if (pc === b.last) break;
        }
      },
      condition(id) {
        const pc = blocks[id]!.last;
        marks.push(w.length, pc);
        emitCondition(pc);
      },
      outside(target) {
        emitFault(w, -1 - target);
        w.byte(O.unreachable);
      },
    };
    return emitStructured({ exits }, emitter, forceDispatch);

    function emitLimitCheck(pc: number): void {
      w.byte(O.local_get);
      w.u32(L_COUNT);
      w.byte(O.local_get);
      w.u32(L_LIMIT);
      w.byte(O.i32_gt_s);
      w.byte(O.if);
      w.byte(VOID);
      emitFault(
        w,
        site('INSN_LIMIT', pc, (_v, limit) => `executed-instruction limit of ${limit} reached`),
      );
      w.byte(O.unreachable);
      w.byte(O.end);
    }

    // -- small emitters --
    function get(r: number): void {
      w.byte(O.local_get);
      w.u32(r === 10 ? L_R10 : r);
    }
    function set(r: number): void {
      w.byte(O.local_set);
      w.u32(r === 10 ? L_R10 : r);
    }
    function i64c(v: number): void {
      w.byte(O.i64_const);
      w.s32(v);
    }
    function i32c(v: number): void {
      w.byte(O.i32_const);
      w.s32(v);
    }
    function o(byte: number): void {
      w.byte(byte);
    }
    function get32(r: number): void {
      get(r);
      o(O.i32_wrap_i64);
    }
    function operand64(insn: Insn): void {
      if ((insn.code & 0x08) !== 0) get(insn.src);
      else i64c(insn.imm);
    }
    function operand32(insn: Insn): void {
      if ((insn.code & 0x08) !== 0) get32(insn.src);
      else i32c(insn.imm);
    }
    function setZext32(r: number): void {
      o(O.i64_extend_i32_u);
      set(r);
    }
    function bswap32OnStack(): void {
      w.byte(O.local_tee);
      w.u32(L_A32);
      i32c(8);
      o(O.i32_rotl);
      i32c(0x00ff00ff);
      o(O.i32_and);
      w.byte(O.local_get);
      w.u32(L_A32);
      i32c(8);
      o(O.i32_rotr);
      i32c(0xff00ff00 | 0);
      o(O.i32_and);
      o(O.i32_or);
    }
    function byteSwap(d: number, width: number): void {
      if (width === 16) {
        get32(d);
        w.byte(O.local_tee);
        w.u32(L_A32);
        i32c(0xff);
        o(O.i32_and);
        i32c(8);
        o(O.i32_shl);
        w.byte(O.local_get);
        w.u32(L_A32);
        i32c(8);
        o(O.i32_shr_u);
        i32c(0xff);
        o(O.i32_and);
        o(O.i32_or);
        setZext32(d);
      } else if (width === 32) {
        get32(d);
        bswap32OnStack();
        setZext32(d);
      } else {
        get32(d);
        bswap32OnStack();
        o(O.i64_extend_i32_u);
        i64c(32);
        o(O.i64_shl);
        get(d);
        i64c(32);
        o(O.i64_shr_u);
        o(O.i32_wrap_i64);
        bswap32OnStack();
        o(O.i64_extend_i32_u);
        o(O.i64_or);
        set(d);
      }
    }

    /**
     * Push the i32 address of base register + off and return the memarg offset to use.
     * In checked mode the access is first checked against the region table.
     */
    function address(pc: number, base: number, off: number, size: number, write: boolean): number {
      if (options.checked === true) {
        get32(base);
        get(base);
        i64c(32);
        o(O.i64_shr_u);
        o(O.i32_wrap_i64);
        i32c(off);
        i32c(size);
        i32c(write ? 1 : 0);
        i32c(pc);
        w.byte(O.call);
        w.u32(IMPORT_CHECK);
      }
      get32(base);
      if (off >= 0 && options.checked !== true) return off;
      if (off !== 0) {
        i32c(off);
        o(O.i32_add);
      }
      return 0;
    }
    function memarg(align: number, offset: number): void {
      w.u32(align);
      w.u32(offset);
    }

    function divide(insn: Insn, is64: boolean, signed: boolean, mod: boolean): void {
      const d = insn.dst;
      const isX = (insn.code & 0x08) !== 0;
      if (is64) {
        if (!isX) {
          const k = insn.imm;
          if (k === 0) {
            if (!mod) {
              i64c(0);
              set(d);
            }
            return;
          }
          if (signed && k === -1) {
            // INT64_MIN / -1 wraps to INT64_MIN (negation); INT64_MIN % -1 is 0.
            if (mod) i64c(0);
            else {
              i64c(0);
              get(d);
              o(O.i64_sub);
            }
            set(d);
            return;
          }
          get(d);
          i64c(k);
          o(signed ? (mod ? O.i64_rem_s : O.i64_div_s) : mod ? O.i64_rem_u : O.i64_div_u);
          set(d);
          return;
        }
        const s = insn.src;
        get(s);
        o(O.i64_eqz);
        w.byte(O.if);
        w.byte(I64);
        if (mod) get(d);
        else i64c(0);
        w.byte(O.else);
        if (signed && !mod) {
          get(s);
          i64c(-1);
          o(O.i64_eq);
          w.byte(O.if);
          w.byte(I64);
          i64c(0);
          get(d);
          o(O.i64_sub);
          w.byte(O.else);
          get(d);
          get(s);
          o(O.i64_div_s);
          w.byte(O.end);
        } else {
          get(d);
          get(s);
          o(signed ? O.i64_rem_s : mod ? O.i64_rem_u : O.i64_div_u);
        }
        w.byte(O.end);
        set(d);
        return;
      }
      // 32-bit: operands are the low words; the result is zero-extended.
      if (!isX) {
        const k = insn.imm;
        if (k === 0) {
          if (mod) get32(d);
          else i32c(0);
          setZext32(d);
          return;
        }
        if (signed && k === -1) {
          if (mod) i32c(0);
          else {
            i32c(0);
            get32(d);
            o(O.i32_sub);
          }
          setZext32(d);
          return;
        }
        get32(d);
        i32c(k);
        o(signed ? (mod ? O.i32_rem_s : O.i32_div_s) : mod ? O.i32_rem_u : O.i32_div_u);
        setZext32(d);
        return;
      }
      get32(insn.src);
      w.byte(O.local_tee);
      w.u32(L_A32);
      o(O.i32_eqz);
      w.byte(O.if);
      w.byte(I32);
      if (mod) get32(d);
      else i32c(0);
      w.byte(O.else);
      if (signed && !mod) {
        w.byte(O.local_get);
        w.u32(L_A32);
        i32c(-1);
        o(O.i32_eq);
        w.byte(O.if);
        w.byte(I32);
        i32c(0);
        get32(d);
        o(O.i32_sub);
        w.byte(O.else);
        get32(d);
        w.byte(O.local_get);
        w.u32(L_A32);
        o(O.i32_div_s);
        w.byte(O.end);
      } else {
        get32(d);
        w.byte(O.local_get);
        w.u32(L_A32);
        o(signed ? O.i32_rem_s : mod ? O.i32_rem_u : O.i32_div_u);
      }
      w.byte(O.end);
      setZext32(d);
    }

    function emitCondition(pc: number): void {
      const insn = insns[pc]!;
      const c = op(pc);
      const is32 = (c & 0x07) === 0x06;
      if (is32) {
        get32(insn.dst);
        operand32(insn);
      } else {
        get(insn.dst);
        operand64(insn);
      }
      
      
      const jop = c & 0xf0;
      if (jop === 0x40) {
        // jset: (dst & src) != 0
        if (is32) o(O.i32_and);
        else {
          o(O.i64_and);
          i64c(0);
          o(O.i64_ne);
        }
        return;
      }
      o((is32 ? COND32_OPS : COND64_OPS)[jop]!);
    }

    function emitExit(pc: number): void {
      emitLimitCheck(pc);
      for (let r = 0; r <= 5; r++) get(r);
      w.byte(O.local_get);
      w.u32(L_COUNT);
      w.byte(O.return);
    }

    function emitInsn(pc: number): void {
      const insn = insns[pc]!;
      const c = op(pc);
      const d = insn.dst;
      switch (c) {
        // ---- ALU64 ----
        case 0x07:
        case 0x17:
        case 0x27:
        case 0x47:
        case 0x57:
        case 0xa7:
        case 0x67:
        case 0x77:
        case 0xc7: {
          
          get(d);
          operand64(insn);
          o(ALU64_OPS[c]!);
          set(d);
          return;
        }
        case 0xb7:
          operand64(insn);
          set(d);
          return;
        case 0x87:
          i64c(0);
          get(d);
          o(O.i64_sub);
          set(d);
          return;
        case 0x37:
          return divide(insn, true, false, false);
        case 0x97:
          return divide(insn, true, false, true);
        case OP_SDIV64:
          return divide(insn, true, true, false);
        case OP_SMOD64:
          return divide(insn, true, true, true);
        case OP_MOVSX64_8:
        case OP_MOVSX64_16:
        case OP_MOVSX64_32:
          get(insn.src);
          o(c === OP_MOVSX64_8 ? O.i64_extend8_s : c === OP_MOVSX64_16 ? O.i64_extend16_s : O.i64_extend32_s);
          set(d);
          return;
        case OP_BSWAP:
        case OP_BE:
          return byteSwap(d, insn.imm);
        case OP_LE:
          // Little-endian host: only truncate to the width.
          if (insn.imm === 16 || insn.imm === 32) {
            get(d);
            w.byte(O.i64_const);
            w.s64(insn.imm === 16 ? 0xffff : -1, 0);
            o(O.i64_and);
            set(d);
          }
          return;

        // ---- ALU32 ----
        case 0x04:
        case 0x14:
        case 0x24:
        case 0x44:
        case 0x54:
        case 0xa4:
        case 0x64:
        case 0x74:
        case 0xc4: {
          
          get32(d);
          operand32(insn);
          o(ALU32_OPS[c]!);
          setZext32(d);
          return;
        }
        case 0xb4:
          operand32(insn);
          setZext32(d);
          return;
        case 0x84:
          i32c(0);
          get32(d);
          o(O.i32_sub);
          setZext32(d);
          return;
        case 0x34:
          return divide(insn, false, false, false);
        case 0x94:
          return divide(insn, false, false, true);
        case OP_SDIV32:
          return divide(insn, false, true, false);
        case OP_SMOD32:
          return divide(insn, false, true, true);
        case OP_MOVSX32_8:
        case OP_MOVSX32_16:
          get32(insn.src);
          o(c === OP_MOVSX32_8 ? O.i32_extend8_s : O.i32_extend16_s);
          setZext32(d);
          return;

        // ---- 64-bit immediate ----
        case OP_LDDW:
          w.byte(O.i64_const);
          w.s64(insn.imm, insns[pc + 1]!.imm);
          set(d);
          return;

        // ---- loads ----
        case 0x61:
        case 0x69:
        case 0x71:
        case 0x79:
        case 0x81:
        case 0x89:
        case 0x91: {
          const size = c === 0x79 ? 8 : (c & 0x18) === 0x00 ? 4 : (c & 0x18) === 0x08 ? 2 : 1;
          const offset = address(pc, insn.src, insn.off, size, false);
          
          marks.push(w.length, pc);
          o(LOAD_OPS[c]!);
          memarg(0, offset);
          set(d);
          return;
        }

        // ---- stores ----
        case 0x62:
        case 0x63:
        case 0x6a:
        case 0x6b:
        case 0x72:
        case 0x73:
        case 0x7a:
        case 0x7b: {
          const sz = c & 0x18;
          const size = sz === 0x18 ? 8 : sz === 0x00 ? 4 : sz === 0x08 ? 2 : 1;
          const offset = address(pc, d, insn.off, size, true);
          if ((c & 0x07) === 0x02) i64c(insn.imm);
          else get(insn.src);
          marks.push(w.length, pc);
          o(size === 8 ? O.i64_store : size === 4 ? O.i64_store32 : size === 2 ? O.i64_store16 : O.i64_store8);
          memarg(0, offset);
          return;
        }

        // ---- atomics: the threads proposal's read-modify-write opcodes (they also
        // work on a non-shared memory, and trap on a misaligned address) ----
        case OP_ATOMIC32:
        case OP_ATOMIC64: {
          const is64 = c === OP_ATOMIC64;
          const size = is64 ? 8 : 4;
          const aop = insn.imm;
          const offset = address(pc, d, insn.off, size, true);
          const s = insn.src;
          let sub: number;
          const base = aop & ~AT.FETCH;
          if (aop === AT.CMPXCHG) {
            get(0);
            if (!is64) {
              w.byte(O.i64_const);
              w.s64(-1, 0);
              o(O.i64_and);
            }
            get(s);
            sub = is64 ? AO.i64_rmw_cmpxchg : AO.i64_rmw32_cmpxchg_u;
          } else {
            get(s);
            if (aop === AT.XCHG) sub = is64 ? AO.i64_rmw_xchg : AO.i64_rmw32_xchg_u;
            else if (base === AT.ADD) sub = is64 ? AO.i64_rmw_add : AO.i64_rmw32_add_u;
            else if (base === AT.OR) sub = is64 ? AO.i64_rmw_or : AO.i64_rmw32_or_u;
            else if (base === AT.AND) sub = is64 ? AO.i64_rmw_and : AO.i64_rmw32_and_u;
            else sub = is64 ? AO.i64_rmw_xor : AO.i64_rmw32_xor_u;
          }
          marks.push(w.length, pc);
          w.byte(AO.prefix);
          w.u32(sub);
          memarg(is64 ? 3 : 2, offset);
          if (aop === AT.CMPXCHG) set(0);
          else if ((aop & AT.FETCH) !== 0) set(s);
          else o(O.drop);
          return;
        }

        // ---- calls and exit ----
        case OP_CALL_HELPER:
          i32c(insn.imm);
          emitHelperCall(pc);
          return;
        case OP_CALLX: {
          // The register is in dst (Linux) or imm (older LLVM), as classify found.
          const reg = cl.target[pc]!;
          get(reg);
          w.byte(O.i64_const);
          w.s64(0x7fffffff, 0);
          o(O.i64_gt_u);
          w.byte(O.if);
          w.byte(VOID);
          emitFault(
            w,
            site('UNKNOWN_HELPER', pc, (v) => `callx to helper ${BigInt.asUintN(64, v)}, which is not registered`),
            () => get(reg),
          );
          w.byte(O.unreachable);
          w.byte(O.end);
          get32(reg);
          emitHelperCall(pc);
          return;
        }
        case OP_CALL_LOCAL: {
          w.byte(O.local_get);
          w.u32(L_DEPTH);
          i32c(DEPTH_MAX - 1);
          o(O.i32_ge_u);
          w.byte(O.if);
          w.byte(VOID);
          emitFault(w, site('CALL_DEPTH', pc, () => `local call would exceed ${DEPTH_MAX} frames`));
          w.byte(O.unreachable);
          w.byte(O.end);
          const t = jumpTarget(pc);
          if (t < 0) {
            emitFault(w, -1 - t);
            w.byte(O.unreachable);
            return;
          }
          for (let r = 0; r <= 9; r++) get(r);
          w.byte(O.local_get);
          w.u32(L_DEPTH);
          i32c(1);
          o(O.i32_add);
          w.byte(O.local_get);
          w.u32(L_COUNT);
          w.byte(O.call);
          w.u32(funcIndex.get(t)!);
          w.byte(O.local_set);
          w.u32(L_COUNT);
          for (let r = 5; r >= 0; r--) set(r);
          return;
        }
        case 0x95:
          return emitExit(pc);
        case OP_INVALID: {
          const message = cl.invalid.get(pc)!;
          emitFault(w, site('INVALID_INSN', pc, () => message));
          w.byte(O.unreachable);
          return;
        }
        default:
          throw new JitCompileError(program.name, pc, `no translation for decoded op 0x${c.toString(16)}`);
      }
    }

    function emitHelperCall(pc: number): void {
      for (let r = 1; r <= 5; r++) get(r);
      i32c(pc);
      w.byte(O.call);
      w.u32(IMPORT_HELPER);
      set(0);
    }
  }
}

/** The JIT met something it cannot translate (an internal inconsistency, never user input). */
export class JitCompileError extends XrpError {
  constructor(
    programName: string,
    readonly pc: number,
    detail: string,
  ) {
    super('JIT_COMPILE', `JIT of "${programName}", instruction ${pc}: ${detail}`);
  }
}
