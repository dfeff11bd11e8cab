// The verify path `xrp verify` loads (src/cli/verify-loader.ts): the esbuild
// bundle with V8's code cache verifies as the ES modules do; the cache is
// written when missing, used when it matches, refused when it belongs to
// another bundle or is damaged, and never changes a verification's outcome.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { loadVerifyPath, type VerifyPath } from '../../src/cli/verify-loader.ts';
import { loadElf } from '../../src/bpf/elf/elf.ts';
import { verify } from '../../src/bpf/verifier/verifier.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function bundleInto(dir: string, header: string): { bundle: string; cache: string } {
  const out = buildSync({ entryPoints: [join(root, 'src/cli/verify-path.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', write: false, logLevel: 'silent' });
  const code = out.outputFiles[0]?.text;
  assert.ok(code !== undefined);
  const files = { bundle: join(dir, 'verify-path.cjs'), cache: join(dir, 'verify-path.cache') };
  writeFileSync(files.bundle, `// ${header}\n${code}`);
  return files;
}

/** processed instructions and states of every program of the shipped objects, or the rejection's message */
function outcomes(api: Pick<VerifyPath, 'loadElf' | 'verify'>): string[] {
  const seen: string[] = [];
  for (const file of ['bpf/kv/range.bpf.o', 'bpf/structures/skiplist.bpf.o', 'test/bpf/verifier/fixtures/bad_mask.bpf.o']) {
    const object = api.loadElf(new Uint8Array(readFileSync(join(root, file))), file);
    for (const p of object.programs) {
      const r = api.verify(p, { type: 'xrp', maps: object.maps });
      seen.push(`${p.name}: ${r.ok ? 'ok' : r.error.message} ${r.stats.processedInsns} ${r.stats.states}`);
    }
  }
  return seen;
}

test('the bundle with its code cache verifies as the ES modules do; the cache is written, used, and refused when it is not its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-verify-path-'));
  try {
    const expected = outcomes({ loadElf, verify });
    assert.ok(expected.some((line) => line.startsWith('bad_mask: ') && !line.includes(': ok ')), 'a rejection is among the outcomes');
    const files = bundleInto(dir, 'bundle one');

    const first = await loadVerifyPath(files);
    assert.equal(first.codeCache, 'missing');
    assert.deepEqual(outcomes(first.api), expected);
    assert.equal(first.saveCodeCache(), true);

    const second = await loadVerifyPath(files);
    assert.equal(second.codeCache, 'used');
    assert.deepEqual(outcomes(second.api), expected);
    assert.equal(second.saveCodeCache(), false, 'a cache that was used is not rewritten');

    // the same bundle under another first line: the cache names the old one and is not offered
    const cacheBytes = readFileSync(files.cache);
    bundleInto(dir, 'bundle two');
    const renamed = await loadVerifyPath(files);
    assert.equal(renamed.codeCache, 'missing');
    assert.deepEqual(outcomes(renamed.api), expected);

    // a damaged cache with the right first line: V8 refuses it and compiles as usual
    bundleInto(dir, 'bundle one');
    const damaged = Buffer.from(cacheBytes);
    const header = '// bundle one\n'.length;
    for (let i = header + 16; i < damaged.length; i += 7) damaged[i] = (damaged[i] ?? 0) ^ 0x5a;
    writeFileSync(files.cache, damaged);
    const refused = await loadVerifyPath(files);
    assert.equal(refused.codeCache, 'rejected');
    assert.deepEqual(outcomes(refused.api), expected);
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
