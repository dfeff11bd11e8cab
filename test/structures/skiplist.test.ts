// The on-disk skip list: format and builder, then the user-space walks and the
// storage functions (bpf/structures/skiplist.bpf.o: sl_get, sl_range; verified
// and run by the engine driver) against an in-memory model over random
// sequences of inserts, deletes, lookups and range scans (fast-check, fixed seeds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StructureError } from '../../src/structures/errors.ts';
import { MemoryFile } from '../../src/structures/io.ts';
import {
  decodeNode,
  encodeNode,
  headCount,
  SGQ,
  SL_AT_TARGET,
  SL_ERR_BAD_NODE,
  SL_ERR_BAD_QUERY,
  SL_FINISHED,
  SL_HEAD_OFFSET,
  SL_LEVEL_MAX,
  SL_MAGIC_HEAD,
  SL_MAGIC_NODE,
  SL_NODE_BYTES,
  SL_VALUE_BYTES,
  SRQ,
  readSlRangeQuery,
  resumeSlRangeQuery,
  writeSlGetQuery,
  writeSlRangeQuery,
} from '../../src/structures/skiplist-format.ts';
import { buildSkipList, skipListGet, skipListRange, SkipListWriter, stridedEntries, type SkipListEntry } from '../../src/structures/skiplist.ts';
import { EngineDriver } from './engine-driver.ts';
import { xrpGet, xrpRange } from './skiplist-helpers.ts';

const U64_MAX = 2n ** 64n - 1n;

function valueOf(key: bigint, version = 0): Uint8Array {
  const v = new Uint8Array(SL_VALUE_BYTES);
  const view = new DataView(v.buffer);
  view.setBigUint64(0, key, true);
  view.setUint32(8, version, true);
  v[63] = 0xa5;
  return v;
}

function build(entries: SkipListEntry[], seed = 1, promoteOneIn?: number): MemoryFile {
  const file = new MemoryFile();
  buildSkipList(file, entries, { seed, ...(promoteOneIn !== undefined ? { promoteOneIn } : {}) });
  return file;
}

test('builder: head at 0, nodes in key order, every level a sorted list of the nodes that reach it', () => {
  const keys = [5n, 0n, U64_MAX, 77n, 1n << 40n, 3n, 1000n];
  const file = new MemoryFile();
  const summary = buildSkipList(file, keys.map((key) => ({ key, value: valueOf(key) })), { seed: 42 });
  assert.equal(summary.nodes, keys.length);
  assert.equal(file.sizeBytes, (keys.length + 1) * SL_NODE_BYTES);
  assert.equal(summary.levelCounts.reduce((a, b) => a + b, 0), keys.length);
  const head = decodeNode(file.bytes.subarray(0, SL_NODE_BYTES), 0);
  assert.equal(head.magic, SL_MAGIC_HEAD);
  assert.equal(headCount(head), keys.length);
  const nodes = Array.from({ length: keys.length }, (_, i) => decodeNode(file.bytes.subarray((i + 1) * 512, (i + 2) * 512), (i + 1) * 512));
  const sorted = [...keys].sort((a, b) => (a < b ? -1 : 1));
  nodes.forEach((n, i) => {
    assert.equal(n.magic, SL_MAGIC_NODE);
    assert.equal(n.key, sorted[i]);
    assert.deepEqual(n.value, valueOf(sorted[i]!));
  });
  for (let l = 0; l < SL_LEVEL_MAX; l++) {
    const expected = nodes.map((n, i) => ({ n, offset: (i + 1) * 512 })).filter(({ n }) => n.level > l);
    const linked: number[] = [];
    for (let f = head.fwd[l]!; f.offset !== 0; ) {
      linked.push(f.offset);
      const n = nodes[f.offset / 512 - 1]!;
      assert.equal(n.key, f.key, 'a link carries its target key');
      f = n.fwd[l]!;
    }
    assert.deepEqual(linked, expected.map((e) => e.offset), `level ${l}`);
  }
  // seeded: the same seed gives the same bytes, another seed other levels
  const again = new MemoryFile();
  buildSkipList(again, keys.map((key) => ({ key, value: valueOf(key) })), { seed: 42 });
  assert.deepEqual(again.bytes, file.bytes);
  const many = stridedEntries(2000);
  const a = build(many, 1);
  const b = build(many, 2);
  assert.notDeepEqual(a.bytes, b.bytes);
  // levels are geometric: about half the nodes reach level 2, a quarter level 3
  const counts = buildSkipList(new MemoryFile(), many, { seed: 1 }).levelCounts;
  const atLeast = (h: number) => counts.slice(h - 1).reduce((x, y) => x + y, 0);
  assert.ok(Math.abs(atLeast(2) - 1000) < 120 && Math.abs(atLeast(3) - 500) < 100, counts.join(','));
  const quarter = buildSkipList(new MemoryFile(), many, { seed: 1, promoteOneIn: 4 }).levelCounts;
  assert.ok(Math.abs(quarter.slice(1).reduce((x, y) => x + y, 0) - 500) < 100, quarter.join(','));
});

