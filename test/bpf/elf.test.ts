// The ELF loader on the checked-in objects: programs, subprogram placement,
// pseudo loads, map specifications, global data, license and symbols.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ElfError, findProgram, loadElf, MapType, type ObjectProgram } from '../../src/bpf/elf/elf.ts';
import { branchTarget, isBranch, isLdImm64, isLocalCall, LdImm64Src } from '../../src/bpf/isa.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const load = (path: string) => loadElf(readFileSync(root + path), path);

/** Every local call lands on the first slot of a placed function, and no jump leaves its function. */
function assertWellPlaced(p: ObjectProgram): void {
  const starts = new Set(p.functions.map((f) => f.startInsn));
  const total = p.functions.reduce((n, f) => n + f.insnCount, 0);
  assert.equal(total, p.insns.length, `${p.name}: functions cover the program`);
  for (const fn of p.functions) {
    for (let pc = fn.startInsn; pc < fn.startInsn + fn.insnCount; pc++) {
      const insn = p.insns[pc]!;
      if (isLocalCall(insn)) assert.ok(starts.has(pc + 1 + insn.imm), `${p.name}: call at ${pc} lands on a function start`);
      else if (isBranch(insn)) {
        const target = branchTarget(insn, pc);
        assert.ok(target >= fn.startInsn && target < fn.startInsn + fn.insnCount, `${p.name}: jump at ${pc} stays in ${fn.name}`);
      }
      if (isLdImm64(insn)) pc++;
    }
  }
}

test('lookup.bpf.o: entry program, .text subprogram, BTF maps and global data', () => {
  const object = load('bpf/examples/lookup.bpf.o');
  assert.equal(object.license, 'Dual MIT/GPL');
  assert.deepEqual(
    object.programs.map((p) => [p.name, p.sectionName]),
    [['lookup', 'xrp']],
  );
  const p = findProgram(object, 'xrp');
  assert.equal(p.license, 'Dual MIT/GPL');
  assert.deepEqual(
    p.functions.map((f) => [f.name, f.sectionName]),
    [
      ['lookup', 'xrp'],
      ['lower_bound', '.text'],
    ],
  );
  assertWellPlaced(p);

  const maps = object.maps.map((m) => ({ name: m.name, type: m.type, key: m.keySizeBytes, value: m.valueSizeBytes, max: m.maxEntries, origin: m.origin, ro: m.readOnly }));
  assert.deepEqual(maps, [
    { name: 'visits', type: MapType.ARRAY, key: 4, value: 8, max: 4, origin: 'btf', ro: false },
    { name: 'found', type: MapType.HASH, key: 8, value: 4, max: 64, origin: 'btf', ro: false },
    { name: '.rodata', type: MapType.ARRAY, key: 4, value: 4, max: 1, origin: 'data', ro: true },
    { name: '.bss', type: MapType.ARRAY, key: 4, value: 8, max: 1, origin: 'data', ro: false },
    { name: '.data', type: MapType.ARRAY, key: 4, value: 8, max: 1, origin: 'data', ro: false },
  ]);
  const byName = new Map(object.maps.map((m) => [m.name, m]));
  assert.deepEqual([...byName.get('.rodata')!.initialValue!], [64, 0, 0, 0]); // keys_per_block = 64
  assert.equal(Buffer.from(byName.get('.data')!.initialValue!).readBigUInt64LE(0), 0xfeedfacecafebeefn);
  assert.deepEqual([...byName.get('.bss')!.initialValue!], new Array(8).fill(0));

  // Every relocated lddw is a pseudo load naming the right map; the call is fixed up.
  const kinds = p.relocations.map((r) => [r.kind, r.symbolName]);
  assert.deepEqual(kinds, [
    ['map_value', 'calls'],
    ['map', 'visits'],
    ['call', 'lower_bound'],
    ['map', 'found'],
    ['map_value', 'sentinel'],
    ['map_value', 'keys_per_block'],
  ]);
  for (const r of p.relocations) {
    const insn = p.insns[r.insnIndex]!;
    if (r.kind === 'call') {
      assert.equal(r.insnIndex + 1 + insn.imm, r.target);
      assert.equal(r.target, p.functions[1]!.startInsn);
      continue;
    }
    assert.ok(isLdImm64(insn));
    assert.equal(insn.src, r.kind === 'map' ? LdImm64Src.MAP_BY_IDX : LdImm64Src.MAP_VAL_BY_IDX);
    assert.equal(object.maps[insn.imm]!.name, r.kind === 'map' ? r.symbolName : object.maps[r.target]!.name);
    assert.equal(p.insns[r.insnIndex + 1]!.imm, r.valueOffsetBytes ?? 0);
  }
  // The global `calls` lives in .bss, `sentinel` in .data, `keys_per_block` in .rodata (in the subprogram).
  const target = (name: string) => object.maps[p.relocations.find((r) => r.symbolName === name)!.target]!.name;
  assert.equal(target('calls'), '.bss');
  assert.equal(target('sentinel'), '.data');
  assert.equal(target('keys_per_block'), '.rodata');
  assert.ok(p.relocations.find((r) => r.symbolName === 'keys_per_block')!.insnIndex >= p.functions[1]!.startInsn);
});

