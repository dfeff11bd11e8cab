// The array chain: builder, user-space walk, and the storage function
// (bpf/structures/array_chain.bpf.o, verified and run by the engine driver)
// against the walk for k = 1 to 10,000 and with the resubmission limit cutting
// long chains (the walk finishes them from the scratch page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AC_BLOCK_BYTES,
  AC_ERR_BAD_QUERY,
  applyHop,
  arrayChainFileBytes,
  arrayChainQuery,
  blockOffsetOf,
  buildArrayChain,
  elementOfBlock,
  nextIndex,
  readArrayChainQuery,
  walkArrayChain,
  writeArrayChainQuery,
  type ArrayChainState,
} from '../../src/structures/array-chain.ts';
import { StructureError } from '../../src/structures/errors.ts';
import { MemoryFile } from '../../src/structures/io.ts';
import { Prng } from '../../src/base/prng.ts';
import { EngineDriver } from './engine-driver.ts';

function arrayFile(nElems: number, seed: number, valueAt?: (i: number) => bigint): MemoryFile {
  const file = new MemoryFile();
  buildArrayChain(file, { nElems, seed, chunkBytes: 4096, ...(valueAt !== undefined ? { valueAt } : {}) });
  return file;
}

/** The chain by the definition, one element at a time (no blocks). */
function definitionWalk(bytes: Uint8Array, state: ArrayChainState): ArrayChainState {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const s = { ...state };
  while (s.hopsDone < s.hopsTotal) {
    const value = view.getBigUint64(s.index * 8, true);
    s.hopsDone++;
    s.sum = BigInt.asUintN(64, s.sum + value);
    s.lastValue = value;
    s.index = Number(BigInt.asUintN(64, 2n * value) % BigInt(s.nElems));
  }
  return s;
}

/** Runs the query in the storage function; returns the driver's run and the state left in scratch. */
function xrpQuery(driver: EngineDriver, file: MemoryFile, query: ArrayChainState, resubmitLimit?: number) {
  writeArrayChainQuery(driver.scratchBytes, query);
  const run = driver.run(file, blockOffsetOf(query.index), resubmitLimit);
  return { run, state: readArrayChainQuery(driver.scratchBytes) };
}

test('builder: seeded, deterministic, values in [0, N), zero-padded to whole blocks', () => {
  const a = arrayFile(1000, 7);
  const b = arrayFile(1000, 7);
  const c = arrayFile(1000, 8);
  assert.equal(a.sizeBytes, arrayChainFileBytes(1000));
  assert.equal(a.sizeBytes, 8192); // 8000 bytes of elements, rounded up to 16 blocks
  assert.deepEqual(a.bytes, b.bytes);
  assert.notDeepEqual(a.bytes, c.bytes);
  const view = new DataView(a.bytes.buffer);
  const seen = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const v = view.getBigUint64(i * 8, true);
    assert.ok(v < 1000n, `element ${i} = ${v}`);
    seen.add(v);
  }
  assert.ok(seen.size > 500, 'values are spread');
  assert.ok(a.bytes.subarray(8000).every((x) => x === 0));
  // a large N crosses the chunk size and still matches element by element
  const big = arrayFile(5000, 3);
  const rng = new Prng(3);
  for (let i = 0; i < 5000; i++) assert.equal(new DataView(big.bytes.buffer).getBigUint64(i * 8, true), BigInt(rng.nextBelow(5000)));
});

test('hop arithmetic is u64: 2 * value wraps at 2^64 before the modulo', () => {
  assert.equal(nextIndex(10n, 7), 6);
  assert.equal(nextIndex(2n ** 63n + 5n, 1000), 10); // 2 * (2^63 + 5) mod 2^64 = 10
  assert.equal(nextIndex(2n ** 64n - 1n, 1000), Number((2n ** 64n - 2n) % 1000n));
  const s = arrayChainQuery(100, 3, 2);
  applyHop(s, 2n ** 64n - 1n);
  assert.equal(s.sum, 2n ** 64n - 1n);
  applyHop(s, 2n);
  assert.equal(s.sum, 1n); // modulo 2^64
});

