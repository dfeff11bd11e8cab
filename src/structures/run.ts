// Runs of the structures on the emulated machine, for tests and benchmarks
// (experiment 6: array chains and the skip list, XRP against user space as the
// chain grows, and the effect of the resubmission limit).
//
// prepare*() builds the structure's file into a fresh image once (host work,
// untimed); run*() boots a machine on that image and runs N queries on T
// threads in one of two modes:
//   'read'  the user-space walk, one O_DIRECT pread() of 512 bytes per block
//   'xrp'   read_xrp with the storage function; a request that ends with
//           LIMIT (the resubmission limit) is finished by the fallback:
//           'user' (default): user space finishes it with pread()s (the array
//           chain: its own walk from the scratch state; the skip list:
//           xrpFallback, the same program run in user space); 'xrp': another
//           read_xrp from where the chain stopped.
// Every xrp query has one read budget (src/xrp/budget.ts, as every engine's
// client): the kernel's reads, the fallback's and those of further read_xrp
// calls are charged to it, and when it is spent the query ends with LIMIT and
// its partial answer is counted (xrp.partial), not verified.
// Every complete answer is checked against the host-side walk over the same file
// (untimed) unless verify is false. Latency is per query in virtual time,
// fallbacks and range resumes included; application CPU between reads is not
// charged (it is tens of ns against microseconds of I/O).

import { join } from 'node:path';
import { Machine } from '../kernel/machine.ts';
import { O_DIRECT, O_RDONLY, type Process } from '../kernel/syscalls.ts';
import { loadXrpProgramFile, readXrp, xrpConfig, xrpFallback, XrpStatus, xrpStatusName, type XrpResult } from '../kernel/xrp/index.ts';
import type { XrpLookupBudget } from '../xrp/budget.ts';
import { Histogram, type LatencySummary } from '../sim/histogram.ts';
import { Prng } from '../base/prng.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import {
  arrayChainFileBytes,
  arrayChainQuery,
  arrayChainWalk,
  blockOffsetOf,
  buildArrayChain,
  readArrayChainQuery,
  writeArrayChainQuery,
  type ArrayChainState,
} from './array-chain.ts';
import { paramError, StructureError } from './errors.ts';
import { runWalk, WALK_BLOCK_BYTES, type BlockSource, type BlockWalk, type WriteSink } from './io.ts';
import { ARRAY_CHAIN_FN, arrayChainBudget, SKIPLIST_GET_FN, SKIPLIST_RANGE_FN, skipListBudget, type StorageFunction } from './programs.ts';
import {
  readSlGetQuery,
  readSlRangeQuery,
  resumeSlRangeQuery,
  SL_HEAD_OFFSET,
  SL_NODE_BYTES,
  U64_MAX,
  writeSlGetQuery,
  writeSlRangeQuery,
  type SlPair,
} from './skiplist-format.ts';
import { buildSkipList, skipListGetWalk, skipListRangeWalk, stridedEntries } from './skiplist.ts';
import { at } from '../base/checked.ts';

export type StructureMode = 'read' | 'xrp';
export type FallbackMode = 'user' | 'xrp';

const FILE_NAME = 'structure';
/** file-system room beyond the file itself */
const IMAGE_SLACK_BYTES = 8 << 20;
const PAGE_BYTES = 4096;

export interface PrepareOptions {
  /** directory for the image (the caller owns and removes it) */
  dir: string;
  /** seed of the file's contents (array values, skip-list levels); default 1 */
  seed?: number;
}

export interface PreparedArrayChain {
  readonly kind: 'array-chain';
  readonly imagePath: string;
  readonly nElems: number;
  readonly fileBytes: number;
}

export interface PreparedSkipList {
  readonly kind: 'skiplist';
  readonly imagePath: string;
  readonly keys: number;
  readonly stride: bigint;
  readonly fileBytes: number;
}

