// Checkpoint atomicity: the machine stops at every write of a script of three
// checkpoints (the write lands torn or not at all), and the reopened file
// holds exactly the last complete checkpoint. And bad files: a corrupt page, a
// truncated file, a key longer than a page allows give typed errors naming
// the block and offset, never a wrong answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../../src/base/prng.ts';
import { WtError } from '../../src/wt/errors.ts';
import { FIRST_PAGE_BLOCK, PAGE_BYTES } from '../../src/wt/format.ts';
import { MemoryPageIo, runSync, SimulatedCrash } from '../../src/wt/io.ts';
import { WtTree } from '../../src/wt/tree.ts';

const enc = new TextEncoder();
const key = (i: number): Uint8Array => enc.encode(`key-${(i * 7919) % 1000}`);
const value = (i: number, round: number): Uint8Array => enc.encode(`v${round}-${i}-`.padEnd(40 + (i % 150), '.'));

/** Runs the script; returns the state after each complete checkpoint and the writes done when it completed. */
function script(io: MemoryPageIo): { states: Map<string, string>[]; completedAt: number[] } {
  const states: Map<string, string>[] = [];
  const completedAt: number[] = [];
  const model = new Map<string, string>();
  const tree = runSync(WtTree.create(io, { cacheBytes: 8 * PAGE_BYTES, dirtyMaxBytes: 1 << 30 }));
  states.push(new Map(model));
  completedAt.push(io.writes);
  const rng = new Prng(5);
  for (let round = 1; round <= 3; round++) {
    for (let i = 0; i < 90; i++) {
      const n = rng.nextBelow(120);
      if (rng.nextFloat() < 0.2) {
        runSync(tree.remove(io, key(n)));
        model.delete(new TextDecoder().decode(key(n)));
      } else {
        runSync(tree.put(io, key(n), value(n, round)));
        model.set(new TextDecoder().decode(key(n)), new TextDecoder().decode(value(n, round)));
      }
    }
    runSync(tree.checkpoint(io));
    states.push(new Map(model));
    completedAt.push(io.writes);
  }
  return { states, completedAt };
}

function contents(io: MemoryPageIo): Map<string, string> {
  const tree = runSync(WtTree.open(io, { cacheBytes: 8 * PAGE_BYTES }));
  const dec = new TextDecoder();
  return new Map(runSync(tree.scan(io, enc.encode('\u0001'), 1 << 20)).map(([k, v]) => [dec.decode(k), dec.decode(v)]));
}

test('a stop at every write of three checkpoints leaves the last complete one', () => {
  const clean = new MemoryPageIo();
  const { states, completedAt } = script(clean);
  const total = clean.writes;
  assert.ok(total > 15, `the script writes ${total} blocks`);
  assert.deepEqual(contents(new MemoryPageIo(clean.snapshot())), states.at(-1));
  let checked = 0;
  for (let crashAt = 0; crashAt < total; crashAt++) {
    for (const tornBytes of [0, 100, 2048]) {
      const io = new MemoryPageIo();
      io.crashAfterWrites = crashAt;
      io.tornBytes = tornBytes;
      assert.throws(() => script(io), SimulatedCrash);
      const after = new MemoryPageIo(io.snapshot());
      // a superblock's record is its first 64 bytes, inside the first 512-byte sector
      // (written atomically): a torn superblock write that got them completes its checkpoint
      const last = completedAt.filter((w) => w <= crashAt || (w === crashAt + 1 && tornBytes >= 64)).length - 1;
      if (last < 0) {
        assert.throws(() => contents(after), (e: unknown) => e instanceof WtError, `crash at write ${crashAt} before the tree existed`);
      } else {
        assert.deepEqual(contents(after), states[last], `crash at write ${crashAt} (torn ${tornBytes}): checkpoint ${last}`);
      }
      checked++;
    }
  }
  assert.equal(checked, total * 3);
});

function smallTree(): { io: MemoryPageIo; tree: WtTree } {
  const io = new MemoryPageIo();
  const tree = runSync(WtTree.create(io, { cacheBytes: 8 * PAGE_BYTES }));
  for (let i = 0; i < 300; i++) runSync(tree.put(io, enc.encode(`key-${String(i).padStart(4, '0')}`), value(i, 1)));
  runSync(tree.checkpoint(io));
  return { io, tree };
}

test('a corrupt page: a typed error naming the block and offset', () => {
  const { io } = smallTree();
  const bytes = io.snapshot();
  // corrupt one byte in every page in turn; every lookup either answers right or throws WT_CORRUPT
  const blocks = bytes.length / PAGE_BYTES;
  let errors = 0;
  for (let b = FIRST_PAGE_BLOCK; b < blocks; b++) {
    const bad = bytes.slice();
    bad[b * PAGE_BYTES + 200] = bad[b * PAGE_BYTES + 200]! ^ 0x5a;
    const bio = new MemoryPageIo(bad);
    let tree: WtTree;
    try {
      tree = runSync(WtTree.open(bio, { cacheBytes: 8 * PAGE_BYTES }));
    } catch (e) {
      assert.ok(e instanceof WtError && e.code === 'WT_CORRUPT', String(e));
      assert.match((e as Error).message, new RegExp(`block ${b} \\(file offset ${b * PAGE_BYTES}\\), byte \\d+`));
      errors++;
      continue;
    }
    for (let i = 0; i < 300; i += 7) {
      try {
        const got = runSync(tree.get(bio, enc.encode(`key-${String(i).padStart(4, '0')}`)));
        assert.ok(got !== null && Buffer.from(got).equals(Buffer.from(value(i, 1))), `key ${i} with block ${b} corrupt`);
      } catch (e) {
        assert.ok(e instanceof WtError && e.code === 'WT_CORRUPT', String(e));
        assert.match((e as Error).message, new RegExp(`block ${b} `));
        errors++;
      }
    }
  }
  assert.ok(errors >= blocks - FIRST_PAGE_BLOCK - 1, `${errors} errors`);
});

test('a truncated file and a key longer than a page allows: typed errors', () => {
  const { io } = smallTree();
  const bytes = io.snapshot();
  const cut = new MemoryPageIo(bytes.slice(0, bytes.length - PAGE_BYTES - 100));
  assert.throws(() => runSync(WtTree.open(cut)), (e: unknown) => e instanceof WtError && (e.code === 'WT_IO') && /truncated/.test(e.message));
  assert.throws(() => runSync(WtTree.open(new MemoryPageIo(bytes.slice(0, 3000)))), (e: unknown) => e instanceof WtError && /too short/.test(e.message));
  const { io: io2, tree } = smallTree();
  assert.throws(() => runSync(tree.put(io2, new Uint8Array(129), new Uint8Array(1))), (e: unknown) => e instanceof WtError && e.code === 'WT_KEY' && /1\.\.128 bytes/.test(e.message));
  assert.throws(() => runSync(tree.get(io2, new Uint8Array(5000))), (e: unknown) => e instanceof WtError && e.code === 'WT_KEY');
  assert.throws(() => runSync(tree.put(io2, enc.encode('k'), new Uint8Array(5000))), (e: unknown) => e instanceof WtError && e.code === 'WT_KEY');
});
