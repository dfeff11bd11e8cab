// BPF-KV on the emulated machine: images with written and computed files,
// lookups and ranges in the four modes (pread, io_uring, SPDK, read_xrp),
// each answer checked against the untimed user-space oracle on the same file.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { XrpError } from '../../src/base/errors.ts';
import { DeviceError } from '../../src/device/errors.ts';
import { EIO } from '../../src/kernel/errno.ts';
import { Machine } from '../../src/kernel/machine.ts';
import { O_DIRECT, O_RDWR } from '../../src/kernel/syscalls.ts';
import { ComputedKvStore } from '../../src/kv/computed-store.ts';
import { kvGeometry } from '../../src/kv/format.ts';
import { bootKvMachine, createKvImage, openKvFile } from '../../src/kv/kv-db.ts';
import { RNG_BEGIN_EXCLUSIVE, RNG_END_INCLUSIVE } from '../../src/kv/lookups.ts';
import { KV_MODES, runKvLookups, runKvRanges, type KvMode, type KvRangeRequest } from '../../src/kv/modes.ts';
import { ComputedOverlayStore } from '../../src/kv/overlay-store.ts';
import { lookupDifference, rangeDifference, referenceLookup, referenceRange } from '../../src/kv/reference.ts';
import { RANGE_AGGS } from '../../src/kv/user-ops.ts';

let dir = '';
const img = (name: string): string => join(dir, `${name}.img`);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kv-modes-'));
  for (const layers of [1, 2, 3]) await createKvImage(img(`w${layers}`), { layers, storage: 'written' });
  await createKvImage(img('c3'), { layers: 3, storage: 'computed' });
  await createKvImage(img('c4'), { layers: 4, storage: 'computed' });
  await createKvImage(img('c5'), { layers: 5 });
  await createKvImage(img('c6'), { layers: 6 });
  // Repeated values: SET has something to do.
  await createKvImage(img('rep2'), { layers: 2, valueForSlot: (slot) => (slot * 7) % 13 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Every answer of `mode` on `db` equals the oracle's; returns the run. */
function checkLookups(db: string, mode: KvMode, keys: bigint[], keysPerRequest: number, threads: number, extra: { cacheLayers?: number; resubmitLimit?: number; uringBatch?: boolean } = {}) {
  const requests = Math.ceil(keys.length / keysPerRequest);
  const run = runKvLookups({ db, mode, keys, keysPerRequest, requests, threads, ...extra });
  const m = bootKvMachine(db);
  try {
    const { source } = openKvFile(m);
    assert.equal(run.answers!.length, requests * keysPerRequest);
    run.answers!.forEach((a, i) => {
      assert.equal(a.key, keys[i % keys.length], `${mode}: answer ${i} is for the wrong key`);
      const diff = lookupDifference(a, referenceLookup(source, a.key));
      assert.equal(diff, null, `${mode} on ${db}: ${diff}`);
    });
  } finally {
    m.shutdown();
  }
  return run;
}

test('images: computed files read and time as written ones, and (6 layers: 67 GiB) take almost no disk', async () => {
  const m = bootKvMachine(img('c6'));
  try {
    const f = openKvFile(m);
    assert.equal(f.layers, 6);
    assert.equal(f.storage, 'computed');
    assert.equal(f.inode.sizeBytes, kvGeometry(6).fileBytes);
    const expected = new ComputedKvStore(6);
    const a = new Uint8Array(4096);
    const b = new Uint8Array(4096);
    for (const offset of [0, 512 * 30, kvGeometry(6).logOffsetBytes - 1000, kvGeometry(6).fileBytes - 4096]) {
      f.source.pread(a, offset);
      expected.pread(b, offset);
      assert.deepEqual(a, b, `computed bytes at ${offset}`);
    }
  } finally {
    m.shutdown();
  }
  assert.ok(statSync(img('c6')).blocks * 512 < 4 << 20, `the 6-layer image uses ${statSync(img('c6')).blocks * 512} bytes of disk`);
  // A computed file reads (through the device) byte for byte as the written one, and times the same.
  const w = bootKvMachine(img('w3'));
  const c = bootKvMachine(img('c3'));
  try {
    const fw = openKvFile(w);
    const fc3 = openKvFile(c);
    assert.equal(fw.storage, 'written');
    assert.equal(fc3.storage, 'computed');
    const a = new Uint8Array(fw.inode.sizeBytes);
    const b = new Uint8Array(fc3.inode.sizeBytes);
    fw.source.pread(a, 0);
    fc3.source.pread(b, 0);
    assert.ok(Buffer.from(a).equals(Buffer.from(b)), 'the whole 3-layer file');
  } finally {
    w.shutdown();
    c.shutdown();
  }
  for (const mode of KV_MODES) {
    const written = runKvLookups({ db: img('w3'), mode, requests: 60, threads: 2, collect: false });
    const computed = runKvLookups({ db: img('c3'), mode, requests: 60, threads: 2, collect: false });
    assert.deepEqual(computed.latency, written.latency, `${mode}: same virtual times`);
  }
});

test('property: the four modes (and batched io_uring) give the oracle value for random keys (present and absent), any keys per request and threads', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.oneof(fc.bigInt({ min: 0n, max: 40_000n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 32 }),
      fc.integer({ min: 1, max: 4 }),
      (layers, keys, keysPerRequest, threads) => {
        for (const mode of KV_MODES) checkLookups(img(`w${layers}`), mode, keys, keysPerRequest, threads);
        checkLookups(img(`w${layers}`), 'uring', keys, keysPerRequest, threads, { uringBatch: true });
      },
    ),
    { numRuns: 3, seed: 7 },
  );
});