/** Makes a fresh image holding one file, written by `fill`. */
function makeImage(dir: string, fileBytes: number, fill: (sink: WriteSink) => void): string {
  const imagePath = join(dir, `structure-${fileBytes}.img`);
  const imageBytes = Math.ceil((fileBytes + fileBytes / 16 + IMAGE_SLACK_BYTES) / (1 << 20)) * (1 << 20);
  const m = Machine.boot({ imagePath, mkfsBytes: imageBytes });
  try {
    const inode = m.fs.create(FILE_NAME);
    fill({ write: (offsetBytes, data) => m.fs.write(inode, offsetBytes, data) });
    if (inode.sizeBytes !== fileBytes) throw new StructureError('STRUCT_RUN', `image file is ${inode.sizeBytes} bytes, expected ${fileBytes}`);
  } finally {
    m.shutdown();
  }
  return imagePath;
}

/** An array-chain file of N elements (seeded values) in a fresh image. */
export function prepareArrayChain(options: PrepareOptions & { nElems: number }): PreparedArrayChain {
  const fileBytes = arrayChainFileBytes(options.nElems);
  const imagePath = makeImage(options.dir, fileBytes, (sink) => buildArrayChain(sink, { nElems: options.nElems, seed: options.seed ?? 1 }));
  return { kind: 'array-chain', imagePath, nElems: options.nElems, fileBytes };
}

/** A skip list of `keys` keys 0, stride, 2 * stride, ... (8-byte values holding the key) in a fresh image. */
export function prepareSkipList(options: PrepareOptions & { keys: number; stride?: bigint; promoteOneIn?: number }): PreparedSkipList {
  const stride = options.stride ?? 2n;
  if (typeof stride !== 'bigint' || stride < 1n) throw paramError(`skip list: stride must be a positive bigint, got ${String(stride)}`);
  const entries = stridedEntries(options.keys, stride);
  const fileBytes = (options.keys + 1) * SL_NODE_BYTES;
  const levels = { seed: options.seed ?? 1, ...(options.promoteOneIn !== undefined ? { promoteOneIn: options.promoteOneIn } : {}) };
  const imagePath = makeImage(options.dir, fileBytes, (sink) => buildSkipList(sink, entries, levels));
  return { kind: 'skiplist', imagePath, keys: options.keys, stride, fileBytes };
}

export interface RunOptions {
  mode: StructureMode;
  /** queries in all, dealt round-robin to the threads */
  queries: number;
  /** default 1 */
  threads?: number;
  /** simulated cores, default 6 (the original's testbed) */
  cores?: number;
  /** device profile, default 'optane-p5800x' */
  profile?: string;
  /** seed of the queries and of the machine; default 1 */
  seed?: number;
  /** xrp: resubmissions per read_xrp (reads after the first); default XRP's */
  resubmitLimit?: number;
  /** xrp: who finishes a request cut by the limit (default 'user') */
  fallback?: FallbackMode;
  /** xrp: reads one query may make across its calls and fallback (default from the structure, src/structures/programs.ts) */
  readsMax?: number;
  /** xrp: 'jit' (default) or 'interp' */
  engine?: 'jit' | 'interp';
  /** check every answer against the host-side walk (default true) */
  verify?: boolean;
}

export interface XrpCounters {
  /** read_xrp requests that ended with LIMIT */
  limitHits: number;
  /** blocks read by the fallback */
  fallbackReads: number;
  /** reads submitted from the completion hook */
  resubmissions: number;
  /** queries that spent their read budget (LIMIT): partial answers, not verified */
  partial: number;
  /** why the first of them stopped */
  limitDetail?: string;
}

export interface StructureRunResult {
  mode: StructureMode;
  queries: number;
  threads: number;
  /** per query, virtual ns */
  latency: LatencySummary;
  /** virtual time from the first query's start to the last one's end */
  simNs: number;
  queriesPerSec: number;
  /** NVMe read commands the device completed */
  deviceReads: number;
  readsPerQuery: number;
  /** pread or read_xrp calls */
  calls: number;
  xrp: XrpCounters | null;
  /** answers checked against the host-side walk */
  verified: number;
  /** the answer of query 0, in words (for the CLI) */
  sample: string;
}

