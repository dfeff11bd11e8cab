// Corrupted BPF-KV files and what every mode and engine answers on them: the
// corpus of the agreement test (test/kv/corrupt-agreement.test.ts) and of the
// fuzzer (scripts/fuzz.ts). A corruption changes the index of a well-formed
// file (cycles, zeroed nodes, wrong node types, pointers without FILE_MASK,
// out of range, misaligned or crossing a block, truncation); an outcome is
// the answer's text or the structural error's check, offset and key.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XrpError } from '../../src/base/errors.ts';
import { buildKvBytes } from '../../src/kv/builder.ts';
import { KvStructureError } from '../../src/kv/checks.ts';
import { BLOCK_BYTES, kvGeometry, NODE_BYTES, NODE_KEYS_OFFSET, NODE_PTRS_OFFSET, NODE_TYPE_OFFSET, valueText, type KvGeometry } from '../../src/kv/format.ts';
import { importKvImage } from '../../src/kv/kv-db.ts';
import { runKvLookups, runKvRanges, type KvMode } from '../../src/kv/modes.ts';
import { nativeKvGet, nativeKvRange } from '../../src/kv/xrp-client.ts';
import { Prng } from '../../src/base/prng.ts';

export type KvEngineName = KvMode | 'native';
export const KV_ENGINES: readonly KvEngineName[] = ['read', 'uring', 'spdk', 'xrp', 'native'];

export interface Corruption {
  name: string;
  bytes: Uint8Array;
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
  /** Writes `bytes` as a raw file and imports it into an image (the import's error, if any, is every emulated mode's). */
  put(bytes: Uint8Array): { raw: string; image: string | Outcome } {
    const raw = join(this.path, `f${this.n}.raw`);
    const image = join(this.path, `f${this.n}.img`);
    this.n++;
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
    if (engine === 'native') {
      if (query.kind === 'get') {
        const r = await nativeKvGet(file.raw, query.keys, { workers: 1 });
        if (r.partial) return { kind: 'error', check: 'LIMIT', offsetBytes: null, key: null, message: r.limitDetail ?? '' };
        return { kind: 'answer', text: lookupText(r.answers) };
      }
      const r = await nativeKvRange(file.raw, query.begin, query.end, { workers: 1 });
      if (r.partial) return { kind: 'error', check: 'LIMIT', offsetBytes: null, key: null, message: r.limitDetail ?? '' };
      return { kind: 'answer', text: rangeText(r.pairs) };
    }
    if (typeof file.image !== 'string') return file.image;
    if (query.kind === 'get') {
      const run = runKvLookups({ db: file.image, mode: engine, keys: query.keys, requests: query.keys.length, keysPerRequest: 1 });
      return { kind: 'answer', text: lookupText(run.answers ?? []) };
    }
    const run = runKvRanges({ db: file.image, mode: engine, ranges: [{ begin: query.begin, end: query.end }], requests: 1 });
    return { kind: 'answer', text: rangeText(run.answers?.[0]?.pairs ?? []) };
  } catch (e) {
    return errorOutcome(e);
  }
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