test('node codec round-trips, and rejects foreign blocks', () => {
  const node = { key: 99n, magic: SL_MAGIC_NODE, level: 3, value: valueOf(99n), fwd: Array.from({ length: 16 }, (_, l) => (l < 3 ? { key: 100n + BigInt(l), offset: 512 * (l + 2) } : { key: 0n, offset: 0 })) };
  assert.deepEqual(decodeNode(encodeNode(node), 512), node);
  const bad = encodeNode(node);
  bad[8] = 0;
  assert.throws(() => decodeNode(bad, 1024), /offset 1024 is not a live node/);
  const badLevel = encodeNode({ ...node, level: 17 });
  assert.throws(() => decodeNode(badLevel, 512), /level 17/);
  const misaligned = encodeNode(node);
  new DataView(misaligned.buffer).setBigUint64(80 + 8, 513n, true);
  assert.throws(() => decodeNode(misaligned, 512), /links level 0 to offset 513/);
});

test('lookups and scans: storage functions = user space = model, same reads, on built lists of 0 to 3000 keys', () => {
  const get = new EngineDriver('skiplist.bpf.o', 'sl_get');
  const range = new EngineDriver('skiplist.bpf.o', 'sl_range');
  for (const count of [0, 1, 2, 33, 3000]) {
    const entries = stridedEntries(count, 3n).map((e) => ({ key: e.key + 1n, value: valueOf(e.key + 1n) }));
    const file = build(entries, count);
    const model = new Map(entries.map((e) => [e.key, e.value]));
    const probes = [0n, 1n, 2n, 4n, BigInt(Math.max(0, 3 * count - 2)), BigInt(3 * count + 1), U64_MAX];
    for (let i = 0; i < 40; i++) probes.push(BigInt((i * 7919) % (3 * count + 3)));
    for (const key of probes) {
      const user = skipListGet(file, key);
      const { run, outcome } = xrpGet(get, file, key);
      assert.equal(run.status, 'done', `count ${count} key ${key}`);
      assert.equal(user.found, model.has(key), `count ${count} key ${key}`);
      assert.equal(outcome.found, user.found);
      if (user.found) {
        assert.deepEqual(user.value, model.get(key));
        assert.deepEqual(outcome.value, model.get(key));
      }
      assert.equal(outcome.reads, user.reads, `count ${count} key ${key}: reads`);
      assert.equal(run.reads, user.reads);
    }
    for (const [begin, end] of [[0n, U64_MAX], [5n, 5n], [4n, 100n], [100n, 4n], [BigInt(count), BigInt(count + 200)]] as const) {
      const expected = [...model.keys()].filter((k) => k >= begin && k <= end).sort((a, b) => (a < b ? -1 : 1));
      const user = skipListRange(file, begin, end);
      const xrp = xrpRange(range, file, begin, end);
      assert.deepEqual(user.pairs.map((p) => p.key), expected, `count ${count} range ${begin}..${end}`);
      assert.deepEqual(xrp.pairs, user.pairs);
      assert.equal(xrp.reads, user.reads);
      assert.equal(xrp.callPairs.length, Math.max(1, Math.ceil(expected.length / 32)));
    }
  }
});

test('a search reads O(log n) nodes: about log2(n) + a few for n = 3000', () => {
  const file = build(stridedEntries(3000), 9);
  let total = 0;
  for (let i = 0; i < 200; i++) total += skipListGet(file, BigInt(i * 29)).reads;
  const mean = total / 200;
  assert.ok(mean > 5 && mean < 30, `mean reads ${mean}`);
});

type Op =
  | { kind: 'insert'; key: bigint; version: number }
  | { kind: 'delete'; key: bigint }
  | { kind: 'get'; key: bigint }
  | { kind: 'range'; begin: bigint; end: bigint };