interface Checked {
  queries: number;
  threads: number;
  cores: number;
  profile: string;
  seed: number;
  fallback: FallbackMode;
  verify: boolean;
  readsMax?: number;
}

function checkRun(options: RunOptions): Checked {
  const int = (name: string, v: number | undefined, fallback: number, min: number, max: number): number => {
    const x = v ?? fallback;
    if (!Number.isSafeInteger(x) || x < min || x > max) throw paramError(`run: ${name} must be an integer ${min}..${max}, got ${String(v)}`);
    return x;
  };
  if (options.mode !== 'read' && options.mode !== 'xrp') throw paramError(`run: mode must be 'read' or 'xrp', got ${String(options.mode)}`);
  const fallback = options.fallback ?? 'user';
  if (fallback !== 'user' && fallback !== 'xrp') throw paramError(`run: fallback must be 'user' or 'xrp', got ${String(fallback)}`);
  return {
    queries: int('queries', options.queries, 0, 1, 1e9),
    threads: int('threads', options.threads, 1, 1, 1024),
    cores: int('cores', options.cores, 6, 1, 256),
    profile: options.profile ?? 'optane-p5800x',
    seed: int('seed', options.seed, 1, 0, Number.MAX_SAFE_INTEGER),
    fallback,
    verify: options.verify ?? true,
    ...(options.readsMax !== undefined ? { readsMax: int('readsMax', options.readsMax, 1, 1, Number.MAX_SAFE_INTEGER) } : {}),
  };
}

/** What one thread has to run queries with. */
interface ThreadIo {
  t: SimThread;
  proc: Process;
  fd: number;
  /** a 4096-byte page: the read buffer of pread and read_xrp's data page */
  dataBuf: number;
  scratchBuf: number;
  /** the loaded storage functions (none in read mode) */
  progFds: number[];
}

/** The fd of the thread's one loaded storage function (xrp mode loads it before the first query). */
function functionFd(io: ThreadIo): number {
  const fd = io.progFds[0];
  if (fd === undefined) throw new StructureError('STRUCT_RUN', 'an xrp query before its storage function was loaded');
  return fd;
}

interface Tally {
  calls: number;
  limitHits: number;
  fallbackReads: number;
  resubmissions: number;
  verified: number;
  partial: number;
  limitDetail: string | null;
}

/** A query spent `budget`: counted, and the first one explained. */
function spent(tally: Tally, what: string, budget: XrpLookupBudget): void {
  tally.partial++;
  tally.limitDetail ??= `LIMIT: ${what}: ${budget.limitDetail()}`;
}

/**
 * Drives a user-space walk with pread() of 512 bytes per block on the
 * simulated thread; with a `budget` (a fallback finishing an xrp query), each
 * read is charged to it and null says it ran out.
 */
function* preadWalk<T>(io: ThreadIo, walk: BlockWalk<T>, tally: Tally, budget?: XrpLookupBudget): Task<{ value: T; reads: number } | null> {
  let step = walk.next(new Uint8Array(0));
  let reads = 0;
  while (!step.done) {
    const offset = step.value;
    if (budget !== undefined && !budget.takeRead()) return null;
    const got = yield* io.proc.pread(io.t, io.fd, io.dataBuf, WALK_BLOCK_BYTES, offset);
    tally.calls++;
    if (got !== WALK_BLOCK_BYTES) throw new StructureError('STRUCT_RUN', `pread of 512 bytes at offset ${offset} returned ${got}`);
    reads++;
    step = walk.next(io.proc.bytes(io.dataBuf, WALK_BLOCK_BYTES));
  }
  return { value: step.value, reads };
}

