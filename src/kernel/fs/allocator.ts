// Block allocator: one bit per 4 KiB block of the data area (1 = in use), rebuilt
// from the extent maps when an image is opened (like fsck would), so only the
// extents are persisted. Allocation is next-fit from a goal block (the block
// after the file's last extent, to keep files contiguous), returning the first
// free run found, which may be shorter than asked for.

import { FsError } from './errors.ts';
import { ENOSPC } from '../errno.ts';
import type { PhysRange } from './extent-map.ts';
import { at } from '../../base/checked.ts';

export class BlockAllocator {
  private readonly bits: Uint8Array;
  freeBlocks: number;

  /** Manages blocks [firstBlock, totalBlocks). */
  constructor(
    readonly firstBlock: number,
    readonly totalBlocks: number,
  ) {
    if (!(firstBlock < totalBlocks)) throw new RangeError(`allocator: empty data area ${firstBlock}..${totalBlocks}`);
    this.bits = new Uint8Array(Math.ceil(totalBlocks / 8));
    this.freeBlocks = totalBlocks - firstBlock;
    // Metadata blocks are permanently in use.
    for (let b = 0; b < firstBlock; b++) this.setBit(b);
  }

  /** Whether `pblk` is in use; a block past the bitmap is not. */
  isUsed(pblk: number): boolean {
    const byte = this.bits[pblk >>> 3];
    return byte !== undefined && (byte & (1 << (pblk & 7))) !== 0;
  }

  private setBit(b: number): void {
    this.bits[b >>> 3] = at(this.bits, b >>> 3, 'allocator bitmap byte') | (1 << (b & 7));
  }

  private clearBit(b: number): void {
    this.bits[b >>> 3] = at(this.bits, b >>> 3, 'allocator bitmap byte') & ~(1 << (b & 7));
  }

  /** Marks a range used; returns false (changing nothing) if any block is outside the area or already used. */
  claim(pblk: number, len: number): boolean {
    if (pblk < this.firstBlock || pblk + len > this.totalBlocks || len <= 0) return false;
    for (let b = pblk; b < pblk + len; b++) if (this.isUsed(b)) return false;
    for (let b = pblk; b < pblk + len; b++) this.setBit(b);
    this.freeBlocks -= len;
    return true;
  }

  free(range: PhysRange): void {
    for (let b = range.pblk; b < range.pblk + range.len; b++) {
      if (!this.isUsed(b) || b < this.firstBlock) throw new RangeError(`allocator: double free of block ${b}`);
      this.clearBit(b);
    }
    this.freeBlocks += range.len;
  }

  /** First block of a free run of at least `count` blocks, or null. */
  findFreeRun(count: number): number | null {
    let runStart = -1;
    for (let b = this.firstBlock; b < this.totalBlocks; b++) {
      if ((b & 7) === 0 && this.bits[b >>> 3] === 0xff) {
        runStart = -1;
        b += 7;
        continue;
      }
      if (this.isUsed(b)) runStart = -1;
      else {
        if (runStart < 0) runStart = b;
        if (b - runStart + 1 >= count) return runStart;
      }
    }
    return null;
  }

  /**
   * Allocates up to `count` contiguous blocks, searching from `goal` and wrapping
   * around. Throws ENOSPC when no block is free.
   */
  allocate(count: number, goal: number): PhysRange {
    if (this.freeBlocks === 0) throw new FsError(ENOSPC, `no free blocks left (${this.totalBlocks - this.firstBlock} data blocks in use)`);
    let start = goal >= this.firstBlock && goal < this.totalBlocks ? goal : this.firstBlock;
    const span = this.totalBlocks - this.firstBlock;
    let scanned = 0;
    let b = start;
    while (scanned < span) {
      // Skip full bytes quickly.
      if ((b & 7) === 0 && this.bits[b >>> 3] === 0xff && b + 8 <= this.totalBlocks) {
        b += 8;
        scanned += 8;
      } else if (this.isUsed(b)) {
        b++;
        scanned++;
      } else {
        let len = 0;
        while (len < count && b + len < this.totalBlocks && !this.isUsed(b + len)) len++;
        this.claim(b, len);
        return { pblk: b, len };
      }
      if (b >= this.totalBlocks) {
        b = this.firstBlock;
        start = b;
      }
    }
    throw new FsError(ENOSPC, 'no free blocks left');
  }
}
