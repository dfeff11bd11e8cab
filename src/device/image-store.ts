// The backing store: a real image file read and written at the requested byte
// offsets with positioned synchronous I/O (fs.readSync/writeSync on one fd).
// A bounded cache of 4 KiB pages (FIFO eviction, buffers reused) keeps repeated
// reads off the syscall path while memory stays bounded whatever the image size.
// Writes go through to the file at once. Images may be sparse: holes read as zeros.

import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import type { BackingStore } from './backing-store.ts';
import { DeviceError } from './errors.ts';

const PAGE_BYTES = 4096;
/** Pages read in one host call while the cache is filling (see loadPage). */
const READAHEAD_PAGES = 32;
/** Page numbers below this live in the two-level table; above (images over 8 TiB) in a Map. */
const TABLE_PAGES_MAX = 2 ** 31;
const LEAF_BITS = 12;
const LEAF_ENTRIES = 1 << LEAF_BITS;

/**
 * Cached page number -> arena slot. A two-level table of Int32Array leaves (slot + 1,
 * 0 = absent) allocated on first use: a lookup is two array loads where a Map
 * lookup hashes (this sits on every simulated read). Memory grows with the pages
 * cached, not the image size (the directory holds one pointer per 16 MiB of image).
 */
class PageTable {
  private readonly dir: (Int32Array | undefined)[] = [];
  private readonly far = new Map<number, number>();
  size = 0;

  /** Slot of `pageNo`, or -1. */
  get(pageNo: number): number {
    if (pageNo < TABLE_PAGES_MAX) {
      const leaf = this.dir[pageNo >>> LEAF_BITS];
      if (leaf === undefined) return -1;
      const entry = leaf[pageNo & (LEAF_ENTRIES - 1)];
      if (entry === undefined) throw new DeviceError(`page table leaf of page ${pageNo} is shorter than ${LEAF_ENTRIES} entries`);
      return entry - 1;
    }
    return this.far.get(pageNo) ?? -1;
  }

  set(pageNo: number, slot: number): void {
    if (pageNo < TABLE_PAGES_MAX) {
      const d = pageNo >>> LEAF_BITS;
      while (this.dir.length <= d) this.dir.push(undefined);
      let leaf = this.dir[d];
      if (leaf === undefined) leaf = this.dir[d] = new Int32Array(LEAF_ENTRIES);
      if (leaf[pageNo & (LEAF_ENTRIES - 1)] === 0) this.size++;
      leaf[pageNo & (LEAF_ENTRIES - 1)] = slot + 1;
      return;
    }
    if (!this.far.has(pageNo)) this.size++;
    this.far.set(pageNo, slot);
  }

  delete(pageNo: number): void {
    if (pageNo < TABLE_PAGES_MAX) {
      const leaf = this.dir[pageNo >>> LEAF_BITS];
      if (leaf === undefined || leaf[pageNo & (LEAF_ENTRIES - 1)] === 0) return;
      leaf[pageNo & (LEAF_ENTRIES - 1)] = 0;
      this.size--;
      return;
    }
    if (this.far.delete(pageNo)) this.size--;
  }

  clear(): void {
    this.dir.length = 0;
    this.far.clear();
    this.size = 0;
  }
}

export interface ImageOpenOptions {
  /** Create the file if it does not exist. */
  create?: boolean;
  /** Empty an existing file first. */
  truncate?: boolean;
  /** Size of the image; a created image is extended sparsely to it, an existing smaller one too. */
  sizeBytes?: number;
  /** Page cache budget (default 64 MiB; 0 disables the cache). */
  cacheBytes?: number;
  readOnly?: boolean;
}

export class ImageStore implements BackingStore {
  /** Cached pages live in one arena; `pages` maps page number to arena slot (byte offset / 4096). */
  private readonly pages = new PageTable();
  private arena = new Uint8Array(0);
  private arenaUsedBytes = 0;
  private readonly fifo: number[] = [];
  private fifoHead = 0;
  private readonly cachePagesMax: number;
  private fd: number;
  /** Statistics. */
  fileReads = 0;
  fileWrites = 0;
  cacheHits = 0;

