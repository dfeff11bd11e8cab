// A file's logical-to-physical extent map, as ext4 keeps it in its extent tree:
// sorted, non-overlapping extents {lblk, len, pblk, unwritten} of 4 KiB blocks.
// Holes are simply absent. Adjacent extents that continue each other physically
// and have the same written state are merged, up to ext4's length limits.
// The functions here are pure over arrays (the file system owns the mutation
// policy); the maps are small, so an edit rebuilds the array.

import { at, InternalError } from '../../base/checked.ts';

/** ext4's longest initialized extent (EXT_INIT_MAX_LEN) and unwritten extent. */
export const EXTENT_MAX_BLOCKS = 32768;
export const UNWRITTEN_EXTENT_MAX_BLOCKS = 32767;

export interface Extent {
  /** First logical block (file offset / 4096). */
  lblk: number;
  /** Length in blocks (>= 1). */
  len: number;
  /** First physical block on the device (4 KiB units). */
  pblk: number;
  /** Allocated but never written (fallocate): reads return zeros. */
  unwritten: boolean;
}

/** A piece of physical space, as returned when extents are removed. */
export interface PhysRange {
  pblk: number;
  len: number;
}

/** Index of the extent containing `lblk`, or -1. Binary search. */
export function findExtent(extents: readonly Extent[], lblk: number): number {
  let lo = 0;
  let hi = extents.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const e = extents[mid];
    if (e === undefined) throw new InternalError(`extent search: index ${mid} outside 0..${extents.length - 1}`);
    if (lblk < e.lblk) hi = mid - 1;
    else if (lblk >= e.lblk + e.len) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** Index of the first extent ending after `lblk` (the one containing it, or the next). */
export function firstExtentFrom(extents: readonly Extent[], lblk: number): number {
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = extents[mid];
    if (e === undefined) throw new InternalError(`extent search: index ${mid} outside 0..${extents.length - 1}`);
    if (e.lblk + e.len <= lblk) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function maxLen(unwritten: boolean): number {
  return unwritten ? UNWRITTEN_EXTENT_MAX_BLOCKS : EXTENT_MAX_BLOCKS;
}

/** Merges physically contiguous neighbours of the same state, in place; returns the array. */
export function normalize(extents: Extent[]): Extent[] {
  const out: Extent[] = [];
  for (const e of extents) {
    const last = out[out.length - 1];
    if (
      last !== undefined &&
      last.unwritten === e.unwritten &&
      last.lblk + last.len === e.lblk &&
      last.pblk + last.len === e.pblk &&
      last.len + e.len <= maxLen(e.unwritten)
    ) {
      last.len += e.len;
    } else {
      out.push({ ...e });
    }
  }
  return out;
}

/**
 * Removes the mapping of logical blocks [lblk, lblk+count) and returns the new
 * extent array and the physical space that was mapped there.
 */
export function removeRange(extents: readonly Extent[], lblk: number, count: number): { extents: Extent[]; removed: PhysRange[] } {
  const end = lblk + count;
  const out: Extent[] = [];
  const removed: PhysRange[] = [];
  for (const e of extents) {
    const eEnd = e.lblk + e.len;
    if (eEnd <= lblk || e.lblk >= end) {
      out.push({ ...e });
      continue;
    }
    if (e.lblk < lblk) out.push({ lblk: e.lblk, len: lblk - e.lblk, pblk: e.pblk, unwritten: e.unwritten });
    const cutStart = Math.max(e.lblk, lblk);
    const cutEnd = Math.min(eEnd, end);
    removed.push({ pblk: e.pblk + (cutStart - e.lblk), len: cutEnd - cutStart });
    if (eEnd > end) out.push({ lblk: end, len: eEnd - end, pblk: e.pblk + (end - e.lblk), unwritten: e.unwritten });
  }
  return { extents: out, removed };
}

/** Inserts new extents (which must cover only unmapped blocks) and normalizes. */
export function insertExtents(extents: readonly Extent[], added: readonly Extent[]): Extent[] {
  const all = [...extents.map((e) => ({ ...e })), ...added.map((e) => ({ ...e }))];
  all.sort((a, b) => a.lblk - b.lblk);
  let p: Extent | undefined;
  for (const e of all) {
    if (p !== undefined && p.lblk + p.len > e.lblk) throw new RangeError(`extent insert overlaps at logical block ${e.lblk}`);
    p = e;
  }
  return normalize(all);
}

/** Marks [lblk, lblk+count) written (unwritten extents there are split and converted). */
export function markWritten(extents: readonly Extent[], lblk: number, count: number): Extent[] {
  const end = lblk + count;
  const out: Extent[] = [];
  for (const e of extents) {
    const eEnd = e.lblk + e.len;
    if (!e.unwritten || eEnd <= lblk || e.lblk >= end) {
      out.push({ ...e });
      continue;
    }
    const a = Math.max(e.lblk, lblk);
    const b = Math.min(eEnd, end);
    if (e.lblk < a) out.push({ lblk: e.lblk, len: a - e.lblk, pblk: e.pblk, unwritten: true });
    out.push({ lblk: a, len: b - a, pblk: e.pblk + (a - e.lblk), unwritten: false });
    if (eEnd > b) out.push({ lblk: b, len: eEnd - b, pblk: e.pblk + (b - e.lblk), unwritten: true });
  }
  return normalize(out);
}

/** Blocks mapped by the extents. */
export function totalBlocks(extents: readonly Extent[]): number {
  let n = 0;
  for (const e of extents) n += e.len;
  return n;
}

/** One piece of a logical range: mapped (pblk >= 0) or a hole (pblk = -1). */
export interface MapSegment {
  lblk: number;
  len: number;
  pblk: number;
  unwritten: boolean;
}

/** The mapping of [lblk, lblk+count) as consecutive segments (holes included). */
export function mapRange(extents: readonly Extent[], lblk: number, count: number): MapSegment[] {
  const out: MapSegment[] = [];
  const end = lblk + count;
  let pos = lblk;
  for (let i = firstExtentFrom(extents, lblk); i < extents.length && pos < end; i++) {
    const e = at(extents, i, 'extent');
    if (e.lblk >= end) break;
    if (e.lblk > pos) {
      out.push({ lblk: pos, len: e.lblk - pos, pblk: -1, unwritten: false });
      pos = e.lblk;
    }
    const segEnd = Math.min(e.lblk + e.len, end);
    out.push({ lblk: pos, len: segEnd - pos, pblk: e.pblk + (pos - e.lblk), unwritten: e.unwritten });
    pos = segEnd;
  }
  if (pos < end) out.push({ lblk: pos, len: end - pos, pblk: -1, unwritten: false });
  return out;
}
