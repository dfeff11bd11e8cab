import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSync, writeSync, closeSync } from 'node:fs';
import fc from 'fast-check';
import { ImageStore } from '../../src/device/image-store.ts';
import { FileSystem } from '../../src/kernel/fs/fs.ts';
import type { Inode } from '../../src/kernel/fs/fs.ts';
import { FsCorruptError, FsError } from '../../src/kernel/fs/errors.ts';
import { FS_BLOCK_BYTES } from '../../src/kernel/fs/layout.ts';
import { pattern, tempDir } from './helpers.ts';

function withFs<T>(sizeBytes: number, fn: (fs: FileSystem, path: string) => T): T {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'fs.img');
  const store = ImageStore.open(path, { create: true, sizeBytes, cacheBytes: 0 });
  try {
    return fn(FileSystem.mkfs(store), path);
  } finally {
    store.close();
    cleanup();
  }
}

function reopen(path: string): { fs: FileSystem; close: () => void } {
  const store = ImageStore.open(path, { cacheBytes: 0 });
  try {
    return { fs: FileSystem.open(store), close: () => store.close() };
  } catch (error) {
    store.close();
    throw error;
  }
}

/** Every allocated physical block belongs to exactly one file and lies in the data area. */
function checkNoSharedBlocks(fs: FileSystem): void {
  const owner = new Map<number, number>();
  for (const inode of fs.list()) {
    for (const e of inode.extents) {
      assert.ok(e.pblk >= fs.dataStartBlock && e.pblk + e.len <= fs.totalBlocks, `extent of ${inode.name} in the data area`);
      for (let b = e.pblk; b < e.pblk + e.len; b++) {
        assert.ok(!owner.has(b), `block ${b} used by inodes ${owner.get(b)} and ${inode.ino}`);
        owner.set(b, inode.ino);
      }
    }
  }
  assert.equal(fs.freeBlocks, fs.totalBlocks - fs.dataStartBlock - owner.size, 'free count matches the extents');
}

test('create, write, read back, append; names are checked', () => {
  withFs(8 << 20, (fs) => {
    const a = fs.create('a');
    const data = pattern(10_000, 1);
    fs.write(a, 0, data);
    assert.equal(a.sizeBytes, 10_000);
    assert.deepEqual(fs.read(a, 0, 10_000), data);
    assert.deepEqual(fs.read(a, 5000, 100), data.subarray(5000, 5100));
    fs.append(a, pattern(5000, 2));
    assert.equal(a.sizeBytes, 15_000);
    assert.deepEqual(fs.read(a, 10_000, 5000), pattern(5000, 2));
    assert.equal(a.extents.length, 1, 'appending continues the extent');
    assert.equal(fs.read(a, 14_000, 5000).length, 1000, 'short read at end of file');
    assert.throws(() => fs.create('a'), (e: unknown) => e instanceof FsError && e.errno === 17);
    assert.throws(() => fs.create('x/y'), FsError);
    assert.throws(() => fs.create('n'.repeat(256)), (e: unknown) => e instanceof FsError && e.errno === 36);
    assert.equal(fs.lookup('/a'), a, 'a leading slash names the same file');
    assert.throws(() => fs.get('missing'), (e: unknown) => e instanceof FsError && e.errno === 2);
  });
});

test('sparse writes leave holes that read as zeros', () => {
  withFs(8 << 20, (fs) => {
    const f = fs.create('sparse');
    fs.write(f, 3 * FS_BLOCK_BYTES + 100, pattern(10, 3));
    assert.equal(f.extents.length, 1);
    assert.equal(f.extents[0]!.lblk, 3);
    const all = fs.read(f, 0, f.sizeBytes);
    assert.ok(all.subarray(0, 3 * FS_BLOCK_BYTES + 100).every((b) => b === 0));
    assert.deepEqual(all.subarray(3 * FS_BLOCK_BYTES + 100), pattern(10, 3));
  });
});

test('truncate frees blocks and zeros the tail; growing leaves a hole', () => {
  withFs(8 << 20, (fs) => {
    const f = fs.create('t');
    fs.write(f, 0, pattern(5 * FS_BLOCK_BYTES, 4));
    const free = fs.freeBlocks;
    fs.truncate(f, FS_BLOCK_BYTES + 10);
    assert.equal(fs.freeBlocks, free + 3);
    assert.equal(f.allocatedBlocks, 2);
    fs.truncate(f, 3 * FS_BLOCK_BYTES);
    const back = fs.read(f, 0, 3 * FS_BLOCK_BYTES);
    assert.deepEqual(back.subarray(0, FS_BLOCK_BYTES + 10), pattern(5 * FS_BLOCK_BYTES, 4).subarray(0, FS_BLOCK_BYTES + 10));
    assert.ok(back.subarray(FS_BLOCK_BYTES + 10).every((b) => b === 0), 'bytes past the old size read as zeros');
    assert.throws(() => fs.truncate(f, -1), FsError);
  });
});

