// A dense BPF-KV file computed on demand: any byte range of a file of L layers
// (L = 6 is 68 GiB) without storing it, so deep-tree experiments run with
// bounded disk. It uses the closed form of the builder's loop:
//   global node g (breadth first) in layer i, index j within the layer:
//     next   = (g + 1) * 512, or 0 for the layer's last node
//     key[k] = j * extent + k * (extent / 31),   extent = 31^L / 31^i
//     ptr[k] = FILE_MASK | (1 + 31g + k) * 512                        (internal)
//            = FILE_MASK | (totalNodes * 512 + (31j + k) * 64)        (leaf)
//   value slot n at totalNodes * 512 + 64n holds valueForSlot(n) as "%63lu".
// test/kv/computed-store.test.ts checks it against builder.ts byte for byte.

import type { BlockSource } from '../base/block-source.ts';
import { KvReadError } from '../base/block-source.ts';
import {
  BLOCK_BYTES,
  FANOUT,
  kvGeometry,
  NODE_CAPACITY,
  NODE_KEYS_OFFSET,
  NODE_PTRS_OFFSET,
  VALUE_BYTES,
  VALUES_PER_BLOCK,
  writeValue,
  type KvGeometry,
} from './format.ts';

const TWO_POW_32 = 0x1_0000_0000;

function putU64(view: DataView, at: number, value: number, fileMask: boolean): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, (Math.floor(value / TWO_POW_32) | (fileMask ? 0x8000_0000 : 0)) >>> 0, true);
}

export interface ComputedStoreOptions {
  /** the number stored in value slot n (default n), as BuildOptions.valueForSlot */
  valueForSlot?: (slot: number) => number | bigint;
}

export class ComputedKvStore implements BlockSource {
  readonly geometry: KvGeometry;
  readonly sizeBytes: number;
  private readonly valueForSlot: (slot: number) => number | bigint;
  private readonly block = new Uint8Array(BLOCK_BYTES);
  private readonly blockView = new DataView(this.block.buffer);
  /** blocks computed so far (for figures: a lookup computes L + 1) */
  blocksComputed = 0;

  constructor(layers: number, options: ComputedStoreOptions = {}) {
    this.geometry = kvGeometry(layers);
    this.sizeBytes = this.geometry.fileBytes;
    this.valueForSlot = options.valueForSlot ?? ((slot: number) => slot);
  }

  /** Computes the 512-byte block with index `blockIndex` into `out` at `outOffset`. */
  computeBlock(blockIndex: number, out: Uint8Array, outOffset = 0): void {
    const g = this.geometry;
    if (!Number.isSafeInteger(blockIndex) || blockIndex < 0 || blockIndex * BLOCK_BYTES >= g.fileBytes) {
      throw new KvReadError(`block ${String(blockIndex)} is outside the ${g.fileBytes}-byte file`);
    }
    this.blocksComputed++;
    if (blockIndex >= g.totalNodes) {
      const firstSlot = (blockIndex - g.totalNodes) * VALUES_PER_BLOCK;
      for (let j = 0; j < VALUES_PER_BLOCK; j++) writeValue(out, outOffset + j * VALUE_BYTES, this.valueForSlot(firstSlot + j));
      return;
    }
    let layer = g.layers - 1;
    // layer 0 starts at block 0: the search ends there at the latest
    while (layer > 0 && (g.layerFirstNode[layer] ?? 0) > blockIndex) layer--;
    const j = blockIndex - (g.layerFirstNode[layer] ?? 0);
    const leaf = layer === g.layers - 1;
    const nodes = g.layerNodes[layer] ?? 1;
    const extent = g.keyCount / nodes;
    const sub = extent / NODE_CAPACITY;
    const view = out === this.block ? this.blockView : new DataView(out.buffer, out.byteOffset + outOffset, BLOCK_BYTES);
    const at = out === this.block ? outOffset : 0;
    putU64(view, at, j === nodes - 1 ? 0 : (blockIndex + 1) * BLOCK_BYTES, false);
    putU64(view, at + 8, leaf ? 1 : 0, false);
    for (let k = 0; k < NODE_CAPACITY; k++) {
      putU64(view, at + NODE_KEYS_OFFSET + k * 8, j * extent + k * sub, false);
      const target = leaf
        ? g.totalNodes * BLOCK_BYTES + (FANOUT * j + k) * VALUE_BYTES
        : (1 + FANOUT * blockIndex + k) * BLOCK_BYTES;
      putU64(view, at + NODE_PTRS_OFFSET + k * 8, target, true);
    }
  }

  /** Any byte range, like pread: short at the end of the file. */
  pread(out: Uint8Array, offsetBytes: number): number {
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0) throw new KvReadError(`invalid read offset ${String(offsetBytes)}`);
    const end = Math.min(offsetBytes + out.length, this.sizeBytes);
    let pos = offsetBytes;
    while (pos < end) {
      const blockIndex = Math.floor(pos / BLOCK_BYTES);
      const inBlock = pos - blockIndex * BLOCK_BYTES;
      const n = Math.min(BLOCK_BYTES - inBlock, end - pos);
      if (inBlock === 0 && n === BLOCK_BYTES) {
        this.computeBlock(blockIndex, out, pos - offsetBytes);
      } else {
        this.computeBlock(blockIndex, this.block, 0);
        out.set(this.block.subarray(inBlock, inBlock + n), pos - offsetBytes);
      }
      pos += n;
    }
    return Math.max(0, end - offsetBytes);
  }
}
