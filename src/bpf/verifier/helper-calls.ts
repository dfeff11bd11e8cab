// Helper calls: each argument checked against the helper's prototype, the
// result typed, the caller-saved registers cleared (the kernel's
// check_helper_call).

import { STACK_FRAME_BYTES } from '../isa.ts';
import type { MapSpec } from '../elf/elf.ts';
import { scalarUnknown } from './bounds.ts';
import { StackByte, UNINIT, curFrame, type RegState, type VState } from './state.ts';
import { helperName } from './types.ts';
import { MAX_VAR_OFF, Reject, type VerifierContext, scalarReg, typeName } from './context.ts';
import { checkMemRange, stackFrameOf, stackOffset } from './memory.ts';
import { markPrecise } from './precision.ts';

export function helperCall(v: VerifierContext, pc: number, st: VState, id: number): void {
  const f = curFrame(st);
  const proto = v.helpers.get(id);
  if (proto === undefined) {
    const name = helperName(id, v.helpers);
    throw new Reject(pc, name === 'func' ? `invalid func unknown#${id}` : `program of this type cannot use helper ${name}#${id}`);
  }
  let map: MapSpec | undefined;
  let mapIndex = -1;
  proto.args.forEach((arg, k) => {
    const regno = k + 1;
    if (arg === 'optional') return;
    const r = v.read(pc, f, regno);
    switch (arg) {
      case 'anything':
        return;
      case 'const_map_ptr':
        if (r.kind !== 'ptr' || r.ptr !== 'map_ptr') throw new Reject(pc, `R${regno} type=${typeName(r)} expected=map_ptr`);
        map = v.maps[r.map];
        mapIndex = r.map;
        return;
      case 'map_key':
      case 'map_value': {
        if (map === undefined) throw new Reject(pc, `invalid map_ptr to access map->${arg === 'map_key' ? 'key' : 'value'}`);
        const n = arg === 'map_key' ? map.keySizeBytes : map.valueSizeBytes;
        helperMem(v, pc, st, regno, r, n, true);
        return;
      }
      case 'mem_readonly': {
        const sizeReg = v.read(pc, f, regno + 1);
        if (sizeReg.kind !== 'scalar') throw new Reject(pc, `R${regno + 1} type=${typeName(sizeReg)} expected=scalar`);
        markPrecise(v, regno + 1);
        const b = sizeReg.s.b64;
        if (b.smin < 0n) throw new Reject(pc, `R${regno + 1} min value is negative, either use unsigned or 'var &= const'`);
        if (b.umax >= BigInt(MAX_VAR_OFF)) throw new Reject(pc, `R${regno + 1} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
        const kindOfSize = proto.args[k + 1];
        if (b.umin === 0n && kindOfSize === 'const_size') throw new Reject(pc, `R${regno + 1} invalid zero-sized read`);
        if (b.umax > 0n) helperMem(v, pc, st, regno, r, Number(b.umax), false);
        return;
      }
      case 'const_size':
      case 'const_size_or_zero':
        return;
    }
  });
  for (let r = 1; r <= 5; r++) f.regs[r] = UNINIT;
  switch (proto.ret) {
    case 'integer':
    case 'void':
      f.regs[0] = scalarReg(scalarUnknown());
      break;
    case 'map_value_or_null': {
      if (map === undefined) throw new Reject(pc, `${proto.name} returns a map value but has no map argument`);
      f.regs[0] = { ...v.ptr('map_value_or_null', map.valueSizeBytes), map: mapIndex, id: v.newId(), readOnly: map.readOnly };
      break;
    }
  }
}

/** A helper reads `n` bytes at the pointer in register `regno`. */
export function helperMem(v: VerifierContext, pc: number, st: VState, regno: number, r: RegState, n: number, noPointers: boolean): void {
  if (r.kind !== 'ptr' || (r.ptr !== 'stack' && r.ptr !== 'mem' && r.ptr !== 'map_value')) {
    throw new Reject(pc, `R${regno} type=${typeName(r)} expected=fp, map_value, mem`);
  }
  if (r.ptr === 'stack') {
    const sf = stackFrameOf(v, pc, st, r);
    const at = stackOffset(v, pc, regno, r, 0, n, 'indirect access to');
    const idx = at + STACK_FRAME_BYTES;
    for (let k = 0; k < n; k++) {
      if (sf.stackTypes[idx + k] === StackByte.INVALID) throw new Reject(pc, `invalid indirect read from stack R${regno} off ${at}+${k} size ${n}`);
    }
    if (noPointers) {
      for (let s = idx >> 3; s <= (idx + n - 1) >> 3; s++) {
        const v = sf.stackTypes[s * 8] === StackByte.SPILL ? sf.spills[s] : undefined;
        if (v !== undefined && v.kind === 'ptr') throw new Reject(pc, `R${regno} leaks addr into map`);
      }
    }
    return;
  }
  checkMemRange(v, pc, regno, r, 0, n);
}
