// A row-store B+-tree in the WiredTiger mould: 4 KiB pages of variable-length
// keys and values (format.ts), internal pages of separator keys, a user-space
// page cache of a configurable size with LRU eviction of clean pages, point
// reads, inserts and updates with page splits, deletes, forward scans, and
// durability by checkpoint (dirty pages written copy-on-write to free blocks,
// then the new root recorded in the superblock of the other slot).
//
// Concurrency on the emulated machine: simulated threads interleave only at
// I/O (a yield). Every operation walks the in-memory tree without yielding;
// when it meets a page that is not in memory it reads it, installs it and
// starts the walk again from the root. So a mutation happens in one
// synchronous step on pages that are all in memory, and nothing a thread
// holds across a yield can be made stale by another thread. A checkpoint
// encodes the dirty pages in one synchronous step (they become clean and are
// pinned until written) and then writes them. A block freed by a checkpoint is
// reused only once every read that started before that checkpoint is over
// (reader epochs), so a page read in flight, by pread or by an XRP walk, never
// meets another page's bytes.

import type { Task } from '../sim/thread.ts';
import { paramError, WtError } from './errors.ts';
import {
  compareKeys, decodePage, decodeSuperblock, encodePage, encodeSuperblock, FIRST_PAGE_BLOCK, INTERNAL_CAPACITY, internalCellBytes,
  KEY_MAX_BYTES, LEAF_CAPACITY, leafCellBytes, PAGE_BYTES, VALUE_MAX_BYTES, type PageImage, type Superblock,
} from './format.ts';
import type { PageIo } from './io.ts';
import { checkXrpLeaf } from './xrp-check.ts';
import { at as itemAt } from '../base/checked.ts';

class Ref {
  page: MemPage | null = null;
  constructor(
    /** on-disk block, 0 = never written */
    public block: number,
    public checksum: number,
    readonly level: number,
  ) {}
}

interface MemLeaf {
  readonly kind: 'leaf';
  ref: Ref;
  keys: Uint8Array[];
  values: Uint8Array[];
  dirty: boolean;
  /** being written by a checkpoint: not evictable */
  pinned: boolean;
  /** walks waiting on a read below this page: not evictable (or the walk would lose its way back) */
  busy: number;
}

interface MemInternal {
  readonly kind: 'internal';
  ref: Ref;
  level: number;
  /** keys[0] is unused (minus infinity) */
  keys: Uint8Array[];
  refs: Ref[];
  dirty: boolean;
  pinned: boolean;
  busy: number;
}

type MemPage = MemLeaf | MemInternal;

export interface WtOptions {
  /** page-cache size (pages of 4096 bytes count whole); default 1 MiB */
  cacheBytes?: number;
  /** a write checkpoints when the dirty pages exceed this (default half the cache) */
  dirtyMaxBytes?: number;
  /** hand lookups that miss the cache to the storage function (needs PageIo.xrpWalk) */
  xrp?: boolean;
}

export interface WtStats {
  /** page reads by the engine (cache misses) */
  pageReads: number;
  pageWrites: number;
  evictions: number;
  checkpoints: number;
  /** lookups handed to the storage function, those it answered, and those redone in user space */
  xrpWalks: number;
  xrpAnswered: number;
  xrpRetries: number;
  /** pages the storage function read in all */
  xrpHops: number;
  cachedPages: number;
  dirtyPages: number;
  fileBlocks: number;
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new WtError('WT_KEY', 'a key must be a Uint8Array');
  if (key.length === 0 || key.length > KEY_MAX_BYTES) {
    throw new WtError('WT_KEY', `a key must be 1..${KEY_MAX_BYTES} bytes (a page holds ${PAGE_BYTES}), got ${key.length}`);
  }
}

function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array) || value.length > VALUE_MAX_BYTES) {
    throw new WtError('WT_KEY', `a value must be a Uint8Array of at most ${VALUE_MAX_BYTES} bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`);
  }
}

