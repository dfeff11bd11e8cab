// Corrupted BPF-KV files and what every mode and engine answers on them: the
// corpus of the agreement test (test/kv/corrupt-agreement.test.ts) and of the
// fuzzer (scripts/fuzz.ts). A corruption changes the index of a well-formed
// file (cycles, zeroed nodes, wrong node types, pointers without FILE_MASK,
// out of range, misaligned or crossing a block, truncation) or how it lies
// on disk (holes in its extent map, unwritten extents, an extent map shorter
// than the file, fragmented extents: the emulated file system's image, and a
// sparse host file for the native engine and the reference); an outcome is
// the answer's text or the structural error's check, offset and key.

import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XrpError } from '../../src/base/errors.ts';
import { buildKvBytes } from '../../src/kv/builder.ts';
import { KvStructureError } from '../../src/kv/checks.ts';
import { BLOCK_BYTES, kvGeometry, NODE_BYTES, NODE_KEYS_OFFSET, NODE_PTRS_OFFSET, NODE_TYPE_OFFSET, valueText, type KvGeometry } from '../../src/kv/format.ts';
import { FileBlockSource } from '../../src/base/block-source.ts';
import { FS_BLOCK_BYTES } from '../../src/kernel/fs/layout.ts';
import { Machine } from '../../src/kernel/machine.ts';
import { imageBytesFor, importKvImage, KV_FILE_DEFAULT } from '../../src/kv/kv-db.ts';
import { lookupKey, rangeScan } from '../../src/kv/lookups.ts';
import { EmulatedXrpEngine } from '../../src/kernel/xrp/engine.ts';
import { runKvLookups, runKvRanges, type KvMode } from '../../src/kv/modes.ts';
import { KV_GET_OBJECT, KV_RANGE_OBJECT, nativeKvGet, nativeKvRange } from '../../src/kv/xrp-client.ts';
import { Prng } from '../../src/base/prng.ts';

/**
 * The modes of the emulated machine, the native engine, the untimed reference
 * walk (src/kv/lookups.ts) on the host file, and the XrpEngine client on the
 * emulated engine (src/kernel/xrp/engine.ts).
 */
export type KvEngineName = KvMode | 'native' | 'reference' | 'emulated-engine';
export const KV_ENGINES: readonly KvEngineName[] = ['read', 'uring', 'spdk', 'xrp', 'native', 'reference', 'emulated-engine'];

/** How a file lies on disk: byte ranges (multiples of the 4096-byte fs block) never written. */
export interface FileLayout {
  /** holes: no extent at all (they read as zeros) */
  holes?: [number, number][];
  /** of the holes, those allocated as unwritten extents (fallocate: they read as zeros too) */
  unwritten?: [number, number][];
  /** a hole at the end: the extent map stops this many fs blocks before the end of the file */
  shortTailBlocks?: number;
  /** [lblk, count]: fs blocks moved elsewhere on the device (fragmented extents) */
  relocate?: [number, number][];
}

export interface Corruption {
  name: string;
  bytes: Uint8Array;
  layout?: FileLayout;
}

const MASK_HI = 0x8000_0000;

function putU64(b: Uint8Array, at: number, lo: number, hi: number): void {
  const v = new DataView(b.buffer, b.byteOffset);
  v.setUint32(at, lo >>> 0, true);
  v.setUint32(at + 4, hi >>> 0, true);
}

function flip(b: Uint8Array, at: number, bits: number): void {
  b[at] = (b[at] ?? 0) ^ bits;
}

/** A pointer with FILE_MASK to `offset` (< 2^32 here). */
function putPtr(b: Uint8Array, at: number, offset: number): void {
  putU64(b, at, offset, MASK_HI);
}

