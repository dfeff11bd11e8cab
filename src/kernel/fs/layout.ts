// On-disk format of xrpfs, version 1 (all integers little-endian, 4 KiB blocks):
//
//   block 0            superblock (below)
//   blocks 1..M        metadata area: one serialized, checksummed record of every
//                      inode (name, size, extents); rewritten whole by sync()
//   blocks M+1..N-1    data blocks
//
// Superblock: 0 magic "XRPFS\0v1" (8 bytes) | 8 version u32 | 12 block size u32 |
// 16 total blocks u64 | 24 metadata start block u32 | 28 metadata blocks u32 |
// 32 metadata bytes u32 | 36 metadata CRC-32 u32 | 40 next inode number u32 |
// 44 sync generation u32 | 48 superblock CRC-32 u32 (of bytes 0..48).
//
// Metadata record: inode count u32, then per inode: ino u32, size u64,
// name length u16, name UTF-8, extent count u32, extents {lblk u32, len u32,
// pblk u64, flags u8 (1 = unwritten)}. The block bitmap is not stored: open()
// rebuilds it from the extents and refuses overlapping or out-of-range extents.

import { FsCorruptError } from './errors.ts';
import type { Extent } from './extent-map.ts';
import { at } from '../../base/checked.ts';

export const FS_BLOCK_BYTES = 4096;
export const FS_MAGIC = 'XRPFS\0v1';
export const FS_VERSION = 1;
export const NAME_BYTES_MAX = 255;
/** Inode numbers start at 11 like ext4 (where 2 is the root directory). */
export const FIRST_INO = 11;

export interface Superblock {
  totalBlocks: number;
  metaStart: number;
  metaBlocks: number;
  metaBytes: number;
  metaCrc: number;
  nextIno: number;
  generation: number;
}

