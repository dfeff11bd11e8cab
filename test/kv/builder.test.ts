import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKv, buildKvBytes, buildKvFile } from '../../src/kv/builder.ts';
import { decodeNode, FILE_MASK, formatValue, KvFormatError, kvGeometry, valueNumber, valueText } from '../../src/kv/format.ts';

const u64 = (bytes: Uint8Array, at: number): bigint => new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true);

test('geometry of 1..6 layers: nodes, keys, file size (the log is padded to whole 8-value blocks)', () => {
  const expected = [
    // layers, totalNodes, keyCount, fileBytes
    [1, 1, 31, 512 + 4 * 512],
    [2, 32, 961, 32 * 512 + 121 * 512],
    [3, 993, 29_791, 993 * 512 + 3724 * 512],
    [4, 30_784, 923_521, 30_784 * 512 + 115_441 * 512],
    [5, 954_305, 28_629_151, 954_305 * 512 + 3_578_644 * 512],
    [6, 29_583_456, 887_503_681, 29_583_456 * 512 + 110_937_961 * 512],
  ] as const;
  for (const [layers, totalNodes, keyCount, fileBytes] of expected) {
    const g = kvGeometry(layers);
    assert.equal(g.totalNodes, totalNodes, `totalNodes L=${layers}`);
    assert.equal(g.keyCount, keyCount, `keyCount L=${layers}`);
    assert.equal(g.fileBytes, fileBytes, `fileBytes L=${layers}`);
    assert.equal(g.logOffsetBytes, totalNodes * 512);
  }
  // 6 layers: 67 GiB, the "68 GB" of the paper's setup
  assert.equal(Math.round(kvGeometry(6).fileBytes / 2 ** 30), 67);
  for (const bad of [0, 7, 2.5, -1, Number.NaN]) assert.throws(() => kvGeometry(bad), KvFormatError);
});

test('values are "%63lu" plus NUL, byte for byte', () => {
  const v = formatValue(0);
  assert.equal(v.length, 64);
  for (let i = 0; i < 62; i++) assert.equal(v[i], 0x20);
  assert.equal(v[62], 0x30);
  assert.equal(v[63], 0);
  const big = formatValue(18446744073709551615n);
  assert.equal(String.fromCharCode(...big.subarray(0, 63)), ' '.repeat(43) + '18446744073709551615');
  assert.equal(valueText(big), '18446744073709551615');
  assert.equal(valueNumber(big), 18446744073709551615n);
  assert.equal(valueNumber(formatValue(929)), 929n);
  assert.equal(valueNumber(new Uint8Array(64).fill(0x20)), undefined, 'no digit');
  assert.equal(valueNumber(Uint8Array.from([0x20, 0x31, 0x20, 0x32, 0])), undefined, 'space after a digit');
  assert.equal(valueNumber(Uint8Array.from([0x31, 0x78, 0])), undefined, 'a letter');
  assert.throws(() => formatValue(-1), KvFormatError);
  assert.throws(() => formatValue(10n ** 63n), KvFormatError);
});

test('a 1-layer file: the root is the only leaf; 32 value slots (slot 31 has no key)', async () => {
  const bytes = await buildKvBytes({ layers: 1 });
  assert.equal(bytes.length, 2560);
  const root = decodeNode(bytes);
  assert.equal(root.next, 0n);
  assert.equal(root.type, 1n);
  for (let k = 0; k < 31; k++) {
    assert.equal(root.keys[k], BigInt(k));
    assert.equal(root.ptrs[k], FILE_MASK | BigInt(512 + k * 64));
  }
  for (let n = 0; n < 32; n++) assert.deepEqual(bytes.subarray(512 + n * 64, 576 + n * 64), formatValue(n), `slot ${n}`);
});

