// xrp fs and xrp stack, run as a user would.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pattern, tempDir } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('xrp fs: mkfs a sparse 1 GiB image, put, ls, get round trip, defrag, rm; typed errors', () => {
  const { dir, cleanup } = tempDir();
  try {
    const img = join(dir, 'a.img');
    const src = join(dir, 'src.bin');
    const data = pattern(300_000, 11);
    writeFileSync(src, data);
    let r = xrp('fs', 'mkfs', img, '--size', '1G');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /262144 blocks of 4096 bytes/);
    assert.equal(statSync(img).size, 1 << 30);
    assert.ok(statSync(img).blocks * 512 < 16 << 20, 'the image is sparse');
    r = xrp('fs', 'put', img, src, 'data.bin');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /data\.bin: 300000 bytes in 1 extent\(s\)/);
    r = xrp('fs', 'ls', img, '--extents');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\s+11\s+300000\s+1\s+data\.bin$/m);
    assert.match(r.stdout, /lblk 0 len 74 -> pblk \d+/);
    r = xrp('fs', 'defrag', img, 'data.bin');
    assert.equal(r.status, 0, r.stderr);
    const out = join(dir, 'out.bin');
    r = xrp('fs', 'get', img, 'data.bin', out);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(out)), data);
    r = xrp('fs', 'rm', img, 'data.bin');
    assert.equal(r.status, 0, r.stderr);
    assert.match(xrp('fs', 'ls', img).stdout, /0 file\(s\)/);
    r = xrp('fs', 'ls', src);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not an xrpfs image: bad magic at offset 0/);
    r = xrp('fs', 'get', img, 'missing', out);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no such file 'missing'/);
    r = xrp('fs', 'mkfs', img, '--size', 'lots');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid size 'lots'/);
  } finally {
    cleanup();
  }
});

test('xrp stack breakdown prints Table 1 per layer', () => {
  const r = xrp('stack', 'breakdown', '--reads', '500');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^kernel crossing\s+351\.0\s+\d+\.\d%\s+351\s+0\.00%$/m);
  assert.match(r.stdout, /^file system \(ext4\)\s+2006\.0/m);
  // The device row is the mean of a distribution (within 1% of Table 1 over 500 reads); the sleeping reader's wake-up has its row.
  assert.match(r.stdout, /^storage device\s+3[12]\d\d\.\d\s+\d+\.\d%\s+3224\s+-?0\.\d\d%$/m);
  assert.match(r.stdout, /^wake-up \/ scheduling\s+800\.0/m);
  assert.match(r.stdout, /software share \d+\.\d%/);
  const bad = xrp('stack', 'breakdown', '--device', 'floppy');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /option '--device <name>' argument 'floppy' is invalid\. Allowed choices are optane-p5800x/);
});
