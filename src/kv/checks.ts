// The structural checks of a BPF-KV walk, one definition for every mode and
// engine. The user-space walks (lookups.ts, user-ops.ts) call the checks
// below on each block; the storage functions make the same checks inside the
// walk (bpf/kv/kv.h: a pointer without FILE_MASK, a value crossing a block)
// and the XRP contract makes the rest before each read (OUT_OF_FILE,
// MISALIGNED, CYCLE); structureErrorOfChain() turns what a chain ended with
// into the same error the user-space walk throws, so every engine answers a
// corrupt file with the same check, offset and key.
//
// The rules, in the order a walk meets them:
//   ROOT_TYPE      the file's size names its depth; the root is a leaf iff it has one layer
//   NODE_TYPE      a node's type is 0 (internal) or 1 (leaf), and a leaf's next is a leaf
//   POINTER_MASK   a pointer followed has FILE_MASK (bit 63)
//   POINTER_ALIGN  a node pointer is a multiple of 512
//   VALUE_BLOCK    a value's 64 bytes lie inside one 512-byte block
//   POINTER_RANGE  the block read lies inside the file
//   CYCLE          a lookup does not visit a node twice (nor a range walk a leaf)

import { XrpError } from '../base/errors.ts';
import { XrpStatus, type XrpStatusCode } from '../xrp/status.ts';
import { BLOCK_BYTES, kvGeometry, LAYERS_MAX, LAYERS_MIN, NODE_TYPE_OFFSET, VALUE_BYTES } from './format.ts';

export type KvCheck = 'ROOT_TYPE' | 'NODE_TYPE' | 'POINTER_MASK' | 'POINTER_ALIGN' | 'VALUE_BLOCK' | 'POINTER_RANGE' | 'CYCLE' | 'FILE_SIZE';

/** A BPF-KV file that breaks one of the rules: names the rule, the file, the offset and the key. */
export class KvStructureError extends XrpError {
  constructor(
    readonly check: KvCheck,
    readonly file: string,
    /** the node (or value block) at fault */
    readonly offsetBytes: number,
    /** the key being looked up (or the range's begin), when there is one */
    readonly key: bigint | null,
    what: string,
  ) {
    super('KV_STRUCTURE', `${file}: ${what}${key === null ? '' : ` (key ${key})`} [${check}]`);
  }
}

/** What a walk knows about where it is: the file's name and size, and the key. */
export interface KvWalkPlace {
  readonly file: string;
  readonly fileBytes: number;
  readonly key: bigint | null;
}

const TWO_32 = 0x1_0000_0000;
/** kv.h's return values for the checks the storage functions make. */
export const KV_ERR_BAD_NODE = 1n;
export const KV_ERR_BAD_PTR = 4n;
export const KV_ERR_VALUE_BLOCK = 5n;

function u32(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>> 0;
}

/** The depth of a BPF-KV file of `fileBytes` (FILE_SIZE when no depth has that size: a truncated or extended file). */
export function kvLayersOfSize(file: string, fileBytes: number): number {
  for (let l = LAYERS_MIN; l <= LAYERS_MAX; l++) if (kvGeometry(l).fileBytes === fileBytes) return l;
  throw new KvStructureError('FILE_SIZE', file, fileBytes, null, `${fileBytes} bytes is not the size of a BPF-KV file of ${LAYERS_MIN}..${LAYERS_MAX} layers`);
}

/** The depth a file of `fileBytes` has, and its root's type must be that depth's (ROOT_TYPE, FILE_SIZE). */
export function checkRoot(file: string, fileBytes: number, root: Uint8Array): number {
  const layers = kvLayersOfSize(file, fileBytes);
  const hi = u32(root, NODE_TYPE_OFFSET + 4);
  const lo = u32(root, NODE_TYPE_OFFSET);
  const expected = layers === 1 ? 1 : 0;
  if (hi !== 0 || lo !== expected) {
    throw new KvStructureError('ROOT_TYPE', file, 0, null, `the root node has type ${hi * TWO_32 + lo}, expected ${expected} for ${layers} layer(s)`);
  }
  return layers;
}

/** The type of the node at `offsetBytes` (0 internal, 1 leaf), or NODE_TYPE. */
export function nodeTypeOf(place: KvWalkPlace, block: Uint8Array, offsetBytes: number): 0 | 1 {
  const hi = u32(block, NODE_TYPE_OFFSET + 4);
  const lo = u32(block, NODE_TYPE_OFFSET);
  if (hi !== 0 || lo > 1) throw nodeTypeError(place, offsetBytes);
  return lo === 1 ? 1 : 0;
}

// (the storage functions report the offset, not the type: the message names what every engine knows)
function nodeTypeError(place: KvWalkPlace, offsetBytes: number): KvStructureError {
  return new KvStructureError('NODE_TYPE', place.file, offsetBytes, place.key, `the node at offset ${offsetBytes} does not have the type its place in the walk needs (0 internal, 1 leaf; a leaf's next is a leaf)`);
}

/** The pointer field at `at` of the node at `holderOffset` as a file offset (POINTER_MASK). */
function pointerOf(place: KvWalkPlace, block: Uint8Array, at: number, holderOffset: number): number {
  const hi = u32(block, at + 4);
  if ((hi & 0x8000_0000) === 0) throw maskError(place, holderOffset);
  const high = hi & 0x7fff_ffff;
  // 2^53 and above cannot be an offset: past any file (as the contract reads such a next_addr)
  return high >= 1 << 21 ? Number.POSITIVE_INFINITY : high * TWO_32 + u32(block, at);
}

