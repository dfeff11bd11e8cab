// Writes a BPF-KV file exactly as the original's `create` does (create.c's
// load()): the index nodes layer by layer with the running `next_pos` counter,
// then the value log in 512-byte blocks of eight "%63lu" values. The node
// loop below is deliberately the original's loop (not the closed formula of
// computed-store.ts), so that the two can check each other byte for byte.

import { closeSync, openSync, writeSync } from 'node:fs';
import {
  BLOCK_BYTES,
  FANOUT,
  KvFormatError,
  kvGeometry,
  NODE_BYTES,
  NODE_CAPACITY,
  NODE_KEYS_OFFSET,
  NODE_PTRS_OFFSET,
  VALUE_BYTES,
  VALUES_PER_BLOCK,
  writeValue,
  type KvGeometry,
} from './format.ts';

/** Where the builder writes: any positioned-write target (a file, an emulated file system's file, memory). */
export interface PositionedWriteSink {
  /** Write all of `data` at `offsetBytes`. The builder reuses `data` once the call (or its promise) returns. */
  write(offsetBytes: number, data: Uint8Array): void | Promise<void>;
}

export interface BuildOptions {
  layers: number;
  /**
   * The number stored for value slot n (default: n, as the original).
   * Tests use others (for example repeated values for distinct-set queries).
   */
  valueForSlot?: (slot: number) => number | bigint;
  /** bytes handed to the sink per write (a multiple of 512; default 1 MiB) */
  chunkBytes?: number;
}

export interface BuildSummary {
  readonly geometry: KvGeometry;
  readonly bytesWritten: number;
}

const TWO_POW_32 = 0x1_0000_0000;

/** Little-endian u64 from a safe integer, optionally with FILE_MASK (bit 63). */
function putU64(view: DataView, at: number, value: number, fileMask: boolean): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, (Math.floor(value / TWO_POW_32) | (fileMask ? 0x8000_0000 : 0)) >>> 0, true);
}

/** Builds a BPF-KV file into `sink`; resolves once every byte has been handed over. */
export async function buildKv(sink: PositionedWriteSink, options: BuildOptions): Promise<BuildSummary> {
  const geometry = kvGeometry(options.layers);
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  if (!Number.isInteger(chunkBytes) || chunkBytes < BLOCK_BYTES || chunkBytes % BLOCK_BYTES !== 0) {
    throw new KvFormatError(`chunkBytes must be a positive multiple of ${BLOCK_BYTES}, got ${String(chunkBytes)}`);
  }
  const valueForSlot = options.valueForSlot ?? ((slot: number) => slot);
  const chunk = new Uint8Array(chunkBytes);
  const view = new DataView(chunk.buffer);
  let used = 0;
  let written = 0;
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    const pending = sink.write(written, chunk.subarray(0, used));
    if (pending !== undefined) await pending;
    written += used;
    used = 0;
  };

  // 1. The index, as create.c: next_pos counts (node, k) pairs in write order from 1.
  const { layers, keyCount, layerNodes, totalNodes } = geometry;
  let nextPos = 1;
  let nextNodeOffset = 1;
  for (let i = 0; i < layers; i++) {
    const nodes = layerNodes[i] ?? 0; // kvGeometry lists every layer
    const extent = keyCount / nodes;
    const subExtent = extent / NODE_CAPACITY;
    const leaf = i === layers - 1;
    let startKey = 0;
    for (let j = 0; j < nodes; j++, nextNodeOffset++) {
      const at = used;
      putU64(view, at, j === nodes - 1 ? 0 : nextNodeOffset * NODE_BYTES, false);
      putU64(view, at + 8, leaf ? 1 : 0, false);
      for (let k = 0; k < NODE_CAPACITY; k++) {
        putU64(view, at + NODE_KEYS_OFFSET + k * 8, startKey + k * subExtent, false);
        const target = leaf ? totalNodes * BLOCK_BYTES + (nextPos - totalNodes) * VALUE_BYTES : nextPos * BLOCK_BYTES;
        putU64(view, at + NODE_PTRS_OFFSET + k * 8, target, true);
        nextPos++;
      }
      used += NODE_BYTES;
      if (used === chunkBytes) await flush();
      startKey += extent;
    }
  }
  if (nextPos !== totalNodes + keyCount || FANOUT !== NODE_CAPACITY) {
    throw new KvFormatError(`internal: next_pos ended at ${nextPos}, expected ${totalNodes + keyCount}`);
  }

  // 2. The value log: blocks of 8 values, for i = 0; i < max_key; i += 8 (so the last block may run past max_key).
  for (let i = 0; i < keyCount; i += VALUES_PER_BLOCK) {
    for (let j = 0; j < VALUES_PER_BLOCK; j++) writeValue(chunk, used + j * VALUE_BYTES, valueForSlot(i + j));
    used += BLOCK_BYTES;
    if (used === chunkBytes) await flush();
  }
  await flush();
  if (written !== geometry.fileBytes) {
    throw new KvFormatError(`internal: wrote ${written} bytes, expected ${geometry.fileBytes}`);
  }
  return { geometry, bytesWritten: written };
}

/** Builds a BPF-KV file at `path` (created or truncated). */
export async function buildKvFile(path: string, options: BuildOptions): Promise<BuildSummary> {
  const fd = openSync(path, 'w');
  try {
    return await buildKv(
      {
        write(offsetBytes, data) {
          let done = 0;
          while (done < data.length) done += writeSync(fd, data, done, data.length - done, offsetBytes + done);
        },
      },
      options,
    );
  } finally {
    closeSync(fd);
  }
}

/** Builds a BPF-KV file in memory (for small layer counts: 4 layers are 72 MB). */
export async function buildKvBytes(options: BuildOptions): Promise<Uint8Array> {
  const geometry = kvGeometry(options.layers);
  const out = new Uint8Array(geometry.fileBytes);
  await buildKv({ write: (offsetBytes, data) => void out.set(data, offsetBytes) }, options);
  return out;
}