test('loader.bpf.o: legacy maps, several sections, two programs in one section, nested subprograms', () => {
  const object = load('bpf/tests/loader.bpf.o');
  assert.equal(object.license, 'GPL');
  assert.deepEqual(
    object.programs.map((p) => [p.name, p.sectionName]),
    [
      ['count_socket', 'socket'],
      ['xdp_first', 'xdp'],
      ['xdp_second', 'xdp'],
      ['plain', 'prog'],
      ['strings', 'tc'],
    ],
  );
  assert.deepEqual(
    object.maps.filter((m) => m.origin === 'legacy').map((m) => [m.name, m.type, m.keySizeBytes, m.valueSizeBytes, m.maxEntries]),
    [
      ['counters', MapType.ARRAY, 4, 8, 8],
      ['seen', MapType.HASH, 8, 8, 16],
    ],
  );
  const sized = object.maps.find((m) => m.name === 'sized')!;
  assert.deepEqual(
    [sized.origin, sized.type, sized.keySizeBytes, sized.valueSizeBytes, sized.maxEntries, sized.flags],
    ['btf', MapType.HASH, 16, 24, 8, 1],
  );
  for (const p of object.programs) assertWellPlaced(p);
  // xdp_first -> bump, mix_twice -> mix (an unrelocated call inside .text): three subprograms, each once.
  const first = findProgram(object, 'xdp_first');
  assert.deepEqual(first.functions.map((f) => f.name).sort(), ['bump', 'mix', 'mix_twice', 'xdp_first']);
  assert.equal(first.functions[0]!.name, 'xdp_first');
  assert.deepEqual(findProgram(object, 'prog').functions.map((f) => f.name), ['plain']);
  assert.equal(findProgram(object, 'plain').insns.length, 2);
  // A global subprogram (relocated against its FUNC symbol) and a string in .rodata.str1.1.
  const strings = findProgram(object, 'tc');
  assert.deepEqual(strings.functions.map((f) => f.name), ['strings', 'char_at', 'global_twice']);
  assert.ok(strings.relocations.some((r) => r.kind === 'call' && r.symbolName === 'global_twice'));
  const literal = strings.relocations.find((r) => r.kind === 'map_value')!;
  assert.equal(object.maps[literal.target]!.name, '.rodata.str1.1');
  assert.equal(Buffer.from(object.maps[literal.target]!.initialValue!).toString('latin1'), 'hello\0');
  // The printk format string in .rodata is reached through the section symbol plus the addend.
  const socket = findProgram(object, 'socket');
  const fmt = socket.relocations.find((r) => r.kind === 'map_value')!;
  const rodata = object.maps[fmt.target]!;
  const text = Buffer.from(rodata.initialValue!.subarray(fmt.valueOffsetBytes!)).toString('latin1');
  assert.ok(text.startsWith('socket %llu\0'), text);
  // Ambiguous and unknown names are typed errors naming the choices.
  assert.throws(() => findProgram(object, 'xdp'), (e: unknown) => e instanceof ElfError && /holds 2 programs/.test(e.message));
  assert.throws(() => findProgram(object, 'nope'), (e: unknown) => e instanceof ElfError && /count_socket \(section socket\)/.test(e.message));
});

test('chain.bpf.o: sections, symbols and relocation summaries for prog dump', () => {
  const object = load('bpf/examples/chain.bpf.o');
  assert.deepEqual(object.programs.map((p) => p.name), ['chain']);
  assert.equal(object.maps.length, 0);
  assert.equal(object.relocations.length, 0);
  const names = object.sections.map((s) => s.name);
  for (const name of ['xrp', 'license', '.BTF', '.symtab', '.strtab']) assert.ok(names.includes(name), name);
  const xrp = object.sections.find((s) => s.name === 'xrp')!;
  assert.equal(xrp.type, 'PROGBITS');
  assert.equal(xrp.flags, 'AX');
  assert.equal(xrp.sizeBytes, findProgram(object, 'chain').insns.length * 8);
  const sym = object.symbols.find((s) => s.name === 'chain')!;
  assert.deepEqual([sym.type, sym.bind, sym.sectionName, sym.value, sym.sizeBytes], ['FUNC', 'GLOBAL', 'xrp', 0, xrp.sizeBytes]);
});

test('hand-written assembly without function symbols: the section is the program', () => {
  const object = load('test/fixtures/elf/raw-asm.o');
  assert.equal(object.license, 'MIT');
  assert.equal(object.programs.length, 1);
  const p = findProgram(object, 'socket');
  assert.deepEqual([p.name, p.sectionName, p.insns.length], ['socket', 'socket', 4]);
  assert.deepEqual(p.insns.map((i) => i.code), [0xb7, 0xb7, 0x0f, 0x95]);
  assert.deepEqual(p.functions, [{ name: 'socket', sectionName: 'socket', startInsn: 0, insnCount: 4 }]);
});
