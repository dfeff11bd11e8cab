// The backing store: a real image file read and written at the requested byte
// offsets with positioned synchronous I/O (fs.readSync/writeSync on one fd).
// A bounded cache of 4 KiB pages (FIFO eviction, buffers reused) keeps repeated
// reads off the syscall path while memory stays bounded whatever the image size.
// Writes go through to the file at once. Images may be sparse: holes read as zeros.

import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { DeviceError } from './errors.ts';

const PAGE_BYTES = 4096;

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

export class ImageStore {
  private readonly pages = new Map<number, Uint8Array>();
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
    let done = 0;
    while (done < length) {
      const pos = offsetBytes + done;
      const pageNo = Math.floor(pos / PAGE_BYTES);
      const inPage = pos - pageNo * PAGE_BYTES;
      const n = Math.min(PAGE_BYTES - inPage, length - done);
      let page = this.pages.get(pageNo);
      if (page === undefined) page = this.loadPage(pageNo);
      else this.cacheHits++;
      dst.set(page.subarray(inPage, inPage + n), dstOffset + done);
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
      const page = this.pages.get(pageNo);
      if (page !== undefined) page.set(src.subarray(srcOffset + done, srcOffset + done + n), inPage);
      done += n;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
      this.pages.clear();
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

  private loadPage(pageNo: number): Uint8Array {
    let page: Uint8Array;
    if (this.pages.size >= this.cachePagesMax) {
      const victim = this.fifo[this.fifoHead]!;
      this.fifo[this.fifoHead] = pageNo;
      this.fifoHead = (this.fifoHead + 1) % this.cachePagesMax;
      page = this.pages.get(victim)!;
      this.pages.delete(victim);
    } else {
      page = new Uint8Array(PAGE_BYTES);
      this.fifo.push(pageNo);
    }
    const start = pageNo * PAGE_BYTES;
    const len = Math.min(PAGE_BYTES, this.sizeBytes - start);
    this.fileRead(page, 0, len, start);
    if (len < PAGE_BYTES) page.fill(0, len);
    this.pages.set(pageNo, page);
    return page;
  }
}