/** The fixed corpus on a file of `layers` layers (2 or 3): each named case, its bytes. */
export async function fixedCorruptions(layers: number): Promise<Corruption[]> {
  const g = kvGeometry(layers);
  const clean = await buildKvBytes({ layers });
  const cases: Corruption[] = [];
  const with_ = (name: string, change: (b: Uint8Array) => Uint8Array | void): void => {
    const b = clean.slice();
    cases.push({ name, bytes: change(b) ?? b });
  };
  const firstLeaf = g.layerFirstNode[layers - 1]! * NODE_BYTES;
  with_('root points at itself (1<<63 at byte 264)', (b) => putU64(b, 264, 0, MASK_HI));
  with_('zeroed index', (b) => b.fill(0, 0, g.indexBytes));
  with_('root type says leaf', (b) => void (b[NODE_TYPE_OFFSET] = 1));
  with_('first leaf has type 7', (b) => void (b[firstLeaf + NODE_TYPE_OFFSET] = 7));
  with_('root pointer without FILE_MASK', (b) => putU64(b, NODE_PTRS_OFFSET, NODE_BYTES, 0));
  with_('root pointer past the file', (b) => putPtr(b, NODE_PTRS_OFFSET, g.fileBytes + BLOCK_BYTES));
  with_('root pointer past 2^53', (b) => putU64(b, NODE_PTRS_OFFSET, 0, MASK_HI | 0x7fff_ffff));
  with_('root pointer misaligned', (b) => putPtr(b, NODE_PTRS_OFFSET, NODE_BYTES + 8));
  with_('value pointer crosses a 512-byte block', (b) => putPtr(b, firstLeaf + NODE_PTRS_OFFSET, g.logOffsetBytes + 480));
  with_('value pointer past the file', (b) => putPtr(b, firstLeaf + NODE_PTRS_OFFSET, g.fileBytes + 64));
  with_('value pointer without FILE_MASK', (b) => putU64(b, firstLeaf + NODE_PTRS_OFFSET, g.logOffsetBytes, 0));
  with_('leaf next points back at itself', (b) => putU64(b, firstLeaf, firstLeaf, 0));
  with_('leaf next points at the root', (b) => putU64(b, firstLeaf, 0, 0));
  with_('leaf next past the file', (b) => putU64(b, firstLeaf, g.fileBytes, 0));
  with_('truncated by one block', (b) => b.subarray(0, b.length - BLOCK_BYTES));
  if (layers >= 3) {
    with_('inner node points back at the root', (b) => putPtr(b, NODE_BYTES + NODE_PTRS_OFFSET, 0));
    with_('inner node has type 2', (b) => void (b[NODE_BYTES + NODE_TYPE_OFFSET] = 2));
  }
  return cases;
}

/** The ranges of `layout` that are holes (zeros) in a file of `sizeBytes`. */
function holeRanges(layout: FileLayout, sizeBytes: number): [number, number][] {
  const out = [...(layout.holes ?? [])];
  const tail = layout.shortTailBlocks ?? 0;
  if (tail > 0) out.push([Math.max(0, (Math.ceil(sizeBytes / FS_BLOCK_BYTES) - tail) * FS_BLOCK_BYTES), sizeBytes]);
  return out.map(([a, b]) => [a, Math.min(b, sizeBytes)]);
}

/**
 * The corpus of file layouts on a clean 2-layer file: holes and unwritten
 * extents over the root, the leaves and the value log, an extent map shorter
 * than the file, fragmented extents. A hole reads as zeros everywhere (pread,
 * the fallback after the hook's HOLE, the native engine on a sparse file), so
 * every engine must answer as for a file with zeros there.
 */
export async function layoutCases(): Promise<Corruption[]> {
  const g = kvGeometry(2);
  const clean = await buildKvBytes({ layers: 2 });
  const logBlock = Math.ceil(g.logOffsetBytes / FS_BLOCK_BYTES) * FS_BLOCK_BYTES;
  const B = FS_BLOCK_BYTES;
  const cases: [string, FileLayout][] = [
    ['a hole over the root and the first leaves', { holes: [[0, B]] }],
    ['a hole over leaves 8..15', { holes: [[B, 2 * B]] }],
    ['an unwritten extent over leaves 8..15', { holes: [[B, 2 * B]], unwritten: [[B, 2 * B]] }],
    ['a hole in the value log', { holes: [[logBlock, logBlock + B]] }],
    ['an unwritten extent in the value log', { holes: [[logBlock + B, logBlock + 2 * B]], unwritten: [[logBlock + B, logBlock + 2 * B]] }],
    ['the extent map ends two blocks before the file', { shortTailBlocks: 2 }],
    ['fragmented extents (blocks moved)', { relocate: [[1, 1], [3, 2], [logBlock / B, 1]] }],
  ];
  return cases.map(([name, layout]) => ({ name, bytes: laidOut(clean, layout), layout }));
}