test('user-space walk = the definition, one 512-byte read per hop', () => {
  const file = arrayFile(3001, 11);
  for (const [start, hops] of [[0, 1], [3000, 7], [1234, 5000]] as const) {
    const q = arrayChainQuery(3001, start, hops);
    const walked = walkArrayChain(file, q);
    assert.deepEqual(walked.state, definitionWalk(file.bytes, q));
    assert.equal(walked.reads, hops);
  }
  // and from a state part way: the same end
  const q = arrayChainQuery(3001, 17, 900);
  const half = walkArrayChain(file, { ...q, hopsTotal: 450 }).state;
  assert.deepEqual(walkArrayChain(file, { ...half, hopsTotal: 900 }).state, definitionWalk(file.bytes, q));
});

test('storage function = user-space walk for k = 1 to 10,000 (sampled), N odd and N a power of two', () => {
  const driver = new EngineDriver('array_chain.bpf.o', 'array_chain');
  const rng = new Prng(2026);
  const ks = [1, 2, 3, 63, 64, 65, 511, 512, 1000, 4096, 9999, 10_000];
  for (let i = 0; i < 12; i++) ks.push(1 + rng.nextBelow(10_000));
  for (const nElems of [10_007, 4096]) {
    const file = arrayFile(nElems, nElems);
    for (const k of ks) {
      const q = arrayChainQuery(nElems, rng.nextBelow(nElems), k);
      const ref = walkArrayChain(file, q);
      const { run, state } = xrpQuery(driver, file, q);
      const where = `N=${nElems} k=${k} start=${q.index}`;
      assert.equal(run.status, 'done', where);
      assert.equal(run.reads, k, `${where}: one read per hop`);
      assert.deepEqual(state, ref.state, where);
    }
  }
});

test('interpreter and JIT agree on a long chain', () => {
  const file = arrayFile(777, 5);
  const q = arrayChainQuery(777, 12, 3000);
  const jit = xrpQuery(new EngineDriver('array_chain.bpf.o', 'array_chain', 'jit'), file, q);
  const interp = xrpQuery(new EngineDriver('array_chain.bpf.o', 'array_chain', 'interp'), file, q);
  assert.deepEqual(jit.state, interp.state);
  assert.deepEqual(jit.state, walkArrayChain(file, q).state);
});

test('resubmission limit: a long chain ends with LIMIT after limit + 1 reads, and the walk from scratch completes it', () => {
  const driver = new EngineDriver('array_chain.bpf.o', 'array_chain');
  const file = arrayFile(20_011, 99);
  const rng = new Prng(4);
  for (const [k, limit] of [[10_000, 4096], [10_000, 100], [5000, 4999], [5000, 5000], [2, 0], [1, 0]] as const) {
    const q = arrayChainQuery(20_011, rng.nextBelow(20_011), k);
    const ref = walkArrayChain(file, q);
    const { run, state } = xrpQuery(driver, file, q, limit);
    const where = `k=${k} limit=${limit}`;
    if (k <= limit + 1) {
      assert.equal(run.status, 'done', where);
      assert.deepEqual(state, ref.state, where);
      continue;
    }
    assert.equal(run.status, 'limit', where);
    assert.equal(run.reads, limit + 1, where);
    assert.equal(state.hopsDone, limit + 1, `${where}: the scratch counts the hops made`);
    assert.equal(run.nextOffset, blockOffsetOf(state.index), `${where}: the pending read is the block of the next index`);
    const rest = walkArrayChain(file, state);
    assert.equal(rest.reads, k - limit - 1, where);
    assert.deepEqual(rest.state, ref.state, `${where}: fallback completes the chain`);
  }
});

