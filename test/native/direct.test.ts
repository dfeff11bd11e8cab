// O_DIRECT: reads land straight in the program's data page (a page of a
// WebAssembly.Memory, page-aligned by V8), in whole 512-byte blocks. Skipped
// where the file system refuses O_DIRECT; tmpfs must be refused with NATIVE_DIRECT.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileBlockSource } from '../../src/base/block-source.ts';
import { buildKvFile } from '../../src/kv/builder.ts';
import { lookupKey } from '../../src/kv/lookups.ts';
import { XrpStatus } from '../../src/xrp/status.ts';
import { NativeXrpEngine, NativeXrpError, probeDirect } from '../../src/native/engine.ts';
import { nativeKvGet, openKvEngine } from '../../src/kv/xrp-client.ts';
import { TestRng } from '../kernel/xrp/helpers.ts';
import { SCRIPTED, scriptedFile, scriptedLog, TempDir, type BlockSpec } from './helpers.ts';

const dir = new TempDir();
after(() => dir.remove());
const TMPFS_MAGIC = 0x01021994;

test('O_DIRECT: BPF-KV lookups, variable sizes and a read at the end of the file (skipped where unsupported)', async (t) => {
  const path = `${dir.path}/kv3.db`;
  await buildKvFile(path, { layers: 3 });
  const probe = probeDirect(path);
  if (!probe.ok) {
    t.skip(`O_DIRECT unsupported on ${dir.path}: ${probe.reason}`);
    return;
  }
  const source = new FileBlockSource(path);
  const engine = await openKvEngine(path, 'get', { workers: 1, direct: true });
  try {
    const rng = new TestRng(11);
    const keys = Array.from({ length: 96 }, () => BigInt(rng.below(31 ** 3 + 100)));
    const got = await nativeKvGet(path, keys, { engine });
    got.answers.forEach((a, i) => {
      const ref = lookupKey(source, keys[i]!);
      assert.equal(a.found, ref.found, `key ${keys[i]}`);
      if (ref.found) assert.deepEqual(a.value, ref.value);
    });
  } finally {
    await engine.close();
    source.close();
  }
  // sizes 512..4096 and a 4096-byte read of a file whose last block is short (not a multiple of 512 at all)
  const blocks: BlockSpec[] = [{ next: [[512, 1024], [2048, 4096]] }, { done: true, tag: 5 }, {}, {}, { next: [[5120, 4096]], tag: 8 }, {}, {}, {}, {}, {}, { done: true, tag: 9 }];
  const bytes = scriptedFile(blocks, 11);
  const odd = dir.file('odd.bin', bytes.subarray(0, 10 * 512 + 408));
  const scripted = await NativeXrpEngine.open(odd, { workers: 1, direct: true });
  await scripted.load(SCRIPTED);
  try {
    const scratch = new Uint8Array(4096);
    const r = await scripted.readXrp(0, scratch);
    assert.equal(r.status, XrpStatus.DONE, r.detail);
    assert.deepEqual(scriptedLog(scratch), [0, 5, 8, 9]);
  } finally {
    await scripted.close();
  }
});

test('a file system that refuses O_DIRECT gives NATIVE_DIRECT naming the reason; tmpfs refuses it (Linux < 6.6) or serves it', async (t) => {
  // procfs refuses O_DIRECT on every kernel; /proc/cpuinfo is a regular file
  if (existsSync('/proc/cpuinfo')) {
    await assert.rejects(NativeXrpEngine.open('/proc/cpuinfo', { direct: true }), (e: unknown) => e instanceof NativeXrpError && e.code === 'NATIVE_DIRECT' && /O_DIRECT/.test(e.message) && /EINVAL/.test(e.message));
  }
  if (!existsSync('/dev/shm') || statfsSync('/dev/shm').type !== TMPFS_MAGIC) {
    t.skip('/dev/shm is not a tmpfs here');
    return;
  }
  const shm = mkdtempSync(join('/dev/shm', 'xrp-native-'));
  try {
    const path = join(shm, 'f.bin');
    writeFileSync(path, scriptedFile([{ next: [[512, 0]] }, { done: true, tag: 3 }]));
    const probe = probeDirect(path);
    if (!probe.ok) {
      await assert.rejects(NativeXrpEngine.open(path, { direct: true }), (e: unknown) => e instanceof NativeXrpError && e.code === 'NATIVE_DIRECT');
      return;
    }
    const engine = await NativeXrpEngine.open(path, { workers: 1, direct: true });
    await engine.load(SCRIPTED);
    const scratch = new Uint8Array(4096);
    assert.equal((await engine.readXrp(0, scratch)).status, XrpStatus.DONE);
    assert.deepEqual(scriptedLog(scratch), [0, 3]);
    await engine.close();
  } finally {
    rmSync(shm, { recursive: true, force: true });
  }
});
