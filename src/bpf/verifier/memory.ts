// Memory access: loads, stores and atomics through typed pointers: context
// fields, the stack with spills and fills, map values and the XRP pages
// (the kernel's check_mem_access and check_stack_*).

import { STACK_FRAME_BYTES, type Insn } from '../isa.ts';
import { constValue, isConst, loadedScalar, scalarToString, scalarUnknown, truncateScalar } from './bounds.ts';
import { STACK_SLOTS, StackByte, UNINIT, ownStack, curFrame, type Frame, type PtrState, type RegState, type VState } from './state.ts';
import { findCtxField } from './types.ts';
import { VerifierInvariantError } from './log.ts';
import { MAX_VAR_OFF, MAX_VAR_OFF_BIG, Reject, type VerifierContext, scalarReg, typeName } from './context.ts';

/**
 * Check an access of `size` bytes at `reg + off` (reg is register `regno`,
 * already read); for reads return the loaded value, for writes store `value`.
 */
export function access(
  v: VerifierContext,
  pc: number,
  st: VState,
  regno: number,
  reg: RegState,
  off: number,
  size: number,
  mode: 'read' | 'write',
  value: { reg: RegState; regno: number } | undefined,
  signed: boolean,
): RegState {
  if (reg.kind !== 'ptr') throw new Reject(pc, `R${regno} invalid mem access '${typeName(reg)}'`);
  switch (reg.ptr) {
    case 'map_value_or_null':
    case 'map_ptr':
      throw new Reject(pc, `R${regno} invalid mem access '${reg.ptr}'`);
    case 'ctx':
      return ctxAccess(v, pc, regno, reg, off, size, mode, value, signed);
    case 'stack':
      return stackAccess(v, pc, st, regno, reg, off, size, mode, value, signed);
    case 'mem':
    case 'map_value': {
      checkMemRange(v, pc, regno, reg, off, size);
      if (mode === 'write') {
        if (reg.readOnly) throw new Reject(pc, reg.ptr === 'map_value' ? 'write into map forbidden' : `R${regno} cannot write into rdonly mem`);
        if (value === undefined) throw new VerifierInvariantError(`a write at insn ${pc} without a value`);
        if (value.reg.kind === 'ptr') throw new Reject(pc, `R${value.regno} leaks addr into ${reg.ptr === 'mem' ? 'mem' : 'map'}`);
        return UNINIT;
      }
      return { kind: 'scalar', s: loadedScalar(size, signed), id: 0 };
    }
  }
}

