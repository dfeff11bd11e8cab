// walk.bpf.c (the XRP tests' storage function) under the REAL Linux verifier:
// test/kernel/xrp/kernel/verify.bpf.c wraps its body in a socket filter (data
// and scratch as 4096-byte map values) and bpftool loads it into the running
// kernel. Control: the same body with an offset mask that reaches past the page
// is rejected. Skipped, saying why, without clang, bpftool or the privilege.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers.ts';

const CLANG = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', 'bpf/include', '-I', '/usr/include/x86_64-linux-gnu'];

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}` };
}

function bpffs(dir: string): { path: string; unmount: boolean } | string {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
  const existing = mounts.map((l) => l.split(' ')).find((f) => f[2] === 'bpf');
  if (existing) return { path: existing[1]!, unmount: false };
  const mnt = join(dir, 'bpffs');
  run('mkdir', ['-p', mnt]);
  const m = run('mount', ['-t', 'bpf', 'bpf', mnt]);
  return m.ok ? { path: mnt, unmount: true } : `cannot mount a bpffs: ${m.out.trim()}`;
}

test('walk.bpf.c loads under the running kernel\'s verifier (and a mask past the page does not)', (t) => {
  for (const tool of ['clang', 'bpftool']) {
    if (!run('which', [tool]).ok) return t.skip(`${tool} is not installed`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'xrp-kernel-verify-'));
  let fs: ReturnType<typeof bpffs> | undefined;
  try {
    const object = join(dir, 'verify.o');
    const built = run('clang', [...CLANG, '-c', 'test/kernel/xrp/kernel/verify.bpf.c', '-o', object]);
    assert.ok(built.ok, built.out);
    fs = bpffs(dir);
    if (typeof fs === 'string') return t.skip(fs);
    const pin = join(fs.path, `xrp-walk-verify-${process.pid}`);
    const load = run('bpftool', ['prog', 'loadall', object, pin]);
    if (!load.ok && /Operation not permitted|restricted to privileged/.test(load.out)) return t.skip(`no privilege to load BPF programs: ${load.out.trim().split('\n')[0]}`);
    try {
      assert.ok(load.ok, `the kernel rejected walk.bpf.c:\n${load.out.split('\n').slice(-40).join('\n')}`);
      const shown = run('bpftool', ['prog', 'show', 'pinned', join(pin, 'verify_walk')]);
      assert.ok(shown.ok && /socket_filter/.test(shown.out), shown.out);
    } finally {
      rmSync(pin, { recursive: true, force: true });
    }
    // Control: the tail word read with a mask that allows offsets up to 8184 must be rejected.
    const body = readFileSync(join(ROOT, 'bpf/xrp/walk.bpf.c'), 'utf8');
    assert.ok(body.includes('((self - 8) & 0xff8)'));
    const negSource = join(dir, 'neg.bpf.c');
    writeFileSync(negSource, readFileSync(join(ROOT, 'test/kernel/xrp/kernel/verify.bpf.c'), 'utf8')
      .replace('#include "../../../../bpf/xrp/walk.bpf.c"', body.replace('((self - 8) & 0xff8)', '((self - 8) & 0x1ff8)').replace('#include "xrp.h"', `#include "${join(ROOT, 'bpf/include/xrp.h')}"`)));
    const negObject = join(dir, 'neg.o');
    const negBuilt = run('clang', [...CLANG, '-c', negSource, '-o', negObject]);
    assert.ok(negBuilt.ok, negBuilt.out);
    const negPin = join(fs.path, `xrp-walk-verify-neg-${process.pid}`);
    const neg = run('bpftool', ['prog', 'loadall', negObject, negPin]);
    rmSync(negPin, { recursive: true, force: true });
    assert.equal(neg.ok, false, 'a mask past the page must be rejected');
    assert.match(neg.out, /invalid access to map value|max value is outside|unbounded memory access/);
  } finally {
    if (fs !== undefined && typeof fs !== 'string' && fs.unmount) run('umount', [fs.path]);
    rmSync(dir, { recursive: true, force: true });
  }
});
