// xrpfs: an ext4-like file system over the device's logical blocks (4 KiB
// blocks, per-inode extent maps, a bitmap block allocator, a flat directory).
// See layout.ts for the on-disk format.
//
// Metadata and the data moved by management operations (mkfs, put, truncate,
// defragment) go straight to the image, untimed, as the brief allows; the timed
// read and write paths (syscalls.ts) move file data through the block layer and
// the NVMe device and only ask this class for mappings. Every change of a
// file's extents or size publishes a new version in the metadata digest.

import type { ImageStore } from '../../device/image-store.ts';
import { EEXIST, EFBIG, EINVAL, ENAMETOOLONG, ENOENT, ENOSPC } from '../errno.ts';
import { MetadataDigest } from '../metadata-digest.ts';
import { BlockAllocator } from './allocator.ts';
import { FsCorruptError, FsError } from './errors.ts';
import {
  EXTENT_MAX_BLOCKS, UNWRITTEN_EXTENT_MAX_BLOCKS, insertExtents, mapRange, markWritten, removeRange,
} from './extent-map.ts';
import type { Extent, MapSegment, PhysRange } from './extent-map.ts';
import {
  FIRST_INO, FS_BLOCK_BYTES, NAME_BYTES_MAX, crc32, decodeMetadata, decodeSuperblock, encodeMetadata, encodeSuperblock,
} from './layout.ts';
import type { Superblock } from './layout.ts';
import { at } from '../../base/checked.ts';

/** Largest file: logical block numbers are 32-bit, as in ext4. */
export const FILE_BYTES_MAX = 2 ** 32 * FS_BLOCK_BYTES;
/** Bytes moved per chunk by management copies (defragment, put). */
const COPY_CHUNK_BYTES = 1 << 20;

export class Inode {
  constructor(
    readonly ino: number,
    public name: string,
    public sizeBytes: number,
    public extents: Extent[],
  ) {}

  /** Blocks allocated to the file (written or not). */
  get allocatedBlocks(): number {
    let n = 0;
    for (const e of this.extents) n += e.len;
    return n;
  }
}

export interface MkfsOptions {
  /** Blocks reserved for metadata (default: 1/512 of the image, 8..16384). */
  metaBlocks?: number;
}

export interface DefragmentResult {
  extentsBefore: number;
  extentsAfter: number;
  blocksMoved: number;
}

const nameEncoder = new TextEncoder();

/** Checks a file name of the flat directory (a leading '/' is allowed and dropped). */
export function normalizeName(path: string): string {
  const name = path.startsWith('/') ? path.slice(1) : path;
  if (name.length === 0) throw new FsError(ENOENT, `empty file name '${path}'`);
  if (name.includes('/')) throw new FsError(ENOENT, `'${path}': the directory is flat, names cannot contain '/'`);
  if (name.includes('\0')) throw new FsError(EINVAL, `'${path}': names cannot contain NUL`);
  if (name === '.' || name === '..') throw new FsError(EINVAL, `'${path}' is not a valid file name`);
  if (nameEncoder.encode(name).length > NAME_BYTES_MAX) throw new FsError(ENAMETOOLONG, `'${path}': name longer than ${NAME_BYTES_MAX} bytes`);
  return name;
}

export class FileSystem {
  readonly digest = new MetadataDigest();
  private readonly byName = new Map<string, Inode>();
  private readonly byIno = new Map<number, Inode>();
  private readonly alloc: BlockAllocator;
  private dirty = false;

  private constructor(
    readonly store: ImageStore,
    private sb: Superblock,
  ) {
    this.alloc = new BlockAllocator(sb.metaStart + sb.metaBlocks, sb.totalBlocks);
  }

