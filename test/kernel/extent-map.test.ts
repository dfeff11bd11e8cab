import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EXTENT_MAX_BLOCKS, findExtent, insertExtents, mapRange, markWritten, normalize, removeRange,
} from '../../src/kernel/fs/extent-map.ts';
import type { Extent } from '../../src/kernel/fs/extent-map.ts';
import { BlockAllocator } from '../../src/kernel/fs/allocator.ts';
import { FsError } from '../../src/kernel/fs/errors.ts';

const ext = (lblk: number, len: number, pblk: number, unwritten = false): Extent => ({ lblk, len, pblk, unwritten });

test('findExtent: binary search over sorted extents, -1 in holes', () => {
  const map = [ext(0, 4, 100), ext(10, 2, 200), ext(20, 5, 300)];
  assert.equal(findExtent(map, 0), 0);
  assert.equal(findExtent(map, 3), 0);
  assert.equal(findExtent(map, 4), -1);
  assert.equal(findExtent(map, 11), 1);
  assert.equal(findExtent(map, 24), 2);
  assert.equal(findExtent(map, 25), -1);
  assert.equal(findExtent([], 0), -1);
});

test('normalize merges physically contiguous extents of the same state only', () => {
  assert.deepEqual(normalize([ext(0, 2, 10), ext(2, 3, 12)]), [ext(0, 5, 10)]);
  assert.deepEqual(normalize([ext(0, 2, 10), ext(2, 3, 13)]), [ext(0, 2, 10), ext(2, 3, 13)]);
  assert.deepEqual(normalize([ext(0, 2, 10), ext(2, 3, 12, true)]), [ext(0, 2, 10), ext(2, 3, 12, true)]);
  // ext4's length limit stops merging.
  assert.equal(normalize([ext(0, EXTENT_MAX_BLOCKS, 0), ext(EXTENT_MAX_BLOCKS, 1, EXTENT_MAX_BLOCKS)]).length, 2);
});

test('removeRange splits extents and reports the freed physical blocks', () => {
  const { extents, removed } = removeRange([ext(0, 10, 100)], 3, 4);
  assert.deepEqual(extents, [ext(0, 3, 100), ext(7, 3, 107)]);
  assert.deepEqual(removed, [{ pblk: 103, len: 4 }]);
});

test('markWritten converts only the covered part of an unwritten extent', () => {
  assert.deepEqual(markWritten([ext(0, 10, 100, true)], 2, 3), [ext(0, 2, 100, true), ext(2, 3, 102), ext(5, 5, 105, true)]);
  assert.deepEqual(markWritten([ext(0, 10, 100, true)], 0, 10), [ext(0, 10, 100)]);
});

test('insertExtents refuses overlaps; mapRange reports holes', () => {
  assert.throws(() => insertExtents([ext(0, 4, 100)], [ext(3, 2, 50)]), RangeError);
  const map = insertExtents([ext(0, 2, 100)], [ext(5, 2, 102)]);
  assert.deepEqual(mapRange(map, 0, 8), [
    { lblk: 0, len: 2, pblk: 100, unwritten: false },
    { lblk: 2, len: 3, pblk: -1, unwritten: false },
    { lblk: 5, len: 2, pblk: 102, unwritten: false },
    { lblk: 7, len: 1, pblk: -1, unwritten: false },
  ]);
  assert.deepEqual(mapRange(map, 1, 1), [{ lblk: 1, len: 1, pblk: 101, unwritten: false }]);
});

test('allocator: next-fit from a goal, short runs around used blocks, ENOSPC when full', () => {
  const a = new BlockAllocator(4, 20);
  assert.equal(a.freeBlocks, 16);
  assert.deepEqual(a.allocate(3, 0), { pblk: 4, len: 3 });
  assert.ok(a.claim(9, 2));
  assert.deepEqual(a.allocate(5, 7), { pblk: 7, len: 2 }); // stops at the used block 9
  assert.equal(a.findFreeRun(9), 11);
  assert.equal(a.findFreeRun(10), null);
  assert.ok(!a.claim(9, 1), 'double claim refused');
  a.free({ pblk: 9, len: 2 });
  assert.throws(() => a.free({ pblk: 9, len: 1 }), RangeError);
  assert.deepEqual(a.allocate(100, 0), { pblk: 9, len: 11 });
  assert.equal(a.freeBlocks, 0);
  assert.throws(() => a.allocate(1, 0), (e: unknown) => e instanceof FsError && e.errno === 28);
});