  private constructor(
    readonly path: string,
    fd: number,
    readonly sizeBytes: number,
    cacheBytes: number,
    readonly readOnly: boolean,
  ) {
    this.fd = fd;
    this.cachePagesMax = Math.floor(cacheBytes / PAGE_BYTES);
  }

  static open(path: string, options: ImageOpenOptions = {}): ImageStore {
    const cacheBytes = options.cacheBytes ?? 64 * 1024 * 1024;
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
      throw new DeviceError(`image ${path}: cacheBytes must be a non-negative integer, got ${String(cacheBytes)}`);
    }
    if (options.sizeBytes !== undefined && (!Number.isSafeInteger(options.sizeBytes) || options.sizeBytes <= 0 || options.sizeBytes % 512 !== 0)) {
      throw new DeviceError(`image ${path}: sizeBytes must be a positive multiple of 512, got ${String(options.sizeBytes)}`);
    }
    if ((options.create === true || options.truncate === true) && options.readOnly === true) {
      throw new DeviceError(`image ${path}: cannot create or truncate a read-only image`);
    }
    let fd: number;
    try {
      let flags = options.readOnly === true ? constants.O_RDONLY : constants.O_RDWR;
      if (options.create === true) flags |= constants.O_CREAT;
      if (options.truncate === true) flags |= constants.O_TRUNC;
      fd = openSync(path, flags, 0o644);
    } catch (error) {
      throw new DeviceError(`cannot open image ${path}: ${(error as Error).message}`);
    }
    let size = fstatSync(fd).size;
    if (options.sizeBytes !== undefined && options.sizeBytes > size) {
      if (options.readOnly === true) {
        closeSync(fd);
        throw new DeviceError(`image ${path} is ${size} bytes, smaller than the requested ${options.sizeBytes}, and read-only`);
      }
      ftruncateSync(fd, options.sizeBytes); // sparse extension
      size = options.sizeBytes;
    }
    if (size < 512) {
      closeSync(fd);
      throw new DeviceError(`image ${path} is ${size} bytes; it must hold at least one 512-byte block (give sizeBytes)`);
    }
    return new ImageStore(path, fd, size - (size % 512), cacheBytes, options.readOnly === true);
  }

  get open(): boolean {
    return this.fd >= 0;
  }

  get cachedPages(): number {
    return this.pages.size;
  }

  /** Copies `length` bytes at `offsetBytes` of the image into dst[dstOffset..]. */
  read(offsetBytes: number, dst: Uint8Array, dstOffset: number, length: number): void {
    this.checkRange(offsetBytes, length, 'read');
    if (this.cachePagesMax === 0) {
      this.fileRead(dst, dstOffset, length, offsetBytes);
      return;
    }
    const firstPage = Math.floor(offsetBytes / PAGE_BYTES);
    const firstIn = offsetBytes - firstPage * PAGE_BYTES;
    if (firstIn + length <= PAGE_BYTES) {
      // Common case: the range lies in one page.
      const slot = this.pages.get(firstPage);
      let at: number;
      if (slot < 0) at = this.loadPage(firstPage);
      else {
        at = slot * PAGE_BYTES;
        this.cacheHits++;
      }
      dst.set(this.arena.subarray(at + firstIn, at + firstIn + length), dstOffset);
      return;
    }
    let done = 0;
    while (done < length) {
      const pos = offsetBytes + done;
      const pageNo = Math.floor(pos / PAGE_BYTES);
      const inPage = pos - pageNo * PAGE_BYTES;
      const n = Math.min(PAGE_BYTES - inPage, length - done);
      const slot = this.pages.get(pageNo);
      let at: number;
      if (slot < 0) at = this.loadPage(pageNo);
      else {
        at = slot * PAGE_BYTES;
        this.cacheHits++;
      }
      dst.set(this.arena.subarray(at + inPage, at + inPage + n), dstOffset + done);
      done += n;
    }
  }

  /** Writes src[srcOffset..srcOffset+length) at `offsetBytes` (write-through). */
  write(offsetBytes: number, src: Uint8Array, srcOffset: number, length: number): void {
    this.checkRange(offsetBytes, length, 'write');
    if (this.readOnly) throw new DeviceError(`image ${this.path} is read-only`);
    let written = 0;
    while (written < length) {
      written += writeSync(this.fd, src, srcOffset + written, length - written, offsetBytes + written);
    }
    this.fileWrites++;
    if (this.pages.size === 0) return;
    // Keep cached pages coherent with the file.
    let done = 0;
    while (done < length) {
      const pos = offsetBytes + done;
      const pageNo = Math.floor(pos / PAGE_BYTES);
      const inPage = pos - pageNo * PAGE_BYTES;
      const n = Math.min(PAGE_BYTES - inPage, length - done);
      const slot = this.pages.get(pageNo);
      if (slot >= 0) this.arena.set(src.subarray(srcOffset + done, srcOffset + done + n), slot * PAGE_BYTES + inPage);
      done += n;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
      this.pages.clear();
      this.arena = new Uint8Array(0);
      this.arenaUsedBytes = 0;
    }
  }

  private checkRange(offsetBytes: number, length: number, what: string): void {
    if (this.fd < 0) throw new DeviceError(`image ${this.path} is closed`);
    if (!Number.isSafeInteger(offsetBytes) || !Number.isSafeInteger(length) || offsetBytes < 0 || length < 0 || offsetBytes + length > this.sizeBytes) {
      throw new DeviceError(`${what} of ${length} bytes at ${offsetBytes} is outside image ${this.path} (${this.sizeBytes} bytes)`);
    }
  }

  private fileRead(dst: Uint8Array, dstOffset: number, length: number, position: number): void {
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, dst, dstOffset + got, length - got, position + got);
      if (n === 0) break; // end of a short file: the rest reads as zeros
      got += n;
    }
    if (got < length) dst.fill(0, dstOffset + got, dstOffset + length);
    this.fileReads++;
  }

  /**
   * Reads page `pageNo` into the cache (evicting the oldest page when full); returns
   * its arena offset. While the cache has room, the uncached pages that follow are
   * read with it in one call (up to READAHEAD_PAGES): filling the cache then costs
   * a few host syscalls instead of one per page, and evicts nothing.
   */
  private loadPage(pageNo: number): number {
    let at: number;
    if (this.pages.size >= this.cachePagesMax) {
      const victim = this.fifo[this.fifoHead];
      if (victim === undefined) throw new DeviceError(`page cache FIFO slot ${this.fifoHead} is empty while the cache is full`);
      this.fifo[this.fifoHead] = pageNo;
      this.fifoHead = (this.fifoHead + 1) % this.cachePagesMax;
      at = this.pages.get(victim) * PAGE_BYTES;
      this.pages.delete(victim);
      this.readPages(pageNo, 1, at);
      this.pages.set(pageNo, at / PAGE_BYTES);
      return at;
    }
    const imagePages = Math.ceil(this.sizeBytes / PAGE_BYTES);
    const room = Math.min(READAHEAD_PAGES, this.cachePagesMax - this.pages.size, imagePages - pageNo);
    let count = 1;
    while (count < room && this.pages.get(pageNo + count) < 0) count++;
    while (this.arenaUsedBytes + count * PAGE_BYTES > this.arena.length) {
      // Grow geometrically up to the budget, so small images use little memory.
      const size = Math.min(this.cachePagesMax * PAGE_BYTES, Math.max(16 * PAGE_BYTES, this.arena.length * 2));
      const arena = new Uint8Array(size);
      arena.set(this.arena.subarray(0, this.arenaUsedBytes));
      this.arena = arena;
    }
    at = this.arenaUsedBytes;
    this.arenaUsedBytes += count * PAGE_BYTES;
    this.readPages(pageNo, count, at);
    for (let i = 0; i < count; i++) {
      this.fifo.push(pageNo + i);
      this.pages.set(pageNo + i, at / PAGE_BYTES + i);
    }
    return at;
  }

  /** Reads `count` pages from `pageNo` into the arena at `at` (zeros past the end of the image). */
  private readPages(pageNo: number, count: number, at: number): void {
    const start = pageNo * PAGE_BYTES;
    const len = Math.min(count * PAGE_BYTES, this.sizeBytes - start);
    this.fileRead(this.arena, at, len, start);
    if (len < count * PAGE_BYTES) this.arena.fill(0, at + len, at + count * PAGE_BYTES);
  }
}
