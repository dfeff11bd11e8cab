import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ImageStore } from '../../src/device/image-store.ts';
import { FileSystem } from '../../src/kernel/fs/fs.ts';
import { FS_BLOCK_BYTES } from '../../src/kernel/fs/layout.ts';
import { MetadataDigest } from '../../src/kernel/metadata-digest.ts';
import { pattern, tempDir } from './helpers.ts';

const B = FS_BLOCK_BYTES;

test('lookupMapping: address of a written offset, short at extent end, no mapping in holes, unwritten extents and past EOF', () => {
  const d = new MetadataDigest();
  d.updateMapping({ ino: 5, sizeBytes: 10 * B, extents: [
    { lblk: 0, len: 2, pblk: 100, unwritten: false },
    { lblk: 4, len: 2, pblk: 300, unwritten: true },
    { lblk: 6, len: 4, pblk: 500, unwritten: false },
  ] });
  assert.deepEqual(d.lookupMapping(5, 512, 512), { exist: true, offset: 512, len: 512, address: 100 * B + 512, version: 1 });
  assert.deepEqual(d.lookupMapping(5, 2 * B - 512, 4096), { exist: true, offset: 2 * B - 512, len: 512, address: 101 * B + 3584, version: 1 }, 'short extent');
  assert.equal(d.lookupMapping(5, 2 * B, 512).exist, false, 'hole');
  assert.equal(d.lookupMapping(5, 4 * B, 512).exist, false, 'unwritten');
  assert.equal(d.lookupMapping(5, 7 * B + 100, 512).address, 501 * B + 100);
  assert.equal(d.lookupMapping(5, 10 * B, 512).exist, false, 'past end of file');
  assert.equal(d.lookupMapping(5, -1, 512).exist, false);
  assert.equal(d.lookupMapping(99, 0, 512).exist, false, 'unknown inode');
});

test('updateMapping: version = old + 1; unchanged extents keep their version; old snapshots stay intact', () => {
  const d = new MetadataDigest();
  const inode = { ino: 1, sizeBytes: 8 * B, extents: [{ lblk: 0, len: 2, pblk: 10, unwritten: false }, { lblk: 2, len: 2, pblk: 50, unwritten: false }] };
  const v1 = d.updateMapping(inode);
  assert.equal(v1.version, 1);
  inode.extents = [{ lblk: 0, len: 2, pblk: 10, unwritten: false }, { lblk: 2, len: 2, pblk: 70, unwritten: false }];
  const v2 = d.updateMapping(inode);
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.extents.map((e) => e.version), [1, 2], 'the moved extent gets the new version');
  assert.equal(d.lookupMapping(1, 0, 512).version, 1);
  assert.equal(d.lookupMapping(1, 2 * B, 512).version, 2);
  // A reader holding v1 still sees the old, consistent mapping.
  assert.equal(v1.lookup(2 * B, 512).address, 50 * B);
  assert.equal(d.current(1), v2);
  assert.ok(Object.isFrozen(v2) && Object.isFrozen(v2.extents) && Object.isFrozen(v2.extents[0]));
  const v3 = d.updateMapping(inode);
  assert.equal(v3.version, 3);
  assert.deepEqual(v3.extents.map((e) => e.version), [1, 2]);
});

test('the file system publishes a new digest version on every extent change', () => {
  const { dir, cleanup } = tempDir();
  const store = ImageStore.open(join(dir, 'd.img'), { create: true, sizeBytes: 8 << 20, cacheBytes: 0 });
  try {
    const fs = FileSystem.mkfs(store);
    const f = fs.create('f');
    const d = fs.digest;
    const v = (): number => d.current(f.ino)!.version;
    const v0 = v();
    fs.write(f, 0, pattern(3 * B, 1));
    assert.ok(v() > v0, 'write');
    const first = d.lookupMapping(f.ino, 0, 512);
    assert.equal(first.exist, true);
    assert.equal(first.address, f.extents[0]!.pblk * B);
    // The bytes at the digest's address are the file's bytes.
    const raw = new Uint8Array(512);
    store.read(d.lookupMapping(f.ino, B + 512, 512).address, raw, 0, 512);
    assert.deepEqual(raw, pattern(3 * B, 1).subarray(B + 512, B + 1024));
    let before = v();
    fs.fallocate(f, 3 * B, 2 * B);
    assert.ok(v() > before, 'fallocate');
    assert.equal(d.lookupMapping(f.ino, 3 * B, 512).exist, false, 'unwritten after fallocate');
    before = v();
    fs.relocate(f, 1, 1);
    assert.ok(v() > before, 'relocate');
    assert.equal(d.lookupMapping(f.ino, B, 512).address, f.extents.find((e) => e.lblk === 1)!.pblk * B);
    assert.notEqual(d.lookupMapping(f.ino, B, 512).version, first.version, 'a moved block has a new version');
    before = v();
    fs.truncate(f, B);
    assert.ok(v() > before, 'truncate');
    assert.equal(d.lookupMapping(f.ino, B, 512).exist, false);
    before = v();
    fs.defragment(f);
    assert.ok(v() > before, 'defragment');
    fs.unlink('f');
    assert.equal(d.current(f.ino), null);
  } finally {
    store.close();
    cleanup();
  }
});
