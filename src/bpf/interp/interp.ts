// The reference interpreter: executes a Program over an ExecEnv, checking every
// memory access against the region table of the AddressSpace.
//
// Speed comes from three choices (measured with bench/interp.ts):
// - registers are int32 (lo, hi) pairs in one Int32Array, never BigInt; BigInt is
//   used only for rare work (64-bit division with large operands, helper calls);
// - the program is pre-decoded into a flat Int32Array (interp-decode.ts) with
//   absolute jump targets and immediates turned into constant registers, so one
//   switch on the decoded op covers both operand forms;
// - the last region hit by a load and by a store is cached in locals, so a
//   bounds check is three compares; only a miss scans the region table.

import * as Engine_ from '../engine.ts';
import { ExecutionArgumentError, ExecutionFault, type CtxRunner, type Engine, type ExecEnv, type RunResult } from '../engine.ts';
import * as Decode from './decode.ts';
import { decodeProgram, type DecodedProgram } from './decode.ts';
import * as Ops from './ops.ts';
import { Tracer, type TraceSink } from './trace.ts';
import * as Isa from '../isa.ts';
import type { Program } from '../isa.ts';

// Local copies of imported bindings: under tsx every access to an imported binding
// is a getter call, which the per-instruction loop would pay on every operand.
const { frameTop } = Engine_;
const { REG_INTS, F_DST, F_IMM, F_IMM_HI, F_OFF, F_SRC, OP_ATOMIC64 } = Decode;
const { atomic, byteSwap, callHelper, divMod64, effectiveAddress, getBig, lookupRegion, mulHiU32, sdivMod32, setBig, truncateTo } = Ops;
const { CALL_DEPTH_MAX } = Isa;

export interface InterpreterOptions {
  /** called with one line per executed instruction: index, disassembly, registers changed */
  trace?: TraceSink;
}

const FRAME_INTS = 9; // return pc, then r6..r9 as lo/hi pairs

export class Interpreter implements Engine {
  private readonly decoded: DecodedProgram;
  /** register file reused across runs (the constants stay; r0..r10 are cleared) */
  private readonly registers: Int32Array;
  /** saved return pcs and r6..r9 of the callers of local calls, reused across runs */
  private readonly frames = new Int32Array(CALL_DEPTH_MAX * FRAME_INTS);
  private running = false;

  constructor(
    readonly program: Program,
    private readonly options: InterpreterOptions = {},
  ) {
    this.decoded = decodeProgram(program.insns);
    this.registers = this.decoded.regTemplate.slice();
  }

  run(env: ExecEnv, args: readonly bigint[]): RunResult {
    return this.start(env, args, -1);
  }

  ctxRunner(env: ExecEnv): CtxRunner {
    return new InterpCtxRunner(this, env);
  }

  /** A run with r1..r5 = args, or with r1 = `r1` (a number, no BigInt) when it is not -1. */
  start(env: ExecEnv, args: readonly bigint[], r1: number): RunResult {
    const tracer = this.options.trace ? new Tracer(this.program.insns, this.options.trace) : null;
    // A helper may run this engine again from inside a run: that run gets its own registers.
    if (this.running) {
      return execute(this.decoded, this.decoded.regTemplate.slice(), new Int32Array(CALL_DEPTH_MAX * FRAME_INTS), env, args, r1, tracer);
    }
    this.running = true;
    try {
      const R = this.registers;
      for (let i = 0; i < REG_INTS; i++) R[i] = 0;
      return execute(this.decoded, R, this.frames, env, args, r1, tracer);
    } finally {
      this.running = false;
    }
  }
}

const NO_ARGS: readonly bigint[] = [];

/** The interpreter's CtxRunner: r1 goes into the registers as a number. */
class InterpCtxRunner implements CtxRunner {
  r0 = 0n;
  constructor(
    private readonly interp: Interpreter,
    private readonly env: ExecEnv,
  ) {}

  run(r1: number): number {
    // one test for "an integer in 0..2^32-1": false for fractions, negatives, NaN and 2^32 up
    if (r1 >>> 0 !== r1) throw new ExecutionArgumentError(this.interp.program.name, r1);
    const result = this.interp.start(this.env, NO_ARGS, r1);
    this.r0 = result.r0;
    return result.insnsExecuted;
  }
}

