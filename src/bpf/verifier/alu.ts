// ALU and pointer arithmetic: scalar operations through the bounds and tnum
// domains, pointer plus scalar with the offset limits, and lddw (the kernel's
// adjust_scalar_min_max_vals and adjust_ptr_min_max_vals).

import { AluOp, LdImm64Src, insnOp, ldImm64Value, type Insn } from '../isa.ts';
import { MapType } from '../elf/elf.ts';
import { ALU_INDEX, aluBounds, boundsConst, evalAlu, constValue, fromBounds64, isConst, scalarAlu, scalarConst, scalarEqual, scalarUnknown, signExtendBounds, truncateScalar, view, zeroExtend, type AluKind, type Scalar } from './bounds.ts';
import { type Frame, type PtrState, type RegState } from './state.ts';
import { DST_INDEPENDENT, MAX_VAR_OFF_BIG, Reject, UNKNOWN_SCALAR, type VerifierContext, scalarReg, typeName } from './context.ts';
import { markPrecise } from './precision.ts';

const ALU_KINDS: Partial<Record<number, AluKind>> = {
  [AluOp.ADD]: 'add',
  [AluOp.SUB]: 'sub',
  [AluOp.MUL]: 'mul',
  [AluOp.DIV]: 'div',
  [AluOp.MOD]: 'mod',
  [AluOp.OR]: 'or',
  [AluOp.AND]: 'and',
  [AluOp.LSH]: 'lsh',
  [AluOp.RSH]: 'rsh',
  [AluOp.ARSH]: 'arsh',
  [AluOp.XOR]: 'xor',
};

const ALU_SYMBOL: Partial<Record<number, string>> = {
  [AluOp.MUL]: '*=',
  [AluOp.DIV]: '/=',
  [AluOp.MOD]: '%=',
  [AluOp.OR]: '|=',
  [AluOp.AND]: '&=',
  [AluOp.LSH]: '<<=',
  [AluOp.RSH]: '>>=',
  [AluOp.ARSH]: 's>>=',
  [AluOp.XOR]: '^=',
};

/** An ALU immediate as the scalar it stands for: sign-extended for 64-bit operations, zero-extended for 32-bit ones. */
export function immScalar(imm: number, bits: 32 | 64): Scalar {
  return bits === 64 ? scalarConst(BigInt(imm)) : scalarConst(BigInt(imm >>> 0));
}

/** `unknown op imm`: the result of an operation by a constant whatever dst was (cached: programs repeat their masks). */
/** by imm, then by (operation, width): no key string built per lookup */
const blindCache = new Map<number, (Scalar | undefined)[]>();

function blindResult(kind: AluKind, bits: 32 | 64, imm: number, src: Scalar): Scalar {
  let row = blindCache.get(imm);
  if (row === undefined) {
    if (blindCache.size > 1024) blindCache.clear();
    row = [];
    blindCache.set(imm, row);
  }
  const k = ALU_INDEX[kind] * 2 + (bits === 64 ? 1 : 0);
  let r = row[k];
  if (r === undefined) {
    r = bits === 64 ? fromBounds64(aluBounds(kind, UNKNOWN_SCALAR.b64, src.b64, 64)) : zeroExtend(aluBounds(kind, UNKNOWN_SCALAR.b32, src.b32, 32));
    row[k] = r;
  }
  return r;
}

