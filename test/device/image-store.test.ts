import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImageStore } from '../../src/device/image-store.ts';
import { DeviceError } from '../../src/device/errors.ts';
import { tempDir } from './helpers.ts';

test('a large image is created sparse and its holes read as zeros', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'big.img');
    const size = 64 * 2 ** 30; // 64 GiB
    const store = ImageStore.open(path, { create: true, sizeBytes: size });
    assert.equal(store.sizeBytes, size);
    assert.ok(statSync(path).blocks * 512 < 1 << 20, 'sparse: almost no blocks allocated');
    const buf = new Uint8Array(512).fill(0xee);
    store.read(size - 512, buf, 0, 512);
    assert.ok(buf.every((b) => b === 0));
    store.close();
  } finally {
    cleanup();
  }
});

test('reads and writes hit the real file at the requested offsets (write-through, coherent cache)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'a.img');
    const initial = new Uint8Array(1 << 16);
    for (let i = 0; i < initial.length; i++) initial[i] = (i * 7) & 0xff;
    writeFileSync(path, initial);
    const store = ImageStore.open(path);
    const got = new Uint8Array(1000);
    store.read(4000, got, 0, 1000); // crosses a page boundary
    assert.deepEqual(got, initial.subarray(4000, 5000));
    const data = new Uint8Array(600).fill(0xab);
    store.write(4090, data, 0, 600);
    store.read(4000, got, 0, 1000); // the cached pages see the write
    assert.deepEqual(got.subarray(90, 690), data);
    assert.deepEqual(got.subarray(0, 90), initial.subarray(4000, 4090));
    const onDisk = readFileSync(path);
    assert.deepEqual(new Uint8Array(onDisk.subarray(4090, 4690)), data);
    store.close();
  } finally {
    cleanup();
  }
});

test('the page cache stays within its budget', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'c.img');
    const store = ImageStore.open(path, { create: true, sizeBytes: 4 << 20, cacheBytes: 4 * 4096 });
    const page = new Uint8Array(4096);
    for (let p = 0; p < 100; p++) {
      page.fill(p & 0xff);
      store.write(p * 4096, page, 0, 4096);
    }
    const got = new Uint8Array(16);
    for (let round = 0; round < 2; round++) {
      for (let p = 0; p < 100; p++) {
        store.read(p * 4096 + 100, got, 0, 16);
        assert.ok(got.every((b) => b === (p & 0xff)), `page ${p}`);
        assert.ok(store.cachedPages <= 4);
      }
    }
    store.close();
  } finally {
    cleanup();
  }
});

test('bad paths, sizes and ranges are typed errors', () => {
  const { dir, cleanup } = tempDir();
  try {
    assert.throws(() => ImageStore.open(join(dir, 'missing.img')), DeviceError);
    assert.throws(() => ImageStore.open(join(dir, 'x.img'), { create: true, sizeBytes: 1000 }), /multiple of 512/);
    assert.throws(() => ImageStore.open(join(dir, 'empty.img'), { create: true }), /at least one 512-byte block/);
    const store = ImageStore.open(join(dir, 'ok.img'), { create: true, sizeBytes: 8192 });
    const buf = new Uint8Array(512);
    assert.throws(() => store.read(8192 - 100, buf, 0, 512), /outside image/);
    assert.throws(() => store.read(-1, buf, 0, 1), DeviceError);
    store.close();
    assert.throws(() => store.read(0, buf, 0, 1), /closed/);
    const ro = ImageStore.open(join(dir, 'ok.img'), { readOnly: true });
    assert.throws(() => ro.write(0, buf, 0, 512), /read-only/);
    ro.close();
  } finally {
    cleanup();
  }
});

test('pages read ahead while the cache fills are the file\'s bytes, stay coherent with writes, and stop at the image end', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'ra.img');
    const size = 40 * 4096 + 1536; // a partial last page
    const initial = new Uint8Array(size);
    for (let i = 0; i < size; i++) initial[i] = (i * 13 + (i >> 12)) & 0xff;
    writeFileSync(path, initial);
    const store = ImageStore.open(path, { cacheBytes: 64 * 4096 });
    const got = new Uint8Array(4096);
    store.read(0, got, 0, 512); // loads page 0 and the pages after it
    assert.ok(store.cachedPages > 1, 'read ahead');
    assert.equal(store.fileReads, 1);
    const data = new Uint8Array(700).fill(0x5a);
    store.write(3 * 4096 + 100, data, 0, 700); // a page that was read ahead, not yet read
    const expected = initial.slice();
    expected.set(data, 3 * 4096 + 100);
    for (let page = 40; page >= 0; page--) {
      const n = Math.min(4096, size - page * 4096);
      store.read(page * 4096, got, 0, n);
      assert.deepEqual(got.subarray(0, n), expected.subarray(page * 4096, page * 4096 + n), `page ${page}`);
    }
    assert.ok(store.cachedPages <= 41);
    store.close();
  } finally {
    cleanup();
  }
});