const keyArb = fc.oneof(
  { weight: 8, arbitrary: fc.bigInt({ min: 0n, max: 300n }) },
  { weight: 1, arbitrary: fc.bigInt({ min: U64_MAX - 5n, max: U64_MAX }) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), key: keyArb, version: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('range' as const), begin: keyArb, end: keyArb }) },
);

test('property: random inserts, deletes, lookups and scans agree with a Map model (XRP and user space)', () => {
  const get = new EngineDriver('skiplist.bpf.o', 'sl_get');
  const range = new EngineDriver('skiplist.bpf.o', 'sl_range');
  fc.assert(
    fc.property(fc.uniqueArray(keyArb, { maxLength: 120 }), fc.array(opArb, { maxLength: 80 }), fc.nat(1000), (initial, ops, seed) => {
      const file = build(initial.map((key) => ({ key, value: valueOf(key) })), seed);
      const model = new Map(initial.map((key) => [key, valueOf(key)]));
      const writer = new SkipListWriter(file, { seed: seed + 1 });
      for (const op of ops) {
        switch (op.kind) {
          case 'insert': {
            const r = writer.insert(op.key, valueOf(op.key, op.version));
            assert.equal(r, model.has(op.key) ? 'updated' : 'inserted');
            model.set(op.key, valueOf(op.key, op.version));
            break;
          }
          case 'delete':
            assert.equal(writer.delete(op.key), model.delete(op.key));
            break;
          case 'get': {
            const user = skipListGet(file, op.key);
            const { run, outcome } = xrpGet(get, file, op.key);
            assert.equal(run.status, 'done');
            assert.equal(user.found, model.has(op.key));
            assert.equal(outcome.found, user.found);
            assert.deepEqual(outcome.value, model.get(op.key));
            assert.deepEqual(user.value, model.get(op.key));
            assert.equal(outcome.reads, user.reads);
            break;
          }
          case 'range': {
            const expected = [...model.entries()].filter(([k]) => k >= op.begin && k <= op.end).sort(([a], [b]) => (a < b ? -1 : 1));
            const user = skipListRange(file, op.begin, op.end);
            const xrp = xrpRange(range, file, op.begin, op.end);
            assert.deepEqual(user.pairs.map((p) => [p.key, p.value]), expected);
            assert.deepEqual(xrp.pairs, user.pairs);
            assert.equal(xrp.reads, user.reads);
            break;
          }
        }
        assert.equal(writer.count, model.size);
      }
    }),
    { seed: 20261128, numRuns: 200 },
  );
});

test('a corrupt file ends the storage function with SL_ERR_BAD_NODE (never a loop), and user space with a typed error', () => {
  const get = new EngineDriver('skiplist.bpf.o', 'sl_get');
  const range = new EngineDriver('skiplist.bpf.o', 'sl_range');
  const entries = stridedEntries(50).map((e) => ({ key: e.key, value: valueOf(e.key) }));
  const corrupt = (edit: (file: MemoryFile) => void): MemoryFile => {
    const file = build(entries, 3);
    edit(file);
    return file;
  };
  // node 10 (key 18) announced with another key
  const wrongKey = corrupt((f) => new DataView(f.bytes.buffer).setBigUint64(10 * 512, 19n, true));
  // every level-0 link of node 5 points back at node 2: a cycle
  const cycle = corrupt((f) => {
    const view = new DataView(f.bytes.buffer);
    view.setBigUint64(5 * 512 + 80, 2n, true);
    view.setBigUint64(5 * 512 + 88, 2n * 512n, true);
  });
  const badMagic = corrupt((f) => new DataView(f.bytes.buffer).setUint32(0 * 512 + 8, 0, true));
  // node 3 (key 4) announces key 5 on level 0 at an offset inside a node; a search for 5 always ends at node 3
  const misaligned = corrupt((f) => {
    const view = new DataView(f.bytes.buffer);
    view.setBigUint64(3 * 512 + 80, 5n, true);
    view.setBigUint64(3 * 512 + 88, 3n * 512n + 8n, true);
  });
  for (const [name, file, key] of [['wrong key', wrongKey, 18n], ['cycle', cycle, 9n], ['bad head', badMagic, 4n], ['misaligned', misaligned, 5n]] as const) {
    const { run } = xrpGet(get, file, key);
    assert.equal(run.status, 'error', name);
    assert.equal(run.r0, SL_ERR_BAD_NODE, name);
    assert.throws(() => skipListGet(file, key), StructureError, name);
  }
  // a full scan meets every corruption
  for (const file of [wrongKey, cycle, misaligned]) {
    assert.throws(() => skipListRange(file, 0n, U64_MAX), StructureError);
    writeSlRangeQuery(range.scratchBytes, 0n, U64_MAX);
    let offset = 0;
    let run = range.run(file, offset);
    for (let call = 0; call < 10 && run.status === 'done'; call++) {
      const resume = readSlRangeQuery(range.scratchBytes).resumeOffset;
      if (resume === 0) break;
      resumeSlRangeQuery(range.scratchBytes);
      offset = resume;
      run = range.run(file, offset);
    }
    assert.equal(run.status, 'error');
    assert.equal(run.r0, SL_ERR_BAD_NODE);
  }
});

