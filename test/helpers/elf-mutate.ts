// Seeded mutations of BPF object files for the fuzzers: a byte changed or a
// few bits flipped inside a code section (where a mutant still loads and
// reaches the verifier), or anywhere in the file (the loader's side).

import type { Prng } from '../../src/base/prng.ts';

export interface CodeRange {
  name: string;
  offsetBytes: number;
  sizeBytes: number;
}

const SHF_EXECINSTR = 0x4;

/** The executable sections of an ELF64 little-endian object (empty when the header is not one). */
export function codeRanges(elf: Uint8Array): CodeRange[] {
  if (elf.length < 64 || elf[0] !== 0x7f || elf[4] !== 2 || elf[5] !== 1) return [];
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  const header = (i: number): number => shoff + i * shentsize;
  if (shentsize < 64 || header(shnum) > elf.length || shstrndx >= shnum) return [];
  const strOff = Number(v.getBigUint64(header(shstrndx) + 0x18, true));
  const nameAt = (at: number): string => {
    let end = strOff + at;
    while (end < elf.length && elf[end] !== 0) end++;
    return new TextDecoder().decode(elf.subarray(strOff + at, end));
  };
  const out: CodeRange[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const flags = Number(v.getBigUint64(h + 0x08, true));
    const size = Number(v.getBigUint64(h + 0x20, true));
    if ((flags & SHF_EXECINSTR) === 0 || size === 0) continue;
    out.push({ name: nameAt(v.getUint32(h, true)), offsetBytes: Number(v.getBigUint64(h + 0x18, true)), sizeBytes: size });
  }
  return out;
}

export type MutationKind = 'code-byte' | 'code-bits' | 'any-byte';

/** A mutant of `elf`: one byte of code set to a random value, `bits` bits of code flipped, or one byte anywhere. */
export function mutateElf(rng: Prng, elf: Uint8Array, kind: MutationKind, bits = 6): { bytes: Uint8Array; what: string } {
  const b = elf.slice();
  const code = codeRanges(elf);
  if (kind === 'any-byte' || code.length === 0) {
    const at = rng.nextBelow(b.length);
    const value = rng.nextBelow(256);
    b[at] = value;
    return { bytes: b, what: `byte ${at} = 0x${value.toString(16)}` };
  }
  const range = code[rng.nextBelow(code.length)]!;
  if (kind === 'code-byte') {
    // half the time a byte of an instruction's off or imm field (jump targets, loop bounds, sizes)
    const insn = range.offsetBytes + 8 * rng.nextBelow(Math.max(1, Math.floor(range.sizeBytes / 8)));
    const at = rng.nextBelow(2) === 0 ? insn + 2 + rng.nextBelow(6) : range.offsetBytes + rng.nextBelow(range.sizeBytes);
    const value = rng.nextBelow(256);
    b[at] = value;
    return { bytes: b, what: `${range.name}: byte ${at} = 0x${value.toString(16)}` };
  }
  const flipped: string[] = [];
  for (let k = 0; k < bits; k++) {
    // mostly in off and imm fields: a flipped opcode or register is rejected at once
    const insn = range.offsetBytes + 8 * rng.nextBelow(Math.max(1, Math.floor(range.sizeBytes / 8)));
    const at = rng.nextBelow(4) !== 0 ? insn + 2 + rng.nextBelow(6) : range.offsetBytes + rng.nextBelow(range.sizeBytes);
    const bit = rng.nextBelow(8);
    b[at] = (b[at] ?? 0) ^ (1 << bit);
    flipped.push(`${at}.${bit}`);
  }
  return { bytes: b, what: `${range.name}: bits ${flipped.join(' ')}` };
}
