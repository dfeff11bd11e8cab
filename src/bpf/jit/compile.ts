// eBPF -> WebAssembly, module assembly: one wasm function per eBPF function
// (function.ts), the exported entry and setup functions, the imports and
// globals, and the table from code offsets back to instructions (for traps).
// Block structuring is blocks.ts and structure.ts; the code of each instruction
// family, with the exact RFC 9669 semantics, emit-alu.ts, emit-memory.ts and
// emit-control.ts.
//
// Module layout (m = the number of function imports, 0..2):
//   imports  env.helper(id i32, r1..r5 i64, pc i32) -> i64   a helper call (rare: BigInt
//              is fine); only in programs that call helpers
//            env.check(lo, hi, off, size, write, pc: i32)    region check; checked mode only
//            env.memory                                    the AddressSpace's memory
//   funcs    m run(r1 i32) -> count i32   the exported entry: eBPF function 0 itself,
//              r1 the parameter (r1..r5 read from ARGS_ADDRESS if the args global is set);
//              returns the count when r0 is 0, else leaves r0 at R0_ADDRESS (the
//              NULL page) and returns the count complemented (negative)
//            m+1 setup(fp0 i32, limit i32, args i32)   sets the globals; called when
//              the ExecEnv changes, and by run(env, args) with more than r1
//            m+2+k callee k: (r0..r10 i64, count i32) -> (r0..r5 i64, count i32), for each
//              eBPF function a bpf-to-bpf call targets (function 0 too, if one does)
//   globals  0 fp0 (r10 of frame 0), 1 limit, 2 args (r1..r5 are in memory for the next run)
// A fault stores its site in the NULL page and traps (emitter.ts, emitFault).
//
// The entry has one i32 parameter and one i32 result, the cheapest call from JS
// into wasm that V8 has (no BigInt crosses, no second call inside, no memory
// touched on the way in or, when r0 is 0, out), so entering the code per block
// costs about what the boundary itself costs.
// Registers are i64 locals 0..10 (r0 is local 15 in the entry, whose local 0 is
// its parameter) in both forms (parameters in a callee, where
// r10 = fp0 - depth * 512 comes from the caller), so V8 keeps them in machine
// registers. A callee gets all of r0..r9 (as the interpreter does) and returns
// r0..r5; the caller's r6..r9 are its own locals, hence callee-saved.
// The executed-instruction count is an i32 local, incremented once per basic block
// and compared with the limit at loop headers and at exit.

import { ProgramBlocks } from './blocks.ts';
import { classify } from './classify.ts';
import { emitFault, ENTRY_LOCALS, FUNC_LOCALS, G_ARGS, G_FP0, G_LIMIT, type ProgramContext } from './emitter.ts';
import { formsOf } from './forms.ts';
import { emitFunction } from './function.ts';
import { FaultSites, type FaultSite } from './sites.ts';
import type { Shape } from './structure.ts';
import type { Program } from '../isa.ts';
import * as Decoded from '../interp/decode.ts';
import { assembleModule, ByteWriter, I32 as IMPORTED_I32, I64 as IMPORTED_I64, Op, type FuncBody } from './wasm-writer.ts';

export { JitCompileError, type FaultSite } from './sites.ts';

// Module-local copies: under tsx each access to an imported binding is a getter call.
const O = { ...Op };
const I32 = IMPORTED_I32;
const I64 = IMPORTED_I64;
const { OP_CALL_HELPER, OP_CALLX } = Decoded;

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

export { ARGS_ADDRESS, FAULT_SITE_ADDRESS, FAULT_VALUE_ADDRESS, R0_ADDRESS } from './emitter.ts';

const TYPE_FUNC = 0;
const TYPE_HELPER = 1;
const TYPE_CHECK = 2;
const TYPE_RUN = 3;
const TYPE_SETUP = 4;

