// The JIT engine: compiles a Program to a WebAssembly module once, instantiates
// it once per AddressSpace (the module imports that run's memory), and runs it.
//
// Crossing from JS into wasm is kept thin: the exported entry takes r1 as one
// i32 and returns the instruction count as one i32, complemented (negative) when
// r0 is not 0, which it then leaves in the never-mapped NULL page. A CtxRunner
// (what the per-block drivers call) passes the ctx address so; run(env, args)
// writes r1..r5 into the NULL page and sets a global that makes the entry read
// and clear them. r10 and the limit are globals set by one more call only when
// the ExecEnv changes. So a storage function's run is one call into wasm, no
// memory touched by the crossing, and no BigInt or object made when r0 is 0
// (as it is on every block but a failing one). Helpers are a single imported JS
// function taking (id, r1..r5, pc): a helper call pays for BigInt conversions,
// which is fine because storage functions call helpers rarely, and no hot path
// (ALU, memory, branches, bpf-to-bpf calls) leaves wasm.
//
// Faults: the program stores the fault site (and a value) in the NULL page and
// traps; the trap is caught here and turned into the site's ExecutionFault. Any
// other wasm trap (an access outside the memory, a misaligned atomic) becomes an
// ExecutionFault naming the instruction, found from the trap's code offset in the
// stack trace.

import { ExecutionArgumentError, ExecutionFault, frameTop, type CtxRunner, type Engine, type ExecEnv, type RunResult } from '../engine.ts';
import { XrpError } from '../../base/errors.ts';
import { lookupRegion } from '../interp/ops.ts';
import type { Program } from '../isa.ts';
import type { AddressSpace } from '../memory.ts';
import { ARGS_ADDRESS, compileModule, FAULT_SITE_ADDRESS, FAULT_VALUE_ADDRESS, JitCompileError, R0_ADDRESS, type CompiledModule, type CompileOptions } from './compile.ts';

export { compileModule, JitCompileError, type CompileOptions } from './compile.ts';

/** The count is an i32 in wasm; a run never needs more than this limit (far above any real one). */
const INSN_LIMIT_MAX = 1 << 30;

export class JitRuntimeError extends XrpError {
  constructor(message: string) {
    super('JIT_RUNTIME', message);
  }
}

interface RunExports {
  /** r1 the parameter (r1..r5 from ARGS_ADDRESS after setup(..., 1)); returns the count, or ~count with r0 left at R0_ADDRESS when r0 is not 0 */
  run: (r1: number) => number;
  /** r10 of frame 0, the instruction limit, and 1 when r2..r5 are in memory for the next run */
  setup: (fp0: number, limit: number, args: number) => void;
}

interface Instance {
  memory: AddressSpace;
  exports: RunExports;
  /** the ExecEnv that setup() was last called for */
  env: ExecEnv | null;
  /** the words of the NULL page the entry and faults use: r0 (low, high), r1..r5, the fault record */
  words: Int32Array;
  /** r1..r5 at ARGS_ADDRESS */
  args: BigInt64Array;
}

/** Words of r0 and the fault record in Instance.words. */
const R0_WORD = R0_ADDRESS / 4;
const FAULT_SITE_WORD = FAULT_SITE_ADDRESS / 4;
const FAULT_VALUE_WORD = FAULT_VALUE_ADDRESS / 4;

export class JitProgram implements Engine {
  readonly module: WebAssembly.Module;
  readonly compiled: CompiledModule;
  /** compile time of this program, in nanoseconds (translation + WebAssembly.Module) */
  readonly compileNs: number;
  private readonly instances = new WeakMap<WebAssembly.Memory, Instance>();
  private last: Instance | null = null;

  constructor(
    readonly program: Program,
    readonly options: CompileOptions = {},
  ) {
    const start = process.hrtime.bigint();
    this.compiled = compileModule(program, options);
    try {
      this.module = new WebAssembly.Module(this.compiled.bytes);
    } catch (error) {
      // V8's limits (for example 7.6 MB of code per function) bound what one function may hold.
      throw new JitCompileError(program.name, -1, `WebAssembly rejected the module: ${(error as Error).message}`);
    }
    this.compileNs = Number(process.hrtime.bigint() - start);
  }