test('queries in impossible states end with SL_ERR_BAD_QUERY', () => {
  const file = build(stridedEntries(10), 1);
  const get = new EngineDriver('skiplist.bpf.o', 'sl_get');
  writeSlGetQuery(get.scratchBytes, 4n);
  new DataView(get.scratchBytes.buffer, get.scratchBytes.byteOffset).setUint32(SGQ.state, SL_FINISHED, true);
  assert.deepEqual(get.run(file, 0), { status: 'error', r0: SL_ERR_BAD_QUERY, reads: 1 });
  const range = new EngineDriver('skiplist.bpf.o', 'sl_range');
  const s = range.scratchBytes;
  s.fill(0);
  const view = new DataView(s.buffer, s.byteOffset);
  view.setUint32(SRQ.state, SL_AT_TARGET, true);
  view.setUint32(SRQ.count, 32, true); // a full page handed back without being emptied
  assert.deepEqual(range.run(file, 512), { status: 'error', r0: SL_ERR_BAD_QUERY, reads: 1 });
  view.setUint32(SRQ.state, 9, true);
  assert.deepEqual(range.run(file, 0), { status: 'error', r0: SL_ERR_BAD_QUERY, reads: 1 });
});

test('bad input: typed errors naming what', () => {
  assert.throws(() => buildSkipList(new MemoryFile(), [{ key: 1n, value: valueOf(1n) }, { key: 1n, value: valueOf(1n) }], { seed: 1 }), /key 1 appears twice/);
  assert.throws(() => buildSkipList(new MemoryFile(), [{ key: -1n, value: valueOf(1n) }], { seed: 1 }), /key -1 is not a u64/);
  assert.throws(() => buildSkipList(new MemoryFile(), [{ key: 1n, value: new Uint8Array(65) }], { seed: 1 }), /at most 64 bytes/);
  assert.throws(() => buildSkipList(new MemoryFile(), [], { seed: 1, promoteOneIn: 1 }), /promoteOneIn/);
  assert.throws(() => skipListGet(new MemoryFile(), 1n), /short read/);
  assert.throws(() => new SkipListWriter(new MemoryFile(new Uint8Array(700)), { seed: 1 }), /not whole 512-byte nodes/);
  assert.throws(() => skipListRange(build([], 1), 2n ** 64n, 1n), /range begin/);
  const w = new SkipListWriter(new MemoryFile(), { seed: 1 });
  assert.equal(w.count, 0);
  assert.equal(skipListGet(build([], 1), 0n).found, false);
  assert.equal(SL_HEAD_OFFSET, 0);
});

test('interpreter and JIT leave the same scratch for lookups and scans', () => {
  const file = build(stridedEntries(700, 5n), 21);
  const engines = (['jit', 'interp'] as const).map((engine) => ({
    get: new EngineDriver('skiplist.bpf.o', 'sl_get', engine),
    range: new EngineDriver('skiplist.bpf.o', 'sl_range', engine),
  }));
  for (let i = 0; i < 60; i++) {
    const key = BigInt((i * 104_729) % 3600);
    const [jit, interp] = engines.map((e) => {
      const g = xrpGet(e.get, file, key);
      const r = xrpRange(e.range, file, key, key + 300n);
      return { g, r, getScratch: Buffer.from(e.get.scratchBytes), rangeScratch: Buffer.from(e.range.scratchBytes) };
    });
    assert.deepEqual(jit!.g, interp!.g, `key ${key}`);
    assert.deepEqual(jit!.r, interp!.r, `range from ${key}`);
    assert.ok(jit!.getScratch.equals(interp!.getScratch) && jit!.rangeScratch.equals(interp!.rangeScratch), `scratch of ${key}`);
  }
});
