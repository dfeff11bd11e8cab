// Malformed objects: each defect is an ElfError naming the file, the section and
// the offset or relocation at fault. The objects are real ones with one field changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ElfError, loadElf } from '../../src/bpf/elf/elf.ts';
import { readElf } from '../../src/bpf/elf/reader.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const FILE = 'lookup.bpf.o';
const pristine = readFileSync(root + 'bpf/examples/lookup.bpf.o');
const elf = readElf(pristine, FILE);
const shoff = Number(pristine.readBigUInt64LE(0x28));
const section = (name: string) => elf.sections.find((s) => s.name === name)!;
const headerAt = (name: string) => shoff + section(name).index * 64;
const symbol = (name: string) => elf.symbols.find((s) => s.name === name)!;
const symbolAt = (name: string) => section('.symtab').offsetBytes + symbol(name).index * 24;
const relAt = (entry: number) => section('.relxrp').offsetBytes + entry * 16;

function mutate(edit: (b: Buffer) => void, bytes: Buffer = pristine): Buffer {
  const copy = Buffer.from(bytes);
  edit(copy);
  return copy;
}

function expectElfError(bytes: Uint8Array, pattern: RegExp, sectionName?: string): ElfError {
  let caught: unknown;
  try {
    loadElf(bytes, FILE);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ElfError, `expected an ElfError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  assert.ok(caught.message.startsWith(`${FILE}:`), caught.message);
  if (sectionName !== undefined) assert.equal(caught.sectionName, sectionName, caught.message);
  return caught;
}

test('the pristine object loads (the mutations below are the only defects)', () => {
  assert.equal(loadElf(pristine, FILE).programs.length, 1);
});

test('header defects', () => {
  expectElfError(pristine.subarray(0, 40), /truncated ELF header: 40 of 64 bytes/);
  expectElfError(new Uint8Array(0), /truncated ELF header: 0 of 64/);
  expectElfError(mutate((b) => (b[1] = 0x46)), /bad magic/);
  expectElfError(mutate((b) => (b[4] = 1)), /not a 64-bit/);
  expectElfError(mutate((b) => (b[5] = 2)), /not a little-endian/);
  expectElfError(mutate((b) => b.writeUInt16LE(62, 18)), /not an eBPF object \(e_machine 62/);
  expectElfError(mutate((b) => b.writeUInt16LE(2, 16)), /not a relocatable object/);
  expectElfError(mutate((b) => b.writeUInt16LE(0, 0x3c)), /no section table/);
  expectElfError(mutate((b) => b.writeUInt16LE(500, 0x3e)), /section-name table index 500 is out of range/);
});

test('section table out of range, and sections past the end of the file', () => {
  const e = expectElfError(mutate((b) => b.writeBigUInt64LE(BigInt(pristine.length - 10), 0x28)), /section table \(32 headers at offset \d+\) extends past the end/);
  assert.equal(e.offsetBytes, pristine.length - 10);
  expectElfError(pristine.subarray(0, pristine.length - 1), /extends past the end of the file/);
  const index = section('xrp').index;
  expectElfError(mutate((b) => b.writeBigUInt64LE(1n << 40n, headerAt('xrp') + 24)), new RegExp(`section #${index} \\(offset ${2 ** 40}, \\d+ bytes\\) extends past`));
  expectElfError(mutate((b) => b.writeBigUInt64LE(1n << 60n, headerAt('xrp') + 32)), /size 0x1000000000000000 is too large/);
});