test('bad queries: the storage function returns AC_ERR_BAD_QUERY; the TypeScript side throws typed errors', () => {
  const driver = new EngineDriver('array_chain.bpf.o', 'array_chain');
  const file = arrayFile(100, 1);
  const scratch = driver.scratchBytes;
  for (const bad of [
    { nElems: 0, hopsTotal: 5, hopsDone: 0, index: 0 },
    { nElems: 100, hopsTotal: 5, hopsDone: 0, index: 100 },
    { nElems: 100, hopsTotal: 5, hopsDone: 5, index: 1 },
  ]) {
    scratch.fill(0);
    const view = new DataView(scratch.buffer, scratch.byteOffset, 48);
    view.setBigUint64(0, BigInt(bad.nElems), true);
    view.setBigUint64(8, BigInt(bad.hopsTotal), true);
    view.setBigUint64(16, BigInt(bad.hopsDone), true);
    view.setBigUint64(24, BigInt(bad.index), true);
    const run = driver.run(file, 0);
    assert.equal(run.status, 'error', JSON.stringify(bad));
    assert.equal(run.r0, AC_ERR_BAD_QUERY);
    assert.equal(run.reads, 1);
    // a finished query is a valid state to read back; the other two are not states at all
    if (bad.hopsDone === 0) assert.throws(() => readArrayChainQuery(scratch), StructureError);
  }
  assert.throws(() => arrayChainQuery(100, 100, 1), /start index must be 0..99/);
  assert.throws(() => arrayChainQuery(100, 0, 0), /hops must be/);
  assert.throws(() => arrayChainQuery(0, 0, 1), /N must be/);
  assert.throws(() => buildArrayChain(new MemoryFile(), { nElems: 1.5, seed: 1 }), StructureError);
  assert.throws(() => buildArrayChain(new MemoryFile(), { nElems: 10, seed: 1, chunkBytes: 100 }), /chunkBytes/);
  assert.throws(() => walkArrayChain(arrayFile(100, 1), arrayChainQuery(1000, 0, 1)), /N = 1000 needs 8000 bytes/);
  const block = new Uint8Array(AC_BLOCK_BYTES);
  new DataView(block.buffer).setBigUint64(8 * 3, 42n, true);
  assert.equal(elementOfBlock(block, 64 + 3), 42n);
});

test('a crafted cycle: values that send every hop back to the start', () => {
  // element i = N/2 + i/2 gives 2 * value mod N = i for even i: a chain of length 1 loops on itself
  const nElems = 1000;
  const file = arrayFile(nElems, 0, (i) => BigInt(nElems / 2 + Math.floor(i / 2)));
  const driver = new EngineDriver('array_chain.bpf.o', 'array_chain');
  const q = arrayChainQuery(nElems, 246, 300);
  const { run, state } = xrpQuery(driver, file, q);
  assert.equal(run.status, 'done');
  assert.equal(state.index, 246);
  assert.equal(state.lastValue, 623n);
  assert.equal(state.sum, 623n * 300n);
});

test('property: any N, start, k and u64 values (2 * value wrapping past 2^64): storage function = walk', () => {
  const driver = new EngineDriver('array_chain.bpf.o', 'array_chain');
  const valueArb = fc.oneof(fc.bigInt({ min: 0n, max: 2000n }), fc.bigInt({ min: 2n ** 63n - 3n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.array(valueArb, { minLength: 1, maxLength: 40 }), fc.nat(), fc.integer({ min: 1, max: 400 }), (nElems, pattern, startSeed, hops) => {
      const file = arrayFile(nElems, 0, (i) => pattern[i % pattern.length]!);
      const q = arrayChainQuery(nElems, startSeed % nElems, hops);
      const ref = walkArrayChain(file, q);
      assert.deepEqual(ref.state, definitionWalk(file.bytes, q));
      const { run, state } = xrpQuery(driver, file, q);
      assert.equal(run.status, 'done');
      assert.equal(run.reads, hops);
      assert.deepEqual(state, ref.state);
    }),
    { seed: 7, numRuns: 150 },
  );
});
