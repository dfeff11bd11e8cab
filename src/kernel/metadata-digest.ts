// The metadata digest (XRP paper section 4.2): the file system's per-inode
// extent maps, versioned and published for the NVMe driver, which translates a
// storage function's next file offset into a device address on every
// resubmission without entering the file system.
//
// As in the original (an RB-tree rebuilt and published with RCU), each update
// builds a NEW immutable map and swaps the pointer: a reader holding a map sees
// one consistent version for as long as it keeps it. The new map's version is
// the old one plus one; an extent that is unchanged (same logical range,
// physical block and written state) keeps the version it had, so an in-flight
// chain whose extent did not move is not disturbed by changes elsewhere in the
// file.

import { FS_BLOCK_BYTES } from './fs/layout.ts';
import type { Extent } from './fs/extent-map.ts';
import { findExtent } from './fs/extent-map.ts';

export interface DigestExtent {
  readonly lblk: number;
  readonly len: number;
  readonly pblk: number;
  readonly unwritten: boolean;
  readonly version: number;
}

/** Result of lookup_mapping: `address` is the device byte address of `offset`. */
export interface Mapping {
  /** True when the offset is in a written extent inside the file. */
  readonly exist: boolean;
  /** The requested file offset. */
  readonly offset: number;
  /** Bytes from `offset` that the extent covers, at most the requested length. */
  readonly len: number;
  /** Device byte address (pblk * 4096 + offset within the block range). */
  readonly address: number;
  /** Version of the extent found (of the whole map when none). */
  readonly version: number;
}

/** One published version of an inode's extent map. Immutable. */
export class ExtentMapVersion {
  constructor(
    readonly ino: number,
    readonly version: number,
    readonly sizeBytes: number,
    readonly extents: readonly DigestExtent[],
  ) {
    Object.freeze(this.extents);
    Object.freeze(this);
  }

  lookup(offsetBytes: number, lenBytes: number): Mapping {
    const none: Mapping = { exist: false, offset: offsetBytes, len: 0, address: 0, version: this.version };
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || offsetBytes >= this.sizeBytes) return none;
    if (!Number.isSafeInteger(lenBytes) || lenBytes <= 0) return none;
    const lblk = Math.floor(offsetBytes / FS_BLOCK_BYTES);
    const e = this.extents[findExtent(this.extents as readonly Extent[], lblk)];
    if (e === undefined) return none;
    if (e.unwritten) return { exist: false, offset: offsetBytes, len: 0, address: 0, version: e.version };
    const extentEndBytes = (e.lblk + e.len) * FS_BLOCK_BYTES;
    const len = Math.min(lenBytes, extentEndBytes - offsetBytes);
    const address = e.pblk * FS_BLOCK_BYTES + (offsetBytes - e.lblk * FS_BLOCK_BYTES);
    return { exist: true, offset: offsetBytes, len, address, version: e.version };
  }
}

export class MetadataDigest {
  private readonly maps = new Map<number, ExtentMapVersion>();
  /** Number of updateMapping calls (each publishes one new version). */
  updates = 0;

  /** The published map of `ino` (a consistent snapshot), or null for an unknown inode. */
  current(ino: number): ExtentMapVersion | null {
    return this.maps.get(ino) ?? null;
  }

  /** lookup_mapping(inode, offset, len) against the current published version. */
  lookupMapping(ino: number, offsetBytes: number, lenBytes: number): Mapping {
    const map = this.maps.get(ino);
    if (map === undefined) return { exist: false, offset: offsetBytes, len: 0, address: 0, version: 0 };
    return map.lookup(offsetBytes, lenBytes);
  }

  /**
   * update_mapping(inode): publishes a new version built from the inode's
   * current extents and size. Called by the file system on every extent change.
   */
  updateMapping(inode: { readonly ino: number; readonly sizeBytes: number; readonly extents: readonly Extent[] }): ExtentMapVersion {
    const old = this.maps.get(inode.ino);
    const version = old === undefined ? 1 : old.version + 1;
    const oldExtents = old?.extents ?? [];
    const out: DigestExtent[] = [];
    let j = 0;
    for (const e of inode.extents) {
      // Both lists are sorted by lblk: walk the old one alongside.
      let next = oldExtents[j];
      while (next !== undefined && next.lblk < e.lblk) next = oldExtents[++j];
      const o = next;
      const same = o !== undefined && o.lblk === e.lblk && o.len === e.len && o.pblk === e.pblk && o.unwritten === e.unwritten;
      out.push({ lblk: e.lblk, len: e.len, pblk: e.pblk, unwritten: e.unwritten, version: same ? o.version : version });
    }
    const map = new ExtentMapVersion(inode.ino, version, inode.sizeBytes, out.map((x) => Object.freeze(x)));
    this.maps.set(inode.ino, map);
    this.updates++;
    return map;
  }

  /** Drops an inode's map (file deleted). */
  remove(ino: number): void {
    this.maps.delete(ino);
  }
}
