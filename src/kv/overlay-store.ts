// The device's backing store for an image that holds computed BPF-KV files:
// the image file everywhere, except on the physical blocks of a computed file,
// whose bytes come from a ComputedKvStore (nothing is stored). So a 6-layer
// file (67 GiB) lives in a sparse image with only its metadata on disk, and
// every timed path (pread, io_uring, SPDK, XRP) reads it through the NVMe
// controller as if it had been written. Computed regions are read-only: a
// write there is a DeviceError, which the controller turns into an NVMe error.

import type { BackingStore } from '../device/backing-store.ts';
import { DeviceError } from '../device/errors.ts';
import type { ImageStore } from '../device/image-store.ts';
import type { Inode } from '../kernel/fs/fs.ts';
import { FS_BLOCK_BYTES } from '../kernel/fs/layout.ts';
import type { BlockSource } from '../base/block-source.ts';

/** Device bytes [deviceOffsetBytes, +lengthBytes) hold file bytes [fileOffsetBytes, +lengthBytes) of `source`. */
export interface ComputedRegion {
  readonly deviceOffsetBytes: number;
  readonly fileOffsetBytes: number;
  readonly lengthBytes: number;
  readonly source: BlockSource;
  /** for error messages */
  readonly name: string;
}

/** The regions of a file's written extents (unwritten extents and holes are not data). */
export function regionsOfInode(inode: Inode, source: BlockSource): ComputedRegion[] {
  return inode.extents
    .filter((e) => !e.unwritten)
    .map((e) => ({
      deviceOffsetBytes: e.pblk * FS_BLOCK_BYTES,
      fileOffsetBytes: e.lblk * FS_BLOCK_BYTES,
      lengthBytes: e.len * FS_BLOCK_BYTES,
      source,
      name: inode.name,
    }));
}

export class ComputedOverlayStore implements BackingStore {
  private readonly regions: ComputedRegion[];
  /** reads answered (at least partly) by a computed region */
  computedReads = 0;

  constructor(
    readonly base: ImageStore,
    regions: readonly ComputedRegion[],
  ) {
    this.regions = [...regions].sort((a, b) => a.deviceOffsetBytes - b.deviceOffsetBytes);
    this.regions.forEach((r, i) => {
      if (!Number.isSafeInteger(r.lengthBytes) || r.lengthBytes <= 0 || r.deviceOffsetBytes < 0 || r.deviceOffsetBytes + r.lengthBytes > base.sizeBytes) {
        throw new DeviceError(`computed region of '${r.name}' at device byte ${r.deviceOffsetBytes} (+${r.lengthBytes}) is outside image ${base.path}`);
      }
      const prev = this.regions[i - 1];
      if (prev !== undefined && prev.deviceOffsetBytes + prev.lengthBytes > r.deviceOffsetBytes) {
        throw new DeviceError(`computed regions of '${prev.name}' and '${r.name}' overlap at device byte ${r.deviceOffsetBytes}`);
      }
    });
  }

  get sizeBytes(): number {
    return this.base.sizeBytes;
  }

  get regionCount(): number {
    return this.regions.length;
  }

  /** Index of the last region starting at or before `offsetBytes`, or -1. */
  private regionAtOrBefore(offsetBytes: number): number {
    let lo = 0;
    let hi = this.regions.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.regions[mid]?.deviceOffsetBytes ?? Infinity) <= offsetBytes) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  read(offsetBytes: number, dst: Uint8Array, dstOffset: number, length: number): void {
    if (!Number.isSafeInteger(offsetBytes) || !Number.isSafeInteger(length) || offsetBytes < 0 || length < 0 || offsetBytes + length > this.sizeBytes) {
      throw new DeviceError(`read of ${length} bytes at ${offsetBytes} is outside image ${this.base.path} (${this.sizeBytes} bytes)`);
    }
    let pos = offsetBytes;
    const end = offsetBytes + length;
    let computed = false;
    while (pos < end) {
      const i = this.regionAtOrBefore(pos);
      const r = this.regions[i];
      const at = dstOffset + (pos - offsetBytes);
      if (r !== undefined && pos < r.deviceOffsetBytes + r.lengthBytes) {
        const n = Math.min(end, r.deviceOffsetBytes + r.lengthBytes) - pos;
        const out = dst.subarray(at, at + n);
        const got = r.source.pread(out, r.fileOffsetBytes + (pos - r.deviceOffsetBytes));
        // Past the end of the computed file (the tail of its last 4 KiB block) reads as zeros, as a written file's would.
        if (got < n) out.fill(0, got);
        computed = true;
        pos += n;
      } else {
        const next = this.regions[i + 1];
        const n = Math.min(end, next === undefined ? end : next.deviceOffsetBytes) - pos;
        this.base.read(pos, dst, at, n);
        pos += n;
      }
    }
    if (computed) this.computedReads++;
  }

  write(offsetBytes: number, src: Uint8Array, srcOffset: number, length: number): void {
    const i = this.regionAtOrBefore(offsetBytes + Math.max(0, length - 1));
    for (let k = i; k >= 0; k--) {
      const r = this.regions[k];
      if (r === undefined || r.deviceOffsetBytes + r.lengthBytes <= offsetBytes) break;
      throw new DeviceError(`write of ${length} bytes at device byte ${offsetBytes} hits the computed, read-only file '${r.name}'`);
    }
    this.base.write(offsetBytes, src, srcOffset, length);
  }
}