test('computed files: 3 and 6 layers, all modes agree with the oracle; L+1 device reads per present key', () => {
  for (const name of ['c3', 'c6']) {
    const layers = name === 'c3' ? 3 : 6;
    const keyCount = kvGeometry(layers).keyCount;
    const keys = Array.from({ length: 32 }, (_, i) => BigInt(Math.floor((keyCount - 1) * ((i * 0.6180339887) % 1))));
    for (const mode of KV_MODES) {
      const run = checkLookups(img(name), mode, keys, mode === 'xrp' ? 32 : 1, 2);
      assert.equal(run.deviceReads, keys.length * (layers + 1), `${mode} on ${name}: reads`);
      assert.equal(run.layers, layers);
    }
  }
});

test('depths 4 and 5 (computed): read and xrp agree with the oracle', () => {
  for (const layers of [4, 5]) {
    const keyCount = kvGeometry(layers).keyCount;
    const keys = [0n, BigInt(keyCount - 1), BigInt(keyCount), ...Array.from({ length: 8 }, (_, i) => BigInt(Math.floor(keyCount * ((i * 0.7548776662) % 1))))];
    for (const mode of ['read', 'xrp'] as const) {
      const run = checkLookups(img(`c${layers}`), mode, keys, mode === 'xrp' ? 11 : 1, 1);
      assert.equal(run.deviceReads, 10 * (layers + 1) + layers, `${mode} at depth ${layers}: reads`);
    }
  }
});

test('the top-level cache saves the cached layers\' reads in user space, and in xrp with one key per call', () => {
  const keys = [0n, 1n, 961n, 29_790n, 12_345n, 40_000n];
  for (const mode of ['read', 'uring', 'spdk', 'xrp'] as const) {
    const run = checkLookups(img('w3'), mode, keys, 1, 1, { cacheLayers: 2 });
    // 5 present keys: leaf + value; the absent one: leaf only.
    assert.equal(run.deviceReads, 5 * 2 + 1, `${mode}: reads with 2 cached layers`);
  }
  assert.throws(() => runKvLookups({ db: img('w3'), mode: 'xrp', requests: 1, keysPerRequest: 2, cacheLayers: 1 }), /only with 1 key per request/);
});

test('xrp: chains cut by a small resubmission limit are finished by the fallback, with the same answers', () => {
  const keys = Array.from({ length: 64 }, (_, i) => BigInt(i * 461));
  const run = checkLookups(img('w3'), 'xrp', keys, 32, 1, { resubmitLimit: 3 });
  assert.equal(run.xrpCalls, 2);
  assert.equal(run.xrpFallbacks, 2);
});

