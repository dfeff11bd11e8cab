// Model-based tests of the B+-tree on memory and on a real file: random
// sequences of puts, updates, deletes, gets and scans against a Map, with
// checkpoints and reopenings (which drop everything since the last checkpoint)
// in between, and small caches so that pages are evicted and read back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Prng } from '../../src/base/prng.ts';
import { compareKeys } from '../../src/wt/format.ts';
import { FilePageIo, MemoryPageIo, runSync, type PageIo } from '../../src/wt/io.ts';
import { WtTree } from '../../src/wt/tree.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

function randomKey(rng: Prng, space: number): string {
  const n = rng.nextBelow(space);
  // variable lengths, shared prefixes
  return `k${n.toString(36).padStart(1 + (n % 7), '0')}${'x'.repeat(n % 13)}`;
}

function randomValue(rng: Prng): Uint8Array {
  const len = rng.nextFloat() < 0.05 ? 1500 + rng.nextBelow(1500) : rng.nextBelow(300);
  const v = new Uint8Array(len);
  for (let i = 0; i < len; i++) v[i] = rng.nextBelow(256);
  return v;
}

function sortedModel(model: Map<string, Uint8Array>): [string, Uint8Array][] {
  return [...model.entries()].sort((a, b) => compareKeys(enc.encode(a[0]), enc.encode(b[0])));
}

function checkAll(tree: WtTree, io: PageIo, model: Map<string, Uint8Array>, rng: Prng, space: number): void {
  for (let i = 0; i < 200; i++) {
    const k = randomKey(rng, space);
    const got = runSync(tree.get(io, enc.encode(k)));
    const want = model.get(k);
    assert.deepEqual(got === null ? null : Buffer.from(got), want === undefined ? null : Buffer.from(want), `get ${k}`);
  }
  const all = runSync(tree.scan(io, enc.encode('\u0001'), 1 << 30));
  const want = sortedModel(model);
  assert.equal(all.length, want.length, 'full scan length');
  all.forEach(([k, v], i) => {
    assert.equal(dec.decode(k), want[i]![0]);
    assert.ok(Buffer.from(v).equals(Buffer.from(want[i]![1])), `value of ${want[i]![0]}`);
  });
}

function runModel(seed: number, makeIo: () => PageIo, reopenIo: (old: PageIo) => PageIo): void {
  const rng = new Prng(seed);
  const space = 3000;
  let io = makeIo();
  let tree = runSync(WtTree.create(io, { cacheBytes: 16 * 4096, dirtyMaxBytes: 1 << 30 }));
  let model = new Map<string, Uint8Array>();
  let durable = new Map<string, Uint8Array>();
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 400; i++) {
      const r = rng.nextFloat();
      const k = randomKey(rng, space);
      if (r < 0.55) {
        const v = randomValue(rng);
        runSync(tree.put(io, enc.encode(k), v));
        model.set(k, v);
      } else if (r < 0.7) {
        assert.equal(runSync(tree.remove(io, enc.encode(k))), model.delete(k), `remove ${k}`);
      } else if (r < 0.95) {
        const got = runSync(tree.get(io, enc.encode(k)));
        const want = model.get(k);
        assert.deepEqual(got === null ? null : Buffer.from(got), want === undefined ? null : Buffer.from(want), `get ${k}`);
      } else {
        const n = rng.nextBelow(40);
        const got = runSync(tree.scan(io, enc.encode(k), n)).map(([a]) => dec.decode(a));
        const want = sortedModel(model).map(([a]) => a).filter((a) => compareKeys(enc.encode(a), enc.encode(k)) >= 0).slice(0, n);
        assert.deepEqual(got, want, `scan ${k} ${n}`);
      }
    }
    const action = rng.nextBelow(3);
    if (action >= 1) {
      runSync(tree.checkpoint(io));
      durable = new Map(model);
    }
    if (action !== 1) {
      // reopen: everything since the last checkpoint is gone
      io = reopenIo(io);
      tree = runSync(WtTree.open(io, { cacheBytes: (4 + rng.nextBelow(40)) * 4096, dirtyMaxBytes: 1 << 30 }));
      model = new Map(durable);
    }
    checkAll(tree, io, model, rng, space);
  }
  assert.ok(tree.snapshotStats().fileBlocks > 20, 'the tree grew past a few pages');
}

test('model: random operations, checkpoints and reopenings in memory', () => {
  for (const seed of [1, 2]) {
    runModel(seed, () => new MemoryPageIo(), (old) => new MemoryPageIo((old as MemoryPageIo).snapshot()));
  }
});

test('model: the same on a real file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wt-model-'));
  try {
    const path = join(dir, 'tree.wt');
    runModel(7, () => new FilePageIo(path, { create: true }), (old) => {
      (old as FilePageIo).close();
      return new FilePageIo(path);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