export function createInterpreter(program: Program, options: InterpreterOptions = {}): Interpreter {
  return new Interpreter(program, options);
}

// non-null: R (the register file, REG_INTS int32s plus the constants) is indexed only by
// register and constant slots decodeProgram produced and range-checked, D (the decoded code)
// only by slot offsets below its length, frames by depth < CALL_DEPTH_MAX; a check per operand
// would cost the loop measurable time (bench:interp), so the sites below assert instead.
function execute(P: DecodedProgram, R: Int32Array, frames: Int32Array, env: ExecEnv, args: readonly bigint[], r1: number, tracer: Tracer | null): RunResult {
  const D = P.code;
  // r1..r5 from the arguments: register r at slot 2r (the high word of a number r1 stays 0)
  if (r1 !== -1) R[2] = r1 | 0;
  let slot = 2;
  for (const arg of args) {
    if (slot > 10) break;
    setBig(R, slot, arg);
    slot += 2;
  }
  R[20] = frameTop(env.stack, 0);
  const memory = env.memory;
  const view = memory.view;
  const limit = env.insnLimit;
  let depth = 0;
  // Fast-path regions: the last region a load (lb..le) and a store (sb..se) hit.
  let lb = env.stack.base;
  let le = lb + env.stack.sizeBytes;
  let sb = lb;
  let se = le;
  let pc = 0;
  let count = 0;

  try {
    for (;;) {
      const cur = pc;
      if (++count > limit) {
        throw new ExecutionFault('INSN_LIMIT', cur, `executed-instruction limit of ${limit} reached`);
      }
      if (tracer !== null) tracer.before(cur, R);
      const b = cur << 3;
      pc = cur + 1;
      switch (D[b]) {
        // ---- ALU64 (operand: register or constant) ----
        case 0x07: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const lo = (R[d]! >>> 0) + (R[s]! >>> 0);
          R[d + 1] = R[d + 1]! + R[s + 1]! + (lo > 0xffffffff ? 1 : 0);
          R[d] = lo;
          break;
        }
        case 0x17: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const lo = (R[d]! >>> 0) - (R[s]! >>> 0);
          R[d + 1] = R[d + 1]! - R[s + 1]! - (lo < 0 ? 1 : 0);
          R[d] = lo;
          break;
        }
        case 0x27: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const al = R[d]!;
          const bl = R[s]!;
          // The carry into the high word: exact in a double when the product is below 2^53.
          const p = (al >>> 0) * (bl >>> 0);
          const carry = p < 9007199254740992 ? (p * 2.3283064365386963e-10) >>> 0 /* p / 2^32, exact: a power of two */ : mulHiU32(al, bl);
          R[d + 1] = carry + Math.imul(al, R[s + 1]!) + Math.imul(R[d + 1]!, bl);
          R[d] = Math.imul(al, bl);
          break;
        }
        case 0x112 /* OP_ADD64_KPOS */: {
          const d = D[b + F_DST]!;
          const lo = (R[d]! >>> 0) + D[b + F_IMM]!;
          if (lo > 0xffffffff) R[d + 1] = R[d + 1]! + 1;
          R[d] = lo;
          break;
        }
        case 0x113 /* OP_SUB64_KPOS */: {
          const d = D[b + F_DST]!;
          const lo = (R[d]! >>> 0) - D[b + F_IMM]!;
          if (lo < 0) R[d + 1] = R[d + 1]! - 1;
          R[d] = lo;
          break;
        }
        case 0x114 /* OP_MUL64_KSMALL */: {
          // k < 2^21, so the low product is below 2^53: exact in a double.
          const d = D[b + F_DST]!;
          const k = D[b + F_IMM]!;
          const al = R[d]!;
          R[d + 1] = (((al >>> 0) * k * 2.3283064365386963e-10) | 0) + Math.imul(R[d + 1]!, k);
          R[d] = Math.imul(al, k);
          break;
        }
        case 0x37:
          divMod64(R, D[b + F_DST]!, D[b + F_SRC]!, false, false);
          break;
        case 0x97:
          divMod64(R, D[b + F_DST]!, D[b + F_SRC]!, false, true);
          break;
        case 0x100 /* OP_SDIV64 */:
          divMod64(R, D[b + F_DST]!, D[b + F_SRC]!, true, false);
          break;
        case 0x101 /* OP_SMOD64 */:
          divMod64(R, D[b + F_DST]!, D[b + F_SRC]!, true, true);
          break;
        case 0x47: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          R[d] = R[d]! | R[s]!;
          R[d + 1] = R[d + 1]! | R[s + 1]!;
          break;
        }
        case 0x57: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          R[d] = R[d]! & R[s]!;
          R[d + 1] = R[d + 1]! & R[s + 1]!;
          break;
        }
        case 0xa7: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          R[d] = R[d]! ^ R[s]!;
          R[d + 1] = R[d + 1]! ^ R[s + 1]!;
          break;
        }
        case 0xb7: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          R[d] = R[s]!;
          R[d + 1] = R[s + 1]!;
          break;
        }
        case 0x67: {
          const d = D[b + F_DST]!;
          const n = R[D[b + F_SRC]!]! & 63;
          if (n === 0) break;
          const lo = R[d]!;
          if (n < 32) {
            R[d + 1] = (R[d + 1]! << n) | (lo >>> (32 - n));
            R[d] = lo << n;
          } else {
            R[d + 1] = lo << (n - 32);
            R[d] = 0;
          }
          break;
        }
        case 0x77: {
          const d = D[b + F_DST]!;
          const n = R[D[b + F_SRC]!]! & 63;
          if (n === 0) break;
          const hi = R[d + 1]!;
          if (n < 32) {
            R[d] = (R[d]! >>> n) | (hi << (32 - n));
            R[d + 1] = hi >>> n;
          } else {
            R[d] = hi >>> (n - 32);
            R[d + 1] = 0;
          }
          break;
        }
        case 0xc7: {
          const d = D[b + F_DST]!;
          const n = R[D[b + F_SRC]!]! & 63;
          if (n === 0) break;
          const hi = R[d + 1]!;
          if (n < 32) {
            R[d] = (R[d]! >>> n) | (hi << (32 - n));
            R[d + 1] = hi >> n;
          } else {
            R[d] = hi >> (n - 32);
            R[d + 1] = hi >> 31;
          }
          break;
        }
        case 0x87: {
          const d = D[b + F_DST]!;
          const lo = R[d]!;
          R[d + 1] = ~R[d + 1]! + (lo === 0 ? 1 : 0);
          R[d] = -lo;
          break;
        }
        case 0x104 /* OP_MOVSX64_8 */: {
          const d = D[b + F_DST]!;
          const v = (R[D[b + F_SRC]!]! << 24) >> 24;
          R[d] = v;
          R[d + 1] = v >> 31;
          break;
        }
        case 0x105 /* OP_MOVSX64_16 */: {
          const d = D[b + F_DST]!;
          const v = (R[D[b + F_SRC]!]! << 16) >> 16;
          R[d] = v;
          R[d + 1] = v >> 31;
          break;
        }
        case 0x106 /* OP_MOVSX64_32 */: {
          const d = D[b + F_DST]!;
          const v = R[D[b + F_SRC]!]!;
          R[d] = v;
          R[d + 1] = v >> 31;
          break;
        }
        case 0x10b /* OP_BSWAP */:
          byteSwap(R, D[b + F_DST]!, D[b + F_IMM]!);
          break;

        // ---- ALU32: results are zero-extended ----
        case 0x04: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! + R[D[b + F_SRC]!]!;
          R[d + 1] = 0;
          break;
        }
        case 0x14: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! - R[D[b + F_SRC]!]!;
          R[d + 1] = 0;
          break;
        }
        case 0x24: {
          const d = D[b + F_DST]!;
          R[d] = Math.imul(R[d]!, R[D[b + F_SRC]!]!);
          R[d + 1] = 0;
          break;
        }
        case 0x34: {
          const d = D[b + F_DST]!;
          const v = R[D[b + F_SRC]!]! >>> 0;
          R[d] = v === 0 ? 0 : (R[d]! >>> 0) / v;
          R[d + 1] = 0;
          break;
        }
        case 0x94: {
          const d = D[b + F_DST]!;
          const v = R[D[b + F_SRC]!]! >>> 0;
          if (v !== 0) R[d] = (R[d]! >>> 0) % v;
          R[d + 1] = 0;
          break;
        }
        case 0x102 /* OP_SDIV32 */:
          sdivMod32(R, D[b + F_DST]!, D[b + F_SRC]!, false);
          break;
        case 0x103 /* OP_SMOD32 */:
          sdivMod32(R, D[b + F_DST]!, D[b + F_SRC]!, true);
          break;
        case 0x44: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! | R[D[b + F_SRC]!]!;
          R[d + 1] = 0;
          break;
        }
        case 0x54: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! & R[D[b + F_SRC]!]!;
          R[d + 1] = 0;
          break;
        }
        case 0xa4: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! ^ R[D[b + F_SRC]!]!;
          R[d + 1] = 0;
          break;
        }
        case 0xb4: {
          const d = D[b + F_DST]!;
          R[d] = R[D[b + F_SRC]!]!;
          R[d + 1] = 0;
          break;
        }
        case 0x64: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! << (R[D[b + F_SRC]!]! & 31);
          R[d + 1] = 0;
          break;
        }
        case 0x74: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! >>> (R[D[b + F_SRC]!]! & 31);
          R[d + 1] = 0;
          break;
        }
        case 0xc4: {
          const d = D[b + F_DST]!;
          R[d] = R[d]! >> (R[D[b + F_SRC]!]! & 31);
          R[d + 1] = 0;
          break;
        }
        case 0x84: {
          const d = D[b + F_DST]!;
          R[d] = -R[d]!;
          R[d + 1] = 0;
          break;
        }
        case 0x107 /* OP_MOVSX32_8 */: {
          const d = D[b + F_DST]!;
          R[d] = (R[D[b + F_SRC]!]! << 24) >> 24;
          R[d + 1] = 0;
          break;
        }
        case 0x108 /* OP_MOVSX32_16 */: {
          const d = D[b + F_DST]!;
          R[d] = (R[D[b + F_SRC]!]! << 16) >> 16;
          R[d + 1] = 0;
          break;
        }
        case 0x109 /* OP_LE */:
          truncateTo(R, D[b + F_DST]!, D[b + F_IMM]!);
          break;
        case 0x10a /* OP_BE */:
          byteSwap(R, D[b + F_DST]!, D[b + F_IMM]!);
          break;

        // ---- 64-bit immediate ----
        case 0x10f /* OP_LDDW */: {
          const d = D[b + F_DST]!;
          R[d] = D[b + F_IMM]!;
          R[d + 1] = D[b + F_IMM_HI]!;
          pc = cur + 2;
          break;
        }

        // ---- loads: dst = *(size *)(src + off); one case per opcode keeps the fast path inline ----
        case 0x61: {
          const s = D[b + F_SRC]!;
          const off = D[b + F_OFF]!;
          let a = (R[s]! >>> 0) + off;
          if (R[s + 1] !== 0 || a < lb || a + 4 > le) {
            const region = lookupRegion(memory, R[s]!, R[s + 1]!, off, 4, false, cur);
            lb = region.base;
            le = region.base + region.sizeBytes;
            a = effectiveAddress(R[s]!, R[s + 1]!, off);
          }
          const d = D[b + F_DST]!;
          R[d] = view.getInt32(a, true);
          R[d + 1] = 0;
          break;
        }
        case 0x69: {
          const s = D[b + F_SRC]!;
          const off = D[b + F_OFF]!;
          let a = (R[s]! >>> 0) + off;
          if (R[s + 1] !== 0 || a < lb || a + 2 > le) {
            const region = lookupRegion(memory, R[s]!, R[s + 1]!, off, 2, false, cur);
            lb = region.base;
            le = region.base + region.sizeBytes;
            a = effectiveAddress(R[s]!, R[s + 1]!, off);
          }
          const d = D[b + F_DST]!;
          R[d] = view.getUint16(a, true);
          R[d + 1] = 0;
          break;
        }
        case 0x71: {
          const s = D[b + F_SRC]!;
          const off = D[b + F_OFF]!;
          let a = (R[s]! >>> 0) + off;
          if (R[s + 1] !== 0 || a < lb || a + 1 > le) {
            const region = lookupRegion(memory, R[s]!, R[s + 1]!, off, 1, false, cur);
            lb = region.base;
            le = region.base + region.sizeBytes;
            a = effectiveAddress(R[s]!, R[s + 1]!, off);
          }
          const d = D[b + F_DST]!;
          R[d] = view.getUint8(a);
          R[d + 1] = 0;
          break;
        }
        case 0x79: {
          const s = D[b + F_SRC]!;
          const off = D[b + F_OFF]!;
          let a = (R[s]! >>> 0) + off;
          if (R[s + 1] !== 0 || a < lb || a + 8 > le) {
            const region = lookupRegion(memory, R[s]!, R[s + 1]!, off, 8, false, cur);
            lb = region.base;
            le = region.base + region.sizeBytes;
            a = effectiveAddress(R[s]!, R[s + 1]!, off);
          }
          const d = D[b + F_DST]!;
          R[d] = view.getInt32(a, true);
          R[d + 1] = view.getInt32(a + 4, true);
          break;
        }
        case 0x81: {
          const s = D[b + F_SRC]!;
          const off = D[b + F_OFF]!;
          let a = (R[s]! >>> 0) + off;
          if (R[s + 1] !== 0 || a < lb || a + 4 > le) {
            const region = lookupRegion(memory, R[s]!, R[s + 1]!, off, 4, false, cur);
            lb = region.base;
            le = region.base + region.sizeBytes;
            a = effectiveAddress(R[s]!, R[s + 1]!, off);
          }
          const d = D[b + F_DST]!;
          const v = view.getInt32(a, true);
          R[d] = v;
          R[d + 1] = v >> 31;
          break;
        }
        case 0x89: {
          const s = D[b + F_SRC]!;
          const off = D[b + F_OFF]!;
          let a = (R[s]! >>> 0) + off;
          if (R[s + 1] !== 0 || a < lb || a + 2 > le) {
            const region = lookupRegion(memory, R[s]!, R[s + 1]!, off, 2, false, cur);
            lb = region.base;
            le = region.base + region.sizeBytes;
            a = effectiveAddress(R[s]!, R[s + 1]!, off);
          }
          const d = D[b + F_DST]!;
          const v = view.getInt16(a, true);
          R[d] = v;
          R[d + 1] = v >> 31;
          break;
        }
        case 0x91: {
          const s = D[b + F_SRC]!;
          const off = D[b + F_OFF]!;
          let a = (R[s]! >>> 0) + off;
          if (R[s + 1] !== 0 || a < lb || a + 1 > le) {
            const region = lookupRegion(memory, R[s]!, R[s + 1]!, off, 1, false, cur);
            lb = region.base;
            le = region.base + region.sizeBytes;
            a = effectiveAddress(R[s]!, R[s + 1]!, off);
          }
          const d = D[b + F_DST]!;
          const v = view.getInt8(a);
          R[d] = v;
          R[d + 1] = v >> 31;
          break;
        }
        // ---- stores: *(size *)(dst + off) = src, or imm (a constant register) for ST ----
        case 0x7a:
        case 0x7b: {
          const d = D[b + F_DST]!;
          const off = D[b + F_OFF]!;
          let a = (R[d]! >>> 0) + off;
          if (R[d + 1] !== 0 || a < sb || a + 8 > se) {
            const region = lookupRegion(memory, R[d]!, R[d + 1]!, off, 8, true, cur);
            sb = region.base;
            se = region.base + region.sizeBytes;
            a = effectiveAddress(R[d]!, R[d + 1]!, off);
          }
          const s = D[b + F_SRC]!;
          view.setInt32(a, R[s]!, true);
          view.setInt32(a + 4, R[s + 1]!, true);
          break;
        }
        case 0x62:
        case 0x63: {
          const d = D[b + F_DST]!;
          const off = D[b + F_OFF]!;
          let a = (R[d]! >>> 0) + off;
          if (R[d + 1] !== 0 || a < sb || a + 4 > se) {
            const region = lookupRegion(memory, R[d]!, R[d + 1]!, off, 4, true, cur);
            sb = region.base;
            se = region.base + region.sizeBytes;
            a = effectiveAddress(R[d]!, R[d + 1]!, off);
          }
          const s = D[b + F_SRC]!;
          view.setInt32(a, R[s]!, true);
          break;
        }
        case 0x6a:
        case 0x6b: {
          const d = D[b + F_DST]!;
          const off = D[b + F_OFF]!;
          let a = (R[d]! >>> 0) + off;
          if (R[d + 1] !== 0 || a < sb || a + 2 > se) {
            const region = lookupRegion(memory, R[d]!, R[d + 1]!, off, 2, true, cur);
            sb = region.base;
            se = region.base + region.sizeBytes;
            a = effectiveAddress(R[d]!, R[d + 1]!, off);
          }
          const s = D[b + F_SRC]!;
          view.setInt16(a, R[s]!, true);
          break;
        }
        case 0x72:
        case 0x73: {
          const d = D[b + F_DST]!;
          const off = D[b + F_OFF]!;
          let a = (R[d]! >>> 0) + off;
          if (R[d + 1] !== 0 || a < sb || a + 1 > se) {
            const region = lookupRegion(memory, R[d]!, R[d + 1]!, off, 1, true, cur);
            sb = region.base;
            se = region.base + region.sizeBytes;
            a = effectiveAddress(R[d]!, R[d + 1]!, off);
          }
          const s = D[b + F_SRC]!;
          view.setInt8(a, R[s]!);
          break;
        }
        case 0x110 /* OP_ATOMIC32 */:
        case 0x111 /* OP_ATOMIC64 */:
          atomic(memory, R, D[b + F_DST]!, D[b + F_SRC]!, D[b + F_OFF]!, D[b + F_IMM]!, D[b] === OP_ATOMIC64, cur);
          break;

        // ---- JMP: 64-bit compares (operand: register or sign-extended constant) ----
        case 0x05:
          pc = D[b + F_OFF]!;
          break;
        case 0x15: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          if (R[d] === R[s] && R[d + 1] === R[s + 1]) pc = D[b + F_OFF]!;
          break;
        }
        case 0x55: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          if (R[d] !== R[s] || R[d + 1] !== R[s + 1]) pc = D[b + F_OFF]!;
          break;
        }
        case 0x45: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          if ((R[d]! & R[s]!) !== 0 || (R[d + 1]! & R[s + 1]!) !== 0) pc = D[b + F_OFF]!;
          break;
        }
        case 0x25: {
          // unsigned >
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]! >>> 0;
          const bh = R[s + 1]! >>> 0;
          if (ah > bh || (ah === bh && R[d]! >>> 0 > R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }
        case 0x35: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]! >>> 0;
          const bh = R[s + 1]! >>> 0;
          if (ah > bh || (ah === bh && R[d]! >>> 0 >= R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }
        case 0xa5: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]! >>> 0;
          const bh = R[s + 1]! >>> 0;
          if (ah < bh || (ah === bh && R[d]! >>> 0 < R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }
        case 0xb5: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]! >>> 0;
          const bh = R[s + 1]! >>> 0;
          if (ah < bh || (ah === bh && R[d]! >>> 0 <= R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }
        case 0x65: {
          // signed >: the high words compare signed, the low words unsigned
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]!;
          const bh = R[s + 1]!;
          if (ah > bh || (ah === bh && R[d]! >>> 0 > R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }
        case 0x75: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]!;
          const bh = R[s + 1]!;
          if (ah > bh || (ah === bh && R[d]! >>> 0 >= R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }
        case 0xc5: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]!;
          const bh = R[s + 1]!;
          if (ah < bh || (ah === bh && R[d]! >>> 0 < R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }
        case 0xd5: {
          const d = D[b + F_DST]!;
          const s = D[b + F_SRC]!;
          const ah = R[d + 1]!;
          const bh = R[s + 1]!;
          if (ah < bh || (ah === bh && R[d]! >>> 0 <= R[s]! >>> 0)) pc = D[b + F_OFF]!;
          break;
        }

        // ---- JMP32: compares of the low words ----
        case 0x16:
          if (R[D[b + F_DST]!] === R[D[b + F_SRC]!]) pc = D[b + F_OFF]!;
          break;
        case 0x56:
          if (R[D[b + F_DST]!] !== R[D[b + F_SRC]!]) pc = D[b + F_OFF]!;
          break;
        case 0x46:
          if ((R[D[b + F_DST]!]! & R[D[b + F_SRC]!]!) !== 0) pc = D[b + F_OFF]!;
          break;
        case 0x26:
          if (R[D[b + F_DST]!]! >>> 0 > R[D[b + F_SRC]!]! >>> 0) pc = D[b + F_OFF]!;
          break;
        case 0x36:
          if (R[D[b + F_DST]!]! >>> 0 >= R[D[b + F_SRC]!]! >>> 0) pc = D[b + F_OFF]!;
          break;
        case 0xa6:
          if (R[D[b + F_DST]!]! >>> 0 < R[D[b + F_SRC]!]! >>> 0) pc = D[b + F_OFF]!;
          break;
        case 0xb6:
          if (R[D[b + F_DST]!]! >>> 0 <= R[D[b + F_SRC]!]! >>> 0) pc = D[b + F_OFF]!;
          break;
        case 0x66:
          if (R[D[b + F_DST]!]! > R[D[b + F_SRC]!]!) pc = D[b + F_OFF]!;
          break;
        case 0x76:
          if (R[D[b + F_DST]!]! >= R[D[b + F_SRC]!]!) pc = D[b + F_OFF]!;
          break;
        case 0xc6:
          if (R[D[b + F_DST]!]! < R[D[b + F_SRC]!]!) pc = D[b + F_OFF]!;
          break;
        case 0xd6:
          if (R[D[b + F_DST]!]! <= R[D[b + F_SRC]!]!) pc = D[b + F_OFF]!;
          break;

        // ---- calls and exit ----
        case 0x10c /* OP_CALL_HELPER */:
          callHelper(env.helpers, memory, R, D[b + F_IMM]!, cur);
          break;
        case 0x10e /* OP_CALLX */: {
          const id = getBig(R, D[b + F_SRC]!);
          if (id > 0x7fffffffn) throw new ExecutionFault('UNKNOWN_HELPER', cur, `callx to helper ${id}, which is not registered`);
          callHelper(env.helpers, memory, R, Number(id), cur);
          break;
        }
        case 0x10d /* OP_CALL_LOCAL */: {
          if (depth + 1 >= CALL_DEPTH_MAX) {
            throw new ExecutionFault('CALL_DEPTH', cur, `local call would exceed ${CALL_DEPTH_MAX} frames`);
          }
          const f = depth * FRAME_INTS;
          frames[f] = pc;
          for (let i = 0; i < 8; i++) frames[f + 1 + i] = R[12 + i]!;
          depth++;
          R[20] = frameTop(env.stack, depth);
          R[21] = 0;
          pc = D[b + F_OFF]!;
          break;
        }
        case 0x95: {
          if (depth === 0) {
            if (tracer !== null) tracer.finish(R);
            const hi = R[1]!;
            const lo = R[0]!;
            return { r0: hi !== 0 ? getBig(R, 0) : lo === 0 ? 0n : BigInt(lo >>> 0), insnsExecuted: count };
          }
          depth--;
          const f = depth * FRAME_INTS;
          pc = frames[f]!;
          for (let i = 0; i < 8; i++) R[12 + i] = frames[f + 1 + i]!;
          R[20] = frameTop(env.stack, depth);
          R[21] = 0;
          break;
        }

        // ---- sentinels ----
        case 0x1f0 /* OP_BAD_PC */: {
          const from = D[b + F_IMM]!;
          const to = D[b + F_OFF]!;
          if (from < 0) throw new ExecutionFault('PC_OUT_OF_RANGE', to - 1, 'execution fell off the end of the program');
          throw new ExecutionFault('PC_OUT_OF_RANGE', from, `jump to instruction ${to}, outside the program (0..${P.insnCount - 1})`);
        }
        case 0x1f1 /* OP_INVALID */:
          throw new ExecutionFault('INVALID_INSN', cur, P.messages[D[b + F_IMM]!]!);
        default:
          throw new ExecutionFault('INVALID_INSN', cur, `unknown decoded op 0x${D[b]!.toString(16)}`);
      }
    }
  } catch (error) {
    if (tracer !== null) tracer.finish(R);
    throw error;
  }
}
