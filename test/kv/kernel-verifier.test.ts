// The BPF-KV storage functions under the REAL Linux verifier: test/kv/kernel/
// verify.bpf.c wraps their bodies in socket filters (data and scratch as
// 4096-byte map values, bounds-checked by the same rules as XRP's pages) and
// bpftool loads them into the running kernel. Skipped, saying why, where the
// machine has no clang, no bpftool, or no privilege to load programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLANG = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', 'bpf/include', '-I', '/usr/include/x86_64-linux-gnu'];

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: !r.error && r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}` };
}

/** A bpffs to pin into: an existing mount, or one mounted for this test (root only). */
function bpffs(dir: string): { path: string; unmount: boolean } | string {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
  const existing = mounts.map((l) => l.split(' ')).find((f) => f[2] === 'bpf');
  if (existing) return { path: existing[1]!, unmount: false };
  const mnt = join(dir, 'bpffs');
  run('mkdir', ['-p', mnt]);
  const m = run('mount', ['-t', 'bpf', 'bpf', mnt]);
  return m.ok ? { path: mnt, unmount: true } : `cannot mount a bpffs: ${m.out.trim()}`;
}

const NEGATIVE = `
#include "xrp.h"
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, char[4096]); } pages SEC(".maps");
SEC("socket") int unmasked(void *skb)
{
	__u32 k = 0;
	char *scratch = bpf_map_lookup_elem(&pages, &k);
	if (!scratch) return 0;
	__u32 i = *(__u32 *)scratch;          /* an index from the page, never bounded */
	return scratch[8 + i];
}
`;

test('get and range load under the running kernel\'s verifier (and an unbounded index does not)', (t) => {
  for (const tool of ['clang', 'bpftool']) {
    if (!run('which', [tool]).ok) return t.skip(`${tool} is not installed`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'kv-kernel-'));
  let fs: ReturnType<typeof bpffs> | undefined;
  try {
    const object = join(dir, 'verify.o');
    const built = run('clang', [...CLANG, '-c', 'test/kv/kernel/verify.bpf.c', '-o', object]);
    assert.ok(built.ok, built.out);
    fs = bpffs(dir);
    if (typeof fs === 'string') return t.skip(fs);
    const pin = join(fs.path, `kv-verify-${process.pid}`);
    const load = run('bpftool', ['prog', 'loadall', object, pin]);
    if (!load.ok && /Operation not permitted|restricted to privileged/.test(load.out)) return t.skip(`no privilege to load BPF programs: ${load.out.trim().split('\n')[0]}`);
    try {
      assert.ok(load.ok, `the kernel rejected the storage functions:\n${load.out.split('\n').slice(-40).join('\n')}`);
      const shown = run('bpftool', ['prog', 'show', 'pinned', join(pin, 'verify_kv_range')]);
      assert.ok(shown.ok && /socket_filter/.test(shown.out), shown.out);
    } finally {
      rmSync(pin, { recursive: true, force: true });
    }
    // the control: the same check rejects an unbounded scratch index
    const negSource = join(dir, 'neg.bpf.c');
    writeFileSync(negSource, NEGATIVE);
    const negObject = join(dir, 'neg.o');
    const negBuilt = run('clang', [...CLANG, '-c', negSource, '-o', negObject]);
    assert.ok(negBuilt.ok, negBuilt.out);
    const negPin = join(fs.path, `kv-verify-neg-${process.pid}`);
    const neg = run('bpftool', ['prog', 'loadall', negObject, negPin]);
    rmSync(negPin, { recursive: true, force: true });
    assert.equal(neg.ok, false, 'an unbounded index must be rejected');
    assert.match(neg.out, /unbounded memory access|invalid access to map value|min value is outside/);
  } finally {
    if (fs !== undefined && typeof fs !== 'string' && fs.unmount) run('umount', [fs.path]);
    rmSync(dir, { recursive: true, force: true });
  }
});
