// The on-disk format of the B+-tree (see docs/wiredtiger-ycsb.md and
// bpf/wt/wt.h, which must agree with this file).
//
// The file is an array of 4096-byte blocks. Blocks 0 and 1 are the two
// superblocks (checkpoint generation g is recorded in block g % 2); every
// other block is free or holds one page. A page:
//
//   @0  magic u32 'WTPG'      @4  type u8 (1 leaf, 2 internal)   @5 level u8 (0 = leaf)
//   @6  entries u16           @8  checksum u32 (CRC-32 of the page, this field zero)
//   @12 block u32 (its own)   @16 generation u32 (the checkpoint that wrote it)
//   @20 lowOff u16, lowLen u16   @24 highOff u16, highLen u16   (leaf fence keys;
//       len 0xffff = unbounded; a leaf holds only keys with low <= key < high)
//   @28 used u16 (bytes in use) @30 zero
//   @32 slots: entries x u16, the cell offsets in key order
//   cells (8-byte aligned; keys zero-padded to 8 bytes, so that a storage
//   function compares them a big-endian u64 word at a time):
//     leaf:     keyLen u16, valueLen u16, 0 u32, key (padded), value
//     internal: keyLen u16, 0 u16, child block u32, child checksum u32, 0 u32, key (padded)
//               (the key of entry 0 is ignored: it stands for minus infinity)
//   at most ENTRIES_MAX entries
//
// Keys are stored whole, not prefix-compressed, so a storage function can
// binary-search a page without rebuilding keys from their predecessors.

import { crc32 } from 'node:zlib';
import { corruptPage, WtError } from './errors.ts';
import { at as itemAt, InternalError } from '../base/checked.ts';

export const PAGE_BYTES = 4096;
export const HEADER_BYTES = 32;
export const KEY_MAX_BYTES = 128;
export const VALUE_MAX_BYTES = 3072;
export const PAGE_MAGIC = 0x47505457; // "WTPG" little-endian
export const SUPER_MAGIC = 0x42535457; // "WTSB"
export const FORMAT_VERSION = 1;
export const TYPE_LEAF = 1;
export const TYPE_INTERNAL = 2;
export const FENCE_NONE = 0xffff;
export const LEAF_CELL_HEADER = 8;
export const INTERNAL_CELL_HEADER = 16;
export const ENTRIES_MAX = 255;
/** blocks 0 and 1 */
export const FIRST_PAGE_BLOCK = 2;
export const LEVEL_MAX = 32;

export const align8 = (n: number): number => (n + 7) & ~7;

/** Bytes of cells a leaf may use: the page less the header and room for two fence keys. */
export const LEAF_CAPACITY = PAGE_BYTES - HEADER_BYTES - 2 * align8(KEY_MAX_BYTES) - 8;
/** (the 8 bytes: the slot array is padded to 8) */
export const INTERNAL_CAPACITY = PAGE_BYTES - HEADER_BYTES - 8;

export const leafCellBytes = (key: Uint8Array, value: Uint8Array): number => 2 + align8(LEAF_CELL_HEADER + align8(key.length) + value.length);
export const internalCellBytes = (key: Uint8Array): number => 2 + align8(INTERNAL_CELL_HEADER + key.length);

/** Unsigned lexicographic order of byte strings. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) throw new InternalError(`compareKeys: byte ${i} is past a key of ${a.length} or ${b.length} bytes`);
    const d = x - y;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Where a child lives and the checksum its page must have (WiredTiger's address cookie). */
export interface ChildAddr {
  block: number;
  checksum: number;
}

export interface LeafImage {
  type: 'leaf';
  keys: Uint8Array[];
  values: Uint8Array[];
  low: Uint8Array | null;
  high: Uint8Array | null;
}

export interface InternalImage {
  type: 'internal';
  level: number;
  keys: Uint8Array[];
  children: ChildAddr[];
}

export type PageImage = LeafImage | InternalImage;

export function pageChecksum(page: Uint8Array): number {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const saved = view.getUint32(8, true);
  view.setUint32(8, 0, true);
  const sum = crc32(page);
  view.setUint32(8, saved, true);
  return sum >>> 0;
}

