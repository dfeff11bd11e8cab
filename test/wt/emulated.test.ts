// The engine on the emulated machine with XRP lookups: (1) a model test,
// random operations against a Map with checkpoints and reopenings, lookups
// going through the storage function wherever the cache misses; (2) the
// hammer: reader threads look keys up with XRP while a writer updates and
// checkpoints (pages move copy-on-write, the file grows, extents change);
// every answer must be right, and the metadata digest must have cut walks
// (MAPPING_CHANGED) that the user-space path then finished.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Machine } from '../../src/kernel/machine.ts';
import { Prng } from '../../src/base/prng.ts';
import type { SimThread } from '../../src/sim/thread.ts';
import { EmulatedPageIo, loadWtLookup } from '../../src/wt/emulated.ts';
import { PAGE_BYTES } from '../../src/wt/format.ts';
import { WtTree } from '../../src/wt/tree.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const keyOf = (n: number): Uint8Array => enc.encode(`user${(n * 2654435761) % 1000003}`);
const valueOf = (n: number, version: number): Uint8Array => enc.encode(`${n}:${version}:`.padEnd(200 + (n % 300), 'abcdefgh'));

function withMachine(body: (m: Machine, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'wt-emu-'));
  const m = Machine.boot({ imagePath: join(dir, 'd.img'), mkfsBytes: 96 << 20, cores: 4, seed: 3 });
  try {
    body(m, dir);
  } finally {
    m.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

function runThreads(m: Machine, bodies: ((t: SimThread) => Generator<number, void, number>)[]): void {
  let failure: unknown = null;
  bodies.forEach((b, i) =>
    m.sim.spawn(`t${i}`, function* (t) {
      try {
        yield* b(t);
      } catch (e) {
        failure ??= e;
      }
    }),
  );
  m.sim.run();
  if (failure !== null) throw failure;
}

test('model on the emulated machine: XRP lookups, checkpoints and reopenings agree with a Map', () => {
  withMachine((m) => {
    const proc = m.kernel.createProcess('model', 32 << 20);
    const rng = new Prng(11);
    const stats = { walks: 0, answered: 0 };
    runThreads(m, [function* (t) {
      const progFd = yield* loadWtLookup(t, proc);
      const io = yield* EmulatedPageIo.open(t, proc, 't.wt', { create: true, progFd });
      let tree = yield* WtTree.create(io, { cacheBytes: 64 * PAGE_BYTES, dirtyMaxBytes: 1 << 30, xrp: true });
      let model = new Map<string, string>();
      let durable = new Map<string, string>();
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 500; i++) {
          const n = rng.nextBelow(2500);
          const r = rng.nextFloat();
          const k = keyOf(n);
          if (r < 0.5) {
            const v = valueOf(n, round * 1000 + i);
            yield* tree.put(io, k, v);
            model.set(dec.decode(k), dec.decode(v));
          } else if (r < 0.6) {
            assert.equal(yield* tree.remove(io, k), model.delete(dec.decode(k)));
          } else {
            const got = yield* tree.get(io, k);
            assert.equal(got === null ? undefined : dec.decode(got), model.get(dec.decode(k)), `get ${dec.decode(k)}`);
          }
        }
        yield* tree.checkpoint(io);
        durable = new Map(model);
        if (round % 2 === 1) {
          const s = tree.snapshotStats();
          stats.walks += s.xrpWalks;
          stats.answered += s.xrpAnswered;
          // reopen with a tiny cache: lookups walk several levels in the storage function
          tree = yield* WtTree.open(io, { cacheBytes: 4 * PAGE_BYTES, dirtyMaxBytes: 1 << 30, xrp: true });
          model = new Map(durable);
          for (const [k, v] of model) {
            const got = yield* tree.get(io, enc.encode(k));
            assert.equal(got === null ? undefined : dec.decode(got), v, `after reopen: ${k}`);
          }
        }
      }
      const s = tree.snapshotStats();
      stats.walks += s.xrpWalks;
      stats.answered += s.xrpAnswered;
      assert.ok(s.xrpHops > s.xrpAnswered, 'walks of more than one page');
    }]);
    assert.ok(stats.answered > 1000, `${stats.answered} of ${stats.walks} lookups answered by the storage function`);
  });
});

test('hammer: XRP lookups stay right while checkpoints move pages and change extents', () => {
  withMachine((m) => {
    const proc = m.kernel.createProcess('hammer', 64 << 20);
    const KEYS = 3000;
    const versions = new Map<number, Set<string>>();
    let tree: WtTree | null = null;
    let progFd = -1;
    runThreads(m, [function* (t) {
      progFd = yield* loadWtLookup(t, proc);
      const io = yield* EmulatedPageIo.open(t, proc, 't.wt', { create: true });
      const tr = yield* WtTree.create(io, { cacheBytes: 48 * PAGE_BYTES, dirtyMaxBytes: 24 * PAGE_BYTES, xrp: true });
      for (let n = 0; n < KEYS; n++) {
        yield* tr.put(io, keyOf(n), valueOf(n, 0));
        versions.set(n, new Set([dec.decode(valueOf(n, 0))]));
      }
      yield* tr.checkpoint(io);
      tree = tr;
    }]);
    const tr = tree as WtTree | null;
    assert.ok(tr !== null);
    const before = tr.snapshotStats();
    const ios: EmulatedPageIo[] = [];
    let writerDone = false;
    let reads = 0;
    const reader = (seed: number) => function* (t: SimThread) {
      const io = yield* EmulatedPageIo.open(t, proc, 't.wt', { progFd });
      ios.push(io);
      const rng = new Prng(seed);
      while (!writerDone) {
        const n = rng.nextBelow(KEYS);
        const got = yield* tr.get(io, keyOf(n));
        assert.ok(got !== null, `key ${n} missing`);
        assert.ok(versions.get(n)!.has(dec.decode(got)), `key ${n}: a value never written`);
        reads++;
      }
    };
    const writer = function* (t: SimThread) {
      const io = yield* EmulatedPageIo.open(t, proc, 't.wt', {});
      const rng = new Prng(99);
      for (let i = 1; i <= 1500; i++) {
        const n = rng.nextBelow(KEYS);
        const v = valueOf(n, i);
        // the new version is acceptable from the moment the put may become visible
        versions.get(n)!.add(dec.decode(v));
        yield* tr.put(io, keyOf(n), v);
      }
      yield* tr.checkpoint(io);
      writerDone = true;
    };
    runThreads(m, [writer, reader(1), reader(2), reader(3)]);
    const after = tr.snapshotStats();
    const changed = ios.reduce((s, io) => s + (io.xrpEnds.get('MAPPING_CHANGED') ?? 0), 0);
    assert.ok(after.checkpoints - before.checkpoints >= 20, `${after.checkpoints - before.checkpoints} checkpoints during the run`);
    assert.ok(after.fileBlocks > before.fileBlocks, 'the file grew (new extents)');
    assert.ok(reads > 500, `${reads} lookups`);
    assert.ok(after.xrpAnswered - before.xrpAnswered > 200, `${after.xrpAnswered - before.xrpAnswered} answered by XRP`);
    assert.ok(changed > 0, 'some walks met a changed mapping and were redone');
  });
});