/** Bounds of an access into mem or a map value: the whole variable range must fit. */
export function checkMemRange(v: VerifierContext, pc: number, regno: number, reg: PtrState, off: number, size: number): void {
  const what = reg.ptr === 'mem' ? 'memory, mem_size' : 'map value, value_size';
  const b = reg.varOff.b64;
  if (b.smin < 0n) {
    throw new Reject(pc, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  // In numbers when the offset is small (always, for an access that passes):
  // no BigInt allocations on the common path.
  if (b.umax < MAX_VAR_OFF_BIG) {
    const lo = reg.off + off + Number(b.umin);
    const hi = reg.off + off + Number(b.umax) + size;
    if (lo >= 0 && hi <= reg.sizeBytes) return;
  }
  const fixed = BigInt(reg.off + off);
  const lo = fixed + b.umin;
  const hi = fixed + b.umax + BigInt(size);
  if (lo < 0n || hi > BigInt(reg.sizeBytes)) {
    if (isConst(reg.varOff)) throw new Reject(pc, `invalid access to ${what}=${reg.sizeBytes} off=${fixed + b.umin} size=${size}`);
    if (b.umax >= BigInt(MAX_VAR_OFF)) throw new Reject(pc, `R${regno} unbounded memory access, make sure to bounds check any such access`);
    throw new Reject(pc, `R${regno} max value is outside of the allowed memory range: ${what}=${reg.sizeBytes} off=${fixed} var=[${b.umin}, ${b.umax}] size=${size}`);
  }
}

export function ctxAccess(
  v: VerifierContext,
  pc: number,
  regno: number,
  reg: PtrState,
  off: number,
  size: number,
  mode: 'read' | 'write',
  value: { reg: RegState; regno: number } | undefined,
  signed: boolean,
): RegState {
  if (!isConst(reg.varOff) || constValue(reg.varOff) !== 0n) {
    throw new Reject(pc, `variable ctx access var_off=${scalarToString(reg.varOff)} disallowed`);
  }
  const at = reg.off + off;
  const field = v.options.type === 'xrp' ? findCtxField(at, size) : undefined;
  if (field === undefined) throw new Reject(pc, `invalid bpf_context access off=${at} size=${size}`);
  if (mode === 'write') {
    if (!field.writable) throw new Reject(pc, `invalid bpf_context access off=${at} size=${size}: ${field.name} is read-only`);
    if (value === undefined) throw new VerifierInvariantError(`a write at insn ${pc} without a value`);
    if (value.reg.kind === 'ptr') throw new Reject(pc, `R${value.regno} leaks addr into ctx`);
    return UNINIT;
  }
  if (field.pointsToMemBytes !== undefined) {
    if (signed) throw new Reject(pc, `invalid bpf_context access off=${at} size=${size}: sign-extending load of a pointer`);
    return { ...v.ptr('mem', field.pointsToMemBytes) };
  }
  return scalarReg(loadedScalar(size, signed));
}

export function frameIndexOf(v: VerifierContext, f: Frame): number {
  if (v.path === undefined) throw new VerifierInvariantError('a stack access outside any path');
  return v.path.state.frames.indexOf(f);
}

export function stackFrameOf(v: VerifierContext, pc: number, st: VState, reg: PtrState): Frame {
  const f = st.frames[reg.frame];
  if (f === undefined) throw new Reject(pc, `stack pointer into frame ${reg.frame}, which has returned`);
  return f;
}

/** Fixed stack offset of an access (variable offsets are rejected), checked against the frame. */
export function stackOffset(v: VerifierContext, pc: number, regno: number, reg: PtrState, off: number, size: number, what: string): number {
  if (!isConst(reg.varOff)) throw new Reject(pc, `variable stack access var_off=${scalarToString(reg.varOff)} disallowed`);
  const at = reg.off + off + Number(BigInt.asIntN(64, constValue(reg.varOff)));
  if (at < -STACK_FRAME_BYTES || at + size > 0) throw new Reject(pc, `invalid ${what} stack R${regno} off=${at} size=${size}`);
  return at;
}

export function stackAccess(
  v: VerifierContext,
  pc: number,
  st: VState,
  regno: number,
  reg: PtrState,
  off: number,
  size: number,
  mode: 'read' | 'write',
  value: { reg: RegState; regno: number } | undefined,
  signed: boolean,
): RegState {
  const f = stackFrameOf(v, pc, st, reg);
  const at = stackOffset(v, pc, regno, reg, off, size, mode === 'read' ? 'read from' : 'write to');
  const idx = at + STACK_FRAME_BYTES;
  if (mode === 'write') {
    if (value === undefined) throw new VerifierInvariantError(`a write at insn ${pc} without a value`);
    stackWrite(v, pc, f, idx, size, value.reg);
    return UNINIT;
  }
  return stackRead(v, pc, f, idx, size, at, signed);
}

export function stackWrite(v: VerifierContext, pc: number, f: Frame, idx: number, size: number, value: RegState): void {
  if (size === 8 && idx % 8 === 0) {
    v.lastSlot = frameIndexOf(v, f) * STACK_SLOTS + idx / 8;
    ownStack(f);
    if (idx >> 3 < f.lowSlot) f.lowSlot = idx >> 3;
    f.stackTypes.fill(StackByte.SPILL, idx, idx + 8);
    f.spills[idx / 8] = value;
    return;
  }
  if (value.kind === 'ptr') throw new Reject(pc, `invalid size of register spill`);
  markMisc(v, f, idx, size);
}

/** Bytes become unknown data; a spilled register partly overwritten becomes unknown data too. */
export function markMisc(v: VerifierContext, f: Frame, idx: number, size: number): void {
  ownStack(f);
  if (idx >> 3 < f.lowSlot) f.lowSlot = idx >> 3;
  for (let slot = idx >> 3; slot <= (idx + size - 1) >> 3; slot++) {
    if (f.stackTypes[slot * 8] === StackByte.SPILL) {
      f.stackTypes.fill(StackByte.MISC, slot * 8, slot * 8 + 8);
      f.spills[slot] = undefined;
    }
  }
  f.stackTypes.fill(StackByte.MISC, idx, idx + size);
}

export function stackRead(v: VerifierContext, pc: number, f: Frame, idx: number, size: number, at: number, signed: boolean): RegState {
  for (let k = 0; k < size; k++) {
    if (f.stackTypes[idx + k] === StackByte.INVALID) throw new Reject(pc, `invalid read from stack off ${at}+${k} size ${size}`);
  }
  const slot = idx >> 3;
  const spilled = f.stackTypes[idx] === StackByte.SPILL ? f.spills[slot] : undefined;
  if (spilled !== undefined && idx % 8 === 0) {
    v.lastSlot = frameIndexOf(v, f) * STACK_SLOTS + slot;
    if (size === 8) return spilled;
    if (spilled.kind === 'ptr') throw new Reject(pc, 'invalid size of register fill');
    if (spilled.kind === 'scalar' && !signed) return scalarReg(truncateScalar(spilled.s, size));
    return scalarReg(loadedScalar(size, signed));
  }
  for (let s = slot; s <= (idx + size - 1) >> 3; s++) {
    const r = f.stackTypes[s * 8] === StackByte.SPILL ? f.spills[s] : undefined;
    if (r !== undefined && r.kind === 'ptr') throw new Reject(pc, 'invalid size of register fill');
  }
  return scalarReg(loadedScalar(size, signed));
}

export function atomic(v: VerifierContext, pc: number, st: VState, insn: Insn, base: RegState, size: number): void {
  const f = curFrame(st);
  const src = v.read(pc, f, insn.src);
  const op = insn.imm;
  const cmpxchg = op === 0xf1;
  if (base.kind !== 'ptr') throw new Reject(pc, `R${insn.dst} invalid mem access '${typeName(base)}'`);
  if (cmpxchg) {
    const r0 = v.read(pc, f, 0);
    if (r0.kind === 'ptr') throw new Reject(pc, `R0 leaks addr into mem`);
  }
  if (base.ptr === 'ctx') throw new Reject(pc, `BPF_ATOMIC stores into R${insn.dst} ctx is not allowed`);
  if (src.kind === 'ptr') throw new Reject(pc, `R${insn.src} leaks addr into mem`);
  if (base.ptr === 'stack') {
    const sf = stackFrameOf(v, pc, st, base);
    const at = stackOffset(v, pc, insn.dst, base, insn.off, size, 'atomic access to');
    if (at % size !== 0) throw new Reject(pc, `misaligned stack access off ${at} size ${size}`);
    const idx = at + STACK_FRAME_BYTES;
    stackRead(v, pc, sf, idx, size, at, false);
    const spilled = sf.stackTypes[idx] === StackByte.SPILL ? sf.spills[idx >> 3] : undefined;
    if (spilled !== undefined && spilled.kind === 'ptr') throw new Reject(pc, `BPF_ATOMIC on a stack slot holding a pointer is not allowed`);
    markMisc(v, sf, idx, size);
  } else if (base.ptr === 'mem' || base.ptr === 'map_value') {
    checkMemRange(v, pc, insn.dst, base, insn.off, size);
    if (base.readOnly) throw new Reject(pc, base.ptr === 'map_value' ? 'write into map forbidden' : `R${insn.dst} cannot write into rdonly mem`);
    const fixed = base.off + insn.off;
    const t = base.varOff.b64.t;
    const low = BigInt(size - 1);
    if (fixed % size !== 0 || ((t.value | t.mask) & low) !== 0n) {
      throw new Reject(pc, `misaligned access off ${fixed}+${scalarToString(base.varOff)} size ${size}`);
    }
  } else {
    throw new Reject(pc, `R${insn.dst} invalid mem access '${base.ptr}'`);
  }
  const old = size === 4 ? scalarReg(loadedScalar(4, false)) : scalarReg(scalarUnknown());
  if (cmpxchg) f.regs[0] = old;
  else if ((op & 1) !== 0) f.regs[insn.src] = old;
}