test('xrp: one read budget per request (readsMax), the kernel\'s and the fallback\'s reads together: spent, the request is partial with the keys reached, as on the native engine', () => {
  const keys = [1n, 2n, 3n, 4n, 5n, 6n];
  // 3 layers: 4 reads per found key; 10 reads answer two keys (the native client's test gives the same)
  for (const resubmitLimit of [4096, 3]) {
    const run = runKvLookups({ db: img('w3'), mode: 'xrp', keys, requests: 1, keysPerRequest: 6, readsMax: 10, resubmitLimit });
    assert.equal(run.xrpPartial, 1, `limit ${resubmitLimit}`);
    assert.match(run.limitDetail ?? '', /^LIMIT: kv_get of 6 keys: the lookup's budget of 10 reads is spent/);
    assert.deepEqual(run.answers?.map((a) => a.key), [1n, 2n], `limit ${resubmitLimit}`);
    assert.equal(run.deviceReads, 10, `limit ${resubmitLimit}: the budget's reads, no more`);
  }
  const whole = runKvLookups({ db: img('w3'), mode: 'xrp', keys, requests: 1, keysPerRequest: 6, resubmitLimit: 3 });
  assert.equal(whole.xrpPartial, 0);
  assert.equal(whole.limitDetail, undefined);
  const range = runKvRanges({ db: img('w3'), mode: 'xrp', ranges: [{ begin: 0n, end: 1000n }], requests: 1, readsMax: 40 });
  assert.equal(range.xrpPartial, 1);
  const pairs = range.answers?.[0]?.pairs ?? [];
  assert.ok(range.answers?.[0]?.partial === true && pairs.length > 0 && pairs.length < 1000 && range.deviceReads <= 40, `${pairs.length} pairs, ${range.deviceReads} reads`);
  assert.throws(() => runKvLookups({ db: img('w3'), mode: 'xrp', requests: 1, readsMax: 0 }), /readsMax must be/);
});

/** Ranges with every aggregation: lengths around the 32-pair and 96-number limits, flags, the ends of the key space. */
function rangeCases(keyCount: number): KvRangeRequest[] {
  const k = BigInt(keyCount);
  const spans: [bigint, bigint, number][] = [
    [0n, 1n, 0], [5n, 5n, 0], [5n, 5n, RNG_END_INCLUSIVE], [7n, 8n, RNG_BEGIN_EXCLUSIVE], [30n, 62n, 0], [100n, 132n, RNG_END_INCLUSIVE],
    [31n, 64n, RNG_BEGIN_EXCLUSIVE | RNG_END_INCLUSIVE], [500n, 750n, 0], [k - 40n, k + 10n, 0], [k - 1n, k - 1n, RNG_END_INCLUSIVE],
    [k + 5n, k + 100n, 0], [90n, 10n, 0],
  ];
  const out: KvRangeRequest[] = [];
  for (const agg of RANGE_AGGS) for (const [begin, end, flags] of spans) out.push({ begin, end, flags, agg });
  return out;
}

function checkRanges(db: string, mode: KvMode, ranges: KvRangeRequest[], threads: number) {
  const run = runKvRanges({ db, mode, ranges, requests: ranges.length, threads });
  const m = bootKvMachine(db);
  try {
    const { source } = openKvFile(m);
    run.answers!.forEach((a, i) => {
      const r = ranges[i]!;
      const diff = rangeDifference(a, referenceRange(source, r, r.agg ?? 'none'));
      assert.equal(diff, null, `${mode} [${r.begin}, ${r.end}) flags ${r.flags} ${r.agg}: ${diff}`);
    });
  } finally {
    m.shutdown();
  }
  return run;
}

test('ranges and every aggregation in every mode equal the user-space computation; xrp resumes past 32 pairs and 96 numbers', () => {
  const ranges = rangeCases(kvGeometry(3).keyCount);
  for (const mode of KV_MODES) {
    const run = checkRanges(img('w3'), mode, ranges, 3);
    if (mode !== 'xrp') continue;
    const calls = (agg: string, begin: bigint) => run.answers!.find((a, i) => a.agg === agg && ranges[i]!.begin === begin)!.calls;
    assert.equal(calls('none', 500n), Math.ceil(250 / 32), '250 pairs: 32 per call');
    assert.equal(calls('array', 500n), Math.ceil(250 / 96), '250 numbers: 96 per call');
    for (const agg of ['count', 'sum', 'min', 'max', 'avg']) assert.equal(calls(agg, 500n), 1, `${agg}: one call`);
  }
});

test('SET with repeated values and a 6-layer computed file: every mode agrees', () => {
  const rep: KvRangeRequest[] = [
    { begin: 0n, end: 961n, agg: 'set' },
    { begin: 100n, end: 400n, agg: 'set' },
    { begin: 3n, end: 4n, agg: 'set' },
    { begin: 0n, end: 300n, agg: 'array' },
    { begin: 0n, end: 300n, agg: 'min' },
  ];
  const k6 = BigInt(kvGeometry(6).keyCount);
  const deep: KvRangeRequest[] = [
    { begin: 0n, end: 40n },
    { begin: k6 / 2n, end: k6 / 2n + 70n, agg: 'sum' },
    { begin: k6 - 50n, end: k6, agg: 'array' },
    { begin: 123_456_789n, end: 123_456_889n, agg: 'count' },
  ];
  for (const mode of KV_MODES) {
    const run = checkRanges(img('rep2'), mode, rep, 1);
    assert.equal(run.answers![0]!.numbers!.length, 13);
    checkRanges(img('c6'), mode, deep, 2);
  }
});

test('virtual time: same seed, same figures; threads scale up to the cores; more SPDK pollers than cores still finish', () => {
  const base = { db: img('w3'), mode: 'read' as const, requests: 300, collect: false };
  const a = runKvLookups({ ...base, threads: 3 });
  const b = runKvLookups({ ...base, threads: 3 });
  assert.deepEqual(a.latency, b.latency);
  assert.equal(a.makespanNs, b.makespanNs);
  assert.equal(a.answers, null);
  const one = runKvLookups({ ...base, threads: 1 });
  const six = runKvLookups({ ...base, requests: 1200, threads: 6 });
  assert.ok(six.requestsPerSec > 4 * one.requestsPerSec, `6 threads ${six.requestsPerSec} vs 1 thread ${one.requestsPerSec} lookups/s`);
  // Table 1: at depth 3 a read()-mode lookup is 4 hops of at least 6272 ns.
  assert.ok(one.latency.meanNs >= 4 * 6272, `mean ${one.latency.meanNs}`);
  const spdk = runKvLookups({ ...base, mode: 'spdk', requests: 240, threads: 12 });
  assert.equal(spdk.requests, 240);
  // Steady state: a window of virtual time; throughput over the window, no answers kept.
  const steady = runKvLookups({ db: img('w3'), mode: 'read', threads: 8, requests: 100, durationNs: 2_000_000, warmupNs: 500_000 });
  assert.equal(steady.answers, null);
  assert.equal(steady.makespanNs, 1_500_000);
  assert.ok(steady.requests > 100 && steady.latency.count === steady.requests, `${steady.requests} lookups in the window`);
  assert.ok(Math.abs(steady.requestsPerSec - steady.requests / 1.5e-3) < 1e-6);
  // Batched io_uring: the keys of a request advance together, the same reads in fewer round trips.
  const keyed = { db: img('c6'), mode: 'uring' as const, keysPerRequest: 8, requests: 10, collect: false };
  const sequential = runKvLookups(keyed);
  const batched = runKvLookups({ ...keyed, uringBatch: true });
  assert.equal(batched.deviceReads, sequential.deviceReads);
  assert.ok(batched.latency.meanNs < 0.6 * sequential.latency.meanNs, `batched ${batched.latency.meanNs} ns vs ${sequential.latency.meanNs} ns per request of 8 keys`);
  assert.throws(() => runKvLookups({ ...keyed, mode: 'read', uringBatch: true }), /uringBatch applies to the uring mode/);
  const xrp = runKvLookups({ ...base, mode: 'xrp', threads: 1 });
  assert.ok(xrp.latency.meanNs < one.latency.meanNs, `xrp ${xrp.latency.meanNs} ns vs read ${one.latency.meanNs} ns per lookup`);
});

test('computed regions are read-only: an O_DIRECT write into the file fails with EIO, the overlay refuses writes', () => {
  const m = bootKvMachine(img('c3'));
  try {
    assert.ok(m.controller.store instanceof ComputedOverlayStore);
    const overlay = m.controller.store as ComputedOverlayStore;
    const f = openKvFile(m);
    const pblk = f.inode.extents[0]!.pblk;
    assert.throws(() => overlay.write(pblk * 4096 + 512, new Uint8Array(512), 0, 512), DeviceError);
    overlay.write((pblk - 1) * 4096, new Uint8Array(4096), 0, 4096); // outside: the image
    const p = m.kernel.createProcess();
    const buf = p.alloc(4096);
    let result = 0;
    m.sim.spawn('w', function* (t) {
      const fd = yield* p.open(t, 'kv.db', O_RDWR | O_DIRECT);
      result = yield* p.pwrite(t, fd, buf, 512, 4096);
    });
    m.sim.run();
    assert.equal(result, -EIO);
  } finally {
    m.shutdown();
  }
});

test('typed errors: bad images, files, options', async () => {
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, 'not an image');
  const code = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof XrpError && re.test(e.message));
  code(() => runKvLookups({ db: join(dir, 'missing.img'), mode: 'read', requests: 1 }), /no such DB image/);
  code(() => runKvLookups({ db: junk, mode: 'read', requests: 1 }), /not an xrpfs image/);
  code(() => runKvLookups({ db: img('w2'), fileName: 'other', mode: 'read', requests: 1 }), /no BPF-KV file 'other'.*files: kv\.db/);
  code(() => runKvLookups({ db: img('w2'), mode: 'read', requests: 1, threads: 0 }), /threads must be/);
  code(() => runKvLookups({ db: img('w2'), mode: 'read', requests: 1, keysPerRequest: 33 }), /keysPerRequest/);
  code(() => runKvLookups({ db: img('w2'), mode: 'read', requests: 1, keys: [-1n] }), /not a u64/);
  code(() => runKvLookups({ db: img('w2'), mode: 'bogus' as KvMode, requests: 1 }), /mode must be one of/);
  code(() => runKvRanges({ db: img('w2'), mode: 'read', requests: 1, lengthKeys: 962 }), /lengthKeys/);
  await assert.rejects(createKvImage(junk, { layers: 1 }), /not an xrpfs image; refusing/);
  await assert.rejects(createKvImage(join(dir, 'big.img'), { layers: 6, storage: 'written' }), /use computed storage/);
  await assert.rejects(createKvImage(join(dir, 'x.img'), { layers: 7 }), /layers must be/);
  // A file of the wrong size is not a BPF-KV file.
  await createKvImage(img('bad1'), { layers: 1 });
  const m = bootKvMachine(img('bad1'));
  try {
    m.fs.write(m.fs.create('odd'), 0, new Uint8Array(1000));
    code(() => openKvFile(m, 'odd'), /not the size of a BPF-KV file/);
    m.fs.write(m.fs.create('kv.db.computed'), 0, new TextEncoder().encode('{"format":"bpf-kv"'));
  } finally {
    m.shutdown();
  }
  // A computed file on a machine booted without the overlay would read as zeros: refused.
  const plain = Machine.boot({ imagePath: img('c3') });
  try {
    code(() => openKvFile(plain), /computed file, but this machine's device does not compute it/);
  } finally {
    plain.shutdown();
  }
  // A damaged marker of a computed file is named at boot.
  code(() => bootKvMachine(img('bad1')), /marker 'kv\.db\.computed' .* is not JSON/);
});
