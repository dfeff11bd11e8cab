// Emission of the control instruction families: the condition of a conditional
// jump (the jump itself is structure.ts's), exit, helper calls (one imported JS
// function), callx, bpf-to-bpf calls (a wasm call passing r0..r9, the depth and
// the count; r0..r5 and the count come back), and invalid slots (a fault).

import { CALL_DEPTH_MAX } from '../isa.ts';
import * as Emitter from './emitter.ts';
import type { FnEmitter } from './emitter.ts';
import * as Forms from './forms.ts';
import * as Decoded from '../interp/decode.ts';
import { I32 as IMPORTED_I32, Op } from './wasm-writer.ts';

// Module-local copies: under tsx each access to an imported binding is a getter call.
const O = { ...Op };
const I32 = IMPORTED_I32;
const DEPTH_MAX = CALL_DEPTH_MAX;
const { G_FP0, L_COUNT, L_R10, R0_ADDRESS } = Emitter;
const { COND32_OPS, COND64_OPS } = Forms;
const { OP_CALL_HELPER, OP_CALL_LOCAL, OP_CALLX, OP_INVALID } = Decoded;

/** Emit the instruction at pc if its form `c` is a call, exit or invalid slot; false otherwise. */
export function emitControl(e: FnEmitter, pc: number, c: number): boolean {
  const insn = e.insnAt(pc);
  switch (c) {
    // ---- calls and exit ----
    case OP_CALL_HELPER:
      e.i32c(insn.imm);
      emitHelperCall(e, pc);
      return true;
    case OP_CALLX: {
      // The register is in dst (Linux) or imm (older LLVM), as classify found.
      const reg = e.p.cl.target[pc] ?? 0;
      e.get(reg);
      e.w.byte(O.i64_const);
      e.w.s64(0x7fffffff, 0);
      e.o(O.i64_gt_u);
      e.faultIf(
        e.p.sites.add('UNKNOWN_HELPER', pc, (v) => `callx to helper ${BigInt.asUintN(64, v)}, which is not registered`),
        () => e.get(reg),
      );
      e.get32(reg);
      emitHelperCall(e, pc);
      return true;
    }
    case OP_CALL_LOCAL: {
      // This frame's depth is (fp0 - r10) / 512: fault when it is already the last.
      e.local(O.global_get, G_FP0);
      e.local(O.local_get, L_R10);
      e.o(O.i64_sub);
      e.i64c((DEPTH_MAX - 1) * 512);
      e.o(O.i64_ge_u);
      e.faultIf(e.p.sites.add('CALL_DEPTH', pc, () => `local call would exceed ${DEPTH_MAX} frames`));
      const t = e.p.blocks.jumpTarget(pc);
      const callee = e.p.funcIndex.get(t);
      if (callee === undefined) {
        // a target outside the program: its fault site (targetRef's negative reference)
        e.faultAndStop(-1 - t);
        return true;
      }
      for (let r = 0; r <= 9; r++) e.get(r);
      // the callee's frame pointer: one 512-byte frame down
      e.local(O.local_get, L_R10);
      e.i64c(512);
      e.o(O.i64_sub);
      e.w.byte(O.local_get);
      e.w.u32(L_COUNT);
      e.w.byte(O.call);
      e.w.u32(callee);
      e.w.byte(O.local_set);
      e.w.u32(L_COUNT);
      for (let r = 5; r >= 0; r--) e.set(r);
      return true;
    }
    case 0x95:
      emitExit(e, pc);
      return true;
    case OP_INVALID: {
      const message = e.p.cl.invalid.get(pc) ?? `invalid instruction at ${pc}`;
      e.faultAndStop(e.p.sites.add('INVALID_INSN', pc, () => message));
      return true;
    }
  }
  return false;
}

/** Push the i32 condition of the conditional jump at pc. */
export function emitCondition(e: FnEmitter, pc: number): void {
  const insn = e.insnAt(pc);
  const c = e.formAt(pc);
  const is32 = (c & 0x07) === 0x06;
  if (is32) {
    e.get32(insn.dst);
    e.operand32(insn);
  } else {
    e.get(insn.dst);
    e.operand64(insn);
  }
  const jop = c & 0xf0;
  if (jop === 0x40) {
    // jset: (dst & src) != 0
    if (is32) e.o(O.i32_and);
    else {
      e.o(O.i64_and);
      e.i64c(0);
      e.o(O.i64_ne);
    }
    return;
  }
  e.opOf(is32 ? COND32_OPS : COND64_OPS, jop, pc);
}

function emitExit(e: FnEmitter, pc: number): void {
  e.limitCheck(pc);
  if (e.isEntry) {
    // The count is the result; r0 goes to memory only when it is not 0, and the
    // count then comes back complemented (negative): a run returning 0, what a
    // storage function does on every block, touches no memory on the way out.
    e.get(0);
    e.o(O.i64_eqz);
    e.o(O.if);
    e.o(I32);
    e.local(O.local_get, L_COUNT);
    e.o(O.else);
    e.i32c(0);
    e.get(0);
    e.o(O.i64_store);
    e.w.u32(3);
    e.w.u32(R0_ADDRESS);
    e.local(O.local_get, L_COUNT);
    e.i32c(-1);
    e.o(O.i32_xor);
    e.o(O.end);
    e.o(O.return);
    return;
  }
  for (let r = 0; r <= 5; r++) e.get(r);
  e.w.byte(O.local_get);
  e.w.u32(L_COUNT);
  e.w.byte(O.return);
}

function emitHelperCall(e: FnEmitter, pc: number): void {
  for (let r = 1; r <= 5; r++) e.get(r);
  e.i32c(pc);
  e.w.byte(O.call);
  e.w.u32(e.p.helperImport);
  e.set(0);
}
