// The verify path `xrp verify` loads (src/cli/verify-loader.ts): the esbuild
// bundle with V8's code cache verifies as the ES modules do; the cache is
// written when missing, used when it matches, refused when it belongs to
// another bundle or its bytes are damaged, and never changes a verification's
// outcome. Each load runs in a fresh process, as `xrp verify` does (within one
// process V8 reuses what it compiled and never looks at the cache again).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { loadVerifyPath } from '../../src/cli/verify-loader.ts';
import { loadElf } from '../../src/bpf/elf/elf.ts';
import { verify } from '../../src/bpf/verifier/verifier.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const OBJECTS = ['bpf/kv/range.bpf.o', 'bpf/structures/skiplist.bpf.o', 'test/bpf/verifier/fixtures/bad_mask.bpf.o'];

function bundleInto(dir: string, header: string): { bundle: string; cache: string } {
  const out = buildSync({ entryPoints: [join(root, 'src/cli/verify-path.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent' });
  const code = out.outputFiles[0]?.text;
  assert.ok(code !== undefined);
  const files = { bundle: join(dir, 'verify-path.cjs'), cache: join(dir, 'verify-path.cache') };
  writeFileSync(files.bundle, `// ${header}\n${code}`);
  return files;
}

/** processed instructions and states of every program of OBJECTS, or the rejection's message, by the ES modules */
function expectedOutcomes(): string[] {
  const seen: string[] = [];
  for (const file of OBJECTS) {
    const object = loadElf(new Uint8Array(readFileSync(join(root, file))), file);
    for (const p of object.programs) {
      const r = verify(p, { type: 'xrp', maps: object.maps });
      seen.push(`${p.name}: ${r.ok ? 'ok' : r.error.message} ${r.stats.processedInsns} ${r.stats.states}`);
    }
  }
  return seen;
}

/** In a fresh process (V8's optimizing compiler off, as `xrp verify`): load the bundle, verify OBJECTS, save the cache. */
function freshLoad(files: { bundle: string; cache: string }): { codeCache: string; saved: boolean; outcomes: string[] } {
  const code = `
    import { readFileSync } from 'node:fs';
    import { setFlagsFromString } from 'node:v8';
    setFlagsFromString('--no-opt');
    const { loadVerifyPath } = await import(${JSON.stringify(pathToFileURL(join(root, 'src/cli/verify-loader.ts')).href)});
    const loaded = await loadVerifyPath(${JSON.stringify(files)});
    const outcomes = [];
    for (const file of ${JSON.stringify(OBJECTS)}) {
      const object = loaded.api.loadElf(new Uint8Array(readFileSync(${JSON.stringify(root)} + file)), file);
      for (const p of object.programs) {
        const r = loaded.api.verify(p, { type: 'xrp', maps: object.maps });
        outcomes.push(p.name + ': ' + (r.ok ? 'ok' : r.error.message) + ' ' + r.stats.processedInsns + ' ' + r.stats.states);
      }
    }
    console.log(JSON.stringify({ codeCache: loaded.codeCache, saved: loaded.saveCodeCache(), outcomes }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', cwd: root });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { codeCache: string; saved: boolean; outcomes: string[] };
}

test('the bundle with its code cache verifies as the ES modules do; the cache is written, used, and refused when it is not its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-verify-path-'));
  try {
    const expected = expectedOutcomes();
    assert.ok(expected.some((line) => line.startsWith('bad_mask: ') && !line.includes(': ok ')), 'a rejection is among the outcomes');
    const files = bundleInto(dir, 'bundle one');

    const first = freshLoad(files);
    assert.deepEqual(first, { codeCache: 'missing', saved: true, outcomes: expected });
    const second = freshLoad(files);
    assert.deepEqual(second, { codeCache: 'used', saved: false, outcomes: expected }, 'a cache that was used is not rewritten');

    // the same bundle under another first line: the cache names the old one and is not offered
    const cacheBytes = readFileSync(files.cache);
    bundleInto(dir, 'bundle two');
    assert.deepEqual(freshLoad(files), { codeCache: 'missing', saved: true, outcomes: expected });

    // damaged bytes with the right first line and length: V8 refuses them (its checksum) and compiles as usual
    bundleInto(dir, 'bundle one');
    const damaged = Buffer.from(cacheBytes);
    for (let i = '// bundle one\n'.length + 64; i < damaged.length; i += 7) damaged[i] = (damaged[i] ?? 0) ^ 0x5a;
    writeFileSync(files.cache, damaged);
    assert.deepEqual(freshLoad(files), { codeCache: 'rejected', saved: true, outcomes: expected });
    assert.equal(freshLoad(files).codeCache, 'used', 'the rewritten cache is used');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without a bundle (the TypeScript sources) the ES modules are imported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-verify-path-'));
  try {
    const loaded = await loadVerifyPath({ bundle: join(dir, 'none.cjs'), cache: join(dir, 'none.cache') });
    assert.equal(loaded.codeCache, 'sources');
    assert.equal(loaded.api.verify, verify);
    assert.equal(loaded.saveCodeCache(), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