export interface InodeRecord {
  ino: number;
  name: string;
  sizeBytes: number;
  extents: Extent[];
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = at(CRC_TABLE, (c ^ byte) & 0xff, 'CRC-32 table entry') ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeSuperblock(sb: Superblock): Uint8Array {
  const out = new Uint8Array(FS_BLOCK_BYTES);
  const v = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = FS_MAGIC.charCodeAt(i);
  v.setUint32(8, FS_VERSION, true);
  v.setUint32(12, FS_BLOCK_BYTES, true);
  v.setBigUint64(16, BigInt(sb.totalBlocks), true);
  v.setUint32(24, sb.metaStart, true);
  v.setUint32(28, sb.metaBlocks, true);
  v.setUint32(32, sb.metaBytes, true);
  v.setUint32(36, sb.metaCrc, true);
  v.setUint32(40, sb.nextIno, true);
  v.setUint32(44, sb.generation, true);
  v.setUint32(48, crc32(out.subarray(0, 48)), true);
  return out;
}

/** Parses and checks a superblock; `imageBlocks` is the image size in 4 KiB blocks. */
export function decodeSuperblock(path: string, block: Uint8Array, imageBlocks: number): Superblock {
  let magic = '';
  let hex = '';
  for (const byte of block.subarray(0, 8)) {
    magic += String.fromCharCode(byte);
    hex += byte.toString(16).padStart(2, '0');
  }
  if (magic !== FS_MAGIC) {
    throw new FsCorruptError(path, `not an xrpfs image: bad magic at offset 0 (found bytes ${hex}, expected "XRPFS\\0v1"); make one with 'xrp fs mkfs'`);
  }
  const v = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const version = v.getUint32(8, true);
  if (version !== FS_VERSION) throw new FsCorruptError(path, `unsupported xrpfs version ${version} at offset 8 (this build reads version ${FS_VERSION})`);
  const crc = v.getUint32(48, true);
  const actual = crc32(block.subarray(0, 48));
  if (crc !== actual) throw new FsCorruptError(path, `superblock checksum mismatch at offset 48 (stored 0x${crc.toString(16)}, computed 0x${actual.toString(16)})`);
  const blockBytes = v.getUint32(12, true);
  if (blockBytes !== FS_BLOCK_BYTES) throw new FsCorruptError(path, `block size ${blockBytes} at offset 12 is not ${FS_BLOCK_BYTES}`);
  const sb: Superblock = {
    totalBlocks: Number(v.getBigUint64(16, true)),
    metaStart: v.getUint32(24, true),
    metaBlocks: v.getUint32(28, true),
    metaBytes: v.getUint32(32, true),
    metaCrc: v.getUint32(36, true),
    nextIno: v.getUint32(40, true),
    generation: v.getUint32(44, true),
  };
  if (sb.totalBlocks > imageBlocks) {
    throw new FsCorruptError(path, `superblock says ${sb.totalBlocks} blocks but the image holds only ${imageBlocks} (truncated image?)`);
  }
  if (sb.metaStart !== 1 || sb.metaBlocks < 1 || sb.metaStart + sb.metaBlocks >= sb.totalBlocks) {
    throw new FsCorruptError(path, `metadata area blocks ${sb.metaStart}..${sb.metaStart + sb.metaBlocks} does not fit in ${sb.totalBlocks} blocks`);
  }
  if (sb.metaBytes > sb.metaBlocks * FS_BLOCK_BYTES) {
    throw new FsCorruptError(path, `metadata length ${sb.metaBytes} exceeds its area of ${sb.metaBlocks} blocks`);
  }
  if (sb.nextIno < FIRST_INO) throw new FsCorruptError(path, `next inode number ${sb.nextIno} is below ${FIRST_INO}`);
  return sb;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMetadata(inodes: readonly InodeRecord[]): Uint8Array {
  let size = 4;
  const records = inodes.map((ino) => ({ ino, name: encoder.encode(ino.name) }));
  for (const { ino, name } of records) size += 4 + 8 + 2 + name.length + 4 + ino.extents.length * 17;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let p = 0;
  v.setUint32(p, inodes.length, true);
  p += 4;
  for (const { ino, name } of records) {
    v.setUint32(p, ino.ino, true);
    v.setBigUint64(p + 4, BigInt(ino.sizeBytes), true);
    v.setUint16(p + 12, name.length, true);
    p += 14;
    out.set(name, p);
    p += name.length;
    v.setUint32(p, ino.extents.length, true);
    p += 4;
    for (const e of ino.extents) {
      v.setUint32(p, e.lblk, true);
      v.setUint32(p + 4, e.len, true);
      v.setBigUint64(p + 8, BigInt(e.pblk), true);
      out[p + 16] = e.unwritten ? 1 : 0;
      p += 17;
    }
  }
  return out;
}

/** Parses the metadata record; checks structure (ranges are checked by the file system). */
export function decodeMetadata(path: string, bytes: Uint8Array): InodeRecord[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const need = (n: number, what: string): void => {
    if (p + n > bytes.length) throw new FsCorruptError(path, `metadata truncated reading ${what} at metadata offset ${p}`);
  };
  need(4, 'the inode count');
  const count = v.getUint32(0, true);
  p = 4;
  const out: InodeRecord[] = [];
  for (let i = 0; i < count; i++) {
    need(14, `inode #${i}`);
    const ino = v.getUint32(p, true);
    const sizeBytes = Number(v.getBigUint64(p + 4, true));
    const nameLen = v.getUint16(p + 12, true);
    p += 14;
    need(nameLen, `the name of inode ${ino}`);
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(p, p + nameLen));
    } catch {
      throw new FsCorruptError(path, `inode ${ino}: name at metadata offset ${p} is not valid UTF-8`);
    }
    p += nameLen;
    need(4, `the extent count of inode ${ino}`);
    const n = v.getUint32(p, true);
    p += 4;
    need(n * 17, `the extents of inode ${ino}`);
    const extents: Extent[] = [];
    for (let k = 0; k < n; k++) {
      const flags = v.getUint8(p + 16);
      if (flags > 1) throw new FsCorruptError(path, `inode ${ino} extent ${k}: unknown flags 0x${flags.toString(16)}`);
      extents.push({ lblk: v.getUint32(p, true), len: v.getUint32(p + 4, true), pblk: Number(v.getBigUint64(p + 8, true)), unwritten: flags === 1 });
      p += 17;
    }
    out.push({ ino, name, sizeBytes, extents });
  }
  if (p !== bytes.length) throw new FsCorruptError(path, `metadata has ${bytes.length - p} trailing bytes after ${count} inodes`);
  return out;
}