/**
 * One read_xrp call, its resubmission limit what `budget` leaves (at most the
 * call's own), its reads charged to it; refused calls and terminal statuses
 * are errors (every query here is well formed).
 */
function* xrpCall(io: ThreadIo, progFd: number, pos: number, limit: number | undefined, tally: Tally, budget: XrpLookupBudget): Task<XrpResult> {
  const callLimit = limit ?? xrpConfig(io.proc.kernel).resubmitLimit;
  const r = yield* readXrp(io.t, io.proc, io.fd, io.dataBuf, WALK_BLOCK_BYTES, pos, progFd, io.scratchBuf, { resubmitLimit: budget.nextLimit(callLimit) });
  tally.calls++;
  if (typeof r === 'number') throw new StructureError('STRUCT_RUN', `read_xrp at offset ${pos} refused: errno ${-r}`);
  budget.charge(r.reads);
  tally.resubmissions += r.resubmissions;
  if (r.status === XrpStatus.LIMIT) tally.limitHits++;
  else if (r.status !== XrpStatus.DONE) {
    throw new StructureError('STRUCT_PROGRAM', `read_xrp at offset ${pos} ended with ${xrpStatusName(r.status)} (r0 ${r.progRet}${r.fault !== null ? `, ${r.fault}` : ''})`);
  }
  return r;
}

/**
 * One read_xrp request from `pos`, finished after LIMIT by another read_xrp
 * ('xrp') or, for 'user', by `userFinish` (the caller's own walk), else by
 * xrpFallback (the program in user space), all charged to `budget`. True when
 * the query finished, false when the budget ran out first.
 */
/** A user-space walk without a budget (the read mode): it always ends. */
function* userWalk<T>(io: ThreadIo, walk: BlockWalk<T>, tally: Tally): Task<T> {
  const walked = yield* preadWalk(io, walk, tally);
  if (walked === null) throw new StructureError('STRUCT_RUN', 'a walk without a budget was cut');
  return walked.value;
}

function* xrpRequest(
  io: ThreadIo, progFd: number, pos: number, run: RunOptions, c: Checked, tally: Tally, budget: XrpLookupBudget,
  userFinish?: () => Task<boolean>,
): Task<boolean> {
  let r = yield* xrpCall(io, progFd, pos, run.resubmitLimit, tally, budget);
  while (r.status === XrpStatus.LIMIT) {
    if (!budget.open) return false;
    const next = r.pending[0];
    if (next === undefined) throw new StructureError('STRUCT_RUN', 'read_xrp ended with LIMIT and no pending read');
    if (c.fallback === 'xrp') {
      r = yield* xrpCall(io, progFd, next.offsetBytes, run.resubmitLimit, tally, budget);
      continue;
    }
    if (userFinish !== undefined) return yield* userFinish();
    const f = yield* xrpFallback(io.t, io.proc, { fd: io.fd, dataBuf: io.dataBuf, progFd, scratchBuf: io.scratchBuf }, r, { budget });
    if (typeof f === 'number') throw new StructureError('STRUCT_RUN', `xrpFallback refused: errno ${-f}`);
    tally.fallbackReads += f.reads;
    tally.calls += f.reads;
    if (f.status === XrpStatus.LIMIT) return false;
    if (f.status !== XrpStatus.DONE) throw new StructureError('STRUCT_PROGRAM', `the fallback ended with ${f.statusName} (r0 ${f.progRet})`);
    return true;
  }
  return true;
}

