// The checked-in objects under bpf/ are what `npm run build:bpf` produces from
// their sources. With the same clang the bytes match exactly (the build maps
// the checkout path away); with another clang version we compare what the
// loader sees instead: programs, instructions, relocations, maps, license.
// Skips cleanly where clang is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadElf, type BpfObject } from '../../src/bpf/elf/elf.ts';
import { encode } from '../../src/bpf/isa.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
const clangMissing = clang.error !== undefined || clang.status !== 0 ? 'clang is not installed: cannot rebuild bpf/*.bpf.c' : false;

function sources(): string[] {
  const listed = spawnSync(process.execPath, [join(root, 'scripts/build-bpf.mjs'), '--list'], { encoding: 'utf8' });
  assert.equal(listed.status, 0, listed.stderr);
  return listed.stdout.split('\n').filter((l) => l !== '');
}

/** What the loader sees, independent of debug information. */
function loadedShape(object: BpfObject): unknown {
  return {
    license: object.license,
    programs: object.programs.map((p) => ({
      name: p.name,
      section: p.sectionName,
      code: Buffer.from(encode(p.insns)).toString('hex'),
      functions: p.functions,
      relocations: p.relocations,
    })),
    maps: object.maps.map((m) => ({ ...m, initialValue: m.initialValue && Buffer.from(m.initialValue).toString('hex') })),
    relocations: object.relocations,
  };
}

test('every source under bpf/ has its checked-in object, and every object its source', () => {
  const list = sources();
  assert.ok(list.length >= 3);
  for (const source of list) assert.ok(existsSync(join(root, source.replace(/\.c$/, '.o'))), `${source} has no checked-in object: run npm run build:bpf`);
  const objects: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.bpf.o')) objects.push(path.slice(root.length));
    }
  };
  walk(join(root, 'bpf'));
  for (const object of objects) assert.ok(list.includes(object.replace(/\.o$/, '.c')), `${object} has no source`);
});

test('checked-in objects match a fresh build', { skip: clangMissing }, (t) => {
  const out = mkdtempSync(join(tmpdir(), 'xrp-bpf-'));
  try {
    const build = spawnSync(process.execPath, [join(root, 'scripts/build-bpf.mjs'), '--out', out], { encoding: 'utf8' });
    assert.equal(build.status, 0, `build failed:\n${build.stdout}\n${build.stderr}`);
    for (const source of sources()) {
      const name = source.replace(/\.c$/, '.o');
      const checkedIn = readFileSync(join(root, name));
      const fresh = readFileSync(join(out, name));
      if (Buffer.compare(checkedIn, fresh) === 0) continue;
      t.diagnostic(`${name}: bytes differ (${clang.stdout.split('\n')[0]}); comparing the loaded programs instead`);
      assert.deepEqual(loadedShape(loadElf(fresh, name)), loadedShape(loadElf(checkedIn, name)), `${name} is stale: run npm run build:bpf`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
