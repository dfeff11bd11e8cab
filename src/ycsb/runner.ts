// YCSB's load and run phases over the B+-tree engine, on the emulated machine
// (virtual time, T client threads on simulated cores, reads with pread() or
// XRP) and on a real file (wall-clock time, one client).
//
// Application CPU on the emulated machine (modelling estimates, see
// docs/wiredtiger-ycsb.md): every operation charges OP_CPU_NS (the client and
// the record's encoding) and every page the tree visits in its cache
// PAGE_VISIT_NS (a binary search of a 4 KiB page). The storage function's
// instructions are charged by the XRP hook itself.

import { join } from 'node:path';
import { Machine } from '../kernel/machine.ts';
import type { Process } from '../kernel/syscalls.ts';
import { Histogram, type LatencySummary } from '../sim/histogram.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import { EmulatedPageIo, loadWtLookup } from '../wt/emulated.ts';
import { paramError, WtError } from '../wt/errors.ts';
import { PAGE_BYTES } from '../wt/format.ts';
import { FilePageIo, runSync, type PageIo } from '../wt/io.ts';
import { WtTree, type WtStats } from '../wt/tree.ts';
import { CoreWorkload, decodeRecord, encodeRecord, OP_TYPES, type Operation, type OpType, type WorkloadSpec } from './workload.ts';

export const TABLE_FILE = 'usertable.wt';
export const OP_CPU_NS = 1000;
export const PAGE_VISIT_NS = 200;

export type ReadMode = 'read' | 'xrp';

export interface OpStats {
  count: number;
  /** operations that found nothing (a read or update of a missing key) */
  notFound: number;
  latency: LatencySummary;
}

export interface PhaseResult {
  phase: 'load' | 'run';
  target: 'emulated' | 'file';
  mode: ReadMode;
  threads: number;
  operations: number;
  /** virtual ns on the emulated machine, wall-clock ns on a file */
  elapsedNs: number;
  opsPerSec: number;
  perOp: Partial<Record<OpType | 'INSERT', OpStats>>;
  cacheBytes: number;
  fileBytes: number;
  tree: WtStats;
  /** read_xrp calls that did not end DONE, by status */
  xrpEnds: Record<string, number>;
  /** device reads per operation (emulated) */
  deviceReadsPerOp: number;
}

class Recorder {
  private hists = new Map<OpType, Histogram>();
  private misses = new Map<OpType, number>();

  record(type: OpType, latencyNs: number, found: boolean): void {
    let h = this.hists.get(type);
    if (h === undefined) this.hists.set(type, (h = new Histogram()));
    h.record(Math.max(0, Math.round(latencyNs)));
    if (!found) this.misses.set(type, (this.misses.get(type) ?? 0) + 1);
  }

  perOp(): Partial<Record<OpType, OpStats>> {
    const out: Partial<Record<OpType, OpStats>> = {};
    for (const t of OP_TYPES) {
      const h = this.hists.get(t);
      if (h !== undefined) out[t] = { count: h.count, notFound: this.misses.get(t) ?? 0, latency: h.summary() };
    }
    return out;
  }
}

/** Runs one YCSB operation; false if its key was not there. */
export function* executeOp(tree: WtTree, io: PageIo, w: CoreWorkload, op: Operation): Task<boolean> {
  const prefix = w.spec.fieldNamePrefix;
  switch (op.type) {
    case 'READ': {
      const v = yield* tree.get(io, op.key);
      if (v !== null) decodeRecord(v);
      return v !== null;
    }
    case 'INSERT': {
      yield* tree.put(io, op.key, encodeRecord(prefix, w.buildRecord()));
      w.acknowledgeInsert(op.keyNum);
      return true;
    }
    case 'SCAN': {
      const rows = yield* tree.scan(io, op.key, op.scanLength);
      for (const [, v] of rows) decodeRecord(v);
      return rows.length > 0;
    }
    case 'UPDATE':
    case 'READMODIFYWRITE': {
      // the engine stores whole records: an update of one field reads the record and writes it back
      const old = yield* tree.get(io, op.key);
      if (old === null) return false;
      const fields: Uint8Array[] = decodeRecord(old).map((f) => f.slice());
      if (op.field === null) for (let i = 0; i < fields.length; i++) fields[i] = w.randomField();
      else fields[op.field] = w.randomField();
      yield* tree.put(io, op.key, encodeRecord(prefix, fields));
      return true;
    }
  }
}

