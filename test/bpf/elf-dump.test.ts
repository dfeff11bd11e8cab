// The text of `xrp prog dump` (formatDump), and the command itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatDump } from '../../src/bpf/elf/dump.ts';
import { loadElf } from '../../src/bpf/elf/elf.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const path = 'bpf/examples/lookup.bpf.o';
const object = loadElf(readFileSync(root + path), path);
const opcode = (insns: readonly { code: number }[], pc: number): string => `op 0x${insns[pc]!.code.toString(16)}`;

test('formatDump lists sections, programs, maps, relocations and symbols', () => {
  const text = formatDump(object, opcode);
  const lines = text.split('\n');
  assert.equal(lines[0], `file: ${path}`);
  assert.equal(lines[1], 'license: "Dual MIT/GPL"');
  assert.match(text, /^sections \(31\):$/m);
  assert.match(text, /^ {2}4 +xrp +PROGBITS +AX +352 bytes$/m);
  assert.match(text, /^ {2}8 +\.bss +NOBITS +WA +8 bytes$/m);
  assert.match(text, /^programs \(1\):$/m);
  assert.match(text, /^ {2}lookup +xrp +69 +lower_bound +Dual MIT\/GPL$/m);
  assert.match(text, /^maps \(5\):$/m);
  assert.match(text, /^ {2}0 +visits +array +4 +8 +4 +0x0 +btf$/m);
  assert.match(text, /^ {2}1 +found +hash +8 +4 +64 +0x0 +btf$/m);
  assert.match(text, /^ {2}2 +\.rodata +array +4 +4 +1 +0x0 +data, read-only$/m);
  assert.match(text, /^relocations \(6\):$/m);
  assert.match(text, /^ {2}xrp +0xb8 +23 +R_BPF_64_32 +\.text$/m);
  assert.match(text, /^ {2}\.text +0x8 +1 +R_BPF_64_64 +keys_per_block$/m);
  assert.match(text, /^ {2}lower_bound +FUNC +LOCAL +\.text +0x0 +200$/m);
  // The disassembly: labels for each function, pseudo loads and calls annotated.
  assert.match(text, /^disassembly of lookup \(section xrp, 69 instructions\):$/m);
  assert.match(text, /^lookup:$/m);
  assert.match(text, /^lower_bound \(from \.text\):$/m);
  assert.match(text, /^ {2} 3: op 0x18 {2}; \.bss \+ 0 \(calls\)$/m);
  assert.match(text, /^ {2}13: op 0x18 {2}; map "visits"$/m);
  assert.match(text, /^ {2}23: op 0x85 {2}; call lower_bound$/m);
  assert.match(text, /^ {2}45: op 0x18 {2}; \.rodata \+ 0 \(keys_per_block\)$/m);
  // lddw takes two slots: slot 4 is never printed on its own.
  assert.doesNotMatch(text, /^ {2} 4: /m);
  const disasmLines = lines.filter((l) => /^ +\d+: op/.test(l));
  assert.equal(disasmLines.length, 69 - 5, 'one line per slot, each of the five lddw once');
});

test('formatDump options: no disassembly, or one program', () => {
  assert.doesNotMatch(formatDump(object, opcode, { disassembly: false }), /disassembly of/);
  const loader = loadElf(readFileSync(root + 'bpf/tests/loader.bpf.o'), 'loader.bpf.o');
  const one = formatDump(loader, opcode, { programName: 'xdp_second' });
  assert.match(one, /disassembly of xdp_second/);
  assert.doesNotMatch(one, /disassembly of xdp_first/);
  assert.equal((formatDump(loader, opcode).match(/^disassembly of/gm) ?? []).length, loader.programs.length);
});

const xrp = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'prog', 'dump', ...args], { cwd: root, encoding: 'utf8' });

test('xrp prog dump prints the dump with llvm-style disassembly', () => {
  const run = xrp(path);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^programs \(1\):$/m);
  assert.match(run.stdout, /^ {2} 1: r1 = \*\(u64 \*\)\(r6 \+ 272\)$/m);
  assert.match(run.stdout, /^ {2}15: call 1$/m);
  assert.match(run.stdout, /^ {2}68: exit$/m);
});

test('xrp prog dump: typed errors for bad files and unknown programs', () => {
  const missing = xrp('no/such.o');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^xrp: cannot read no\/such\.o/m);
  const notElf = xrp('package.json');
  assert.equal(notElf.status, 1);
  assert.match(notElf.stderr, /^xrp: package\.json: at offset 0: not an ELF file \(bad magic\)/m);
  const unknown = xrp(path, '--program', 'nope');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no program "nope"; programs: lookup \(section xrp\)/);
  const json = xrp(path, '--json');
  assert.equal(json.status, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).programs[0].name, 'lookup');
});