test('a 2-layer file, node by node as hand-computed', async () => {
  const bytes = await buildKvBytes({ layers: 2 });
  assert.equal(bytes.length, (32 + 121) * 512);
  const root = decodeNode(bytes, 0);
  assert.equal(root.next, 0n);
  assert.equal(root.type, 0n);
  for (let k = 0; k < 31; k++) {
    assert.equal(root.keys[k], BigInt(31 * k));
    assert.equal(root.ptrs[k], FILE_MASK | BigInt((1 + k) * 512));
  }
  // first leaf (node 1): keys 0..30, values from the log start 32 * 512 = 16384
  const first = decodeNode(bytes, 512);
  assert.equal(first.next, 1024n);
  assert.equal(first.type, 1n);
  assert.equal(first.keys[30], 30n);
  assert.equal(first.ptrs[0], FILE_MASK | 16384n);
  assert.equal(first.ptrs[30], FILE_MASK | BigInt(16384 + 30 * 64));
  // leaf 17 (node 18): keys 527..557
  const mid = decodeNode(bytes, 18 * 512);
  assert.equal(mid.next, 19n * 512n);
  assert.equal(mid.keys[0], 527n);
  assert.equal(mid.ptrs[5], FILE_MASK | BigInt(16384 + 532 * 64));
  // last leaf: next 0, keys 930..960
  const last = decodeNode(bytes, 31 * 512);
  assert.equal(last.next, 0n);
  assert.equal(last.keys[0], 930n);
  assert.equal(last.keys[30], 960n);
  assert.equal(last.ptrs[30], FILE_MASK | BigInt(16384 + 960 * 64));
  // raw bytes of bit 63: the top byte of every pointer is 0x80
  for (let k = 0; k < 31; k++) assert.equal(bytes[264 + k * 8 + 7], 0x80);
  assert.equal(u64(bytes, 8), 0n, 'root type at byte 8');
  assert.equal(u64(bytes, 512 + 8), 1n, 'leaf type at byte 8');
  // value of key 960 and the padding slots 961..967 of the last block
  assert.deepEqual(bytes.subarray(16384 + 960 * 64, 16384 + 961 * 64), formatValue(960));
  assert.deepEqual(bytes.subarray(16384 + 967 * 64), formatValue(967));
});

test('a 3-layer file: internal layer 1 and the value pointers of the leaves', async () => {
  const bytes = await buildKvBytes({ layers: 3 });
  const g = kvGeometry(3);
  const root = decodeNode(bytes, 0);
  assert.equal(root.keys[1], 961n);
  const n1 = decodeNode(bytes, 512); // layer 1, j = 0
  assert.equal(n1.type, 0n);
  assert.equal(n1.next, 1024n);
  assert.equal(n1.keys[2], 62n);
  assert.equal(n1.ptrs[0], FILE_MASK | BigInt(32 * 512), 'first child of node 1 is node 32');
  const n31 = decodeNode(bytes, 31 * 512); // layer 1, last
  assert.equal(n31.next, 0n);
  assert.equal(n31.keys[0], 30n * 961n);
  assert.equal(n31.ptrs[30], FILE_MASK | BigInt((1 + 31 * 31 + 30) * 512));
  const leaf = decodeNode(bytes, (g.totalNodes - 1) * 512); // the last leaf
  assert.equal(leaf.type, 1n);
  assert.equal(leaf.next, 0n);
  assert.equal(leaf.keys[30], 29_790n);
  assert.equal(leaf.ptrs[30], FILE_MASK | BigInt(g.logOffsetBytes + 29_790 * 64));
  for (let n = 0; n < g.valueSlots; n += 997) {
    assert.deepEqual(bytes.subarray(g.logOffsetBytes + n * 64, g.logOffsetBytes + n * 64 + 64), formatValue(n));
  }
});

test('file path, small chunks and an async sink write the same bytes', async () => {
  const reference = await buildKvBytes({ layers: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'kv-build-'));
  try {
    const path = join(dir, 'db');
    const summary = await buildKvFile(path, { layers: 3, chunkBytes: 4096 });
    assert.equal(summary.bytesWritten, reference.length);
    assert.equal(Buffer.compare(readFileSync(path), reference), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const out = new Uint8Array(reference.length);
  let writes = 0;
  await buildKv(
    {
      write: async (offsetBytes, data) => {
        await Promise.resolve();
        out.set(data, offsetBytes);
        writes++;
      },
    },
    { layers: 3, chunkBytes: 512 },
  );
  assert.equal(writes, reference.length / 512);
  assert.equal(Buffer.compare(out, reference), 0);
  await assert.rejects(buildKvBytes({ layers: 3, chunkBytes: 100 }), KvFormatError);
  await assert.rejects(buildKvBytes({ layers: 9 }), KvFormatError);
});

test('valueForSlot changes only the log', async () => {
  const plain = await buildKvBytes({ layers: 2 });
  const mod = await buildKvBytes({ layers: 2, valueForSlot: (n) => n % 7 });
  const log = kvGeometry(2).logOffsetBytes;
  assert.equal(Buffer.compare(plain.subarray(0, log), mod.subarray(0, log)), 0);
  assert.deepEqual(mod.subarray(log + 100 * 64, log + 101 * 64), formatValue(2));
});