/** Encodes a page for `block` in checkpoint `generation`; returns the bytes and their checksum. */
export function encodePage(image: PageImage, block: number, generation: number): { bytes: Uint8Array; checksum: number } {
  const page = new Uint8Array(PAGE_BYTES);
  const view = new DataView(page.buffer);
  const n = image.keys.length;
  view.setUint32(0, PAGE_MAGIC, true);
  page[4] = image.type === 'leaf' ? TYPE_LEAF : TYPE_INTERNAL;
  page[5] = image.type === 'leaf' ? 0 : image.level;
  view.setUint16(6, n, true);
  view.setUint32(12, block, true);
  view.setUint32(16, generation >>> 0, true);
  if (n > ENTRIES_MAX) throw new WtError('WT_STATE', `page for block ${block} has ${n} entries (at most ${ENTRIES_MAX})`);
  let at = HEADER_BYTES + align8(2 * n);
  const put = (bytes: Uint8Array): void => {
    if (at + bytes.length > PAGE_BYTES) throw new WtError('WT_STATE', `page for block ${block} overflows (${at + bytes.length} bytes)`);
    page.set(bytes, at);
  };
  const fence = (key: Uint8Array | null, offField: number): void => {
    if (key === null) {
      view.setUint16(offField, 0, true);
      view.setUint16(offField + 2, FENCE_NONE, true);
      return;
    }
    put(key);
    view.setUint16(offField, at, true);
    view.setUint16(offField + 2, key.length, true);
    at += align8(key.length);
  };
  if (image.type === 'leaf') {
    fence(image.low, 20);
    fence(image.high, 24);
  } else {
    fence(null, 20);
    fence(null, 24);
  }
  for (const [i, key] of image.keys.entries()) {
    view.setUint16(HEADER_BYTES + 2 * i, at, true);
    if (image.type === 'leaf') {
      const value = itemAt(image.values, i, 'leaf value of a page image');
      if (at + LEAF_CELL_HEADER > PAGE_BYTES) throw new WtError('WT_STATE', `leaf for block ${block} overflows`);
      view.setUint16(at, key.length, true);
      view.setUint16(at + 2, value.length, true);
      at += LEAF_CELL_HEADER;
      put(key);
      at += align8(key.length);
      put(value);
      at = align8(at + value.length);
    } else {
      const child = itemAt(image.children, i, 'child of a page image');
      const k = i === 0 ? new Uint8Array(0) : key;
      if (at + INTERNAL_CELL_HEADER > PAGE_BYTES) throw new WtError('WT_STATE', `internal page for block ${block} overflows`);
      view.setUint16(at, k.length, true);
      view.setUint32(at + 4, child.block, true);
      view.setUint32(at + 8, child.checksum >>> 0, true);
      at += INTERNAL_CELL_HEADER;
      put(k);
      at = align8(at + k.length);
    }
  }
  view.setUint16(28, at, true);
  const checksum = pageChecksum(page);
  view.setUint32(8, checksum, true);
  return { bytes: page, checksum };
}

/**
 * Decodes and checks a page read from `block`: checksum (against the parent's
 * cookie when given), magic, type, level, its own block number, every slot and
 * cell in bounds, keys in strictly rising order. Errors name block and offset.
 */
