// The structures' storage functions under the REAL Linux verifier:
// test/structures/kernel/verify.bpf.c wraps their bodies in socket filters
// (data and scratch as 4096-byte map values, bounds-checked by the same rules
// as XRP's pages) and bpftool loads them into the running kernel. Control: the
// array chain without its `& 511` mask is rejected. Skipped, saying why, where
// the machine has no clang, no bpftool, or no privilege to load programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLANG = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', 'bpf/include', '-I', 'bpf/structures', '-I', '/usr/include/x86_64-linux-gnu'];

function run(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
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

// The array chain's hop with the mask removed: the element offset is only known to be < 8 * n.
const UNMASKED = `
#include "array_chain.h"
char LICENSE[] SEC("license") = "GPL";
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, char[4096]); } pages SEC(".maps");
SEC("socket") int unmasked(void *skb)
{
	__u32 k0 = 0, k1 = 1;
	char *data = bpf_map_lookup_elem(&pages, &k0);
	struct ArrayChainQuery *q = bpf_map_lookup_elem(&pages, &k1);
	if (!data || !q || q->n_elems == 0 || q->index >= q->n_elems) return 0;
	__u64 value = *(__u64 *)(data + q->index * AC_ELEM_BYTES);
	q->index = (value * 2) % q->n_elems;
	return 0;
}
`;

test('array_chain, sl_get and sl_range load under the running kernel\'s verifier (and an unmasked hop does not)', (t) => {
  for (const tool of ['clang', 'bpftool']) {
    if (!run('which', [tool]).ok) return t.skip(`${tool} is not installed`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'structures-kernel-'));
  let fs: ReturnType<typeof bpffs> | undefined;
  try {
    const object = join(dir, 'verify.o');
    const built = run('clang', [...CLANG, '-c', 'test/structures/kernel/verify.bpf.c', '-o', object]);
    assert.ok(built.ok, built.out);
    fs = bpffs(dir);
    if (typeof fs === 'string') return t.skip(fs);
    const pin = join(fs.path, `structures-verify-${process.pid}`);
    const load = run('bpftool', ['prog', 'loadall', object, pin]);
    if (!load.ok && /Operation not permitted|restricted to privileged/.test(load.out)) return t.skip(`no privilege to load BPF programs: ${load.out.trim().split('\n')[0]}`);
    try {
      assert.ok(load.ok, `the kernel rejected a storage function:\n${load.out.split('\n').slice(-40).join('\n')}`);
      for (const name of ['verify_array_chain', 'verify_sl_get', 'verify_sl_range']) {
        const shown = run('bpftool', ['prog', 'show', 'pinned', join(pin, name)]);
        assert.ok(shown.ok && /socket_filter/.test(shown.out), `${name}: ${shown.out}`);
      }
    } finally {
      rmSync(pin, { recursive: true, force: true });
    }
    const negSource = join(dir, 'neg.bpf.c');
    writeFileSync(negSource, UNMASKED);
    const negObject = join(dir, 'neg.o');
    const negBuilt = run('clang', [...CLANG, '-c', negSource, '-o', negObject]);
    assert.ok(negBuilt.ok, negBuilt.out);
    const negPin = join(fs.path, `structures-verify-neg-${process.pid}`);
    const neg = run('bpftool', ['prog', 'loadall', negObject, negPin]);
    rmSync(negPin, { recursive: true, force: true });
    assert.equal(neg.ok, false, 'an unmasked element offset must be rejected');
    assert.match(neg.out, /unbounded memory access|unbounded min value|invalid access to map value|min value is outside|max value is outside/);
  } finally {
    if (fs !== undefined && typeof fs !== 'string' && fs.unmount) run('umount', [fs.path]);
    rmSync(dir, { recursive: true, force: true });
  }
});
