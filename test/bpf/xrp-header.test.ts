// bpf/include/xrp.h compiles two ways: alone, and beside the kernel's <linux/bpf.h>
// and libbpf's <bpf/bpf_helpers.h> (included first); both give the same
// instructions, and our loader and verifier accept them. The template of
// templates/storage-function builds, verifies, and gives the answer of its
// TypeScript walk on the emulated machine (read() and read_xrp) and the native engine.
// Skips where clang is not installed; fails where libbpf's headers are missing
// (CI installs libbpf-dev).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadElf, type BpfObject } from '../../src/bpf/elf/elf.ts';
import { encode } from '../../src/bpf/isa.ts';
import { verify } from '../../src/bpf/verifier/verifier.ts';
import { runSf } from '../../src/cli/sf/run.ts';
import { makeList, scratchOf, walk } from '../../templates/storage-function/walk.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const clang = spawnSync('clang', ['--version'], { encoding: 'utf8' });
const clangMissing = clang.error !== undefined || clang.status !== 0 ? 'clang is not installed' : false;
const FLAGS = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', join(root, 'bpf/include'), '-I', '/usr/include/x86_64-linux-gnu'];

const BODY = `
char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

SEC("xrp")
int count_hops(struct bpf_xrp *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&calls, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	bpf_printk("hop at %llu", ctx->next_addr[0]);
	__u64 next = *(__u64 *)ctx->data;
	*(__u64 *)ctx->scratch += 1;
	if (next == 0) {
		ctx->done = 1;
		return 0;
	}
	ctx->next_addr[0] = next;
	ctx->size[0] = 512;
	return 0;
}
`;

function compile(dir: string, name: string, source: string): BpfObject {
  const c = join(dir, `${name}.bpf.c`);
  const o = join(dir, `${name}.bpf.o`);
  writeFileSync(c, source);
  const r = spawnSync('clang', [...FLAGS, '-c', c, '-o', o], { encoding: 'utf8' });
  assert.equal(r.status, 0, `clang ${name}: ${r.stderr}`);
  return loadElf(readFileSync(o), `${name}.bpf.o`);
}

test('xrp.h alone and beside <linux/bpf.h> and <bpf/bpf_helpers.h>: the same program, accepted', { skip: clangMissing }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-h-'));
  try {
    const alone = compile(dir, 'alone', `#include "xrp.h"\n${BODY}`);
    const libbpf = compile(dir, 'libbpf', `#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "xrp.h"\n${BODY}`);
    const kernelFirst = compile(dir, 'kernel', `#include <linux/bpf.h>\n#include "xrp.h"\n${BODY}`);
    for (const object of [alone, libbpf, kernelFirst]) {
      const p = object.programs.find((x) => x.name === 'count_hops');
      assert.ok(p, 'count_hops is in the object');
      const v = verify(p, { type: 'xrp', maps: object.maps });
      assert.equal(v.ok, true, v.ok ? '' : v.log.join('\n'));
      assert.equal(object.maps[0]?.name, 'calls');
    }
    const code = (o: BpfObject): string => Buffer.from(encode(o.programs[0]!.insns)).toString('hex');
    assert.equal(code(libbpf), code(alone));
    assert.equal(code(kernelFirst), code(alone));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('templates/storage-function: builds, verifies, and answers as its TypeScript walk (emulated and native)', { skip: clangMissing }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-template-'));
  try {
    const built = spawnSync('sh', [join(root, 'templates/storage-function/build.sh')], { encoding: 'utf8', env: { ...process.env, XRP_INCLUDE: join(root, 'bpf/include'), OUT: dir } });
    assert.equal(built.status, 0, built.stderr);
    const objectPath = join(dir, 'find.bpf.o');
    const object = loadElf(readFileSync(objectPath), 'find.bpf.o');
    const find = object.programs.find((p) => p.name === 'find');
    assert.ok(find);
    assert.equal(verify(find, { type: 'xrp', maps: object.maps }).ok, true);
    const list = join(dir, 'list.bin');
    makeList(list, 50, 7);
    for (const wanted of [0n, 17n, 50n, 51n]) {
      const expected = walk(list, wanted);
      assert.equal(expected.found, wanted <= 50n);
      const scratch = new Uint8Array(4096);
      new DataView(scratch.buffer).setBigUint64(0, wanted, true);
      const o = { objectPath, programName: 'find', dataPath: list, startOffsetBytes: 0, sizeBytes: 512, scratch, requests: 1, inFlight: 1 };
      const emulated = await runSf({ engine: 'emulated', device: 'optane-p5800x', seed: 1 }, o);
      assert.deepEqual(emulated.baseline?.scratch.subarray(0, 32), scratchOf(wanted, expected).subarray(0, 32), `read() walk, key ${wanted}`);
      assert.deepEqual(emulated.scratch.subarray(0, 32), scratchOf(wanted, expected).subarray(0, 32), `read_xrp, key ${wanted}`);
      assert.equal(emulated.first.reads, expected.hops);
      const native = await runSf({ engine: 'native' }, o);
      assert.equal(native.first.statusName, 'DONE');
      assert.deepEqual(native.scratch.subarray(0, 32), scratchOf(wanted, expected).subarray(0, 32), `native, key ${wanted}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