/** Boots a machine on the image and runs `query(io, i)` for queries i = 0..N-1 over the threads. */
function runOnMachine(
  imagePath: string, run: RunOptions, c: Checked, fns: StorageFunction[],
  query: (io: ThreadIo, index: number, tally: Tally, host: BlockSource) => Task<string>,
): StructureRunResult {
  const m = Machine.boot({ imagePath, profile: c.profile, cores: c.cores, seed: c.seed });
  try {
    const inode = m.fs.get(FILE_NAME);
    // the host-side reference reads the same file, untimed
    const host: BlockSource = {
      sizeBytes: inode.sizeBytes,
      pread(out, offsetBytes) {
        const n = Math.max(0, Math.min(out.length, inode.sizeBytes - offsetBytes));
        out.set(m.fs.read(inode, offsetBytes, n));
        return n;
      },
    };
    const proc = m.kernel.createProcess('structures', Math.max(16 << 20, c.threads * 3 * PAGE_BYTES + (1 << 20)));
    const hist = new Histogram();
    const tally: Tally = { calls: 0, limitHits: 0, fallbackReads: 0, resubmissions: 0, verified: 0, partial: 0, limitDetail: null };
    let firstStartNs = Infinity;
    let lastEndNs = 0;
    let failure: unknown = null;
    let sample = '';
    const readsBefore = m.controller.stats.reads;
    for (let th = 0; th < c.threads; th++) {
      m.sim.spawn(`query-${th}`, function* (t: SimThread): Task {
        try {
          const fd = yield* proc.open(t, FILE_NAME, O_RDONLY | O_DIRECT);
          if (fd < 0) throw new StructureError('STRUCT_RUN', `open ${FILE_NAME}: errno ${-fd}`);
          const progFds: number[] = [];
          if (run.mode === 'xrp') for (const fn of fns) progFds.push(yield* loadXrpProgramFile(t, proc, fn.objectPath, fn.program, run.engine ?? 'jit'));
          const io: ThreadIo = { t, proc, fd, dataBuf: proc.alloc(PAGE_BYTES), scratchBuf: proc.alloc(PAGE_BYTES), progFds };
          for (let i = th; i < c.queries && failure === null; i += c.threads) {
            const startNs = t.nowNs;
            firstStartNs = Math.min(firstStartNs, startNs);
            const answer = yield* query(io, i, tally, host);
            if (i === 0) sample = answer;
            hist.record(t.nowNs - startNs);
            lastEndNs = Math.max(lastEndNs, t.nowNs);
          }
          yield* proc.close(t, fd);
        } catch (error) {
          failure ??= error;
        }
      });
    }
    m.sim.run();
    if (failure !== null) throw failure;
    const simNs = lastEndNs - firstStartNs;
    const deviceReads = m.controller.stats.reads - readsBefore;
    return {
      mode: run.mode,
      queries: c.queries,
      threads: c.threads,
      latency: hist.summary(),
      simNs,
      queriesPerSec: simNs > 0 ? Math.round((c.queries * 1e9) / simNs) : 0,
      deviceReads,
      readsPerQuery: deviceReads / c.queries,
      calls: tally.calls,
      xrp: run.mode === 'xrp' ? xrpCounters(tally) : null,
      verified: tally.verified,
      sample,
    };
  } finally {
    m.shutdown();
  }
}

function xrpCounters(tally: Tally): XrpCounters {
  const out: XrpCounters = { limitHits: tally.limitHits, fallbackReads: tally.fallbackReads, resubmissions: tally.resubmissions, partial: tally.partial };
  if (tally.limitDetail !== null) out.limitDetail = tally.limitDetail;
  return out;
}

function sameState(a: ArrayChainState, b: ArrayChainState): boolean {
  return a.index === b.index && a.hopsDone === b.hopsDone && a.hopsTotal === b.hopsTotal && a.lastValue === b.lastValue && a.sum === b.sum;
}

export interface ArrayChainRunOptions extends RunOptions {
  /** k: hops per query */
  hops: number;
  /** start indices, used in turn (default: seeded random starts) */
  starts?: readonly number[];
}

