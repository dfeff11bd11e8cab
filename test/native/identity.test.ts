// The native engine serves one file: when its path comes to name another file
// (a rename over it) or none (removed), requests complete with MAPPING_CHANGED,
// as they do when the file is truncated or modified (noticed within a millisecond).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, rmSync } from 'node:fs';
import { NativeXrpEngine } from '../../src/native/engine.ts';
import { nativeKvGet } from '../../src/kv/xrp-client.ts';
import { buildKvFile } from '../../src/kv/builder.ts';
import { XrpStatus } from '../../src/xrp/status.ts';
import { SCRIPTED, scriptedFile, TempDir } from './helpers.ts';

const dir = new TempDir();
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
after(() => dir.remove());

test('a file renamed over the path, or the path removed, completes with MAPPING_CHANGED', async () => {
  const path = dir.file('served.bin', scriptedFile([{ done: true }], 4));
  const engine = await NativeXrpEngine.open(path, { workers: 1 });
  await engine.load(SCRIPTED);
  try {
    assert.equal((await engine.readXrp(0, new Uint8Array(4096))).status, XrpStatus.DONE);
    // the same bytes, size and (below) a later mtime would not matter: another inode is another file
    const other = dir.file('other.bin', scriptedFile([{ done: true }], 4));
    renameSync(other, path);
    await settle(); // a worker looks at the path at most once a millisecond
    const replaced = await engine.readXrp(0, new Uint8Array(4096));
    assert.equal(replaced.status, XrpStatus.MAPPING_CHANGED);
    assert.match(replaced.detail, /now names another file \(device \d+, inode \d+; the engine opened device \d+, inode \d+\)/);
    rmSync(path);
    await settle();
    const removed = await engine.readXrp(0, new Uint8Array(4096));
    assert.equal(removed.status, XrpStatus.MAPPING_CHANGED);
    assert.match(removed.detail, /no longer names a file/);
  } finally {
    await engine.close();
  }
});

test('BPF-KV through a kept engine: a rename over the file is a typed error, not answers from the old inode', async () => {
  const path = `${dir.path}/kv.raw`;
  await buildKvFile(path, { layers: 2 });
  const engine = await NativeXrpEngine.open(path, { workers: 1 });
  await engine.load('bpf/kv/get.bpf.o', 'kv_get');
  try {
    const before = await nativeKvGet(path, [7n], { engine });
    assert.equal(before.answers[0]?.found, true);
    const fresh = `${dir.path}/kv2.raw`;
    await buildKvFile(fresh, { layers: 2 });
    renameSync(fresh, path);
    await settle();
    await assert.rejects(nativeKvGet(path, [7n], { engine }), /MAPPING_CHANGED.*now names another file/);
  } finally {
    await engine.close();
  }
});