test('fallocate makes unwritten extents (zeros) until written; KEEP_SIZE keeps the size', () => {
  withFs(8 << 20, (fs) => {
    const f = fs.create('fa');
    fs.fallocate(f, 0, 4 * FS_BLOCK_BYTES);
    assert.equal(f.sizeBytes, 4 * FS_BLOCK_BYTES);
    assert.deepEqual(f.extents.map((e) => e.unwritten), [true]);
    assert.ok(fs.read(f, 0, f.sizeBytes).every((b) => b === 0));
    fs.write(f, FS_BLOCK_BYTES + 7, pattern(20, 5));
    assert.deepEqual(f.extents.map((e) => [e.lblk, e.len, e.unwritten]), [[0, 1, true], [1, 1, false], [2, 2, true]]);
    const block = fs.read(f, FS_BLOCK_BYTES, FS_BLOCK_BYTES);
    assert.ok(block.subarray(0, 7).every((b) => b === 0), 'rest of a converted block is zero');
    assert.deepEqual(block.subarray(7, 27), pattern(20, 5));
    fs.fallocate(f, 10 * FS_BLOCK_BYTES, FS_BLOCK_BYTES, { keepSize: true });
    assert.equal(f.sizeBytes, 4 * FS_BLOCK_BYTES);
    assert.equal(f.allocatedBlocks, 5);
  });
});

test('relocate and defragment move physical extents, keep the data, free the old blocks', () => {
  withFs(8 << 20, (fs) => {
    const a = fs.create('a');
    const b = fs.create('b');
    // Interleave so that a is fragmented.
    for (let i = 0; i < 4; i++) {
      fs.append(a, pattern(FS_BLOCK_BYTES, 10 + i));
      fs.append(b, pattern(FS_BLOCK_BYTES, 20 + i));
    }
    assert.equal(a.extents.length, 4);
    const before = fs.read(a, 0, a.sizeBytes);
    const oldPblks = a.extents.map((e) => e.pblk);
    const r = fs.defragment(a);
    assert.deepEqual(r, { extentsBefore: 4, extentsAfter: 1, blocksMoved: 4 });
    assert.deepEqual(fs.read(a, 0, a.sizeBytes), before);
    assert.ok(!oldPblks.includes(a.extents[0]!.pblk));
    checkNoSharedBlocks(fs);
    // Move one block to a chosen place.
    const target = fs.totalBlocks - 1;
    assert.equal(fs.relocate(a, 2, 1, target), 1);
    assert.equal(a.extents.find((e) => e.lblk === 2)!.pblk, target);
    assert.deepEqual(fs.read(a, 0, a.sizeBytes), before);
    assert.throws(() => fs.relocate(b, 0, 1, target), (e: unknown) => e instanceof FsError && e.errno === 28);
    checkNoSharedBlocks(fs);
  });
});

test('ENOSPC when the data area is full, and nothing leaks', () => {
  withFs(1 << 20, (fs) => {
    const f = fs.create('big');
    const free = fs.freeBlocks;
    assert.throws(() => fs.write(f, 0, new Uint8Array((free + 1) * FS_BLOCK_BYTES)), (e: unknown) => e instanceof FsError && e.errno === 28);
    fs.write(f, 0, new Uint8Array(free * FS_BLOCK_BYTES));
    assert.equal(fs.freeBlocks, 0);
    checkNoSharedBlocks(fs);
  });
});

test('metadata persists: reopen sees names, sizes, extents and data', () => {
  withFs(16 << 20, (fs, path) => {
    const a = fs.create('alpha');
    fs.write(a, 0, pattern(50_000, 6));
    const b = fs.create('beta');
    fs.fallocate(b, 0, 3 * FS_BLOCK_BYTES);
    fs.create('empty');
    fs.sync();
    const { fs: again, close } = reopen(path);
    try {
      assert.deepEqual(again.list().map((i) => [i.ino, i.name, i.sizeBytes]), fs.list().map((i) => [i.ino, i.name, i.sizeBytes]));
      assert.deepEqual(again.get('alpha').extents, a.extents);
      assert.deepEqual(again.get('beta').extents, b.extents);
      assert.deepEqual(again.read(again.get('alpha'), 0, 50_000), pattern(50_000, 6));
      assert.equal(again.freeBlocks, fs.freeBlocks, 'the bitmap is rebuilt from the extents');
      assert.equal(again.create('new').ino, 14, 'inode numbers continue');
    } finally {
      close();
    }
  });
});