/** Index of the child of `page` that covers `key`: the last entry whose separator is <= key. */
function childIndex(page: MemInternal, key: Uint8Array): number {
  let lo = 1;
  let hi = page.keys.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(itemAt(page.keys, mid, 'page key'), key) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** First index with keys[i] >= key. */
function lowerBound(keys: Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(itemAt(keys, mid, 'key'), key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const leafBytes = (p: MemLeaf): number => p.keys.reduce((s, k, i) => s + leafCellBytes(k, itemAt(p.values, i, 'leaf value')), 0);
const internalBytes = (p: MemInternal): number => p.keys.reduce((s, k) => s + internalCellBytes(k), 0);

/** Greedy packing of items (sizes) into runs that each fit `capacity`; returns the start indices. */
function packRuns(sizes: number[], capacity: number): number[] {
  const starts = [0];
  let used = 0;
  sizes.forEach((size, i) => {
    if (used + size > capacity && i > itemAt(starts, starts.length - 1, 'last run start')) {
      starts.push(i);
      used = 0;
    }
    used += size;
  });
  // two runs at least, balanced when one split is enough
  if (starts.length === 1 && sizes.length > 1) starts.push(sizes.length >> 1);
  if (starts.length === 2) {
    const total = sizes.reduce((a, b) => a + b, 0);
    let acc = 0;
    let mid = 1;
    for (let i = 0; i < sizes.length - 1; i++) {
      acc += itemAt(sizes, i, 'cell size');
      mid = i + 1;
      if (acc >= total / 2) break;
    }
    const left = sizes.slice(0, mid).reduce((a, b) => a + b, 0);
    if (left <= capacity && total - left <= capacity) starts[1] = mid;
  }
  return starts;
}

export class WtTree {
  private root: Ref;
  private generation: number;
  /** the next block past the file's pages */
  private endBlock: number;
  private free: number[] = [];
  private limbo: { epoch: number; blocks: number[] }[] = [];
  private epoch = 0;
  private readers = new Map<number, number>();
  private lru = new Map<MemPage, true>();
  private dirtyPages = 0;
  private internalCached = 0;
  private checkpointing = false;
  private failed: unknown = null;
  readonly cacheBytes: number;
  readonly dirtyMaxBytes: number;
  xrp: boolean;
  readonly stats: WtStats = {
    pageReads: 0, pageWrites: 0, evictions: 0, checkpoints: 0, xrpWalks: 0, xrpAnswered: 0, xrpRetries: 0, xrpHops: 0,
    cachedPages: 0, dirtyPages: 0, fileBlocks: 0,
  };

  private constructor(sb: Superblock, used: Set<number>, options: WtOptions) {
    const cacheBytes = options.cacheBytes ?? 1 << 20;
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 4 * PAGE_BYTES) throw paramError(`cacheBytes must be an integer >= ${4 * PAGE_BYTES}, got ${String(cacheBytes)}`);
    this.cacheBytes = cacheBytes;
    this.dirtyMaxBytes = options.dirtyMaxBytes ?? Math.floor(cacheBytes / 2);
    if (!Number.isSafeInteger(this.dirtyMaxBytes) || this.dirtyMaxBytes < PAGE_BYTES) throw paramError(`dirtyMaxBytes must be an integer >= ${PAGE_BYTES}`);
    this.xrp = options.xrp ?? false;
    this.root = new Ref(sb.rootBlock, sb.rootChecksum, sb.rootLevel);
    this.generation = sb.generation;
    this.endBlock = Math.max(sb.fileBlocks, FIRST_PAGE_BLOCK);
    for (let b = this.endBlock - 1; b >= FIRST_PAGE_BLOCK; b--) if (!used.has(b)) this.free.push(b);
  }

  /** Makes a new, empty tree in `io` (an empty or truncated file): an empty root leaf and checkpoint 1. */
  static *create(io: PageIo, options: WtOptions = {}): Task<WtTree> {
    const { bytes, checksum } = encodePage({ type: 'leaf', keys: [], values: [], low: null, high: null }, FIRST_PAGE_BLOCK, 1);
    yield* io.writeBlock(FIRST_PAGE_BLOCK, bytes);
    yield* io.sync();
    const sb: Superblock = { generation: 1, rootBlock: FIRST_PAGE_BLOCK, rootChecksum: checksum, rootLevel: 0, fileBlocks: FIRST_PAGE_BLOCK + 1 };
    // slot 0 holds an invalid superblock until generation 2 is written there
    yield* io.writeBlock(0, new Uint8Array(PAGE_BYTES));
    yield* io.writeBlock(1, encodeSuperblock(sb));
    yield* io.sync();
    return new WtTree(sb, new Set([FIRST_PAGE_BLOCK]), options);
  }

  /**
   * Opens the last complete checkpoint: the valid superblock of the higher
   * generation. Reads the internal pages to find the blocks in use (the rest
   * of the file is free).
   */
  static *open(io: PageIo, options: WtOptions = {}): Task<WtTree> {
    const fileBytes = io.sizeBytes();
    if (fileBytes < 2 * PAGE_BYTES) throw new WtError('WT_CORRUPT', `${io.label}: ${fileBytes} bytes is too short for the two superblocks`);
    const candidates: Superblock[] = [];
    for (const slot of [0, 1]) {
      const sb = decodeSuperblock(yield* io.readBlock(slot));
      if (sb !== null && sb.generation % 2 === slot) candidates.push(sb);
    }
    candidates.sort((a, b) => b.generation - a.generation);
    const sb = candidates[0];
    if (sb === undefined) throw new WtError('WT_CORRUPT', `${io.label}: no valid superblock in block 0 or 1 (not a tree, or both torn)`);
    if (sb.fileBlocks * PAGE_BYTES > fileBytes) {
      throw new WtError('WT_IO', `${io.label}: checkpoint ${sb.generation} spans ${sb.fileBlocks} blocks but the file has ${Math.floor(fileBytes / PAGE_BYTES)} (truncated)`);
    }
    const used = new Set<number>();
    const walk = function* (block: number, checksum: number, level: number): Task<void> {
      if (block < FIRST_PAGE_BLOCK || block >= sb.fileBlocks) throw new WtError('WT_CORRUPT', `${io.label}: block ${block} is outside the checkpoint's ${sb.fileBlocks} blocks`);
      if (used.has(block)) throw new WtError('WT_CORRUPT', `${io.label}: block ${block} is reachable twice`);
      used.add(block);
      if (level === 0) return;
      const page = decodePage(yield* io.readBlock(block), block, { checksum, level });
      if (page.type !== 'internal') return;
      for (const child of page.children) yield* walk(child.block, child.checksum, level - 1);
    };
    yield* walk(sb.rootBlock, sb.rootChecksum, sb.rootLevel);
    return new WtTree(sb, used, options);
  }

  /** the generation of the last complete checkpoint */
  get checkpointGeneration(): number {
    return this.generation;
  }

  get fileBlocks(): number {
    return this.endBlock;
  }

  snapshotStats(): WtStats {
    return { ...this.stats, cachedPages: this.lru.size, dirtyPages: this.dirtyPages, fileBlocks: this.endBlock };
  }

  private live(): void {
    if (this.failed !== null) throw new WtError('WT_STATE', `the tree is unusable after an earlier failure: ${String(this.failed)}`);
  }

  // ---- the cache ----

  private touch(page: MemPage): void {
    this.lru.delete(page);
    this.lru.set(page, true);
  }

  private markDirty(page: MemPage): void {
    if (!page.dirty) {
      page.dirty = true;
      this.dirtyPages++;
    }
  }

  private install(ref: Ref, image: PageImage): MemPage {
    const page: MemPage = image.type === 'leaf'
      ? { kind: 'leaf', ref, keys: image.keys, values: image.values, dirty: false, pinned: false, busy: 0 }
      : { kind: 'internal', ref, level: image.level, keys: image.keys, refs: image.children.map((c) => new Ref(c.block, c.checksum, image.level - 1)), dirty: false, pinned: false, busy: 0 };
    ref.page = page;
    if (page.kind === 'internal') this.internalCached++;
    this.touch(page);
    this.evict(page);
    return page;
  }

  /**
   * Evicts clean, unpinned pages without children in memory, oldest first,
   * down to the cache size; never `keep` (the page just read: its reader
   * walks to it next, and evicting it would make the walk read it forever).
   */
  private evict(keep: MemPage | null = null): void {
    if (this.lru.size * PAGE_BYTES <= this.cacheBytes) return;
    for (const page of this.lru.keys()) {
      if (this.lru.size * PAGE_BYTES <= this.cacheBytes) return;
      if (page === keep || page.dirty || page.pinned || page.busy > 0 || page.ref === this.root) continue;
      if (page.kind === 'internal' && page.refs.some((r) => r.page !== null)) continue;
      page.ref.page = null;
      this.lru.delete(page);
      if (page.kind === 'internal') this.internalCached--;
      this.stats.evictions++;
    }
  }

  private enterReader(): number {
    const e = this.epoch;
    this.readers.set(e, (this.readers.get(e) ?? 0) + 1);
    return e;
  }

  private exitReader(e: number): void {
    const n = (this.readers.get(e) ?? 1) - 1;
    if (n === 0) this.readers.delete(e);
    else this.readers.set(e, n);
  }

  /** Reads the page of `ref` into the cache (unless another thread did meanwhile). */
  private *load(io: PageIo, ref: Ref): Task<void> {
    const e = this.enterReader();
    try {
      // what the ref names now: a checkpoint may rewrite the page (new block and checksum) while we read
      const block = ref.block;
      const checksum = ref.checksum;
      const bytes = yield* io.readBlock(block);
      this.stats.pageReads++;
      const image = decodePage(bytes, block, { checksum, level: ref.level });
      if (ref.page === null && ref.block === block) this.install(ref, image);
    } finally {
      this.exitReader(e);
    }
  }

  private *rootPage(io: PageIo): Task<MemPage> {
    while (this.root.page === null) yield* this.load(io, this.root);
    return this.root.page;
  }

  /**
   * The in-memory path to the leaf covering `key`: pages root to leaf and the
   * child index taken in each internal page, or, when `stopAtMiss`, the first
   * ref not in memory. Loads missing pages (restarting from the root after each).
   */
  private *path(io: PageIo, key: Uint8Array, stopAtMiss: boolean): Task<{ pages: MemPage[]; idx: number[]; miss: Ref | null; high: Uint8Array | null }> {
    for (;;) {
      let page = yield* this.rootPage(io);
      const pages: MemPage[] = [page];
      const idx: number[] = [];
      let high: Uint8Array | null = null;
      let missing: Ref | null = null;
      while (page.kind === 'internal') {
        const i = childIndex(page, key);
        if (i + 1 < page.keys.length) high = itemAt(page.keys, i + 1, 'page key');
        idx.push(i);
        const ref = itemAt(page.refs, i, 'child reference');
        if (ref.page === null) {
          missing = ref;
          break;
        }
        page = ref.page;
        pages.push(page);
      }
      for (const p of pages) this.touch(p);
      if (missing === null) return { pages, idx, miss: null, high };
      if (stopAtMiss) return { pages, idx, miss: missing, high };
      yield* this.loadOnPath(io, pages, missing);
    }
  }

  /**
   * Charges the CPU of visiting `n` cached pages: once per operation, for the
   * walk that ends it, not for the walks a read restarted (an engine with
   * hazard pointers would go on from the page it waited for).
   */
  private visited(io: PageIo, n: number): void {
    if (io.visit !== undefined) for (let i = 0; i < n; i++) io.visit();
  }

  /** Loads `missing`, keeping the pages above it from eviction meanwhile. */
  private *loadOnPath(io: PageIo, pages: MemPage[], missing: Ref): Task<void> {
    for (const p of pages) p.busy++;
    try {
      yield* this.load(io, missing);
    } finally {
      for (const p of pages) p.busy--;
    }
  }

  // ---- reads ----

  /** The value of `key`, or null. */
  *get(io: PageIo, key: Uint8Array): Task<Uint8Array | null> {
    this.live();
    checkKey(key);
    for (;;) {
      const useXrp = this.xrp && io.xrpWalk !== undefined;
      const p = yield* this.path(io, key, useXrp);
      if (p.miss !== null && p.miss.level > 0 && this.internalCached * PAGE_BYTES * 2 < this.cacheBytes) {
        // internal pages are few and hot: while they fit in half the cache they are read
        // into it, as read() mode would; XRP walks from the first level the cache cannot keep
        yield* this.loadOnPath(io, p.pages, p.miss);
        continue;
      }
      if (p.miss !== null) {
        for (const pg of p.pages) pg.busy++;
        let answer: Uint8Array | null | undefined;
        try {
          answer = yield* this.xrpGet(io, p.miss, key);
        } finally {
          for (const pg of p.pages) pg.busy--;
        }
        if (answer !== undefined) {
          this.visited(io, p.pages.length);
          return answer;
        }
        // the storage function could not answer: read the page in user space and walk on
        yield* this.load(io, p.miss);
        continue;
      }
      const leaf = p.pages.at(-1) as MemLeaf;
      this.visited(io, p.pages.length);
      const i = lowerBound(leaf.keys, key);
      const found = leaf.keys[i];
      return found !== undefined && compareKeys(found, key) === 0 ? itemAt(leaf.values, i, 'leaf value') : null;
    }
  }

  /** One XRP walk from `ref`; undefined when it must be redone in user space. */
  private *xrpGet(io: PageIo, ref: Ref, key: Uint8Array): Task<Uint8Array | null | undefined> {
    const walk = io.xrpWalk;
    if (walk === undefined) return undefined;
    const e = this.enterReader();
    try {
      this.stats.xrpWalks++;
      const block = ref.block;
      const cookie = ref.checksum;
      const out = yield* walk.call(io, block, ref.level, key);
      if (out.kind === 'retry') {
        this.stats.xrpRetries++;
        return undefined;
      }
      this.stats.xrpHops += out.hops;
      const checked = checkXrpLeaf(out, key, ref.level === 0 ? cookie : undefined);
      if (checked === undefined) {
        this.stats.xrpRetries++;
        return undefined;
      }
      this.stats.xrpAnswered++;
      // a leaf one hop away from a cached parent goes into the cache, as a read would put it
      if (ref.level === 0 && ref.page === null && ref.block === block && block === out.leafBlock) {
        this.install(ref, decodePage(out.leaf, out.leafBlock, { checksum: cookie, level: 0 }));
      }
      return checked.value;
    } finally {
      this.exitReader(e);
    }
  }

  /** Up to `count` pairs with keys >= `start`, in key order. */
  *scan(io: PageIo, start: Uint8Array, count: number): Task<[Uint8Array, Uint8Array][]> {
    this.live();
    checkKey(start);
    if (!Number.isSafeInteger(count) || count < 0) throw paramError(`scan count must be a non-negative integer, got ${String(count)}`);
    const out: [Uint8Array, Uint8Array][] = [];
    let from = start;
    while (out.length < count) {
      const p = yield* this.path(io, from, false);
      this.visited(io, p.pages.length);
      const leaf = p.pages.at(-1) as MemLeaf;
      for (let i = lowerBound(leaf.keys, from); i < leaf.keys.length && out.length < count; i++) out.push([itemAt(leaf.keys, i, 'leaf key'), itemAt(leaf.values, i, 'leaf value')]);
      if (p.high === null) break;
      from = p.high;
    }
    return out;
  }

  // ---- writes ----

  /** Inserts or updates. */
  *put(io: PageIo, key: Uint8Array, value: Uint8Array): Task<void> {
    this.live();
    checkKey(key);
    checkValue(value);
    const p = yield* this.path(io, key, false);
    this.visited(io, p.pages.length);
    const leaf = p.pages.at(-1) as MemLeaf;
    const i = lowerBound(leaf.keys, key);
    const found = leaf.keys[i];
    if (found !== undefined && compareKeys(found, key) === 0) leaf.values[i] = value.slice();
    else {
      leaf.keys.splice(i, 0, key.slice());
      leaf.values.splice(i, 0, value.slice());
    }
    this.markDirty(leaf);
    this.splitUp(p.pages, p.idx);
    if (this.dirtyPages * PAGE_BYTES > this.dirtyMaxBytes) yield* this.checkpoint(io);
  }

  /** Deletes; true if the key was there. Empty leaves stay (as WiredTiger's do until reconciliation). */
  *remove(io: PageIo, key: Uint8Array): Task<boolean> {
    this.live();
    checkKey(key);
    const p = yield* this.path(io, key, false);
    this.visited(io, p.pages.length);
    const leaf = p.pages.at(-1) as MemLeaf;
    const i = lowerBound(leaf.keys, key);
    const found = leaf.keys[i];
    if (found === undefined || compareKeys(found, key) !== 0) return false;
    leaf.keys.splice(i, 1);
    leaf.values.splice(i, 1);
    this.markDirty(leaf);
    if (this.dirtyPages * PAGE_BYTES > this.dirtyMaxBytes) yield* this.checkpoint(io);
    return true;
  }

  /** Splits overfull pages from the leaf up (synchronous: every page is in memory). */
  private splitUp(pages: MemPage[], idx: number[]): void {
    for (let d = pages.length - 1; d >= 0; d--) {
      const page = itemAt(pages, d, 'page on the path');
      const parts = this.splitPage(page);
      if (parts === null) return;
      if (d === 0) {
        // a new root above the old one
        const level = page.kind === 'leaf' ? 1 : page.level + 1;
        const rootRef = new Ref(0, 0, level);
        const root: MemInternal = { kind: 'internal', ref: rootRef, level, keys: [new Uint8Array(0), ...parts.map((x) => x.sep)], refs: [page.ref, ...parts.map((x) => x.ref)], dirty: false, pinned: false, busy: 0 };
        rootRef.page = root;
        this.internalCached++;
        this.markDirty(root);
        this.touch(root);
        this.root = rootRef;
        // the new root may itself be too big only if the old one split into many parts
        this.splitUp([root], []);
        return;
      }
      const parent = pages[d - 1] as MemInternal;
      const at = itemAt(idx, d - 1, 'child index on the path') + 1;
      parent.keys.splice(at, 0, ...parts.map((x) => x.sep));
      parent.refs.splice(at, 0, ...parts.map((x) => x.ref));
      this.markDirty(parent);
    }
  }

  /** If `page` overflows: cuts it, keeps the first run in place, returns the other runs (separator, new ref). */
  private splitPage(page: MemPage): { sep: Uint8Array; ref: Ref }[] | null {
    const capacity = page.kind === 'leaf' ? LEAF_CAPACITY : INTERNAL_CAPACITY;
    if ((page.kind === 'leaf' ? leafBytes(page) : internalBytes(page)) <= capacity) return null;
    const sizes = page.kind === 'leaf' ? page.keys.map((k, i) => leafCellBytes(k, itemAt(page.values, i, 'leaf value'))) : page.keys.map((k) => internalCellBytes(k));
    const starts = packRuns(sizes, capacity);
    const out: { sep: Uint8Array; ref: Ref }[] = [];
    for (let r = starts.length - 1; r >= 1; r--) {
      const from = itemAt(starts, r, 'run start');
      const ref = new Ref(0, 0, page.ref.level);
      let part: MemPage;
      if (page.kind === 'leaf') {
        part = { kind: 'leaf', ref, keys: page.keys.splice(from), values: page.values.splice(from), dirty: false, pinned: false, busy: 0 };
      } else {
        part = { kind: 'internal', ref, level: page.level, keys: page.keys.splice(from), refs: page.refs.splice(from), dirty: false, pinned: false, busy: 0 };
      }
      ref.page = part;
      if (part.kind === 'internal') this.internalCached++;
      this.markDirty(part);
      this.touch(part);
      out.unshift({ sep: itemAt(part.keys, 0, 'first key of a split part'), ref });
    }
    return out;
  }

  // ---- checkpoints ----

  private allocate(): number {
    const minReader = this.readers.size === 0 ? Infinity : Math.min(...this.readers.keys());
    for (let first = this.limbo[0]; first !== undefined && first.epoch <= minReader; first = this.limbo[0]) {
      this.limbo.shift();
      this.free.push(...first.blocks);
    }
    return this.free.pop() ?? this.endBlock++;
  }

  /**
   * Writes every dirty page copy-on-write to a free block (children before
   * their parents, whose cells name the children's new blocks and checksums),
   * then the superblock of the new generation in the other slot. A stop at any
   * point leaves the last complete checkpoint readable. A checkpoint already
   * running makes this a no-op.
   */
  *checkpoint(io: PageIo): Task<void> {
    this.live();
    if (this.checkpointing) return;
    this.checkpointing = true;
    try {
      const gen = this.generation + 1;
      const writes: { block: number; bytes: Uint8Array }[] = [];
      const freed: number[] = [];
      const pinned: MemPage[] = [];
      const visit = (page: MemPage, low: Uint8Array | null, high: Uint8Array | null): void => {
        if (page.kind === 'internal') {
          page.refs.forEach((r, i) => {
            if (r.page === null) return;
            const before = r.block;
            visit(r.page, i === 0 ? low : itemAt(page.keys, i, 'page key'), i + 1 < page.keys.length ? itemAt(page.keys, i + 1, 'page key') : high);
            if (r.block !== before) this.markDirty(page);
          });
        }
        if (!page.dirty) return;
        const block = this.allocate();
        const image: PageImage = page.kind === 'leaf'
          ? { type: 'leaf', keys: page.keys, values: page.values, low, high }
          : { type: 'internal', level: page.level, keys: page.keys, children: page.refs.map((r) => ({ block: r.block, checksum: r.checksum })) };
        const { bytes, checksum } = encodePage(image, block, gen);
        if (page.ref.block !== 0) freed.push(page.ref.block);
        page.ref.block = block;
        page.ref.checksum = checksum;
        page.dirty = false;
        this.dirtyPages--;
        page.pinned = true;
        pinned.push(page);
        writes.push({ block, bytes });
      };
      const root = this.root;
      if (root.page !== null) visit(root.page, null, null);
      const sb: Superblock = { generation: gen, rootBlock: root.block, rootChecksum: root.checksum, rootLevel: root.level, fileBlocks: this.endBlock };
      try {
        for (const w of writes) {
          yield* io.writeBlock(w.block, w.bytes);
          this.stats.pageWrites++;
        }
        yield* io.sync();
        yield* io.writeBlock(gen % 2, encodeSuperblock(sb));
        yield* io.sync();
      } catch (error) {
        this.failed = error;
        throw error;
      }
      this.generation = gen;
      for (const p of pinned) p.pinned = false;
      this.epoch++;
      if (freed.length > 0) this.limbo.push({ epoch: this.epoch, blocks: freed });
      this.stats.checkpoints++;
      this.evict();
    } finally {
      this.checkpointing = false;
    }
  }
}
