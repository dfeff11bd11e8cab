// Fuzzing the ELF loader: truncations and random byte changes of the real
// objects never throw anything but ElfError, and never hang (the suite ends).
// Seeded: set XRP_FUZZ_SEED to replay; every failure prints its seed and case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElfError, loadElf, type BpfObject } from '../../src/bpf/elf/elf.ts';
import { formatDump } from '../../src/bpf/elf/dump.ts';
import { readElf } from '../../src/bpf/elf/reader.ts';
import { seededU32 } from '../../src/bpf/std-helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SEED = Number(process.env.XRP_FUZZ_SEED ?? 20221011);
const FLIP_CASES = 4000;

function objects(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...objects(path));
    else if (name.endsWith('.bpf.o')) found.push(path);
  }
  return found;
}

/** Load, and on success touch everything a consumer would (the result must be well-formed). */
function loadOrElfError(bytes: Uint8Array, what: string): 'loaded' | 'rejected' {
  let object: BpfObject;
  try {
    object = loadElf(bytes, 'fuzz.o');
  } catch (error) {
    if (error instanceof ElfError) return 'rejected';
    assert.fail(`seed ${SEED}, ${what}: threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  for (const p of object.programs) {
    const total = p.functions.reduce((n, f) => n + f.insnCount, 0);
    assert.equal(total, p.insns.length, `seed ${SEED}, ${what}: functions cover program ${p.name}`);
  }
  assert.ok(formatDump(object, (insns, pc) => String(insns[pc]!.code)).length > 0);
  return 'loaded';
}

const files = objects(join(root, 'bpf'));

test('objects to fuzz exist', () => {
  assert.ok(files.length >= 3, files.join(', '));
});

test(`truncations never throw anything but ElfError (seed ${SEED})`, () => {
  let cases = 0;
  let loaded = 0;
  const random = seededU32(SEED);
  for (const file of files) {
    const bytes = readFileSync(file);
    const lengths = new Set<number>();
    for (let n = 0; n <= 200; n++) lengths.add(n);
    for (let i = 0; i < 300; i++) lengths.add(random() % bytes.length);
    for (const n of lengths) {
      if (loadOrElfError(bytes.subarray(0, n), `${file} truncated to ${n} bytes`) === 'loaded') loaded++;
      cases++;
    }
  }
  assert.ok(cases >= 1000, `${cases} cases`);
  assert.equal(loaded, 0, 'a truncated object never loads: the section table is at the end');
});

test(`random byte changes never throw anything but ElfError (seed ${SEED}, ${FLIP_CASES} cases)`, () => {
  const random = seededU32(SEED + 1);
  const outcomes = { loaded: 0, rejected: 0 };
  const pristine = files.map((f) => readFileSync(f));
  // Bias the changes toward what the loader reads (headers, tables, code, BTF), not DWARF.
  const hot = pristine.map((bytes) => {
    const elf = readElf(bytes, 'x');
    const ranges: [number, number][] = [[0, 64]];
    const shoff = Number(bytes.readBigUInt64LE(0x28));
    ranges.push([shoff, shoff + elf.sections.length * 64]);
    for (const s of elf.sections) {
      if (s.data.length > 0 && !s.name.startsWith('.debug') && s.name !== '.BTF.ext' && !s.name.startsWith('.rel.debug')) {
        ranges.push([s.offsetBytes, s.offsetBytes + s.sizeBytes]);
      }
    }
    return ranges;
  });
  for (let c = 0; c < FLIP_CASES; c++) {
    const which = random() % pristine.length;
    const bytes = Buffer.from(pristine[which]!);
    const changes = 1 + (random() % 4);
    const edits: string[] = [];
    for (let k = 0; k < changes; k++) {
      let at: number;
      if (random() % 4 !== 0) {
        const ranges = hot[which]!;
        const [start, end] = ranges[random() % ranges.length]!;
        at = start + (random() % Math.max(1, end - start));
      } else at = random() % bytes.length;
      const mode = random() % 3;
      const value = mode === 0 ? bytes[at]! ^ (1 << (random() % 8)) : mode === 1 ? random() & 0xff : [0, 0xff, 0x7f, 0x80][random() % 4]!;
      bytes[at] = value;
      edits.push(`[${at}]=${value}`);
    }
    outcomes[loadOrElfError(bytes, `case ${c}: ${files[which]} with ${edits.join(' ')}`)]++;
  }
  // Both outcomes must occur, or the fuzzer is not exercising the loader.
  assert.ok(outcomes.loaded > 100 && outcomes.rejected > 100, JSON.stringify(outcomes));
});