export interface EmulatedOptions {
  imagePath: string;
  spec: WorkloadSpec;
  seed?: number;
  threads?: number;
  cores?: number;
  profile?: string;
  /** page cache in bytes, or as a fraction of the tree's file (run phase) */
  cacheBytes?: number;
  cacheFraction?: number;
  mode?: ReadMode;
  /** run: operations before the measured ones (default operationcount / 4) */
  warmupOps?: number;
  resubmitLimit?: number;
}

function checkThreads(n: number | undefined): number {
  const t = n ?? 1;
  if (!Number.isSafeInteger(t) || t < 1 || t > 256) throw paramError(`threads must be an integer 1..256, got ${String(n)}`);
  return t;
}

/** Boots, runs `setup` on one thread, then `client` on T threads; returns what the setup made. */
function runMachine<S>(
  m: Machine, threads: number, setup: (t: SimThread, proc: Process) => Task<S>, client: (t: SimThread, proc: Process, s: S, index: number) => Task<void>,
  finish?: (t: SimThread, proc: Process, s: S) => Task<void>,
): S {
  const proc = m.kernel.createProcess('ycsb', Math.max(32 << 20, threads * 4 * PAGE_BYTES + (8 << 20)));
  let state: { s: S } | null = null;
  let failure: unknown = null;
  m.sim.spawn('ycsb-setup', function* (t) {
    try {
      state = { s: yield* setup(t, proc) };
    } catch (e) {
      failure = e;
    }
  });
  m.sim.run();
  if (failure !== null) throw failure;
  if (state === null) throw new WtError('WT_STATE', 'setup did not finish');
  const s = (state as { s: S }).s;
  for (let i = 0; i < threads; i++) {
    m.sim.spawn(`ycsb-${i}`, function* (t) {
      try {
        yield* client(t, proc, s, i);
      } catch (e) {
        failure ??= e;
      }
    });
  }
  m.sim.run();
  if (failure !== null) throw failure;
  if (finish !== undefined) {
    m.sim.spawn('ycsb-finish', function* (t) {
      try {
        yield* finish(t, proc, s);
      } catch (e) {
        failure = e;
      }
    });
    m.sim.run();
    if (failure !== null) throw failure;
  }
  return s;
}

function emulatedIo(t: SimThread, proc: Process, progFd: number | null, resubmitLimit: number | undefined): Task<EmulatedPageIo> {
  return EmulatedPageIo.open(t, proc, TABLE_FILE, {
    progFd, ...(resubmitLimit !== undefined ? { resubmitLimit } : {}), pageVisitNs: PAGE_VISIT_NS,
  });
}