  run(env: ExecEnv, args: readonly bigint[]): RunResult {
    const inst = this.enter(env);
    const n = args.length < 5 ? args.length : 5;
    const a = inst.args;
    for (let i = 0; i < n; i++) a[i] = args[i] ?? 0n;
    // r1..r5 are read from memory when the args global says so
    inst.exports.setup(frameTop(env.stack, 0), limitOf(env), 1);
    let count: number;
    try {
      count = this.call(inst);
    } catch (error) {
      // An error before the entry's prologue (a full JS stack) would leave the
      // arguments to the next run: clear them; a fault left them cleared already.
      a.fill(0n);
      inst.exports.setup(frameTop(env.stack, 0), limitOf(env), 0);
      inst.env = env;
      throw error;
    }
    return { r0: count >= 0 ? 0n : this.takeR0(inst), insnsExecuted: count >= 0 ? count : ~count };
  }

  ctxRunner(env: ExecEnv): CtxRunner {
    return new JitCtxRunner(this, env);
  }

  // enter, call, takeR0 and translateTrap are also JitCtxRunner's.

  /** The instance for env's memory, its globals set for env (setup() is called only when the env changes). */
  enter(env: ExecEnv): Instance {
    let inst = this.last;
    if (inst === null || inst.memory !== env.memory) inst = this.instantiate(env.memory);
    if (inst.env !== env) {
      inst.exports.setup(frameTop(env.stack, 0), limitOf(env), 0);
      inst.env = env;
    }
    return inst;
  }

  /** One call of the entry: the count, complemented (negative) when r0 is not 0 (takeR0 reads it). */
  call(inst: Instance): number {
    try {
      return inst.exports.run(0);
    } catch (error) {
      throw this.translateTrap(error, inst);
    }
  }

