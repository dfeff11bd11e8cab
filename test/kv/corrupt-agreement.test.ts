// Corrupted BPF-KV files through every mode and engine (pread, io_uring, SPDK,
// read_xrp on the emulated machine, the native engine, the untimed reference
// walk, and the XrpEngine client on the emulated engine): they all give the
// same answer or the same structural error (src/kv/checks.ts), quickly. The
// fixed corpus covers each rule, the layouts cover holes, unwritten and
// moved extents and an extent map shorter than the file; a seeded batch of
// random corruptions (its seed printed) covers their mixtures.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildKvBytes } from '../../src/kv/builder.ts';
import { kvGeometry } from '../../src/kv/format.ts';
import { Prng } from '../../src/base/prng.ts';
import { CorpusDir, disagreement, fixedCorruptions, KV_ENGINES, layoutCases, outcomeOf, randomCorruption, type Corruption, type KvQuery, type Outcome } from '../helpers/kv-corrupt.ts';

const dir = new CorpusDir();
after(() => dir.close());

async function agree(c: Corruption, queries: KvQuery[]): Promise<Outcome[]> {
  const file = dir.put(c.bytes, c.layout);
  const seen: Outcome[] = [];
  for (const query of queries) {
    const outcomes: Outcome[] = [];
    for (const engine of KV_ENGINES) outcomes.push(await outcomeOf(engine, file, query));
    const first = outcomes[0];
    if (first === undefined) throw new Error('no engines');
    outcomes.forEach((o, i) => {
      const diff = disagreement(first, o);
      assert.equal(diff, null, `${c.name}, ${JSON.stringify(query, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}: ${KV_ENGINES[0]} vs ${KV_ENGINES[i]}: ${diff}`);
    });
    seen.push(first);
  }
  return seen;
}

test('the issue\'s cases: a pointer cycle, a zeroed index, a leaf root and a value crossing a block give one typed error on every engine', async () => {
  const corpus = await fixedCorruptions(2);
  const pick = (prefix: string): Corruption => corpus.find((c) => c.name.startsWith(prefix))!;
  const expect: [string, string][] = [
    ['root points at itself', 'CYCLE'],
    ['zeroed index', 'POINTER_MASK'],
    ['root type says leaf', 'ROOT_TYPE'],
  ];
  for (const [name, check] of expect) {
    const [o] = await agree(pick(name), [{ kind: 'get', keys: [5n] }]);
    assert.ok(o!.kind === 'error' && o!.check === check, `${name}: ${JSON.stringify(o)}`);
  }
  // the first leaf holds keys 0..30; key 0's value pointer now crosses a block
  const [o] = await agree(pick('value pointer crosses'), [{ kind: 'get', keys: [0n] }]);
  assert.ok(o!.kind === 'error' && o!.check === 'VALUE_BLOCK' && o!.key === '0', JSON.stringify(o));
});

test('a leaf that a range query resumes at, with an internal node\'s type: NODE_TYPE on every engine, not a descent', async () => {
  // [263, 957) is answered in calls of 32 pairs; one of them resumes at the 26th leaf (node 26, offset 13312)
  const bytes = await buildKvBytes({ layers: 2 });
  bytes[26 * 512 + 8] = 0;
  const [o] = await agree({ name: 'leaf 26 has type 0', bytes }, [{ kind: 'range', begin: 263n, end: 957n }]);
  assert.ok(o?.kind === 'error' && o.check === 'NODE_TYPE' && o.offsetBytes === 26 * 512, JSON.stringify(o));
});

test('every case of the fixed corpus (2 and 3 layers): lookups and a range agree on every engine', async () => {
  for (const layers of [2, 3]) {
    const keyCount = kvGeometry(layers).keyCount;
    const queries: KvQuery[] = [
      { kind: 'get', keys: [0n, 5n, 31n, BigInt(keyCount - 1)] },
      { kind: 'range', begin: 20n, end: 70n },
    ];
    // 3 layers: only the cases of inner nodes (the others are the 2-layer cases again, slower)
    for (const c of await fixedCorruptions(layers)) if (layers === 2 || c.name.startsWith('inner')) await agree(c, queries);
  }
});

test('random corruptions of the index agree on every engine (seeded)', async () => {
  const seed = Number(process.env.KV_CORRUPT_SEED ?? Date.now() % 1_000_000);
  console.log(`# corrupt-agreement seed ${seed} (KV_CORRUPT_SEED=${seed} to repeat)`);
  const rng = new Prng(seed);
  const layers = 2;
  const g = kvGeometry(layers);
  const clean = await buildKvBytes({ layers });
  for (let n = 0; n < 6; n++) {
    const forRange = n % 2 === 1;
    const c = randomCorruption(rng, clean, g, !forRange);
    const query: KvQuery = forRange
      ? { kind: 'range', begin: BigInt(rng.nextBelow(g.keyCount)), end: BigInt(rng.nextBelow(g.keyCount)) + 40n }
      : { kind: 'get', keys: [BigInt(rng.nextBelow(g.keyCount))] };
    await agree({ name: `seed ${seed} #${n}: ${c.name}`, bytes: c.bytes }, [query]);
  }
});

test('holes, unwritten extents, an extent map shorter than the file and moved extents: every engine answers as for zeros there', async () => {
  const g = kvGeometry(2);
  // keys 0..216 are in the leaves of the first fs block, 217..464 in the second; key 5's value is in the first log block
  const queries: KvQuery[] = [
    { kind: 'get', keys: [0n, 5n, 300n, 900n, BigInt(g.keyCount - 1)] },
    { kind: 'range', begin: 200n, end: 260n },
  ];
  const seen = new Map<string, Outcome[]>();
  for (const c of await layoutCases()) seen.set(c.name, await agree(c, queries));
  const root = seen.get('a hole over the root and the first leaves')?.[0];
  assert.ok(root?.kind === 'error' && root.check === 'POINTER_MASK' && root.offsetBytes === 0, JSON.stringify(root));
  const leaves = seen.get('a hole over leaves 8..15')?.[0];
  // a zeroed leaf reads as an internal node whose pointers have no FILE_MASK (key 300's leaf is node 10)
  assert.ok(leaves?.kind === 'error' && leaves.check === 'POINTER_MASK' && leaves.key === '300' && leaves.offsetBytes === 10 * 512, JSON.stringify(leaves));
  const moved = seen.get('fragmented extents (blocks moved)');
  assert.ok(moved?.every((o) => o.kind === 'answer'), 'moved extents are read as before');
});
