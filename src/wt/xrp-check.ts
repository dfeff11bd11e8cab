// The scratch page of the B+-tree lookup (struct WtQuery of bpf/wt/wt.h) and
// the user-space check of what a storage-function walk returns.
//
// The storage function checks every page's structure but cannot afford a
// checksum; so before an answer is used the leaf it ended on (in the data
// buffer) is decoded with its checksum, against the cookie its parent gave
// (the storage function records it), and the key must lie between the leaf's
// fence keys: a walk misled by a corrupt internal page, or a leaf from another
// checkpoint, is redone in user space, where every page's checksum is checked.

import { WtError } from './errors.ts';
import { compareKeys, decodePage, KEY_MAX_BYTES, PAGE_BYTES } from './format.ts';
import type { XrpWalkOutcome } from './io.ts';
import { at as itemAt } from '../base/checked.ts';

export const WT_QUERY_MAGIC = 0x51505457;
export const WT_QUERY_BYTES = 192;
const KEY_AT = 64;

/** Writes the query for a walk starting at `block`, a page of `level`. */
export function writeWtQuery(scratch: Uint8Array, key: Uint8Array, block: number, level: number): void {
  if (key.length === 0 || key.length > KEY_MAX_BYTES) throw new WtError('WT_KEY', `a key must be 1..${KEY_MAX_BYTES} bytes, got ${key.length}`);
  scratch.fill(0, 0, WT_QUERY_BYTES);
  const view = new DataView(scratch.buffer, scratch.byteOffset, WT_QUERY_BYTES);
  view.setUint32(0, WT_QUERY_MAGIC, true);
  view.setUint32(8, key.length, true);
  view.setUint32(12, level, true);
  view.setUint32(32, block, true);
  scratch.set(key, KEY_AT);
}

export interface WtQueryState {
  done: boolean;
  hops: number;
  found: boolean;
  valueOffset: number;
  valueBytes: number;
  /** the last block read and the checksum its parent named for it */
  block: number;
  checksum: number;
  error: number;
  errorOffset: number;
}

export function readWtQuery(scratch: Uint8Array): WtQueryState {
  const view = new DataView(scratch.buffer, scratch.byteOffset, WT_QUERY_BYTES);
  return {
    done: view.getUint32(4, true) !== 0,
    hops: view.getUint32(16, true),
    found: view.getUint32(20, true) !== 0,
    valueOffset: view.getUint32(24, true),
    valueBytes: view.getUint32(28, true),
    block: view.getUint32(32, true),
    checksum: view.getUint32(36, true),
    error: view.getUint32(40, true),
    errorOffset: view.getUint32(44, true),
  };
}

/**
 * The answer of a walk that reached a leaf, once checked (see above), or
 * undefined when the walk must be redone in user space. `cookie` is the
 * checksum the cached parent names when the walk started at the leaf itself.
 */
export function checkXrpLeaf(out: Extract<XrpWalkOutcome, { kind: 'leaf' }>, key: Uint8Array, cookie: number | undefined): { value: Uint8Array | null } | undefined {
  let leaf;
  try {
    leaf = decodePage(out.leaf, out.leafBlock, { checksum: cookie ?? out.leafChecksum, level: 0 });
  } catch {
    return undefined;
  }
  if (leaf.type !== 'leaf') return undefined;
  if (leaf.low !== null && compareKeys(key, leaf.low) < 0) return undefined;
  if (leaf.high !== null && compareKeys(key, leaf.high) >= 0) return undefined;
  // the storage function's answer must be the leaf's
  let lo = 0;
  let hi = leaf.keys.length - 1;
  let at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareKeys(itemAt(leaf.keys, mid, 'leaf key'), key);
    if (c === 0) {
      at = mid;
      break;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  if ((at >= 0) !== out.found) return undefined;
  if (at < 0) return { value: null };
  const value = itemAt(leaf.values, at, 'leaf value');
  if (out.valueBytes !== value.length || out.valueOffset + out.valueBytes > PAGE_BYTES) return undefined;
  const fromFn = out.leaf.subarray(out.valueOffset, out.valueOffset + out.valueBytes);
  if (!Buffer.from(fromFn).equals(Buffer.from(value))) return undefined;
  return { value };
}
