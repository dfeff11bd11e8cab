// `xrp asm` and `xrp disasm`, run as a user would.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS } from '../../helpers/corpus.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const LDDW_DATA = join(CORPUS, 'lddw.data');

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('xrp asm prints the objdump-style listing and writes bytecode; xrp disasm reads it back as uBPF', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-asm-cli-'));
  try {
    const src = join(dir, 'p.asm');
    const bin = join(dir, 'p.bin');
    writeFileSync(src, 'mov %r0, 1\nloop:\nadd32 %r0, 2\njlt %r0, 10, loop\nlddw %r1, 0x1122334455667788\nexit\n');
    const a = xrp('asm', src, '-o', bin);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, '   0: r0 = 1\n   1: w0 += 2\n   2: if r0 < 10 goto -2\n   3: r1 = 0x1122334455667788 ll\n   5: exit\n');
    assert.equal(readFileSync(bin).length, 6 * 8);
    const d = xrp('disasm', bin, '--format', 'ubpf');
    assert.equal(d.status, 0, d.stderr);
    assert.equal(d.stdout, 'mov %r0, 1\nadd32 %r0, 2\njlt %r0, 10, -2\nlddw %r1, 0x1122334455667788\nexit\n');
    // Errors: the line of the source, and typed CLI errors, with exit status 2.
    writeFileSync(src, 'mov %r0, 1\nfrob %r1\n');
    const bad = xrp('asm', src);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /p\.asm:2: unknown mnemonic 'frob'/);
    assert.match(xrp('asm', src, '--format', 'nope').stderr, /option '--format <format>' argument 'nope' is invalid\. Allowed choices are llvm, ubpf, hex\./);
    assert.match(xrp('disasm', join(dir, 'missing.bin')).stderr, /cannot read .*missing\.bin/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('xrp asm on a conformance .data file prints the words of its -- raw section', { skip: existsSync(LDDW_DATA) ? false : 'no corpus' }, () => {
  const r = xrp('asm', LDDW_DATA, '--format', 'hex');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '0x5566778800000018\n0x1122334400000000\n0x0000000000000095\n');
});