/** A random layout of a file of `sizeBytes`: 1..2 holes of a fs block (sometimes unwritten), or a tail hole, or moved blocks. */
export function randomLayout(rng: Prng, sizeBytes: number): FileLayout {
  const blocks = Math.ceil(sizeBytes / FS_BLOCK_BYTES);
  const block = (): [number, number] => {
    const b = rng.nextBelow(blocks);
    return [b * FS_BLOCK_BYTES, Math.min(sizeBytes, (b + 1) * FS_BLOCK_BYTES)];
  };
  switch (rng.nextBelow(4)) {
    case 0:
      return { holes: [block()] };
    case 1: {
      const hole = block();
      return { holes: [hole, block()], unwritten: [hole] };
    }
    case 2:
      return { shortTailBlocks: 1 + rng.nextBelow(3) };
    default:
      return { relocate: [[rng.nextBelow(blocks), 1]] };
  }
}

/** `bytes` as a file laid out as `layout` reads: zeros in its holes. */
export function laidOut(bytes: Uint8Array, layout: FileLayout): Uint8Array {
  const out = bytes.slice();
  for (const [a, b] of holeRanges(layout, out.length)) out.fill(0, a, b);
  return out;
}

/** Writes `bytes` to a host file, leaving the holes unwritten (a sparse file). */
function writeSparse(path: string, bytes: Uint8Array, holes: [number, number][]): void {
  const fd = openSync(path, 'w');
  try {
    let at = 0;
    for (const [a, b] of [...holes].sort((x, y) => x[0] - y[0])) {
      if (a > at) writeSync(fd, bytes, at, a - at, at);
      at = Math.max(at, b);
    }
    if (at < bytes.length) writeSync(fd, bytes, at, bytes.length - at, at);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/** An image holding `bytes` as kv.db laid out as `layout` says (the file system's management writes, untimed). */
function writeLaidOutImage(imagePath: string, bytes: Uint8Array, layout: FileLayout): void {
  const holes = holeRanges(layout, bytes.length);
  const m = Machine.boot({ imagePath, mkfsBytes: imageBytesFor(bytes.length), cacheBytes: 0 });
  try {
    const inode = m.fs.create(KV_FILE_DEFAULT);
    let at = 0;
    for (const [a, b] of [...holes].sort((x, y) => x[0] - y[0])) {
      if (a > at) m.fs.write(inode, at, bytes.subarray(at, a));
      at = Math.max(at, b);
    }
    if (at < bytes.length) m.fs.write(inode, at, bytes.subarray(at));
    if (inode.sizeBytes < bytes.length) m.fs.truncate(inode, bytes.length);
    for (const [a, b] of layout.unwritten ?? []) m.fs.fallocate(inode, a, b - a, { keepSize: true });
    for (const [lblk, count] of layout.relocate ?? []) m.fs.relocate(inode, lblk, count);
    if (inode.sizeBytes !== bytes.length) throw new Error(`the laid-out file is ${inode.sizeBytes} bytes, expected ${bytes.length}`);
  } finally {
    m.shutdown();
  }
}

/**
 * A random corruption of the index of `clean` (geometry `g`): 1..4 changes of
 * types, pointers, next fields, whole nodes, and (when `keys`) keys, or a
 * truncation. Keys are left alone for range queries: a leaf with unsorted keys
 * is a different question (the storage function consumes keys in order).
 */
export function randomCorruption(rng: Prng, clean: Uint8Array, g: KvGeometry, keys: boolean): Corruption {
  const b = clean.slice();
  const names: string[] = [];
  const changes = 1 + rng.nextBelow(4);
  for (let c = 0; c < changes; c++) {
    const node = rng.nextBelow(g.totalNodes) * NODE_BYTES;
    const slot = rng.nextBelow(31);
    const kind = rng.nextBelow(keys ? 8 : 7);
    switch (kind) {
      case 0:
        b[node + NODE_TYPE_OFFSET] = rng.nextBelow(3);
        names.push(`type of ${node}`);
        break;
      case 1:
        putPtr(b, node + NODE_PTRS_OFFSET + slot * 8, rng.nextBelow(g.totalNodes) * NODE_BYTES);
        names.push(`ptr ${slot} of ${node} to a node`);
        break;
      case 2:
        putPtr(b, node + NODE_PTRS_OFFSET + slot * 8, rng.nextBelow(g.fileBytes + 4 * BLOCK_BYTES));
        names.push(`ptr ${slot} of ${node} anywhere`);
        break;
      case 3:
        flip(b, node + NODE_PTRS_OFFSET + slot * 8 + 7, 0x80);
        names.push(`FILE_MASK of ptr ${slot} of ${node}`);
        break;
      case 4:
        putU64(b, node, rng.nextBelow(g.totalNodes + 2) * NODE_BYTES, 0);
        names.push(`next of ${node}`);
        break;
      case 5:
        b.fill(0, node, node + NODE_BYTES);
        names.push(`zeroed ${node}`);
        break;
      case 6:
        if (rng.nextBelow(4) === 0) return { name: `truncated`, bytes: b.subarray(0, b.length - BLOCK_BYTES * (1 + rng.nextBelow(4))) };
        flip(b, node + rng.nextBelow(16), 1 << rng.nextBelow(8));
        names.push(`bit in the head of ${node}`);
        break;
      default:
        flip(b, node + NODE_KEYS_OFFSET + slot * 8 + rng.nextBelow(8), 1 << rng.nextBelow(8));
        names.push(`key ${slot} of ${node}`);
    }
  }
  return { name: names.join(', '), bytes: b };
}

/** What a mode or engine answered: the answer's text, or the error's check, offset and key. */
export type Outcome = { kind: 'answer'; text: string } | { kind: 'error'; check: string; offsetBytes: number | null; key: string | null; message: string };

function errorOutcome(e: unknown): Outcome {
  if (e instanceof KvStructureError) return { kind: 'error', check: e.check, offsetBytes: e.offsetBytes, key: e.key === null ? null : e.key.toString(), message: e.message };
  if (e instanceof XrpError) return { kind: 'error', check: e.code, offsetBytes: null, key: null, message: e.message };
  throw e;
}

export type KvQuery = { kind: 'get'; keys: bigint[] } | { kind: 'range'; begin: bigint; end: bigint };

function lookupText(answers: { key: bigint; found: boolean; value?: Uint8Array | null | undefined }[]): string {
  return answers.map((a) => `${a.key}:${a.found && a.value != null ? valueText(a.value) : '-'}`).join(' ');
}

function rangeText(pairs: { key: bigint; value: Uint8Array }[]): string {
  return pairs.map((p) => `${p.key}=${valueText(p.value)}`).join(' ');
}

/** A scratch directory for the files and images of a corpus. */
export class CorpusDir {
  readonly path = mkdtempSync(join(tmpdir(), 'kv-corrupt-'));
  private n = 0;
  /**
   * Writes `bytes` as a raw file and imports it into an image (the import's
   * error, if any, is every emulated mode's); with a `layout`, the raw file is
   * sparse and the image's file has those holes, unwritten and moved extents.
   */
  put(bytes: Uint8Array, layout?: FileLayout): { raw: string; image: string | Outcome } {
    const raw = join(this.path, `f${this.n}.raw`);
    const image = join(this.path, `f${this.n}.img`);
    this.n++;
    if (layout !== undefined) {
      writeSparse(raw, bytes, holeRanges(layout, bytes.length));
      writeLaidOutImage(image, bytes, layout);
      return { raw, image };
    }
    writeFileSync(raw, bytes);
    try {
      importKvImage(raw, image);
      return { raw, image };
    } catch (e) {
      return { raw, image: errorOutcome(e) };
    }
  }
  close(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** The outcome of `query` on the file (raw path for native, image for the emulated modes). */
export async function outcomeOf(engine: KvEngineName, file: { raw: string; image: string | Outcome }, query: KvQuery): Promise<Outcome> {
  try {
    if (engine === 'reference') {
      const source = new FileBlockSource(file.raw);
      try {
        if (query.kind === 'get') return { kind: 'answer', text: lookupText(query.keys.map((key) => ({ key, ...lookupKey(source, key, { file: file.raw }) }))) };
        return { kind: 'answer', text: rangeText(rangeScan(source, { begin: query.begin, end: query.end }, true, file.raw).pairs) };
      } finally {
        source.close();
      }
    }
    if (engine === 'native' || engine === 'emulated-engine') {
      // the XrpEngine client (xrp-client.ts) on the native engine, or on the emulated one (a machine with a copy of the file)
      const emulated = engine === 'emulated-engine' ? await openEmulated(file.raw, query.kind) : undefined;
      try {
        return await engineOutcome(file.raw, query, emulated === undefined ? {} : { engine: emulated });
      } finally {
        await emulated?.close();
      }
    }
    if (typeof file.image !== 'string') return file.image;
    if (query.kind === 'get') {
      const run = runKvLookups({ db: file.image, mode: engine, keys: query.keys, requests: query.keys.length, keysPerRequest: 1 });
      if (run.xrpPartial > 0) return { kind: 'error', check: 'LIMIT', offsetBytes: null, key: null, message: run.limitDetail ?? '' };
      return { kind: 'answer', text: lookupText(run.answers ?? []) };
    }
    const run = runKvRanges({ db: file.image, mode: engine, ranges: [{ begin: query.begin, end: query.end }], requests: 1 });
    if (run.xrpPartial > 0) return { kind: 'error', check: 'LIMIT', offsetBytes: null, key: null, message: run.limitDetail ?? '' };
    return { kind: 'answer', text: rangeText(run.answers?.[0]?.pairs ?? []) };
  } catch (e) {
    return errorOutcome(e);
  }
}

/** An emulated engine on a copy of the file with kv_get or kv_range loaded (a corrupt file's errors come from the client's open-time checks first). */
async function openEmulated(raw: string, kind: KvQuery['kind']): Promise<EmulatedXrpEngine> {
  const engine = await EmulatedXrpEngine.open(raw, { cores: 2 });
  try {
    await engine.load(kind === 'get' ? KV_GET_OBJECT : KV_RANGE_OBJECT, kind === 'get' ? 'kv_get' : 'kv_range');
  } catch (e) {
    await engine.close();
    throw e;
  }
  return engine;
}

/** The XrpEngine client's outcome (a partial answer is LIMIT). */
async function engineOutcome(raw: string, query: KvQuery, options: { engine?: EmulatedXrpEngine }): Promise<Outcome> {
  if (query.kind === 'get') {
    const r = await nativeKvGet(raw, query.keys, { workers: 1, ...options });
    if (r.partial) return { kind: 'error', check: 'LIMIT', offsetBytes: null, key: null, message: r.limitDetail ?? '' };
    return { kind: 'answer', text: lookupText(r.answers) };
  }
  const r = await nativeKvRange(raw, query.begin, query.end, { workers: 1, ...options });
  if (r.partial) return { kind: 'error', check: 'LIMIT', offsetBytes: null, key: null, message: r.limitDetail ?? '' };
  return { kind: 'answer', text: rangeText(r.pairs) };
}

/** Null when the outcomes agree: the same answer, or the same check at the same offset for the same key (a cycle may be noticed at another offset of the loop). */
export function disagreement(a: Outcome, b: Outcome): string | null {
  if (a.kind === 'answer' && b.kind === 'answer') return a.text === b.text ? null : `answers differ:\n  ${a.text.slice(0, 300)}\n  ${b.text.slice(0, 300)}`;
  if (a.kind === 'error' && b.kind === 'error') {
    const same = a.check === b.check && a.key === b.key && (a.check === 'CYCLE' || a.offsetBytes === b.offsetBytes);
    return same ? null : `errors differ:\n  ${a.message}\n  ${b.message}`;
  }
  const show = (o: Outcome): string => (o.kind === 'answer' ? `answer ${o.text.slice(0, 200)}` : `error ${o.message}`);
  return `${show(a)}\n  vs ${show(b)}`;
}
