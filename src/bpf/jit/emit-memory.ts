// Emission of the memory instruction families: loads (zero- and sign-extending),
// stores, and atomics (the threads proposal's read-modify-write opcodes, which
// also work on a non-shared memory and trap on a misaligned address). An eBPF
// pointer is an offset into the imported memory: `i64.load offset=off
// (i32.wrap_i64 reg)`. Checked mode first calls env.check (the interpreter's
// region lookup) so unverified programs fault exactly as on the interpreter.

import { AtomicOp } from '../isa.ts';
import type { FnEmitter } from './emitter.ts';
import * as Forms from './forms.ts';
import * as Decoded from '../interp/decode.ts';
import { AtomicOpcode, Op } from './wasm-writer.ts';

// Module-local copies: under tsx each access to an imported binding is a getter call.
const O = { ...Op };
const AO = { ...AtomicOpcode };
const AT = { ...AtomicOp };
const { LOAD_OPS } = Forms;
const { OP_ATOMIC32, OP_ATOMIC64 } = Decoded;

/** Emit the instruction at pc if its form `c` is a load, store or atomic; false otherwise. */
export function emitMemory(e: FnEmitter, pc: number, c: number): boolean {
  const insn = e.insnAt(pc);
  const d = insn.dst;
  switch (c) {
    // ---- loads ----
    case 0x61:
    case 0x69:
    case 0x71:
    case 0x79:
    case 0x81:
    case 0x89:
    case 0x91: {
      const size = c === 0x79 ? 8 : (c & 0x18) === 0x00 ? 4 : (c & 0x18) === 0x08 ? 2 : 1;
      const offset = address(e, pc, insn.src, insn.off, size, false);
      e.mark(pc);
      e.opOf(LOAD_OPS, c, pc);
      memarg(e, 0, offset);
      e.set(d);
      return true;
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
      const offset = address(e, pc, d, insn.off, size, true);
      if ((c & 0x07) === 0x02) e.i64c(insn.imm);
      else e.get(insn.src);
      e.mark(pc);
      e.o(size === 8 ? O.i64_store : size === 4 ? O.i64_store32 : size === 2 ? O.i64_store16 : O.i64_store8);
      memarg(e, 0, offset);
      return true;
    }

    // ---- atomics: the threads proposal's read-modify-write opcodes (they also
    // work on a non-shared memory, and trap on a misaligned address) ----
    case OP_ATOMIC32:
    case OP_ATOMIC64: {
      const is64 = c === OP_ATOMIC64;
      const size = is64 ? 8 : 4;
      const aop = insn.imm;
      const offset = address(e, pc, d, insn.off, size, true);
      const s = insn.src;
      let sub: number;
      const base = aop & ~AT.FETCH;
      if (aop === AT.CMPXCHG) {
        e.get(0);
        if (!is64) {
          e.w.byte(O.i64_const);
          e.w.s64(-1, 0);
          e.o(O.i64_and);
        }
        e.get(s);
        sub = is64 ? AO.i64_rmw_cmpxchg : AO.i64_rmw32_cmpxchg_u;
      } else {
        e.get(s);
        if (aop === AT.XCHG) sub = is64 ? AO.i64_rmw_xchg : AO.i64_rmw32_xchg_u;
        else if (base === AT.ADD) sub = is64 ? AO.i64_rmw_add : AO.i64_rmw32_add_u;
        else if (base === AT.OR) sub = is64 ? AO.i64_rmw_or : AO.i64_rmw32_or_u;
        else if (base === AT.AND) sub = is64 ? AO.i64_rmw_and : AO.i64_rmw32_and_u;
        else sub = is64 ? AO.i64_rmw_xor : AO.i64_rmw32_xor_u;
      }
      e.mark(pc);
      e.w.byte(AO.prefix);
      e.w.u32(sub);
      memarg(e, is64 ? 3 : 2, offset);
      if (aop === AT.CMPXCHG) e.set(0);
      else if ((aop & AT.FETCH) !== 0) e.set(s);
      else e.o(O.drop);
      return true;
    }

  }
  return false;
}

/**
 * Push the i32 address of base register + off and return the memarg offset to use.
 * In checked mode the access is first checked against the region table.
 */
function address(e: FnEmitter, pc: number, base: number, off: number, size: number, write: boolean): number {
  if (e.p.checked) {
    e.get32(base);
    e.get(base);
    e.i64c(32);
    e.o(O.i64_shr_u);
    e.o(O.i32_wrap_i64);
    e.i32c(off);
    e.i32c(size);
    e.i32c(write ? 1 : 0);
    e.i32c(pc);
    e.w.byte(O.call);
    e.w.u32(e.p.checkImport);
  }
  e.get32(base);
  if (off >= 0 && !e.p.checked) return off;
  if (off !== 0) {
    e.i32c(off);
    e.o(O.i32_add);
  }
  return 0;
}

function memarg(e: FnEmitter, align: number, offset: number): void {
  e.w.u32(align);
  e.w.u32(offset);
}