  /** Formats the image (destroying any file system on it) and returns it mounted. */
  static mkfs(store: ImageStore, options: MkfsOptions = {}): FileSystem {
    const totalBlocks = Math.floor(store.sizeBytes / FS_BLOCK_BYTES);
    if (totalBlocks < 16) throw new FsError(EINVAL, `image ${store.path} is ${store.sizeBytes} bytes; xrpfs needs at least 64 KiB`);
    const metaBlocks = options.metaBlocks ?? Math.min(16384, Math.max(8, Math.floor(totalBlocks / 512)));
    if (!Number.isSafeInteger(metaBlocks) || metaBlocks < 1 || metaBlocks + 2 > totalBlocks) {
      throw new FsError(EINVAL, `metadata area of ${String(metaBlocks)} blocks does not fit in ${totalBlocks} blocks`);
    }
    const fs = new FileSystem(store, { totalBlocks, metaStart: 1, metaBlocks, metaBytes: 0, metaCrc: 0, nextIno: FIRST_INO, generation: 0 });
    fs.dirty = true;
    fs.sync();
    return fs;
  }

  /** Mounts the file system on an image, checking the format and the metadata. */
  static open(store: ImageStore): FileSystem {
    const imageBlocks = Math.floor(store.sizeBytes / FS_BLOCK_BYTES);
    if (imageBlocks < 1) throw new FsCorruptError(store.path, 'image is smaller than one 4 KiB block');
    const block = new Uint8Array(FS_BLOCK_BYTES);
    store.read(0, block, 0, FS_BLOCK_BYTES);
    const sb = decodeSuperblock(store.path, block, imageBlocks);
    const meta = new Uint8Array(sb.metaBytes);
    store.read(sb.metaStart * FS_BLOCK_BYTES, meta, 0, sb.metaBytes);
    const crc = crc32(meta);
    if (crc !== sb.metaCrc) {
      throw new FsCorruptError(store.path, `metadata checksum mismatch (stored 0x${sb.metaCrc.toString(16)}, computed 0x${crc.toString(16)}) in blocks ${sb.metaStart}..${sb.metaStart + sb.metaBlocks - 1}`);
    }
    const fs = new FileSystem(store, sb);
    for (const rec of decodeMetadata(store.path, meta)) fs.loadInode(rec.ino, rec.name, rec.sizeBytes, rec.extents);
    return fs;
  }

