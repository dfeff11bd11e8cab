// The loader against llvm-objdump: every instruction we load is byte-for-byte
// the one llvm-objdump disassembles at the function's place in its section,
// except the relocated fields (pseudo loads, fixed call offsets), and the
// relocations we list are the ones llvm-objdump prints. Skips without llvm-objdump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadElf } from '../../src/bpf/elf/elf.ts';
import { disassembleInsn } from '../../src/bpf/asm/disasm.ts';
import { encode, isBranch, isLdImm64, isLocalCall } from '../../src/bpf/isa.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const probe = spawnSync('llvm-objdump', ['--version'], { encoding: 'utf8' });
const missing = probe.error !== undefined || probe.status !== 0 ? 'llvm-objdump is not installed' : false;

interface Dumped {
  /** raw 8-byte slots (hex) by section name, by slot index */
  slots: Map<string, Map<number, string>>;
  /** llvm-objdump's text of each instruction by section name, by slot index */
  texts: Map<string, Map<number, string>>;
  /** "section offset type symbol" */
  relocations: string[];
}

function objdump(path: string): Dumped {
  const run = spawnSync('llvm-objdump', ['-d', '-r', path], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const slots = new Map<string, Map<number, string>>();
  const texts = new Map<string, Map<number, string>>();
  const relocations: string[] = [];
  let section = '';
  for (const line of run.stdout.split('\n')) {
    const header = /^Disassembly of section (.+):$/.exec(line);
    if (header) {
      section = header[1]!;
      slots.set(section, new Map());
      texts.set(section, new Map());
      continue;
    }
    const insn = /^\s+(\d+):\t([0-9a-f ]+)\t(.*)$/.exec(line);
    if (insn) {
      const hex = insn[2]!.replace(/ /g, '');
      const slot = Number(insn[1]);
      texts.get(section)!.set(slot, insn[3]!.trim());
      for (let i = 0; i < hex.length / 16; i++) slots.get(section)!.set(slot + i, hex.slice(i * 16, i * 16 + 16));
      continue;
    }
    const reloc = /^\s+([0-9a-f]+):\s+(R_BPF_\w+)\s+(\S+)/.exec(line);
    if (reloc) relocations.push(`${section} ${Number.parseInt(reloc[1]!, 16)} ${reloc[2]} ${reloc[3]}`);
  }
  return { slots, texts, relocations };
}

function objects(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...objects(path));
    else if (name.endsWith('.bpf.o')) found.push(path);
  }
  return found;
}

test('loaded instructions and relocations agree with llvm-objdump -d -r', { skip: missing }, () => {
  let compared = 0;
  let texts = 0;
  for (const path of objects(join(root, 'bpf'))) {
    const object = loadElf(readFileSync(path), path);
    const dumped = objdump(path);
    assert.deepEqual(
      object.relocations.map((r) => `${r.sectionName} ${r.offsetBytes} ${r.type} ${r.symbolName}`).sort(),
      dumped.relocations.sort(),
      `${path}: relocations`,
    );
    for (const program of object.programs) {
      const relocated = new Map(program.relocations.map((r) => [r.insnIndex, r.kind]));
      const code = Buffer.from(encode(program.insns)).toString('hex');
      for (const fn of program.functions) {
        // Where the function sits in its section: the first slot of its symbol.
        const symbol = object.symbols.find((s) => s.name === fn.name && s.type === 'FUNC' && s.sectionName === fn.sectionName);
        const sectionStart = symbol ? symbol.value / 8 : 0;
        const inSection = dumped.slots.get(fn.sectionName)!;
        for (let i = 0; i < fn.insnCount; i++) {
          const at = fn.startInsn + i;
          const ours = code.slice(at * 16, at * 16 + 16);
          const theirs = inSection.get(sectionStart + i);
          assert.ok(theirs !== undefined, `${path} ${fn.sectionName} slot ${sectionStart + i}: not in llvm-objdump's output`);
          const previous = relocated.get(at - 1);
          const kind = relocated.get(at) ?? (previous === 'map' || previous === 'map_value' ? previous : undefined);
          if (kind === undefined) {
            assert.equal(ours, theirs, `${path} ${program.name} slot ${at} (${fn.name}+${i})`);
            // Same text too, where our disassembler promises objdump's syntax (it prints
            // 64-bit immediates in hex, local calls as pc+N and jumps without labels).
            const insn = program.insns[at]!;
            if (!isLdImm64(insn) && !isLocalCall(insn) && !isBranch(insn) && (at === 0 || !isLdImm64(program.insns[at - 1]!))) {
              assert.equal(disassembleInsn(program.insns, at), dumped.texts.get(fn.sectionName)!.get(sectionStart + i), `${path} ${program.name} slot ${at}: text`);
              texts++;
            }
          } else {
            // Relocated: opcode and dst are unchanged; src, imm (and the second slot's imm) are ours to set.
            assert.equal(ours.slice(0, 2), theirs.slice(0, 2), `${path} ${program.name} slot ${at}: opcode`);
            assert.equal(ours[3], theirs[3], `${path} ${program.name} slot ${at}: dst`);
          }
          compared++;
        }
      }
    }
  }
  assert.ok(compared > 100, `${compared} instructions compared`);
  assert.ok(texts > 80, `${texts} texts compared`);
});
