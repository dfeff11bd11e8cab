// The native engine through its worker threads: BPF-KV answers equal the
// user-space oracle on a real file, statuses and pending reads cross the
// rings intact with many requests in flight, a changed file is reported,
// bad arguments are typed errors, and the main event loop keeps running.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, utimesSync } from 'node:fs';
import { FileBlockSource } from '../../src/base/block-source.ts';
import { buildKvFile } from '../../src/kv/builder.ts';
import { aggregateRange, lookupKey, rangeScan } from '../../src/kv/lookups.ts';
import { XrpStatus } from '../../src/xrp/status.ts';
import { NativeXrpEngine, NativeXrpError } from '../../src/native/engine.ts';
import { workerBootCode } from '../../src/native/boot.ts';
import { nativeKvGet, nativeKvRange, openKvEngine } from '../../src/kv/xrp-client.ts';
import { TestRng } from '../kernel/xrp/helpers.ts';
import { SCRIPTED, scriptedFile, scriptedLog, TempDir, type BlockSpec } from './helpers.ts';

const dir = new TempDir();
after(() => dir.remove());

const LAYERS = 3;
const MAX_KEY = 31 ** LAYERS;

test('BPF-KV on a real file: point lookups, ranges and every aggregation equal the user-space oracle (seeded)', async () => {
  const path = `${dir.path}/kv3.db`;
  await buildKvFile(path, { layers: LAYERS });
  const source = new FileBlockSource(path);
  const rng = new TestRng(7);
  const keys = Array.from({ length: 300 }, () => BigInt(rng.below(MAX_KEY + 200)));
  const get = await openKvEngine(path, 'get', { workers: 1 });
  const range = await openKvEngine(path, 'range', { workers: 1 });
  try {
    const got = await nativeKvGet(path, keys, { engine: get });
    assert.equal(got.answers.length, keys.length);
    assert.equal(got.calls, Math.ceil(keys.length / 32));
    let reads = 0;
    got.answers.forEach((a, i) => {
      const ref = lookupKey(source, keys[i]!);
      reads += ref.reads;
      assert.equal(a.key, keys[i]);
      assert.equal(a.found, ref.found, `key ${keys[i]}`);
      if (ref.found) assert.deepEqual(a.value, ref.value, `key ${keys[i]}`);
    });
    assert.equal(got.reads, reads, 'one read per hop, as the oracle');

    // the main event loop keeps running while 64 requests of 32 lookups are in flight
    let ticksWhileBusy = 0;
    let stop = false;
    const tick = (): void => {
      if (stop) return;
      if (get.outstanding > 0) ticksWhileBusy++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const many = await nativeKvGet(path, Array.from({ length: 32 * 64 }, (_, i) => BigInt((i * 7919) % MAX_KEY)), { engine: get });
    stop = true;
    assert.ok(many.answers.every((a) => a.found));
    assert.ok(ticksWhileBusy > 0, 'setImmediate callbacks ran while lookups were in flight');
    // a limit that cuts every chain: resumed from the scratch state to the same answers
    const cut = await NativeXrpEngine.open(path, { workers: 1, resubmitLimit: 3 });
    await cut.load('bpf/kv/get.bpf.o', 'kv_get');
    const resumed = await nativeKvGet(path, keys.slice(0, 64), { engine: cut });
    await cut.close();
    assert.ok(resumed.calls > 2, 'the limit cut the chains');
    assert.deepEqual(resumed.answers, got.answers.slice(0, 64));

    for (let i = 0; i < 6; i++) {
      const begin = BigInt(rng.below(MAX_KEY));
      const end = begin + BigInt(rng.below(i === 0 ? 2000 : 120));
      const flags = rng.below(4);
      const pairs = await nativeKvRange(path, begin, end, { engine: range, flags });
      assert.deepEqual(pairs.pairs, rangeScan(source, { begin, end, flags }).pairs, `range ${begin}..${end} flags ${flags}`);
      const ref = aggregateRange(source, { begin, end, flags });
      for (const agg of ['sum', 'count', 'min', 'max', 'avg'] as const) {
        const a = await nativeKvRange(path, begin, end, { engine: range, flags, agg });
        assert.equal(a.aggCount, ref.count, `${agg} count`);
        assert.equal(a.aggValue, agg === 'count' ? ref.count : ref[agg], `${agg} of ${begin}..${end} flags ${flags}`);
      }
      assert.deepEqual((await nativeKvRange(path, begin, end, { engine: range, flags, agg: 'array' })).out, ref.array);
      assert.deepEqual((await nativeKvRange(path, begin, end, { engine: range, flags, agg: 'set' })).out, ref.set);
    }
  } finally {
    await get.close();
    await range.close();
    source.close();
  }
});

test('statuses, progRet, pending reads and the data page cross the rings intact with 200 requests in flight', async () => {
  // block 0: a chain start; blocks 1..7: one behaviour each
  const blocks: BlockSpec[] = [
    { next: [[512, 0]] }, // 0 -> 1
    { done: true, tag: 11 }, // 1 DONE
    { ret: 9n }, // 2 PROG_ERROR 9
    { next: [[700, 0]] }, // 3 MISALIGNED (terminal)
    { next: [[512 * 100, 0]] }, // 4 OUT_OF_FILE
    { next: [[1024, 100]] }, // 5 INVALID_SIZE
    { next: [[3072, 0]] }, // 6 cycle on itself: LIMIT
    { next: [[512, 0], [1024, 512], [1536, 512]] }, // 7 fan-out to 1, 2, 3
  ];
  const path = dir.file('scripted.bin', scriptedFile(blocks, 8));
  const engine = await NativeXrpEngine.open(path, { workers: 2, queueDepth: 16, resubmitLimit: 20 });
  await engine.load(SCRIPTED);
  const expect = [
    { status: XrpStatus.DONE, reads: 2, log: [0, 11], stop: 512 },
    { status: XrpStatus.DONE, reads: 1, log: [11], stop: 512 },
    { status: XrpStatus.PROG_ERROR, reads: 1, log: [2], stop: 1024, progRet: 9n },
    { status: XrpStatus.MISALIGNED, reads: 1, log: [3], stop: 700 },
    { status: XrpStatus.OUT_OF_FILE, reads: 1, log: [4], stop: 51200 },
    { status: XrpStatus.INVALID_SIZE, reads: 1, log: [5], stop: 1024 },
    { status: XrpStatus.LIMIT, reads: 21, log: Array(21).fill(6), stop: 3072, pending: [{ offsetBytes: 3072, sizeBytes: 512 }] },
    // the first abnormal end (block 2's error) is the status; block 3's misaligned read is terminal too: nothing pending
    { status: XrpStatus.PROG_ERROR, reads: 4, log: [7, 11, 2, 3], stop: 1024, progRet: 9n },
  ];
  try {
    const runs = Array.from({ length: 200 }, async (_, i) => {
      const b = i % blocks.length;
      const scratch = new Uint8Array(4096);
      const data = new Uint8Array(4096);
      const r = await engine.readXrp(b * 512, scratch, { data });
      const e = expect[b]!;
      const where = `request ${i} at block ${b}: ${r.statusName} ${r.detail}`;
      assert.equal(r.status, e.status, where);
      assert.equal(r.reads, e.reads, where);
      assert.equal(r.stopOffsetBytes, e.stop, where);
      assert.equal(r.progRet, e.progRet ?? 0n, where);
      assert.equal(r.partial, e.status !== XrpStatus.DONE);
      assert.deepEqual(r.pending, e.pending ?? [], where);
      assert.deepEqual(scriptedLog(scratch), e.log, where);
      assert.equal(r.detail === '', e.status === XrpStatus.DONE, where);
      if (b === 1) assert.equal(new DataView(data.buffer).getBigUint64(400, true), 11n, 'the last block read is in the data page');
    });
    await Promise.all(runs);
    // a per-request limit overrides the engine's
    const limited = await engine.readXrp(6 * 512, new Uint8Array(4096), { resubmitLimit: 2 });
    assert.equal(limited.status, XrpStatus.LIMIT);
    assert.equal(limited.reads, 3);
  } finally {
    await engine.close();
  }
});

test('a file that changes under the engine (size or mtime) completes with MAPPING_CHANGED', async () => {
  const path = dir.file('changing.bin', scriptedFile([{ done: true }], 4));
  const engine = await NativeXrpEngine.open(path, { workers: 1 });
  await engine.load(SCRIPTED);
  try {
    assert.equal((await engine.readXrp(0, new Uint8Array(4096))).status, XrpStatus.DONE);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const touched = await engine.readXrp(0, new Uint8Array(4096));
    assert.equal(touched.status, XrpStatus.MAPPING_CHANGED);
    assert.match(touched.detail, /modified/);
    appendFileSync(path, new Uint8Array(512));
    const grown = await engine.readXrp(0, new Uint8Array(4096));
    assert.equal(grown.status, XrpStatus.MAPPING_CHANGED);
    assert.match(grown.detail, /size changed from 2048 to 2560/);
    assert.deepEqual(grown.pending, [{ offsetBytes: 0, sizeBytes: 512 }], 'the fallback starts over');
  } finally {
    await engine.close();
  }
});

test('typed errors: bad file, O_DIRECT refused, no program, bad arguments, rejected program, busy, closed', async () => {
  await assert.rejects(NativeXrpEngine.open(`${dir.path}/missing.db`), (e: unknown) => e instanceof NativeXrpError && e.code === 'EBADF');
  await assert.rejects(NativeXrpEngine.open(dir.path), (e: unknown) => e instanceof NativeXrpError && e.code === 'ESPIPE');
  await assert.rejects(NativeXrpEngine.open(`${dir.path}/x`, { workers: 0 }), (e: unknown) => e instanceof NativeXrpError && e.code === 'EINVAL');
  const path = dir.file('args.bin', scriptedFile([{ done: true }], 2));
  const engine = await NativeXrpEngine.open(path, { workers: 1 });
  const scratch = new Uint8Array(4096);
  await assert.rejects(engine.readXrp(0, scratch), (e: unknown) => e instanceof NativeXrpError && e.code === 'NATIVE_NO_PROGRAM');
  // a program the verifier rejects (reads r2, never written)
  await assert.rejects(engine.load({ name: 'bad', insns: [{ code: 0xbf, dst: 0, src: 2, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] }), /r2/);
  await assert.rejects(engine.load('bpf/kv/no-such.bpf.o', 'x'), (e: unknown) => e instanceof NativeXrpError && e.code === 'ENOENT');
  await engine.load(SCRIPTED);
  await assert.rejects(engine.readXrp(100, scratch), (e: unknown) => e instanceof NativeXrpError && e.code === 'EINVAL');
  await assert.rejects(engine.readXrp(-512, scratch), (e: unknown) => e instanceof NativeXrpError && e.code === 'EINVAL');
  await assert.rejects(engine.readXrp(0, new Uint8Array(100)), (e: unknown) => e instanceof NativeXrpError && e.code === 'EFAULT');
  await assert.rejects(engine.readXrp(0, scratch, { sizeBytes: 700 }), (e: unknown) => e instanceof NativeXrpError && e.code === 'EINVAL');
  await assert.rejects(engine.readXrp(0, scratch, { debugCrash: 'throw' }), /debugHooks/);
  const inFlight = engine.readXrp(0, scratch);
  await assert.rejects(engine.load(SCRIPTED), (e: unknown) => e instanceof NativeXrpError && e.code === 'EBUSY');
  assert.equal((await inFlight).status, XrpStatus.DONE);
  await engine.close();
  await assert.rejects(engine.readXrp(0, scratch), (e: unknown) => e instanceof NativeXrpError && e.code === 'NATIVE_CLOSED');
});

test('workers boot from the cached esbuild bundle, and without it by registering tsx (XRP_NATIVE_BOOT=tsx)', async () => {
  const path = dir.file('boot.bin', scriptedFile([{ next: [[512, 0]] }, { done: true, tag: 4 }]));
  assert.match(workerBootCode(), /^"use strict";|^var |^\(/, 'esbuild is a dependency: the bundle (CommonJS), not the tsx boot');
  const saved = process.env.XRP_NATIVE_BOOT;
  process.env.XRP_NATIVE_BOOT = 'tsx';
  let engine: NativeXrpEngine;
  try {
    engine = await NativeXrpEngine.open(path, { workers: 1 });
  } finally {
    if (saved === undefined) delete process.env.XRP_NATIVE_BOOT;
    else process.env.XRP_NATIVE_BOOT = saved;
  }
  try {
    await engine.load(SCRIPTED);
    const scratch = new Uint8Array(4096);
    assert.equal((await engine.readXrp(0, scratch)).status, XrpStatus.DONE);
    assert.deepEqual(scriptedLog(scratch), [0, 4]);
  } finally {
    await engine.close();
  }
});
