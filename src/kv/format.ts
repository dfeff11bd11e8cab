// The BPF-KV on-disk format of the original XRP artifact (db_types.h, create.c),
// byte for byte:
//
//   | node 0 (root) | layer 1 nodes | ... | leaf layer | value log |
//
// - Nodes are 512 bytes: { u64 next @0; u64 type @8; u64 key[31] @16; u64 ptr[31] @264 },
//   little-endian, written layer by layer (breadth first), root at offset 0.
// - Pointers are file offsets with bit 63 set (FILE_MASK).
// - The value log starts at totalNodes * 512; the value of key n sits at
//   totalNodes * 512 + n * 64 and holds n printed as "%63lu" plus a NUL.
// - The log is written in 512-byte blocks of 8 values (`struct Log`), so when
//   31^L is not a multiple of 8 the last block also holds the values of the
//   keys 31^L .. (next multiple of 8) - 1, printed the same way (no key points
//   at them). The file size is therefore totalNodes * 512 + ceil(31^L / 8) * 512.

import { XrpError } from '../base/errors.ts';

export const BLOCK_BYTES = 512;
export const NODE_BYTES = 512;
export const FANOUT = 31;
/** NODE_CAPACITY = (512 - 2 * 8) / (8 + 8) */
export const NODE_CAPACITY = 31;
export const VALUE_BYTES = 64;
/** LOG_CAPACITY: values per 512-byte log block */
export const VALUES_PER_BLOCK = 8;
export const NODE_TYPE_INTERNAL = 0n;
export const NODE_TYPE_LEAF = 1n;
export const FILE_MASK = 1n << 63n;
export const ROOT_NODE_OFFSET = 0;
export const LAYERS_MIN = 1;
export const LAYERS_MAX = 6;

export const NODE_NEXT_OFFSET = 0;
export const NODE_TYPE_OFFSET = 8;
export const NODE_KEYS_OFFSET = 16;
export const NODE_PTRS_OFFSET = 264;
/** digits of a value: "%63lu" right-aligns in 63 characters, then a NUL */
export const VALUE_DIGITS_WIDTH = 63;

export class KvFormatError extends XrpError {
  constructor(message: string) {
    super('KV_FORMAT', message);
  }
}

/** The geometry of a dense BPF-KV file of `layers` layers. All figures are exact safe integers. */
export interface KvGeometry {
  readonly layers: number;
  /** 31^layers: keys are 0 .. keyCount - 1 (the original's max_key, one past the last key) */
  readonly keyCount: number;
  /** nodes per layer, root first: 31^i */
  readonly layerNodes: readonly number[];
  /** global index of each layer's first node */
  readonly layerFirstNode: readonly number[];
  readonly totalNodes: number;
  readonly indexBytes: number;
  /** offset of the value log: totalNodes * 512 */
  readonly logOffsetBytes: number;
  /** values written: keyCount rounded up to a multiple of 8 */
  readonly valueSlots: number;
  readonly fileBytes: number;
}

export function checkLayers(layers: number): void {
  if (!Number.isInteger(layers) || layers < LAYERS_MIN || layers > LAYERS_MAX) {
    throw new KvFormatError(`layers must be an integer from ${LAYERS_MIN} to ${LAYERS_MAX}, got ${String(layers)}`);
  }
}

export function kvGeometry(layers: number): KvGeometry {
  checkLayers(layers);
  const layerNodes: number[] = [];
  const layerFirstNode: number[] = [];
  let totalNodes = 0;
  for (let i = 0; i < layers; i++) {
    layerFirstNode.push(totalNodes);
    const nodes = FANOUT ** i;
    layerNodes.push(nodes);
    totalNodes += nodes;
  }
  const keyCount = FANOUT ** layers;
  const valueSlots = Math.ceil(keyCount / VALUES_PER_BLOCK) * VALUES_PER_BLOCK;
  const indexBytes = totalNodes * NODE_BYTES;
  return {
    layers,
    keyCount,
    layerNodes,
    layerFirstNode,
    totalNodes,
    indexBytes,
    logOffsetBytes: indexBytes,
    valueSlots,
    fileBytes: indexBytes + valueSlots * VALUE_BYTES,
  };
}

export const decodePtr = (ptr: bigint): bigint => ptr & ~FILE_MASK;
export const isFileOffset = (ptr: bigint): boolean => (ptr & FILE_MASK) !== 0n;

/** A decoded node. */
export interface KvNode {
  next: bigint;
  type: bigint;
  keys: bigint[];
  ptrs: bigint[];
}

export function decodeNode(block: Uint8Array, offsetBytes = 0): KvNode {
  if (offsetBytes < 0 || offsetBytes + NODE_BYTES > block.length) {
    throw new KvFormatError(`a node needs ${NODE_BYTES} bytes at offset ${offsetBytes}, the buffer has ${block.length}`);
  }
  const view = new DataView(block.buffer, block.byteOffset + offsetBytes, NODE_BYTES);
  const keys: bigint[] = [];
  const ptrs: bigint[] = [];
  for (let k = 0; k < NODE_CAPACITY; k++) {
    keys.push(view.getBigUint64(NODE_KEYS_OFFSET + k * 8, true));
    ptrs.push(view.getBigUint64(NODE_PTRS_OFFSET + k * 8, true));
  }
  return { next: view.getBigUint64(NODE_NEXT_OFFSET, true), type: view.getBigUint64(NODE_TYPE_OFFSET, true), keys, ptrs };
}

/** Writes `value` as C's sprintf("%63lu", value) does, plus the NUL: 64 bytes at `offsetBytes`. */
export function writeValue(out: Uint8Array, offsetBytes: number, value: number | bigint): void {
  const digits = value.toString();
  if (digits.length > VALUE_DIGITS_WIDTH || digits.startsWith('-')) {
    throw new KvFormatError(`value ${digits} does not fit "%63lu"`);
  }
  const pad = VALUE_DIGITS_WIDTH - digits.length;
  out.fill(0x20, offsetBytes, offsetBytes + pad);
  for (let i = 0; i < digits.length; i++) out[offsetBytes + pad + i] = digits.charCodeAt(i);
  out[offsetBytes + VALUE_DIGITS_WIDTH] = 0;
}

/** The 64 value bytes of `value`, as the builder writes them. */
export function formatValue(value: number | bigint): Uint8Array {
  const out = new Uint8Array(VALUE_BYTES);
  writeValue(out, 0, value);
  return out;
}

/** The text of a value: its bytes up to the first NUL, leading spaces trimmed (as the original's `get` prints it). */
export function valueText(value: Uint8Array): string {
  let end = value.indexOf(0);
  if (end < 0) end = value.length;
  let start = 0;
  while (start < end && value[start] === 0x20) start++;
  return String.fromCharCode(...value.subarray(start, end));
}

/**
 * The number a value holds, read as the storage functions read it: leading
 * spaces skipped, then decimal digits up to a NUL or the end of the 64 bytes.
 * Undefined when the value is not of that form (no digit, or another character).
 */
export function valueNumber(value: Uint8Array): bigint | undefined {
  let acc = 0n;
  let digits = 0;
  let i = 0;
  while (i < value.length && value[i] === 0x20) i++;
  for (; i < value.length; i++) {
    const c = value[i] ?? 0; // i < value.length
    if (c === 0) break;
    if (c < 0x30 || c > 0x39) return undefined;
    acc = (acc * 10n + BigInt(c - 0x30)) & 0xffff_ffff_ffff_ffffn;
    digits++;
  }
  return digits > 0 ? acc : undefined;
}
