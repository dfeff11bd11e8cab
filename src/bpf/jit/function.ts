// The translation of one eBPF function into the body of one wasm function: its
// blocks (blocks.ts) structured into wasm control flow (structure.ts), each block
// counting its instructions, loop headers checking the instruction limit, and
// each instruction emitted by its family (emit-alu.ts, emit-memory.ts,
// emit-control.ts).

import * as Alu from './emit-alu.ts';
import * as Control from './emit-control.ts';
import * as Memory from './emit-memory.ts';
import * as Emitter from './emitter.ts';
import { FnEmitter, type ProgramContext } from './emitter.ts';
import { JitCompileError } from './sites.ts';
import { emitStructured, type NodeEmitter, type Shape } from './structure.ts';
import { Op, VOID as IMPORTED_VOID, type ByteWriter } from './wasm-writer.ts';

// Module-local copies: under tsx each access to an imported binding is a getter call.
const O = { ...Op };
const VOID = IMPORTED_VOID;
const { emitAlu } = Alu;
const { emitCondition, emitControl } = Control;
const { emitMemory } = Memory;
const { ARGS_ADDRESS, G_ARGS, G_FP0, G_LIMIT, L_COUNT, L_LABEL, L_LIMIT, L_R1_PARAM, L_R10 } = Emitter;

/**
 * Emit the body of the function entered at `entry` into w; `marks` receives
 * (code offset, pc) pairs. `isEntry`: the exported entry form (see compile.ts),
 * which takes r1 as its parameter (or r1..r5 from ARGS_ADDRESS) and r10 from the fp0 global.
 */
export function emitFunction(p: ProgramContext, entry: number, w: ByteWriter, marks: number[], forceDispatch: boolean, isEntry: boolean): Shape {
  const { blocks, exits } = p.blocks.functionGraph(entry);
  const e = new FnEmitter(p, w, marks, isEntry);

  if (isEntry) {
    // r1 from the parameter (a CtxRunner's address); r1..r5 from the NULL page
    // instead when run(env, args) wrote them (the G_ARGS global), then cleared
    // again (no program can see that page)
    e.local(O.local_get, L_R1_PARAM);
    e.o(O.i64_extend_i32_u);
    e.set(1);
    e.local(O.global_get, G_ARGS);
    e.o(O.if);
    e.o(VOID);
    for (let r = 1; r <= 5; r++) {
      e.i32c(0);
      e.o(O.i64_load);
      e.w.u32(3);
      e.w.u32(ARGS_ADDRESS + 8 * (r - 1));
      e.set(r);
      e.i32c(0);
      e.i64c(0);
      e.o(O.i64_store);
      e.w.u32(3);
      e.w.u32(ARGS_ADDRESS + 8 * (r - 1));
    }
    e.i32c(0);
    e.local(O.global_set, G_ARGS);
    e.o(O.end);
    e.local(O.global_get, G_FP0);
    e.local(O.local_set, L_R10);
  }
  // The limit in a local.
  e.local(O.global_get, G_LIMIT);
  e.local(O.local_set, L_LIMIT);

  const emitter: NodeEmitter = {
    w,
    labelLocal: L_LABEL,
    node(id, loopHead) {
      const b = blocks[id];
      if (b === undefined) throw new JitCompileError(p.programName, entry, `internal: no block ${id}`);
      // count += block length
      e.local(O.local_get, L_COUNT);
      e.i32c(b.insnCount);
      e.o(O.i32_add);
      e.local(O.local_set, L_COUNT);
      if (loopHead) e.limitCheck(b.start);
      for (let pc = b.start; ; pc = p.blocks.nextPc(pc)) {
        if (pc === b.last && (p.blocks.isCondJump(pc) || p.blocks.isJa(pc))) break;
        e.mark(pc);
        emitInsn(e, pc);
        if (pc === b.last) break;
      }
    },
    condition(id) {
      const pc = blocks[id]?.last ?? -1;
      e.mark(pc);
      emitCondition(e, pc);
    },
    outside(target) {
      e.faultAndStop(-1 - target);
    },
  };
  return emitStructured({ exits }, emitter, forceDispatch);
}

function emitInsn(e: FnEmitter, pc: number): void {
  const c = e.formAt(pc);
  if (emitAlu(e, pc, c) || emitMemory(e, pc, c) || emitControl(e, pc, c)) return;
  throw new JitCompileError(e.p.programName, pc, `no translation for decoded op 0x${c.toString(16)}`);
}