export function decodePage(page: Uint8Array, block: number, expect: { checksum?: number; level?: number } = {}): PageImage {
  if (page.length !== PAGE_BYTES) throw corruptPage(block, 0, `page is ${page.length} bytes, expected ${PAGE_BYTES}`);
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const stored = view.getUint32(8, true);
  const actual = pageChecksum(page);
  if (view.getUint32(0, true) !== PAGE_MAGIC) throw corruptPage(block, 0, `bad magic 0x${view.getUint32(0, true).toString(16)}`);
  if (stored !== actual) throw corruptPage(block, 8, `checksum 0x${actual.toString(16)} does not match the stored 0x${stored.toString(16)}`);
  if (expect.checksum !== undefined && (expect.checksum >>> 0) !== actual) {
    throw corruptPage(block, 8, `checksum 0x${actual.toString(16)} is not the parent's 0x${(expect.checksum >>> 0).toString(16)} (a stale or misplaced page)`);
  }
  if (view.getUint32(12, true) !== block) throw corruptPage(block, 12, `page says it is block ${view.getUint32(12, true)}`);
  const type = page[4];
  const level = view.getUint8(5);
  if (type !== TYPE_LEAF && type !== TYPE_INTERNAL) throw corruptPage(block, 4, `bad page type ${String(type)}`);
  if ((type === TYPE_LEAF) !== (level === 0) || level > LEVEL_MAX) throw corruptPage(block, 5, `level ${level} does not fit page type ${type}`);
  if (expect.level !== undefined && level !== expect.level) throw corruptPage(block, 5, `level ${level}, expected ${expect.level}`);
  const n = view.getUint16(6, true);
  if (n > ENTRIES_MAX) throw corruptPage(block, 6, `${n} entries (at most ${ENTRIES_MAX})`);
  const slice = (off: number, len: number, what: string, at: number): Uint8Array => {
    if (off + len > PAGE_BYTES || off < HEADER_BYTES) throw corruptPage(block, at, `${what} at ${off} (+${len} bytes) is outside the page`);
    return page.slice(off, off + len);
  };
  const fence = (offField: number): Uint8Array | null => {
    const len = view.getUint16(offField + 2, true);
    if (len === FENCE_NONE) return null;
    if (len > KEY_MAX_BYTES) throw corruptPage(block, offField + 2, `fence key of ${len} bytes`);
    return slice(view.getUint16(offField, true), len, 'fence key', offField);
  };
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  const children: ChildAddr[] = [];
  for (let i = 0; i < n; i++) {
    const slotAt = HEADER_BYTES + 2 * i;
    const off = view.getUint16(slotAt, true);
    const hdr = type === TYPE_LEAF ? LEAF_CELL_HEADER : INTERNAL_CELL_HEADER;
    if (off < HEADER_BYTES || off + hdr > PAGE_BYTES || (off & 7) !== 0) throw corruptPage(block, slotAt, `slot ${i} points at ${off}`);
    const keyLen = view.getUint16(off, true);
    if (keyLen > KEY_MAX_BYTES) throw corruptPage(block, off, `key of ${keyLen} bytes in slot ${i}`);
    const key = slice(off + hdr, keyLen, `key of slot ${i}`, off);
    const previous = keys[i - 1];
    if (i > (type === TYPE_LEAF ? 0 : 1) && previous !== undefined && compareKeys(previous, key) >= 0) throw corruptPage(block, off, `key of slot ${i} is not above the previous one`);
    keys.push(key);
    if (type === TYPE_LEAF) {
      const valueLen = view.getUint16(off + 2, true);
      if (valueLen > VALUE_MAX_BYTES) throw corruptPage(block, off + 2, `value of ${valueLen} bytes in slot ${i}`);
      values.push(slice(off + hdr + align8(keyLen), valueLen, `value of slot ${i}`, off + 2));
    } else {
      const child = view.getUint32(off + 4, true);
      if (child < FIRST_PAGE_BLOCK) throw corruptPage(block, off + 4, `child block ${child} of slot ${i}`);
      children.push({ block: child, checksum: view.getUint32(off + 8, true) });
    }
  }
  if (type === TYPE_LEAF) {
    const low = fence(20);
    const high = fence(24);
    const first = keys[0];
    const last = keys[n - 1];
    if (first !== undefined && last !== undefined && ((low !== null && compareKeys(first, low) < 0) || (high !== null && compareKeys(last, high) >= 0))) {
      throw corruptPage(block, 20, 'keys outside the fence keys');
    }
    return { type: 'leaf', keys, values, low, high };
  }
  if (n === 0) throw corruptPage(block, 6, 'internal page without children');
  return { type: 'internal', level, keys, children };
}

/** What a superblock records: the root of one complete checkpoint. */
export interface Superblock {
  generation: number;
  rootBlock: number;
  rootChecksum: number;
  rootLevel: number;
  /** blocks in the file when the checkpoint was taken */
  fileBlocks: number;
}

const SUPER_BYTES = 64;

export function encodeSuperblock(s: Superblock): Uint8Array {
  const page = new Uint8Array(PAGE_BYTES);
  const view = new DataView(page.buffer);
  view.setUint32(0, SUPER_MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(12, s.generation >>> 0, true);
  view.setUint32(16, s.rootBlock, true);
  view.setUint32(20, s.rootChecksum >>> 0, true);
  view.setUint32(24, s.rootLevel, true);
  view.setUint32(28, s.fileBlocks, true);
  view.setUint32(8, crc32(page.subarray(0, SUPER_BYTES)) >>> 0, true);
  return page;
}

/** A superblock, or null if the block does not hold a whole one (never written, torn, corrupt). */
export function decodeSuperblock(page: Uint8Array): Superblock | null {
  if (page.length < SUPER_BYTES) return null;
  const copy = page.slice(0, SUPER_BYTES);
  const view = new DataView(copy.buffer);
  if (view.getUint32(0, true) !== SUPER_MAGIC || view.getUint32(4, true) !== FORMAT_VERSION) return null;
  const stored = view.getUint32(8, true);
  view.setUint32(8, 0, true);
  if ((crc32(copy) >>> 0) !== stored) return null;
  return {
    generation: view.getUint32(12, true),
    rootBlock: view.getUint32(16, true),
    rootChecksum: view.getUint32(20, true),
    rootLevel: view.getUint32(24, true),
    fileBlocks: view.getUint32(28, true),
  };
}