export function alu(v: VerifierContext, pc: number, insn: Insn, f: Frame, bits: 32 | 64): void {
  // Run once per processed ALU instruction in V8's first tiers: register
  // reads are written out (v.read's checks) rather than called.
  const code = insn.code;
  const op = code & 0xf0;
  const x = (code & 0x08) !== 0;
  const d = insn.dst;
  const regs = f.regs;
  if (op === AluOp.MOV) {
    if (!x) {
      regs[d] = v.immRegs[2 * pc + (bits === 64 ? 1 : 0)] ?? v.immReg(pc, insn.imm, bits);
      return;
    }
    const src = regs[insn.src];
    if (src === undefined || src.kind === 'uninit') throw new Reject(pc, `R${insn.src} !read_ok`);
    if (insn.off !== 0) {
      if (src.kind !== 'scalar') throw new Reject(pc, `R${insn.src} sign-extension of pointer prohibited`);
      const from = insn.off as 8 | 16 | 32;
      if (bits === 64) f.regs[d] = scalarReg(fromBounds64(signExtendBounds(src.s.b64, from, 64)));
      else f.regs[d] = scalarReg(zeroExtend(signExtendBounds(src.s.b32, from, 32)));
      return;
    }
    if (bits === 64) {
      if (src.kind === 'scalar' && insn.src !== d) {
        // Link the copies: a later branch on one bounds both.
        const id = src.id !== 0 ? src.id : v.newId();
        const linked: RegState = { kind: 'scalar', s: src.s, id };
        f.regs[insn.src] = linked;
        f.regs[d] = linked;
      } else {
        f.regs[d] = src;
      }
      return;
    }
    if (src.kind === 'ptr') throw new Reject(pc, `R${insn.src} partial copy of pointer`);
    if (src.kind === 'scalar') f.regs[d] = scalarReg(zeroExtend(src.s.b32));
    return;
  }
  const dst = regs[d];
  if (dst === undefined || dst.kind === 'uninit') throw new Reject(pc, `R${d} !read_ok`);
  if (op === AluOp.NEG || op === AluOp.END) {
    if (dst.kind !== 'scalar') throw new Reject(pc, `R${d} pointer arithmetic with ${op === AluOp.NEG ? 'neg' : 'byte swap'} prohibited`);
    f.regs[d] = scalarReg(op === AluOp.NEG ? neg(v, dst.s, bits) : byteSwap(v, dst.s, insn, bits));
    return;
  }
  let src: RegState;
  if (x) {
    const r = regs[insn.src];
    if (r === undefined || r.kind === 'uninit') throw new Reject(pc, `R${insn.src} !read_ok`);
    src = r;
  } else {
    // v.immReg's cache read written out; it makes the value on a miss
    src = v.immRegs[2 * pc + (bits === 64 ? 1 : 0)] ?? v.immReg(pc, insn.imm, bits);
  }
  const kind0 = ALU_KINDS[op];
  if (kind0 === undefined) throw new Reject(pc, `invalid BPF_ALU opcode 0x${insn.code.toString(16)}`);
  const kind: AluKind = insn.off === 1 && kind0 === 'div' ? 'sdiv' : insn.off === 1 && kind0 === 'mod' ? 'smod' : kind0;
  if (dst.kind === 'ptr' || src.kind === 'ptr') {
    f.regs[d] = pointerArith(v, pc, insn, kind, dst, src, bits);
    return;
  }
  if (dst.kind !== 'scalar' || src.kind !== 'scalar') throw new Reject(pc, `R${d} !read_ok`);
  let result: Scalar;
  const dt = dst.s.b64.t;
  const st = src.s.b64.t;
  if (dt.mask === 0n && st.mask === 0n) {
    // Both known: the concrete result (what the general path computes, without the bounds work).
    const a = dt.value;
    const b = st.value;
    result = scalarConst(bits === 64 ? evalAlu(kind, a, b, 64) : evalAlu(kind, a & 0xffff_ffffn, b & 0xffff_ffffn, 32));
  } else {
    result = scalarAlu(kind, dst.s, src.s, bits);
  }
  regs[d] = { kind: 'scalar', s: result, id: 0 };
  if (!x && (kind === 'and' || kind === 'mod' || kind === 'rsh' || kind === 'mul')) {
    // A mask (or modulo, shift) by a constant often gives the same bounds
    // whatever dst was: then nothing later depends on dst's range.
    if (scalarEqual(blindResult(kind, bits, insn.imm, src.s), result)) v.lastSlot = DST_INDEPENDENT;
  }
}

export function neg(v: VerifierContext, s: Scalar, bits: 32 | 64): Scalar {
  const zero = boundsConst(0n, bits);
  const r = aluBounds('sub', zero, view(s, bits), bits);
  return bits === 64 ? fromBounds64(r) : zeroExtend(r);
}

export function byteSwap(v: VerifierContext, s: Scalar, insn: Insn, bits: 32 | 64): Scalar {
  const width = insn.imm as 16 | 32 | 64;
  const toLe = bits === 32 && (insn.code & 0x08) === 0;
  if (toLe) return truncateScalar(s, width / 8);
  if (isConst(s)) {
    let v = constValue(s) & ((1n << BigInt(width)) - 1n);
    let out = 0n;
    for (let i = 0; i < width / 8; i++) {
      out = (out << 8n) | (v & 0xffn);
      v >>= 8n;
    }
    return scalarConst(out);
  }
  return width === 64 ? scalarUnknown() : truncateScalar(scalarUnknown(), width / 8);
}