/** The load phase into a fresh image: creates the table and inserts recordcount records with T threads; ends with a checkpoint. */
export function ycsbLoadEmulated(o: EmulatedOptions): PhaseResult {
  const threads = checkThreads(o.threads);
  const seed = o.seed ?? 1;
  const w = new CoreWorkload(o.spec, seed);
  const recordBytes = o.spec.fieldCount * (o.spec.fieldLength + 10) + 40;
  const imageBytes = Math.ceil((o.spec.insertCount * recordBytes * 3 + (64 << 20)) / (1 << 20)) * (1 << 20);
  const m = Machine.boot({ imagePath: o.imagePath, mkfsBytes: imageBytes, profile: o.profile ?? 'optane-p5800x', cores: o.cores ?? 6, seed });
  try {
    const cacheBytes = o.cacheBytes ?? 8 << 20;
    const rec = new Recorder();
    let firstNs = Infinity;
    let lastNs = 0;
    const ends: Record<string, number> = {};
    const s = runMachine(m, threads, function* (t, proc) {
      const io = yield* EmulatedPageIo.open(t, proc, TABLE_FILE, { create: true, pageVisitNs: PAGE_VISIT_NS });
      const tree = yield* WtTree.create(io, { cacheBytes });
      yield* io.close();
      return { tree };
    }, function* (t, proc, s) {
      const io = yield* emulatedIo(t, proc, null, undefined);
      for (let next = w.nextLoadKey(); next !== null; next = w.nextLoadKey()) {
        const start = t.nowNs;
        firstNs = Math.min(firstNs, start);
        yield* s.tree.put(io, next.key, encodeRecord(o.spec.fieldNamePrefix, w.buildRecord()));
        yield t.cpu(OP_CPU_NS);
        rec.record('INSERT', t.nowNs - start, true);
        lastNs = Math.max(lastNs, t.nowNs);
      }
      yield* io.close();
    }, function* (t, proc, s) {
      // the load is over when its records are durable: the last checkpoint counts
      const io = yield* emulatedIo(t, proc, null, undefined);
      yield* s.tree.checkpoint(io);
      lastNs = Math.max(lastNs, t.nowNs);
      yield* io.close();
    });
    const elapsedNs = lastNs - firstNs;
    const n = o.spec.insertCount;
    return {
      phase: 'load', target: 'emulated', mode: 'read', threads, operations: n, elapsedNs, opsPerSec: elapsedNs > 0 ? (n * 1e9) / elapsedNs : 0,
      perOp: rec.perOp(), cacheBytes, fileBytes: s.tree.fileBlocks * PAGE_BYTES, tree: s.tree.snapshotStats(), xrpEnds: ends,
      deviceReadsPerOp: m.controller.stats.reads / Math.max(1, n),
    };
  } finally {
    m.shutdown();
  }
}

/**
 * The run phase on an image made by ycsbLoadEmulated: opens the table (cold
 * cache), runs the warm-up operations untimed, then operationcount measured
 * ones over T threads; ends with a checkpoint (untimed).
 */
export function ycsbRunEmulated(o: EmulatedOptions): PhaseResult {
  const threads = checkThreads(o.threads);
  const seed = o.seed ?? 1;
  const mode = o.mode ?? 'read';
  if (mode !== 'read' && mode !== 'xrp') throw paramError(`mode must be read or xrp, got ${String(mode)}`);
  // the load phase used the seed for the records; the run draws its own stream
  const w = new CoreWorkload(o.spec, seed + 0x9e3779b1);
  const total = o.spec.operationCount;
  if (total < 1) throw paramError('operationcount must be at least 1 for a run');
  const warmup = o.warmupOps ?? Math.floor(total / 4);
  const m = Machine.boot({ imagePath: o.imagePath, profile: o.profile ?? 'optane-p5800x', cores: o.cores ?? 6, seed });
  try {
    const rec = new Recorder();
    let issued = 0;
    let firstNs = Infinity;
    let lastNs = 0;
    let readsAtStart = 0;
    const ios: EmulatedPageIo[] = [];
    const s = runMachine(m, threads, function* (t, proc) {
      const progFd = mode === 'xrp' ? yield* loadWtLookup(t, proc) : null;
      const io = yield* emulatedIo(t, proc, progFd, o.resubmitLimit);
      const probe = yield* WtTree.open(io, { cacheBytes: 16 * PAGE_BYTES });
      const cacheBytes = o.cacheBytes ?? Math.max(16 * PAGE_BYTES, Math.floor((o.cacheFraction ?? 0.1) * probe.fileBlocks * PAGE_BYTES));
      const tree = yield* WtTree.open(io, { cacheBytes, xrp: mode === 'xrp' });
      for (let i = 0; i < warmup; i++) yield* executeOp(tree, io, w, w.nextOperation());
      readsAtStart = m.controller.stats.reads;
      yield* io.close();
      return { tree, progFd, cacheBytes };
    }, function* (t, proc, s) {
      const io = yield* emulatedIo(t, proc, s.progFd, o.resubmitLimit);
      ios.push(io);
      while (issued < total) {
        issued++;
        const op = w.nextOperation();
        const start = t.nowNs;
        firstNs = Math.min(firstNs, start);
        const found = yield* executeOp(s.tree, io, w, op);
        yield t.cpu(OP_CPU_NS);
        rec.record(op.type, t.nowNs - start, found);
        lastNs = Math.max(lastNs, t.nowNs);
      }
      yield* io.close();
    }, function* (t, proc, s) {
      const io = yield* emulatedIo(t, proc, null, undefined);
      yield* s.tree.checkpoint(io);
      yield* io.close();
    });
    const elapsedNs = lastNs - firstNs;
    const ends: Record<string, number> = {};
    for (const io of ios) for (const [k, v] of io.xrpEnds) ends[k] = (ends[k] ?? 0) + v;
    return {
      phase: 'run', target: 'emulated', mode, threads, operations: total, elapsedNs, opsPerSec: elapsedNs > 0 ? (total * 1e9) / elapsedNs : 0,
      perOp: rec.perOp(), cacheBytes: s.cacheBytes, fileBytes: s.tree.fileBlocks * PAGE_BYTES, tree: s.tree.snapshotStats(), xrpEnds: ends,
      deviceReadsPerOp: (m.controller.stats.reads - readsAtStart) / total,
    };
  } finally {
    m.shutdown();
  }
}