  /** r0 of a run that returned a non-zero r0, from the NULL page, which is cleared again. */
  takeR0(inst: Instance): bigint {
    const words = inst.words;
    const lo = words[R0_WORD] ?? 0;
    const hi = words[R0_WORD + 1] ?? 0;
    // leave the memory as the interpreter would
    words[R0_WORD] = 0;
    words[R0_WORD + 1] = 0;
    return hi === 0 ? BigInt(lo >>> 0) : (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  private instantiate(memory: AddressSpace): Instance {
    let inst = this.instances.get(memory.memory);
    if (inst === undefined) {
      const buffer = memory.memory.buffer;
      // The imports find the run's ExecEnv in the instance (set below, before any run):
      // the env the globals were last set for.
      const imports = {
        env: {
          memory: memory.memory,
          helper: (id: number, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, pc: number): bigint => {
            const env = inst?.env ?? null;
            if (env === null) throw new JitRuntimeError(`"${this.program.name}": helper call outside a run`);
            const helper = env.helpers.get(id);
            if (helper === undefined) {
              throw new ExecutionFault('UNKNOWN_HELPER', pc, `call to helper ${id}, which is not registered`);
            }
            const u = BigInt.asUintN;
            const result = helper.fn(u(64, r1), u(64, r2), u(64, r3), u(64, r4), u(64, r5), { memory: env.memory });
            // A helper that ran this program again with another env set the globals for it: set them back.
            if (inst?.env !== env) this.enter(env);
            return result;
          },
          check: (lo: number, hi: number, off: number, size: number, write: number, pc: number): void => {
            lookupRegion(memory, lo, hi, off, size, write === 1, pc);
          },
        },
      };
      const instance = new WebAssembly.Instance(this.module, imports);
      // Boundary with the untyped WebAssembly exports object.
      const exports = instance.exports as unknown as RunExports;
      inst = {
        memory,
        exports,
        env: null,
        words: new Int32Array(buffer, 0, FAULT_VALUE_WORD + 2),
        args: new BigInt64Array(buffer, ARGS_ADDRESS, 5),
      };
      this.instances.set(memory.memory, inst);
    }
    this.last = inst;
    return inst;
  }

  /** Turn a wasm trap into an ExecutionFault (a fault site's, or the trap's); pass every other error through. */
  translateTrap(error: unknown, inst: Instance): unknown {
    if (!(error instanceof WebAssembly.RuntimeError)) return error;
    const words = inst.words;
    const siteRef = words[FAULT_SITE_WORD] ?? 0;
    if (siteRef !== 0) {
      const lo = words[FAULT_VALUE_WORD] ?? 0;
      const hi = words[FAULT_VALUE_WORD + 1] ?? 0;
      // leave the memory as the interpreter would
      words[FAULT_SITE_WORD] = 0;
      words[FAULT_VALUE_WORD] = 0;
      words[FAULT_VALUE_WORD + 1] = 0;
      const site = this.compiled.sites[siteRef - 1];
      if (site === undefined) return new JitRuntimeError(`"${this.program.name}": fault at unknown site ${siteRef - 1}`);
      const value = BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      return new ExecutionFault(site.kind, site.pc, site.message(value, inst.env?.insnLimit ?? 0));
    }
    const pc = this.trapPc(error);
    const message = error.message;
    if (/out of bounds/i.test(message)) {
      return new ExecutionFault('OUT_OF_BOUNDS', pc, `memory access outside the address space (${message})`);
    }
    if (/unaligned/i.test(message)) {
      return new ExecutionFault('MISALIGNED_ATOMIC', pc, `atomic access is not aligned (${message})`);
    }
    return new JitRuntimeError(`"${this.program.name}", instruction ${pc}: unexpected WebAssembly trap: ${message}`);
  }

  /** The instruction of the innermost wasm frame of a trap, from its module byte offset (-1 if unknown). */
  private trapPc(error: Error): number {
    const match = /wasm-function\[\d+\]:0x([0-9a-f]+)/.exec(error.stack ?? '');
    if (match === null) return -1;
    const offset = parseInt(match[1] ?? '', 16);
    const { offsets, pcs } = this.compiled.offsetTable;
    let lo = 0;
    let hi = offsets.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((offsets[mid] ?? 0) <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? -1 : (pcs[found] ?? -1);
  }
}

/**
 * JitProgram's CtxRunner: one call of the entry with r1 as its parameter per run,
 * nothing allocated; r0 is read from memory only when it is not 0.
 */
class JitCtxRunner implements CtxRunner {
  r0 = 0n;
  private inst: Instance;
  private run_: (r1: number) => number;

  constructor(
    private readonly jit: JitProgram,
    private readonly env: ExecEnv,
  ) {
    this.inst = jit.enter(env);
    this.run_ = this.inst.exports.run;
  }

  run(r1: number): number {
    // one test for "an integer in 0..2^32-1": false for fractions, negatives, NaN and 2^32 up
    if (r1 >>> 0 !== r1) throw new ExecutionArgumentError(this.jit.program.name, r1);
    let inst = this.inst;
    // Another runner or run() on the same memory may have set the globals for another env.
    if (inst.env !== this.env) {
      inst = this.jit.enter(this.env);
      this.inst = inst;
      this.run_ = inst.exports.run;
    }
    let count: number;
    try {
      // r1 crosses as an i32 (the entry zero-extends it)
      count = this.run_(r1);
    } catch (error) {
      throw this.jit.translateTrap(error, inst);
    }
    if (count >= 0) {
      this.r0 = 0n;
      return count;
    }
    this.r0 = this.jit.takeR0(inst);
    return ~count;
  }
}

const limitOf = (env: ExecEnv): number => (env.insnLimit < INSN_LIMIT_MAX ? env.insnLimit : INSN_LIMIT_MAX);

/** Compile a program to WebAssembly. `checked: true` for programs that were not verified. */
export function compileJit(program: Program, options: CompileOptions = {}): JitProgram {
  return new JitProgram(program, options);
}