function maskError(place: KvWalkPlace, holderOffset: number): KvStructureError {
  return new KvStructureError('POINTER_MASK', place.file, holderOffset, place.key, `the node at offset ${holderOffset} has a pointer without FILE_MASK`);
}

function rangeError(place: KvWalkPlace, offsetBytes: number): KvStructureError {
  const at = Number.isFinite(offsetBytes) ? `offset ${offsetBytes}` : 'an offset of 2^53 or more';
  return new KvStructureError('POINTER_RANGE', place.file, offsetBytes, place.key, `a pointer to ${at} is past the end of the file (${place.fileBytes} bytes)`);
}

function alignError(place: KvWalkPlace, offsetBytes: number): KvStructureError {
  return new KvStructureError('POINTER_ALIGN', place.file, offsetBytes, place.key, `a node pointer to offset ${offsetBytes} is not a multiple of ${BLOCK_BYTES}`);
}

/** `offset` as the place of a node: on a block boundary (POINTER_ALIGN) and inside the file (POINTER_RANGE). */
function nodeOffset(place: KvWalkPlace, offset: number): number {
  if (Number.isFinite(offset) && offset % BLOCK_BYTES !== 0) throw alignError(place, offset);
  if (offset >= place.fileBytes) throw rangeError(place, offset);
  return offset;
}

/** The node the pointer at `at` of node `holderOffset` points to (POINTER_MASK, POINTER_ALIGN, POINTER_RANGE). */
export function nodePointer(place: KvWalkPlace, block: Uint8Array, at: number, holderOffset: number): number {
  return nodeOffset(place, pointerOf(place, block, at, holderOffset));
}

/** The value the pointer at `at` of leaf `leafOffset` points to (POINTER_MASK, VALUE_BLOCK, POINTER_RANGE). */
export function valuePointer(place: KvWalkPlace, block: Uint8Array, at: number, leafOffset: number): number {
  const offset = pointerOf(place, block, at, leafOffset);
  const within = u32(block, at) % BLOCK_BYTES;
  if (within + VALUE_BYTES > BLOCK_BYTES) throw valueBlockError(place, leafOffset);
  const base = offset - within;
  if (base >= place.fileBytes) throw rangeError(place, base);
  return offset;
}

function valueBlockError(place: KvWalkPlace, leafOffset: number): KvStructureError {
  return new KvStructureError('VALUE_BLOCK', place.file, leafOffset, place.key, `the leaf at offset ${leafOffset} has a value pointer whose ${VALUE_BYTES} bytes cross a ${BLOCK_BYTES}-byte block`);
}

function cycleError(place: KvWalkPlace, offsetBytes: number): KvStructureError {
  return new KvStructureError('CYCLE', place.file, offsetBytes, place.key, `the walk came back to offset ${offsetBytes}: the index has a cycle`);
}

/** The offsets one lookup has visited: a second visit is CYCLE. */
export class KvVisited {
  private readonly offsets = new Set<number>();
  constructor(private readonly place: KvWalkPlace) {}
  visit(offsetBytes: number): void {
    if (this.offsets.has(offsetBytes)) throw cycleError(this.place, offsetBytes);
    this.offsets.add(offsetBytes);
  }
}

/** The next leaf of a range walk is a leaf (NODE_TYPE otherwise). */
export function leafTypeError(place: KvWalkPlace, offsetBytes: number): KvStructureError {
  return nodeTypeError(place, offsetBytes);
}

/** The leaf after the leaf at `leafOffset` (its next field, without FILE_MASK; 0 is the end): POINTER_ALIGN, POINTER_RANGE. */
export function nextLeafPointer(place: KvWalkPlace, block: Uint8Array, at: number): number {
  const hi = u32(block, at + 4);
  const offset = hi >= 1 << 21 ? Number.POSITIVE_INFINITY : hi * TWO_32 + u32(block, at);
  return offset === 0 ? 0 : nodeOffset(place, offset);
}

/**
 * The error a storage-function chain's end stands for, or null when the end
 * is not a structural one. `offsetBytes` is where the chain stopped (the read
 * not done, or the block the program returned an error on); `holderOffset`,
 * when the program keeps it, the node whose pointer it was following (kv_range
 * checks a leaf's value pointers while it runs on the previous value's block,
 * and keeps the leaf's offset in _resume_from_leaf).
 */
export function structureErrorOfChain(place: KvWalkPlace, status: XrpStatusCode, offsetBytes: number, progRet: bigint, holderOffset = offsetBytes): KvStructureError | null {
  switch (status) {
    case XrpStatus.CYCLE:
      return cycleError(place, offsetBytes);
    case XrpStatus.OUT_OF_FILE:
      return rangeError(place, offsetBytes);
    case XrpStatus.MISALIGNED:
      return alignError(place, offsetBytes);
    case XrpStatus.PROG_ERROR:
      if (progRet === KV_ERR_BAD_NODE) return nodeTypeError(place, offsetBytes);
      if (progRet === KV_ERR_BAD_PTR) return maskError(place, holderOffset);
      if (progRet === KV_ERR_VALUE_BLOCK) return valueBlockError(place, holderOffset);
      return null;
    default:
      return null;
  }
}