function corrupt(path: string, offset: number, bytes: number[]): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, offset);
  closeSync(fd);
}

test('corrupt or foreign images are refused with a message naming what is wrong', () => {
  withFs(4 << 20, (fs, path) => {
    fs.write(fs.create('f'), 0, pattern(9000, 7));
    fs.sync();
    const expectCorrupt = (pattern: RegExp): void => {
      assert.throws(() => reopen(path), (e: unknown) => e instanceof FsCorruptError && pattern.test(e.message));
    };
    corrupt(path, 0, [0x41]);
    expectCorrupt(/bad magic at offset 0/);
    corrupt(path, 0, [0x58]);
    corrupt(path, 8, [2]);
    expectCorrupt(/unsupported xrpfs version 2/);
    corrupt(path, 8, [1]);
    corrupt(path, 20, [1]); // total blocks, high bytes
    expectCorrupt(/superblock checksum mismatch/);
    corrupt(path, 20, [0]);
    reopen(path).close(); // restored
    corrupt(path, FS_BLOCK_BYTES + 30, [0xff]);
    expectCorrupt(/metadata checksum mismatch/);
  });
  const { dir, cleanup } = tempDir();
  try {
    const store = ImageStore.open(join(dir, 'zero.img'), { create: true, sizeBytes: 1 << 20 });
    assert.throws(() => FileSystem.open(store), (e: unknown) => e instanceof FsCorruptError && /not an xrpfs image/.test(e.message));
    store.close();
  } finally {
    cleanup();
  }
});

test('property: random writes, truncates, fallocates and moves agree with a byte-array model, also after reopen', () => {
  const SIZE = 64 * FS_BLOCK_BYTES;
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), off: fc.integer({ min: 0, max: SIZE - 1 }), len: fc.integer({ min: 1, max: 3 * FS_BLOCK_BYTES }), seed: fc.integer({ min: 1, max: 1000 }) }),
    fc.record({ kind: fc.constant('truncate' as const), size: fc.integer({ min: 0, max: SIZE }) }),
    fc.record({ kind: fc.constant('fallocate' as const), off: fc.integer({ min: 0, max: SIZE - 1 }), len: fc.integer({ min: 1, max: 4 * FS_BLOCK_BYTES }), keep: fc.boolean() }),
    fc.record({ kind: fc.constant('relocate' as const), lblk: fc.integer({ min: 0, max: 70 }), count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('defrag' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 25 }), (ops) => {
      withFs(2 << 20, (fs, path) => {
        const f: Inode = fs.create('p');
        const other = fs.create('q');
        let model = new Uint8Array(0);
        for (const o of ops) {
          fs.append(other, pattern(100, 1)); // interleave allocations
          if (o.kind === 'write') {
            const end = Math.min(SIZE, o.off + o.len);
            const data = pattern(end - o.off, o.seed);
            fs.write(f, o.off, data);
            if (end > model.length) {
              const m = new Uint8Array(end);
              m.set(model);
              model = m;
            }
            model.set(data, o.off);
          } else if (o.kind === 'truncate') {
            fs.truncate(f, o.size);
            const m = new Uint8Array(o.size);
            m.set(model.subarray(0, Math.min(o.size, model.length)));
            model = m;
          } else if (o.kind === 'fallocate') {
            fs.fallocate(f, o.off, o.len, { keepSize: o.keep });
            if (!o.keep && o.off + o.len > model.length) {
              const m = new Uint8Array(o.off + o.len);
              m.set(model);
              model = m;
            }
          } else if (o.kind === 'relocate') {
            fs.relocate(f, o.lblk, o.count);
          } else {
            fs.defragment(f);
          }
          assert.equal(f.sizeBytes, model.length);
        }
        assert.deepEqual(fs.read(f, 0, f.sizeBytes), model);
        checkNoSharedBlocks(fs);
        fs.sync();
        const { fs: again, close } = reopen(path);
        try {
          assert.deepEqual(again.read(again.get('p'), 0, model.length), model);
          checkNoSharedBlocks(again);
        } finally {
          close();
        }
      });
    }),
    { numRuns: 60, seed: 5 },
  );
});