  private loadInode(ino: number, name: string, sizeBytes: number, extents: Extent[]): void {
    const path = this.store.path;
    const where = `inode ${ino} ('${name}')`;
    if (ino < FIRST_INO || ino >= this.sb.nextIno) throw new FsCorruptError(path, `${where}: inode number outside ${FIRST_INO}..${this.sb.nextIno - 1}`);
    if (this.byIno.has(ino)) throw new FsCorruptError(path, `${where}: duplicate inode number`);
    try {
      if (normalizeName(name) !== name) throw new Error('bad');
    } catch {
      throw new FsCorruptError(path, `${where}: invalid file name`);
    }
    if (this.byName.has(name)) throw new FsCorruptError(path, `${where}: duplicate file name`);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes > FILE_BYTES_MAX) throw new FsCorruptError(path, `${where}: size ${sizeBytes} out of range`);
    let prevEnd = 0;
    extents.forEach((e, k) => {
      const max = e.unwritten ? UNWRITTEN_EXTENT_MAX_BLOCKS : EXTENT_MAX_BLOCKS;
      if (e.len < 1 || e.len > max) throw new FsCorruptError(path, `${where} extent ${k}: length ${e.len} outside 1..${max}`);
      if (e.lblk < prevEnd) throw new FsCorruptError(path, `${where} extent ${k}: logical block ${e.lblk} overlaps or is out of order`);
      if (e.lblk + e.len > 2 ** 32) throw new FsCorruptError(path, `${where} extent ${k}: logical range ends past 2^32 blocks`);
      if (!this.alloc.claim(e.pblk, e.len)) {
        throw new FsCorruptError(path, `${where} extent ${k}: physical blocks ${e.pblk}..${e.pblk + e.len - 1} are outside the data area (${this.alloc.firstBlock}..${this.sb.totalBlocks - 1}) or used twice`);
      }
      prevEnd = e.lblk + e.len;
    });
    const inode = new Inode(ino, name, sizeBytes, extents);
    this.byIno.set(ino, inode);
    this.byName.set(name, inode);
    this.digest.updateMapping(inode);
  }

  get totalBlocks(): number {
    return this.sb.totalBlocks;
  }

  get freeBlocks(): number {
    return this.alloc.freeBlocks;
  }

  get dataStartBlock(): number {
    return this.alloc.firstBlock;
  }

  /** Number of syncs since mkfs (stored in the superblock). */
  get generation(): number {
    return this.sb.generation;
  }

  // ---- directory ----

  lookup(path: string): Inode | null {
    return this.byName.get(normalizeName(path)) ?? null;
  }

  /** The inode of `path`, or an ENOENT error. */
  get(path: string): Inode {
    const inode = this.lookup(path);
    if (inode === null) throw new FsError(ENOENT, `no such file '${path}'`);
    return inode;
  }

  inode(ino: number): Inode | null {
    return this.byIno.get(ino) ?? null;
  }

  list(): Inode[] {
    return [...this.byIno.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  create(path: string): Inode {
    const name = normalizeName(path);
    if (this.byName.has(name)) throw new FsError(EEXIST, `file '${name}' already exists`);
    if (this.sb.nextIno >= 0xffffffff) throw new FsError(ENOSPC, 'out of inode numbers');
    const inode = new Inode(this.sb.nextIno++, name, 0, []);
    this.byIno.set(inode.ino, inode);
    this.byName.set(name, inode);
    this.digest.updateMapping(inode);
    this.dirty = true;
    return inode;
  }

  unlink(path: string): void {
    const inode = this.get(path);
    for (const e of inode.extents) this.alloc.free({ pblk: e.pblk, len: e.len });
    this.byIno.delete(inode.ino);
    this.byName.delete(inode.name);
    this.digest.remove(inode.ino);
    this.dirty = true;
  }

  // ---- mapping (used by the timed paths) ----

  /** Segments (mapped, unwritten or hole) of logical blocks [lblk, lblk+count). */
  map(inode: Inode, lblk: number, count: number): MapSegment[] {
    return mapRange(inode.extents, lblk, count);
  }

  /**
   * Allocates every hole in the byte range as UNWRITTEN blocks (what ext4's
   * direct-I/O write does before the data lands); blocks of the range that
   * were unwritten and are only partly covered are zeroed first, so the rest
   * of such a block reads as zeros once it becomes written. Returns the
   * segments to write.
   */
  prepareWrite(inode: Inode, offsetBytes: number, lenBytes: number): MapSegment[] {
    this.checkRange(offsetBytes, lenBytes);
    const first = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const end = Math.ceil((offsetBytes + lenBytes) / FS_BLOCK_BYTES);
    this.allocateHoles(inode, first, end - first, true);
    const segs = mapRange(inode.extents, first, end - first);
    for (const s of segs) {
      if (!s.unwritten) continue;
      const segStartBytes = s.lblk * FS_BLOCK_BYTES;
      const segEndBytes = (s.lblk + s.len) * FS_BLOCK_BYTES;
      if (offsetBytes > segStartBytes) this.zeroBlock(s.pblk);
      if (offsetBytes + lenBytes < segEndBytes) this.zeroBlock(s.pblk + s.len - 1);
    }
    return segs;
  }

  /** After the data of a write landed: convert unwritten blocks, extend the size. */
  completeWrite(inode: Inode, offsetBytes: number, lenBytes: number): void {
    const first = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const end = Math.ceil((offsetBytes + lenBytes) / FS_BLOCK_BYTES);
    inode.extents = markWritten(inode.extents, first, end - first);
    if (offsetBytes + lenBytes > inode.sizeBytes) inode.sizeBytes = offsetBytes + lenBytes;
    this.changed(inode);
  }

  // ---- data operations (untimed; the management path) ----

  /** Writes bytes at a file offset, allocating blocks as needed; extends the size. */
  write(inode: Inode, offsetBytes: number, data: Uint8Array): void {
    if (data.length === 0) return;
    for (let done = 0; done < data.length; done += COPY_CHUNK_BYTES) {
      const n = Math.min(COPY_CHUNK_BYTES, data.length - done);
      const off = offsetBytes + done;
      const segs = this.prepareWrite(inode, off, n);
      for (const s of segs) {
        const a = Math.max(off, s.lblk * FS_BLOCK_BYTES);
        const b = Math.min(off + n, (s.lblk + s.len) * FS_BLOCK_BYTES);
        this.store.write(s.pblk * FS_BLOCK_BYTES + (a - s.lblk * FS_BLOCK_BYTES), data, done + (a - off), b - a);
      }
      this.completeWrite(inode, off, n);
    }
  }

  append(inode: Inode, data: Uint8Array): void {
    this.write(inode, inode.sizeBytes, data);
  }

  /** Reads bytes (holes, unwritten blocks and anything past the end read as zeros / short). */
  read(inode: Inode, offsetBytes: number, lenBytes: number): Uint8Array {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || !Number.isSafeInteger(lenBytes) || lenBytes < 0) {
      throw new FsError(EINVAL, `read range ${offsetBytes}+${lenBytes} is invalid`);
    }
    const n = Math.max(0, Math.min(lenBytes, inode.sizeBytes - offsetBytes));
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const first = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const end = Math.ceil((offsetBytes + n) / FS_BLOCK_BYTES);
    for (const s of mapRange(inode.extents, first, end - first)) {
      if (s.pblk < 0 || s.unwritten) continue;
      const a = Math.max(offsetBytes, s.lblk * FS_BLOCK_BYTES);
      const b = Math.min(offsetBytes + n, (s.lblk + s.len) * FS_BLOCK_BYTES);
      this.store.read(s.pblk * FS_BLOCK_BYTES + (a - s.lblk * FS_BLOCK_BYTES), out, a - offsetBytes, b - a);
    }
    return out;
  }

  /** Sets the size; shrinking frees whole blocks past the end and zeros the tail of the last block. */
  truncate(inode: Inode, sizeBytes: number): void {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > FILE_BYTES_MAX) {
      throw new FsError(sizeBytes > FILE_BYTES_MAX ? EFBIG : EINVAL, `truncate of '${inode.name}' to ${String(sizeBytes)} bytes: invalid size`);
    }
    if (sizeBytes < inode.sizeBytes) {
      const keep = Math.ceil(sizeBytes / FS_BLOCK_BYTES);
      const { extents, removed } = removeRange(inode.extents, keep, 2 ** 32 - keep);
      for (const r of removed) this.alloc.free(r);
      inode.extents = extents;
      const tail = sizeBytes % FS_BLOCK_BYTES;
      if (tail !== 0) {
        const s = at(mapRange(inode.extents, keep - 1, 1), 0, 'mapping of the last kept block');
        if (s.pblk >= 0 && !s.unwritten) this.store.write(s.pblk * FS_BLOCK_BYTES + tail, new Uint8Array(FS_BLOCK_BYTES - tail), 0, FS_BLOCK_BYTES - tail);
      }
    }
    inode.sizeBytes = sizeBytes;
    this.changed(inode);
  }

  /**
   * fallocate(mode 0 or FALLOC_FL_KEEP_SIZE): allocates unwritten extents over
   * the holes of the range; reads of them return zeros until written.
   */
  fallocate(inode: Inode, offsetBytes: number, lenBytes: number, options: { keepSize?: boolean } = {}): void {
    this.checkRange(offsetBytes, lenBytes);
    const first = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const end = Math.ceil((offsetBytes + lenBytes) / FS_BLOCK_BYTES);
    this.allocateHoles(inode, first, end - first, true);
    if (options.keepSize !== true && offsetBytes + lenBytes > inode.sizeBytes) inode.sizeBytes = offsetBytes + lenBytes;
    this.changed(inode);
  }

  /**
   * Moves logical blocks [lblk, lblk+count) of the file to newly allocated
   * physical blocks (copying written data; like EXT4_IOC_MOVE_EXT), then frees
   * the old blocks. With `targetPblk` the new blocks start there (they must be
   * free). Holes in the range stay holes. Returns the number of blocks moved.
   */
  relocate(inode: Inode, lblk: number, count: number, targetPblk?: number): number {
    if (!Number.isSafeInteger(lblk) || !Number.isSafeInteger(count) || lblk < 0 || count < 1 || lblk + count > 2 ** 32) {
      throw new FsError(EINVAL, `relocate of '${inode.name}': block range ${lblk}+${count} is invalid`);
    }
    const segs = mapRange(inode.extents, lblk, count).filter((s) => s.pblk >= 0);
    const blocks = segs.reduce((n, s) => n + s.len, 0);
    if (blocks === 0) return 0;
    let target: PhysRange[];
    if (targetPblk !== undefined) {
      if (!this.alloc.claim(targetPblk, blocks)) throw new FsError(ENOSPC, `relocate of '${inode.name}': blocks ${targetPblk}..${targetPblk + blocks - 1} are not all free`);
      target = [{ pblk: targetPblk, len: blocks }];
    } else {
      target = this.allocateRuns(blocks, this.alloc.findFreeRun(blocks) ?? this.dataStartBlock);
    }
    // Pair each source segment with pieces of the target runs.
    const added: Extent[] = [];
    const old: PhysRange[] = [];
    let t = 0;
    let tUsed = 0;
    const buf = new Uint8Array(Math.min(COPY_CHUNK_BYTES, blocks * FS_BLOCK_BYTES));
    for (const s of segs) {
      let done = 0;
      while (done < s.len) {
        const run = at(target, t, 'relocation target run');
        const n = Math.min(s.len - done, run.len - tUsed);
        const to = run.pblk + tUsed;
        if (!s.unwritten) this.copyBlocks(s.pblk + done, to, n, buf);
        added.push({ lblk: s.lblk + done, len: n, pblk: to, unwritten: s.unwritten });
        done += n;
        tUsed += n;
        if (tUsed === run.len) {
          t++;
          tUsed = 0;
        }
      }
      old.push({ pblk: s.pblk, len: s.len });
    }
    const removed = removeRange(inode.extents, lblk, count);
    inode.extents = insertExtents(removed.extents, added);
    for (const r of old) this.alloc.free(r);
    this.changed(inode);
    return blocks;
  }

  /** Moves the whole file into one contiguous run if one is free (else into as few runs as possible). */
  defragment(inode: Inode): DefragmentResult {
    const before = inode.extents.length;
    const last = inode.extents[before - 1];
    if (last === undefined) return { extentsBefore: 0, extentsAfter: 0, blocksMoved: 0 };
    const moved = this.relocate(inode, 0, last.lblk + last.len);
    return { extentsBefore: before, extentsAfter: inode.extents.length, blocksMoved: moved };
  }

  // ---- persistence ----

  /** Writes the metadata and the superblock to the image (if anything changed). */
  sync(): void {
    if (!this.dirty) return;
    const records = this.list().map((i) => ({ ino: i.ino, name: i.name, sizeBytes: i.sizeBytes, extents: i.extents }));
    const meta = encodeMetadata(records);
    if (meta.length > this.sb.metaBlocks * FS_BLOCK_BYTES) {
      throw new FsError(ENOSPC, `metadata (${meta.length} bytes) does not fit its area of ${this.sb.metaBlocks} blocks; mkfs with more metadata blocks or defragment files`);
    }
    this.store.write(this.sb.metaStart * FS_BLOCK_BYTES, meta, 0, meta.length);
    this.sb = { ...this.sb, metaBytes: meta.length, metaCrc: crc32(meta), generation: (this.sb.generation + 1) >>> 0 };
    const sb = encodeSuperblock(this.sb);
    this.store.write(0, sb, 0, sb.length);
    this.dirty = false;
  }

  // ---- internals ----

  private changed(inode: Inode): void {
    this.dirty = true;
    this.digest.updateMapping(inode);
  }

  private checkRange(offsetBytes: number, lenBytes: number): void {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || !Number.isSafeInteger(lenBytes) || lenBytes <= 0) {
      throw new FsError(EINVAL, `byte range ${String(offsetBytes)}+${String(lenBytes)} is invalid`);
    }
    if (offsetBytes + lenBytes > FILE_BYTES_MAX) throw new FsError(EFBIG, `byte range ends at ${offsetBytes + lenBytes}, past the largest file (${FILE_BYTES_MAX} bytes)`);
  }

  /** Allocates the holes of [lblk, lblk+count), next to the preceding extent when possible. */
  private allocateHoles(inode: Inode, lblk: number, count: number, unwritten: boolean): void {
    const holes = mapRange(inode.extents, lblk, count).filter((s) => s.pblk < 0);
    if (holes.length === 0) return;
    const need = holes.reduce((n, h) => n + h.len, 0);
    if (need > this.alloc.freeBlocks) throw new FsError(ENOSPC, `'${inode.name}' needs ${need} blocks, ${this.alloc.freeBlocks} are free`);
    const added: Extent[] = [];
    for (const h of holes) {
      const prev = at(mapRange(inode.extents, Math.max(0, h.lblk - 1), 1), 0, 'mapping of the block before a hole');
      let goal = h.lblk > 0 && prev.pblk >= 0 ? prev.pblk + 1 : this.dataStartBlock;
      let done = 0;
      while (done < h.len) {
        const r = this.alloc.allocate(Math.min(h.len - done, UNWRITTEN_EXTENT_MAX_BLOCKS), goal);
        added.push({ lblk: h.lblk + done, len: r.len, pblk: r.pblk, unwritten });
        done += r.len;
        goal = r.pblk + r.len;
      }
    }
    inode.extents = insertExtents(inode.extents, added);
  }

  private allocateRuns(blocks: number, goal: number): PhysRange[] {
    if (blocks > this.alloc.freeBlocks) throw new FsError(ENOSPC, `need ${blocks} free blocks, ${this.alloc.freeBlocks} are free`);
    const runs: PhysRange[] = [];
    let left = blocks;
    while (left > 0) {
      const r = this.alloc.allocate(Math.min(left, UNWRITTEN_EXTENT_MAX_BLOCKS), goal);
      runs.push(r);
      left -= r.len;
      goal = r.pblk + r.len;
    }
    return runs;
  }

  private copyBlocks(from: number, to: number, count: number, buf: Uint8Array): void {
    const chunkBlocks = buf.length / FS_BLOCK_BYTES;
    for (let done = 0; done < count; done += chunkBlocks) {
      const n = Math.min(chunkBlocks, count - done) * FS_BLOCK_BYTES;
      this.store.read((from + done) * FS_BLOCK_BYTES, buf, 0, n);
      this.store.write((to + done) * FS_BLOCK_BYTES, buf, 0, n);
    }
  }

  private zeroBlock(pblk: number): void {
    this.store.write(pblk * FS_BLOCK_BYTES, ZERO_BLOCK, 0, FS_BLOCK_BYTES);
  }
}

const ZERO_BLOCK = new Uint8Array(FS_BLOCK_BYTES);