/** N array-chain queries of k hops from seeded random starts. */
export function runArrayChain(prepared: PreparedArrayChain, options: ArrayChainRunOptions): StructureRunResult {
  const c = checkRun(options);
  const rng = new Prng(c.seed);
  const starts = options.starts;
  if (starts !== undefined && starts.length === 0) throw paramError('run: starts must not be empty');
  const queries = Array.from({ length: c.queries }, (_, i) =>
    arrayChainQuery(prepared.nElems, starts !== undefined ? at(starts, i % starts.length, 'chain start') : rng.nextBelow(prepared.nElems), options.hops));
  return runOnMachine(prepared.imagePath, options, c, [ARRAY_CHAIN_FN], function* (io, i, tally, host) {
    const q = at(queries, i, 'array-chain query');
    let answer: ArrayChainState;
    if (options.mode === 'read') {
      answer = (yield* userWalk(io, arrayChainWalk(q), tally)).state;
    } else {
      const scratch = io.proc.bytes(io.scratchBuf, PAGE_BYTES);
      writeArrayChainQuery(scratch, q);
      let finished: ArrayChainState | null = null;
      const budget = arrayChainBudget(q.hopsTotal, options.readsMax);
      const complete = yield* xrpRequest(io, functionFd(io), blockOffsetOf(q.index), options, c, tally, budget, function* () {
        const walked = yield* preadWalk(io, arrayChainWalk(readArrayChainQuery(scratch)), tally, budget);
        if (walked === null) return false;
        tally.fallbackReads += walked.reads;
        finished = walked.value.state;
        return true;
      });
      answer = finished ?? readArrayChainQuery(scratch);
      if (!complete) {
        spent(tally, `array chain from ${q.index}, ${q.hopsTotal} hops`, budget);
        return `start ${q.index}, ${q.hopsTotal} hops: partial (LIMIT) after ${answer.hopsDone} hops`;
      }
    }
    if (c.verify) {
      const ref = runWalk(host, arrayChainWalk(q)).state;
      if (!sameState(answer, ref)) {
        throw new StructureError('STRUCT_RUN', `array chain query ${i} (start ${q.index}, k ${q.hopsTotal}, ${options.mode}): got index ${answer.index} sum ${answer.sum}, expected index ${ref.index} sum ${ref.sum}`);
      }
      tally.verified++;
    }
    return `start ${q.index}, ${q.hopsTotal} hops: final index ${answer.index}, last value ${answer.lastValue}, sum ${answer.sum}`;
  });
}

export interface SkipListRunOptions extends RunOptions {
  op: 'get' | 'range';
  /** range: keys per scan (default 64) */
  rangeKeys?: number;
  /** get: fraction of lookups of absent keys, 0..1 (default 0) */
  missRatio?: number;
  /** the keys (get) or range begins, used in turn (default: seeded random ones) */
  keys?: readonly bigint[];
}

function samePairs(a: SlPair[], b: SlPair[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => {
    const q = b[i];
    return q !== undefined && p.key === q.key && Buffer.from(p.value).equals(Buffer.from(q.value));
  });
}

