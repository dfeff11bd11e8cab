// Blocks freed by a checkpoint are not reused while a read that started
// before it is in flight: a reader is stopped inside its page read (the bytes
// land when it resumes, as a slow device read would) while a writer rewrites
// the tree and checkpoints three times; the reader still gets its page.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Task } from '../../src/sim/thread.ts';
import { PAGE_BYTES } from '../../src/wt/format.ts';
import { MemoryPageIo, runSync } from '../../src/wt/io.ts';
import { WtTree } from '../../src/wt/tree.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const key = (i: number): Uint8Array => enc.encode(`key-${String(i).padStart(5, '0')}`);

/** A MemoryPageIo whose reads stop once (yield) before they copy the block. */
class SlowIo extends MemoryPageIo {
  stall = false;
  override *readBlock(block: number): Task<Uint8Array> {
    if (this.stall) yield 0;
    return yield* super.readBlock(block);
  }
}

test('a read in flight across three checkpoints still reads its page (blocks are reused only after it)', () => {
  const io = new SlowIo();
  const tree = runSync(WtTree.create(io, { cacheBytes: 4 * PAGE_BYTES, dirtyMaxBytes: 1 << 30 }));
  for (let i = 0; i < 400; i++) runSync(tree.put(io, key(i), enc.encode(`v0-${i}`.padEnd(300, '.'))));
  runSync(tree.checkpoint(io));
  // evict everything but the root: the next get reads pages
  const reopened = runSync(WtTree.open(io, { cacheBytes: 4 * PAGE_BYTES, dirtyMaxBytes: 1 << 30 }));
  io.stall = true;
  const reader = reopened.get(io, key(123));
  assert.equal(reader.next(0).done, false, 'the reader waits in its read');
  io.stall = false;
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 400; i++) if (i !== 123) runSync(reopened.put(io, key(i), enc.encode(`v${round}-${i}`.padEnd(300, '.'))));
    runSync(reopened.checkpoint(io));
  }
  let step = reader.next(0);
  while (!step.done) step = reader.next(0);
  assert.ok(step.value !== null);
  assert.equal(dec.decode(step.value).slice(0, 6), 'v0-123');
  // and the blocks are reused once it is over
  const before = reopened.fileBlocks;
  for (let i = 0; i < 400; i++) runSync(reopened.put(io, key(i), enc.encode(`v9-${i}`.padEnd(300, '.'))));
  runSync(reopened.checkpoint(io));
  assert.ok(reopened.fileBlocks <= before + 5, `the file stays at ${reopened.fileBlocks} blocks (was ${before})`);
});