test('bad string offsets', () => {
  expectElfError(mutate((b) => b.writeUInt32LE(0xffffff, headerAt('xrp'))), /name of section #\d+: string offset 16777215 is outside the string table/);
  expectElfError(mutate((b) => b.writeUInt32LE(0xffffff, symbolAt('lookup'))), /symbol #\d+: name: string offset 16777215 is outside/, '.symtab');
  // A string table whose last byte is not NUL.
  const strtab = section('.strtab');
  expectElfError(mutate((b) => (b[strtab.offsetBytes + strtab.sizeBytes - 1] = 0x41)), /not NUL-terminated/);
});

test('relocation defects name the relocation section, entry and offset', () => {
  const missing = expectElfError(mutate((b) => b.writeUInt32LE(9999, relAt(0) + 12)), /relocation #0 \(R_BPF_64_64\) at offset 24 of "xrp" refers to missing symbol #9999/, '.relxrp');
  assert.equal(missing.offsetBytes, 0);
  expectElfError(mutate((b) => b.writeBigUInt64LE(0x19n, relAt(1))), /relocation #1 \(R_BPF_64_64\) at offset 25 of "xrp" is not on an instruction/, '.relxrp');
  expectElfError(mutate((b) => b.writeBigUInt64LE(0x100000n, relAt(1))), /at offset 1048576 of "xrp" is not on an instruction/, '.relxrp');
  expectElfError(mutate((b) => b.writeUInt32LE(2, relAt(1) + 8)), /relocation #1 \(R_BPF_64_ABS64\) .* unsupported relocation type in code/, '.relxrp');
  expectElfError(mutate((b) => b.writeUInt32LE(77, relAt(1) + 8)), /relocation #1 \(type 77\) .* unsupported relocation type/, '.relxrp');
  expectElfError(mutate((b) => b.writeBigUInt64LE(0n, relAt(1))), /relocation #1 \(R_BPF_64_64\) at offset 0 of "xrp" is not on a 64-bit immediate load/, '.relxrp');
  expectElfError(mutate((b) => b.writeBigUInt64LE(0n, relAt(2))), /relocation #2 \(R_BPF_64_32\) at offset 0 of "xrp" is not on a bpf-to-bpf call/, '.relxrp');
  expectElfError(mutate((b) => b.writeBigUInt64LE(0x68n, relAt(0))), /a second relocation of the same instruction/, '.relxrp');
  expectElfError(mutate((b) => b.writeUInt32LE(99, headerAt('.relxrp') + 44)), /applies to section #99, which does not exist/, '.relxrp');
  expectElfError(mutate((b) => b.writeBigUInt64LE(BigInt(section('.relxrp').sizeBytes - 3), headerAt('.relxrp') + 32)), /not a multiple of the relocation size 16/, '.relxrp');
});

test('symbol and code defects', () => {
  expectElfError(mutate((b) => b.writeUInt16LE(0, symbolAt('calls') + 6)), /lddw refers to undefined symbol "calls" \(extern/, 'xrp');
  expectElfError(mutate((b) => b.writeUInt16LE(section('license').index, symbolAt('calls') + 6)), /"calls" in section "license", which is neither a map nor global data/, 'xrp');
  expectElfError(mutate((b) => b.writeUInt16LE(900, symbolAt('calls') + 6)), /section index 900 is out of range/, '.symtab');
  expectElfError(mutate((b) => b.writeBigUInt64LE(BigInt(section('xrp').sizeBytes - 4), headerAt('xrp') + 32)), /code size \d+ is not a multiple of 8 bytes/, 'xrp');
  // The call at slot 23 targets .text slot imm+1: make it land inside lower_bound.
  const callAt = section('xrp').offsetBytes + 23 * 8;
  expectElfError(mutate((b) => b.writeInt32LE(2, callAt + 4)), /call at offset 184 targets slot 3 of "\.text", which is not the start of a function/, 'xrp');
  expectElfError(mutate((b) => b.writeBigUInt64LE(4n, symbolAt('lookup') + 8)), /function "lookup" starts at offset 4/, 'xrp');
  expectElfError(mutate((b) => b.writeBigUInt64LE(8000n, symbolAt('lookup') + 16)), /function "lookup" \(offset 0, 8000 bytes\) does not fit/, 'xrp');
  // A global's offset beyond its section.
  expectElfError(mutate((b) => b.writeBigUInt64LE(64n, symbolAt('sentinel') + 8)), /lddw of "sentinel" \+ 0 points outside "\.data" \(8 bytes\)/, 'xrp');
});

test('map definitions need BTF', () => {
  // Rename .BTF to ".strtab" by pointing its name at that string.
  const strtabName = pristine.readUInt32LE(headerAt('.strtab'));
  expectElfError(mutate((b) => b.writeUInt32LE(strtabName, headerAt('.BTF'))), /BTF-style map definitions need a \.BTF section/, '.maps');
  const btf = section('.BTF');
  expectElfError(mutate((b) => b.writeUInt16LE(0x1234, btf.offsetBytes)), /bad BTF magic 0x1234/, '.BTF');
  expectElfError(mutate((b) => b.writeUInt32LE(0xfffff, btf.offsetBytes + 12)), /BTF type section .* extends past the section/, '.BTF');
  // A member name changed in the BTF strings: the map no longer declares max_entries.
  const btfBytes = pristine.subarray(btf.offsetBytes, btf.offsetBytes + btf.sizeBytes);
  const at = btf.offsetBytes + btfBytes.indexOf(Buffer.from('max_entries\0'));
  assert.ok(at > btf.offsetBytes);
  expectElfError(mutate((b) => (b[at + 10] = 0x7a)), /map "visits" does not declare max_entries/, '.maps');
  // A map symbol with no BTF variable of its name.
  const mapSym = symbol('visits');
  const renamed = mutate((b) => b.writeUInt32LE(pristine.readUInt32LE(symbolAt('sentinel')), symbolAt('visits')));
  expectElfError(renamed, /map "sentinel" has no BTF definition/, '.maps');
  assert.equal(mapSym.sectionIndex, section('.maps').index);
});