/** N skip-list point lookups or range scans with seeded random keys. */
export function runSkipList(prepared: PreparedSkipList, options: SkipListRunOptions): StructureRunResult {
  const c = checkRun(options);
  if (options.op !== 'get' && options.op !== 'range') throw paramError(`run: op must be 'get' or 'range', got ${String(options.op)}`);
  const rangeKeys = options.rangeKeys ?? 64;
  if (!Number.isSafeInteger(rangeKeys) || rangeKeys < 1) throw paramError(`run: rangeKeys must be a positive integer, got ${String(rangeKeys)}`);
  const missRatio = options.missRatio ?? 0;
  if (!(missRatio >= 0 && missRatio <= 1)) throw paramError(`run: missRatio must be 0..1, got ${String(missRatio)}`);
  if (prepared.keys < 1) throw paramError('run: the skip list has no keys');
  const rng = new Prng(c.seed);
  const { stride } = prepared;
  const given = options.keys;
  if (given !== undefined && given.length === 0) throw paramError('run: keys must not be empty');
  const keys = Array.from({ length: c.queries }, (_, i) => {
    if (given !== undefined) return at(given, i % given.length, 'given key');
    const key = BigInt(rng.nextBelow(prepared.keys)) * stride;
    // an absent key: just past a present one (stride > 1), or past the last
    if (rng.nextFloat() < missRatio) return stride > 1n ? key + 1n : BigInt(prepared.keys) * stride;
    return key;
  });
  const fn = options.op === 'get' ? SKIPLIST_GET_FN : SKIPLIST_RANGE_FN;
  return runOnMachine(prepared.imagePath, options, c, [fn], function* (io, i, tally, host) {
    const key = at(keys, i, 'skip-list key');
    const endWanted = key + BigInt(rangeKeys - 1) * stride;
    const end = endWanted > U64_MAX ? U64_MAX : endWanted;
    const scratch = io.proc.bytes(io.scratchBuf, PAGE_BYTES);
    if (options.op === 'get') {
      let found: boolean;
      let value: Uint8Array | undefined;
      if (options.mode === 'read') {
        ({ found, value } = yield* userWalk(io, skipListGetWalk(key), tally));
      } else {
        writeSlGetQuery(scratch, key);
        const budget = skipListBudget(prepared.fileBytes, options.readsMax);
        const complete = yield* xrpRequest(io, functionFd(io), SL_HEAD_OFFSET, options, c, tally, budget);
        if (!complete) {
          spent(tally, `skip-list get ${key}`, budget);
          return `get ${key}: partial (LIMIT)`;
        }
        ({ found, value } = readSlGetQuery(scratch));
      }
      if (c.verify) {
        const ref = runWalk(host, skipListGetWalk(key));
        // readSlGetQuery sets a value exactly when the key was found
        const sameValue = value === undefined || ref.value === undefined ? value === ref.value : Buffer.from(value).equals(Buffer.from(ref.value));
        if (found !== ref.found || !sameValue) {
          throw new StructureError('STRUCT_RUN', `skip-list lookup ${i} of key ${key} (${options.mode}): found ${found}, expected ${ref.found}`);
        }
        tally.verified++;
      }
      return found && value !== undefined ? `get ${key}: found, value ${Buffer.from(value).toString('hex')}` : `get ${key}: not found`;
    }
    let pairs: SlPair[];
    if (options.mode === 'read') {
      pairs = (yield* userWalk(io, skipListRangeWalk(key, end), tally)).pairs;
    } else {
      pairs = [];
      writeSlRangeQuery(scratch, key, end);
      let pos = SL_HEAD_OFFSET;
      // one budget for the whole scan, its pages included
      const budget = skipListBudget(prepared.fileBytes, options.readsMax);
      for (;;) {
        const complete = budget.open && (yield* xrpRequest(io, functionFd(io), pos, options, c, tally, budget));
        if (!complete) {
          spent(tally, `skip-list range ${key}..${end}`, budget);
          return `range ${key}..${end}: partial (LIMIT) after ${pairs.length} pairs`;
        }
        const page = readSlRangeQuery(scratch);
        pairs.push(...page.pairs);
        if (page.resumeOffset === 0) break;
        resumeSlRangeQuery(scratch);
        pos = page.resumeOffset;
      }
    }
    if (c.verify) {
      const ref = runWalk(host, skipListRangeWalk(key, end)).pairs;
      if (!samePairs(pairs, ref)) {
        throw new StructureError('STRUCT_RUN', `skip-list range ${i}, ${key}..${end} (${options.mode}): ${pairs.length} pairs, expected ${ref.length}`);
      }
      tally.verified++;
    }
    const [first] = pairs;
    const last = pairs.at(-1);
    const span = first !== undefined && last !== undefined ? `, keys ${first.key} to ${last.key}` : '';
    return `range ${key}..${end}: ${pairs.length} pairs${span}`;
  });
}
