// `xrp verify`: exit 0 with processed instructions, states and time on
// acceptance; exit 1 with the kernel-style log on rejection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = `${root}src/cli/main.ts`;

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', cwd: root });
}

test('accepted object: exit 0, processed insns, states and time', () => {
  const r = xrp('verify', 'test/bpf/verifier/fixtures/btree_search.bpf.o');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /btree_search \(section xrp, \d+ insns\): accepted; processed \d+ insns, \d+ states, [\d.]+ ms/);
});

test('--turbofan (V8\'s optimizing compiler kept on) verifies the same', () => {
  const r = xrp('verify', 'test/bpf/verifier/fixtures/btree_search.bpf.o', '--turbofan');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /btree_search \(section xrp, \d+ insns\): accepted; processed \d+ insns, \d+ states, [\d.]+ ms/);
});

test('rejected object: exit 1 and the log (instruction, state, reason)', () => {
  const r = xrp('verify', 'test/bpf/verifier/fixtures/bad_mask.bpf.o', '--section', 'xrp');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /REJECTED/);
  assert.match(r.stdout, /5: r0 = \*\(u8 \*\)\(r2 \+ 0\)/);
  assert.match(r.stdout, /R2=mem\(size=4096/);
  assert.match(r.stdout, /R2 max value is outside of the allowed memory range/);
});

test('bad arguments: a typed error naming what was wrong', () => {
  const r = xrp('verify', 'test/bpf/verifier/fixtures/bad_mask.bpf.o', '--section', 'nosuch');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no program in section "nosuch"; programs: bad_mask \(section xrp\)/);
  const t = xrp('verify', 'test/bpf/verifier/fixtures/bad_mask.bpf.o', '--type', 'tc');
  assert.equal(t.status, 2);
  assert.match(t.stderr, /option '--type <type>' argument 'tc' is invalid\. Allowed choices are xrp, mem, socket\./);
});

test('a file that is not an ELF object: exit 1 and the ELF loader\'s message, from the sources and from the compiled bundle', { skip: !existsSync(`${root}dist/verify-path.cjs`) && 'no dist/ (npm run build)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-verify-cli-'));
  try {
    const bad = join(dir, 'bad.o');
    writeFileSync(bad, 'not an object');
    for (const r of [xrp('verify', bad), spawnSync(process.execPath, [`${root}bin/xrp.js`, 'verify', bad], { encoding: 'utf8', cwd: root })]) {
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^xrp: .*bad\.o: at offset 0: truncated ELF header: 13 of 64 bytes\n$/);
    }
    const ok = spawnSync(process.execPath, [`${root}bin/xrp.js`, 'verify', 'test/bpf/verifier/fixtures/btree_search.bpf.o'], { encoding: 'utf8', cwd: root });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /btree_search \(section xrp, \d+ insns\): accepted; processed \d+ insns, \d+ states, [\d.]+ ms/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
