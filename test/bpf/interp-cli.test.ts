// The interpreter's commands, run as a user would: xrp prog run, xrp conformance, xrp demo.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS } from '../helpers/corpus.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('prog run: asm with --mem and --trace, raw bytecode, and typed errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-cli-'));
  const asm = join(dir, 'p.asm');
  writeFileSync(asm, 'mov %r0, %r2\nldxb %r3, [%r1+1]\nadd %r0, %r3\nexit\n');
  const r = xrp('prog', 'run', '--asm', asm, '--mem', '01 02 03', '--trace');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\s+1: r3 = \*\(u8 \*\)\(r1 \+ 1\)\s+; r3=0x2$/m);
  assert.match(r.stdout, /^r0 = 0x5 \(5\)$/m);
  // the same program as raw bytecode: mov64 r0, 42; exit
  const raw = join(dir, 'p.bin');
  writeFileSync(raw, Buffer.from('b7000000 2a000000 95000000 00000000'.replace(/ /g, ''), 'hex'));
  const b = xrp('prog', 'run', raw);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /^r0 = 0x2a \(42\)$/m);
  // an out-of-bounds load is reported with the instruction and the address
  writeFileSync(asm, 'ldxw %r0, [%r1+2]\nexit\n');
  const f = xrp('prog', 'run', '--asm', asm, '--mem', '00 00 00 00');
  assert.equal(f.status, 1);
  assert.match(f.stderr, /instruction 0: load of 4 bytes at 0x[0-9a-f]+ is outside every memory region/);
  const bad = xrp('prog', 'run', '--asm', asm, '--mem', 'zz');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--mem: "zz" is not a sequence of hex bytes/);
});

test('conformance command prints the summary line last', { skip: existsSync(CORPUS) ? false : 'no corpus' }, () => {
  const r = xrp('conformance', CORPUS);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').pop(), '313 passed, 0 failed');
});

test('demo runs and checks its result against the TypeScript reference', () => {
  const r = xrp('demo');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(TypeScript reference: 0x[0-9a-f]+, equal\)/);
  assert.match(r.stdout, /ns per instruction .* r0 matches the reference/);
});