export interface FileOptions {
  path: string;
  spec: WorkloadSpec;
  seed?: number;
  cacheBytes?: number;
  cacheFraction?: number;
  warmupOps?: number;
}

function wallNs(): number {
  return Number(process.hrtime.bigint());
}

/** The load phase into a real file (one client, wall-clock time). */
export function ycsbLoadFile(o: FileOptions): PhaseResult {
  const w = new CoreWorkload(o.spec, o.seed ?? 1);
  const io = new FilePageIo(o.path, { create: true });
  try {
    const cacheBytes = o.cacheBytes ?? 8 << 20;
    const tree = runSync(WtTree.create(io, { cacheBytes }));
    const rec = new Recorder();
    const t0 = wallNs();
    for (let next = w.nextLoadKey(); next !== null; next = w.nextLoadKey()) {
      const start = wallNs();
      runSync(tree.put(io, next.key, encodeRecord(o.spec.fieldNamePrefix, w.buildRecord())));
      rec.record('INSERT', wallNs() - start, true);
    }
    runSync(tree.checkpoint(io));
    const elapsedNs = wallNs() - t0;
    const n = o.spec.insertCount;
    return {
      phase: 'load', target: 'file', mode: 'read', threads: 1, operations: n, elapsedNs, opsPerSec: (n * 1e9) / Math.max(1, elapsedNs), perOp: rec.perOp(),
      cacheBytes, fileBytes: io.sizeBytes(), tree: tree.snapshotStats(), xrpEnds: {}, deviceReadsPerOp: 0,
    };
  } finally {
    io.close();
  }
}

/** The run phase on a real file (one client, user-space reads, wall-clock time). */
export function ycsbRunFile(o: FileOptions): PhaseResult {
  const w = new CoreWorkload(o.spec, (o.seed ?? 1) + 0x9e3779b1);
  const io = new FilePageIo(o.path);
  try {
    const probe = runSync(WtTree.open(io, { cacheBytes: 16 * PAGE_BYTES }));
    const cacheBytes = o.cacheBytes ?? Math.max(16 * PAGE_BYTES, Math.floor((o.cacheFraction ?? 0.1) * probe.fileBlocks * PAGE_BYTES));
    const tree = runSync(WtTree.open(io, { cacheBytes }));
    const total = o.spec.operationCount;
    for (let i = 0; i < (o.warmupOps ?? Math.floor(total / 4)); i++) runSync(executeOp(tree, io, w, w.nextOperation()));
    const rec = new Recorder();
    const t0 = wallNs();
    for (let i = 0; i < total; i++) {
      const op = w.nextOperation();
      const start = wallNs();
      const found = runSync(executeOp(tree, io, w, op));
      rec.record(op.type, wallNs() - start, found);
    }
    const elapsedNs = wallNs() - t0;
    runSync(tree.checkpoint(io));
    return {
      phase: 'run', target: 'file', mode: 'read', threads: 1, operations: total, elapsedNs, opsPerSec: (total * 1e9) / Math.max(1, elapsedNs), perOp: rec.perOp(),
      cacheBytes, fileBytes: io.sizeBytes(), tree: tree.snapshotStats(), xrpEnds: {}, deviceReadsPerOp: 0,
    };
  } finally {
    io.close();
  }
}

/** The image path for a table in `dir`. */
export const imageIn = (dir: string): string => join(dir, 'ycsb.img');