export function pointerArith(v: VerifierContext, pc: number, insn: Insn, kind: AluKind, dst: RegState, src: RegState, bits: 32 | 64): RegState {
  const d = insn.dst;
  const op = insnOp(insn.code);
  if (bits === 32) throw new Reject(pc, `R${d} 32-bit pointer arithmetic prohibited`);
  if (kind !== 'add' && kind !== 'sub') {
    const sym = ALU_SYMBOL[op] ?? '?';
    const bitwise = kind === 'and' || kind === 'or' || kind === 'xor';
    throw new Reject(pc, `R${d} ${bitwise ? 'bitwise operator' : 'pointer arithmetic with'} ${sym} ${bitwise ? 'on pointer' : 'operator'} prohibited`);
  }
  if (dst.kind === 'ptr' && src.kind === 'ptr') {
    if (kind === 'sub' && dst.ptr === src.ptr && dst.ptr !== 'map_value_or_null' && dst.frame === src.frame && dst.map === src.map) {
      return scalarReg(scalarUnknown());
    }
    throw new Reject(pc, `R${d} pointer ${kind === 'add' ? '+=' : '-='} pointer prohibited`);
  }
  // no array destructuring: under --no-opt it runs the iterator protocol
  const p = dst.kind === 'ptr' ? dst : (src as PtrState);
  const s = dst.kind === 'ptr' ? src : dst;
  const pRegno = dst.kind === 'ptr' ? d : insn.src;
  if (dst.kind !== 'ptr' && kind === 'sub') throw new Reject(pc, `R${d} tried to subtract pointer from scalar`);
  if (s.kind !== 'scalar') throw new Reject(pc, `R${d} !read_ok`);
  if (p.ptr === 'map_value_or_null') throw new Reject(pc, `R${pRegno} pointer arithmetic on map_value_or_null prohibited, null-check it first`);
  if (p.ptr === 'map_ptr') throw new Reject(pc, `R${pRegno} pointer arithmetic on map_ptr prohibited`);
  // The scalar operand's range becomes the pointer's: it matters. An immediate
  // (BPF_K: insn.src is not an operand) is a constant: nothing to mark.
  if (dst.kind !== 'ptr') markPrecise(v, d);
  else if ((insn.code & 0x08) !== 0) markPrecise(v, insn.src);
  if (isConst(s.s)) {
    const c = BigInt.asIntN(64, constValue(s.s));
    const off = BigInt(p.off) + (kind === 'add' ? c : -c);
    if (off <= -MAX_VAR_OFF_BIG || off >= MAX_VAR_OFF_BIG) {
      throw new Reject(pc, `value ${c} makes ${typeName(p)} pointer be out of bounds`);
    }
    return { ...p, off: Number(off) };
  }
  const b = s.s.b64;
  if (b.smin <= -MAX_VAR_OFF_BIG || b.smax >= MAX_VAR_OFF_BIG) {
    throw new Reject(pc, `math between ${typeName(p)} pointer and register with unbounded ${b.smin <= -MAX_VAR_OFF_BIG ? 'min' : 'max'} value is not allowed`);
  }
  const varOff = scalarAlu(kind, p.varOff, s.s, 64);
  return { ...p, varOff };
}

export function ldImm64(v: VerifierContext, pc: number, insn: Insn, f: Frame): void {
  const value = ldImm64Value(v.insns, pc);
  const src = insn.src;
  if (src === LdImm64Src.IMM64) {
    f.regs[insn.dst] = scalarReg(scalarConst(value));
    return;
  }
  const byFd = src === LdImm64Src.MAP_BY_FD || src === LdImm64Src.MAP_VAL_BY_FD;
  const index = byFd ? (v.options.mapFds?.get(insn.imm) ?? insn.imm) : insn.imm;
  const spec = v.maps[index];
  if (spec === undefined) {
    throw new Reject(pc, byFd ? `fd ${insn.imm} is not pointing to valid bpf_map` : `map index ${insn.imm} does not exist (${v.maps.length} maps)`);
  }
  if (src === LdImm64Src.MAP_BY_FD || src === LdImm64Src.MAP_BY_IDX) {
    f.regs[insn.dst] = { ...v.ptr('map_ptr', 0), map: index };
    return;
  }
  if (spec.type !== MapType.ARRAY || spec.maxEntries < 1) throw new Reject(pc, `direct value access on map "${spec.name}" of type ${spec.type} is not supported (array maps only)`);
  const second = v.insns[pc + 1];
  if (second === undefined) throw new Reject(pc, 'invalid bpf_ld_imm64 insn');
  const off = second.imm;
  if (off < 0 || off >= spec.valueSizeBytes) throw new Reject(pc, `invalid access to map value pointer, value_size=${spec.valueSizeBytes} off=${off >>> 0}`);
  f.regs[insn.dst] = { ...v.ptr('map_value', spec.valueSizeBytes), map: index, off, readOnly: spec.readOnly };
}