export function compileModule(program: Program, options: CompileOptions = {}): CompiledModule {
  const insns = program.insns;
  const n = insns.length;
  const cl = classify(insns);
  const forms = formsOf(insns, cl.kind);
  const sites = new FaultSites();
  const blocks = new ProgramBlocks(forms, cl, sites);
  const functionEntries = blocks.functionEntries;
  // Function 0 is the exported entry; it is compiled a second time, as a callee,
  // only when a bpf-to-bpf call targets pc 0.
  const callees = functionEntries.filter((e) => e !== 0 || blocks.entryCalled);
  // Only the imports the program uses: V8 compiles a wrapper for each imported signature with every module.
  const checked = options.checked === true;
  let callsHelpers = false;
  for (let pc = 0; pc < n && !callsHelpers; pc++) callsHelpers = forms[pc] === OP_CALL_HELPER || forms[pc] === OP_CALLX;
  const imports: Array<{ module: string; name: string; type: number }> = [];
  if (callsHelpers) imports.push({ module: 'env', name: 'helper', type: TYPE_HELPER });
  if (checked) imports.push({ module: 'env', name: 'check', type: TYPE_CHECK });
  const funcRun = imports.length;
  const funcSetup = funcRun + 1;
  const funcIndex = new Map<number, number>();
  callees.forEach((e, i) => funcIndex.set(e, funcSetup + 1 + i));
  const ctx: ProgramContext = {
    programName: program.name,
    insns,
    forms,
    cl,
    blocks,
    sites,
    checked,
    funcIndex,
    helperImport: callsHelpers ? 0 : -1,
    checkImport: checked ? imports.length - 1 : -1,
  };
  const forceDispatch = options.forceDispatch === true;

  const shapes: Shape[] = [];
  const perFunctionOffsets: number[][] = [];
  const emitOne = (entry: number, isEntry: boolean): Uint8Array => {
    // about 12 bytes of wasm per instruction
    let w = new ByteWriter(n * 16 + 64);
    let marks: number[] = [];
    let shape: Shape;
    try {
      shape = emitFunction(ctx, entry, w, marks, forceDispatch, isEntry);
    } catch (error) {
      // The structured translation recurses along the dominator tree; on a small
      // JS stack a very deep tree can exhaust it. The dispatch loop does not recurse.
      if (!(error instanceof RangeError)) throw error;
      w = new ByteWriter(n * 16 + 64);
      marks = [];
      shape = emitFunction(ctx, entry, w, marks, true, isEntry);
    }
    if (isEntry || entry !== 0) shapes.push(shape);
    perFunctionOffsets.push(marks);
    // a view, not a copy: assembleModule copies the code once, into the module
    return w.view();
  };

  let runCode: Uint8Array;
  if (n === 0) {
    // An empty program falls off its end at once.
    const w = new ByteWriter();
    emitFault(w, -1 - blocks.targetRef(-1, 0));
    runCode = w.finish();
    perFunctionOffsets.push([]);
    functionEntries.push(0);
  } else {
    runCode = emitOne(0, true);
  }
  // the setter has no marks
  perFunctionOffsets.push([]);
  const calleeBodies: FuncBody[] = callees.map((entry) => ({ type: TYPE_FUNC, locals: FUNC_LOCALS, code: emitOne(entry, false) }));

  const assembled = assembleModule({
    types: [
      { params: [I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I32], results: [I64, I64, I64, I64, I64, I64, I32] },
      { params: [I32, I64, I64, I64, I64, I64, I32], results: [I64] },
      { params: [I32, I32, I32, I32, I32, I32], results: [] },
      { params: [I32], results: [I32] },
      { params: [I32, I32, I32], results: [] },
    ],
    imports,
    memoryImport: { module: 'env', name: 'memory' },
    globals: [
      { type: I64, mutable: true, init: 0 },
      { type: I32, mutable: true, init: 0 },
      { type: I32, mutable: true, init: 0 },
    ],
    funcs: [{ type: TYPE_RUN, locals: ENTRY_LOCALS, code: runCode }, { type: TYPE_SETUP, locals: [], code: setupBody() }, ...calleeBodies],
    exports: [
      { name: 'run', kind: 'func', index: funcRun },
      { name: 'setup', kind: 'func', index: funcSetup },
    ],
  });
  // Marks are in emission order and functions are laid out in order: already sorted.
  let markCount = 0;
  for (const marks of perFunctionOffsets) markCount += marks.length / 2;
  const offsets = new Int32Array(markCount);
  const pcs = new Int32Array(markCount);
  let at = 0;
  perFunctionOffsets.forEach((marks, i) => {
    const base = assembled.codeOffsets[i] ?? 0;
    for (let k = 0; k < marks.length; k += 2, at++) {
      offsets[at] = base + (marks[k] ?? 0);
      pcs[at] = marks[k + 1] ?? -1;
    }
  });
  return { bytes: assembled.bytes, sites: sites.list, offsetTable: { offsets, pcs }, shapes, functionEntries };
}

/**
 * setup(fp0 i32, limit i32, args i32): the globals of the ExecEnv, set only when
 * it changes, and whether the next run reads r2..r5 from memory.
 */
function setupBody(): Uint8Array {
  const w = new ByteWriter();
  w.byte(O.local_get);
  w.u32(2);
  w.byte(O.global_set);
  w.u32(G_ARGS);
  w.byte(O.local_get);
  w.u32(0);
  w.byte(O.i64_extend_i32_u);
  w.byte(O.global_set);
  w.u32(G_FP0);
  w.byte(O.local_get);
  w.u32(1);
  w.byte(O.global_set);
  w.u32(G_LIMIT);
  return w.finish();
}
