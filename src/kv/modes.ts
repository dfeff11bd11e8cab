// BPF-KV experiments on the emulated machine: point lookups and range queries
// by T simulated application threads in one of four modes, with a latency
// histogram and the throughput in virtual time.
//
//   read  - pread() per hop (optionally with the top index layers cached in user memory)
//   uring - io_uring, one read per hop
//   spdk  - the SPDK-style polled driver, one read per hop
//   xrp   - read_xrp with the kv_get / kv_range storage functions (one call per
//           request of up to 32 keys; ranges resume from the saved leaf)
//
// Requests are drawn from their own seeded PRNG before the run and dealt to
// the threads round robin (request r goes to thread r mod T), so every mode
// answers the same requests and the answers can be compared one for one.
// A run boots its own machine from the image (or takes a fresh booted one)
// and owns its simulator.

import { XrpError } from '../base/errors.ts';
import type { Machine } from '../kernel/machine.ts';
import { Histogram, type LatencySummary } from '../sim/histogram.ts';
import { Prng } from '../base/prng.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import { SpdkDriver } from '../spdk/spdk.ts';
import { openBlockIo, type KvBlockIo, type UserMode } from './block-io.ts';
import { bootKvMachine, KV_FILE_DEFAULT, openKvFile, type KvFileInfo } from './kv-db.ts';
import { checkKey, TopLevelCache, type KeyRange } from './lookups.ts';
import { SG } from './scratch.ts';
import { RANGE_AGGS, userLookup, userLookupBatch, userRange, type KvThreadOps, type KvWalkFile, type LookupAnswer, type RangeAgg, type RangeAnswer, type UserOpsCosts } from './user-ops.ts';
import { openXrpOps, prepareXrp, type KvStorageFunction, type XrpOpsCounters, type XrpPrepared } from './xrp-ops.ts';

export class KvModeError extends XrpError {
  constructor(message: string) {
    super('KV_MODE', message);
  }
}

export type KvMode = UserMode | 'xrp';
export const KV_MODES: readonly KvMode[] = ['read', 'uring', 'spdk', 'xrp'];

/**
 * User CPU per block a user-space mode processes (a node's key search, or
 * picking a value out of its block): the same work costs the same in every
 * mode. kv_get executes 171-219 eBPF instructions per block for it, and the
 * XRP hook charges 1 ns per instruction (src/kernel/xrp/config.ts), so 200 ns.
 */
export const DEFAULT_USER_COSTS: UserOpsCosts = { blockCpuNs: 200 };

export interface KvRunOptions {
  /** an image made by createKvImage / `xrp kv create` (booted and shut down by the run), or a freshly booted machine */
  db: string | Machine;
  /** the BPF-KV file in the image (default kv.db) */
  fileName?: string;
  mode: KvMode;
  /** simulated application threads (default 1) */
  threads?: number;
  /**
   * Requests in all, dealt round robin to the threads. With `durationNs` it is
   * the size of the request pool instead (request r uses pool entry r mod requests).
   */
  requests: number;
  /**
   * Steady-state mode: every thread issues requests until this virtual time;
   * only requests that start at or after `warmupNs` and complete by
   * `durationNs` count, and the throughput is over that window. For
   * throughput-vs-threads curves (a fixed request count per thread measures
   * the slowest thread when threads share cores unevenly).
   */
  durationNs?: number;
  /** steady-state mode: the start of the measured window (default 0) */
  warmupNs?: number;
  /** seed of the request PRNG and of the machine (default 1) */
  seed?: number;
  /** top index layers cached in user memory (0..3, the original's --cache); user-space modes, and xrp with 1 key per request */
  cacheLayers?: number;
  /** when db is a path: simulated cores (default 6) and device profile (default optane-p5800x) */
  cores?: number;
  profile?: string;
  /** pin thread i to core i mod cores (default: threads float under the scheduler) */
  pin?: boolean;
  /** keep every request's answer (default true; off for long sweeps) */
  collect?: boolean;
  /** user CPU per block in the user-space modes */
  userCosts?: UserOpsCosts;
  /** xrp: resubmissions allowed per call (the fallback finishes a cut chain) */
  resubmitLimit?: number;
  /**
   * xrp: reads one request may make, the kernel's and the fallback's together
   * (src/kv/budget.ts; default from the file's depth, as the native engine's).
   * A request that spends it ends with LIMIT and a partial answer.
   */
  readsMax?: number;
  /** xrp: run this storage function (BPF-KV scratch layout) instead of the shipped kv_get / kv_range */
  storageFunction?: KvStorageFunction;
}

export interface KvLookupOptions extends KvRunOptions {
  /** keys per request, 1..32 (default 1): one read_xrp call in xrp mode, that many lookups one after another otherwise */
  keysPerRequest?: number;
  /** uring mode: advance the keys of a request together, one io_uring_enter per hop level (default false: key after key) */
  uringBatch?: boolean;
  /** the keys to look up, in order, reused cyclically (default: uniform random keys of the file) */
  keys?: readonly bigint[];
}

export interface KvRangeOptions extends KvRunOptions {
  /** keys per range (default 100): random ranges [b, b + lengthKeys) inside the key space */
  lengthKeys?: number;
  /** explicit ranges instead, reused cyclically; a range's own `agg` overrides `agg` */
  ranges?: readonly KvRangeRequest[];
  /** default 'none': the pairs themselves */
  agg?: RangeAgg;
}

/** A range and, optionally, its own aggregation. */
export interface KvRangeRequest extends KeyRange {
  agg?: RangeAgg;
}

export interface KvRunStats {
  mode: KvMode;
  layers: number;
  threads: number;
  requests: number;
  /** keys looked up (lookups) or keys in the ranges (ranges) */
  keys: number;
  /** per-request latency in virtual ns */
  latency: LatencySummary;
  histogram: Histogram;
  /** first request start to last request end, virtual ns (steady-state mode: the measured window) */
  makespanNs: number;
  requestsPerSec: number;
  keysPerSec: number;
  /** NVMe read commands (resubmissions included) */
  deviceReads: number;
  /** xrp: storage-function calls made (resumes of ranges included) and how many needed the user-space fallback */
  xrpCalls: number;
  xrpFallbacks: number;
  /** xrp: requests that spent their read budget (LIMIT): their answers are partial */
  xrpPartial: number;
  /** why the first of them stopped (when any did) */
  limitDetail?: string;
  /** virtual ns of the whole simulation, set-up included */
  simulatedNs: number;
}

export interface KvLookupResult extends KvRunStats {
  keysPerRequest: number;
  /** answers in request order, keys in order within a request (when collected) */
  answers: LookupAnswer[] | null;
}

export interface KvRangeResult extends KvRunStats {
  agg: RangeAgg;
  ranges: KvRangeRequest[] | null;
  answers: RangeAnswer[] | null;
}

function checkInt(value: number, name: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new KvModeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
}

function userOps(io: KvBlockIo, file: KvWalkFile, cache: TopLevelCache | null, costs: UserOpsCosts, batch: boolean): KvThreadOps {
  return {
    *lookup(t, keys) {
      if (batch && keys.length > 1) return yield* userLookupBatch(t, io, keys, cache, costs, file);
      const out: LookupAnswer[] = [];
      for (const key of keys) out.push(yield* userLookup(t, io, key, cache, costs, file));
      return out;
    },
    range: (t, range, agg) => userRange(t, io, range, agg, cache, costs, file),
  };
}

interface RunPlan<R> {
  kind: 'lookup' | 'range';
  uringBatch?: boolean;
  requests: number;
  keysOf: (answer: R) => number;
  perform: (ops: KvThreadOps, t: SimThread, request: number) => Task<R>;
}

interface RunOutcome<R> {
  stats: KvRunStats;
  answers: R[] | null;
  file: KvFileInfo;
}

function runOn<R>(options: KvRunOptions, plan: RunPlan<R>, onFile: (file: KvFileInfo) => void): RunOutcome<R> {
  const threads = options.threads ?? 1;
  checkInt(threads, 'threads', 1, 1024);
  checkInt(plan.requests, 'requests', 1, 1e9);
  const cacheLayers = options.cacheLayers ?? 0;
  checkInt(cacheLayers, 'cacheLayers', 0, 3);
  if (options.readsMax !== undefined) checkInt(options.readsMax, 'readsMax', 1, Number.MAX_SAFE_INTEGER);
  if (!KV_MODES.includes(options.mode)) throw new KvModeError(`mode must be one of ${KV_MODES.join(', ')}, got '${String(options.mode)}'`);
  const collect = options.durationNs === undefined && (options.collect ?? true);
  const userCosts = options.userCosts ?? DEFAULT_USER_COSTS;
  const owned = typeof options.db === 'string';
  const machine = typeof options.db === 'string'
    ? bootKvMachine(options.db, { seed: options.seed ?? 1, ...(options.cores !== undefined ? { cores: options.cores } : {}), ...(options.profile !== undefined ? { profile: options.profile } : {}) })
    : options.db;
  try {
    const file = openKvFile(machine, options.fileName ?? KV_FILE_DEFAULT);
    onFile(file);
    const cache = cacheLayers > 0 ? new TopLevelCache(file.source, Math.min(cacheLayers, file.layers - 1)) : null;
    const proc = machine.kernel.createProcess('bpf-kv', (16 << 20) + threads * (16 << 10));
    const spdk = options.mode === 'spdk' ? new SpdkDriver(machine.sim, machine.controller) : null;
    const answers: (R | undefined)[] = collect ? new Array<R | undefined>(plan.requests) : [];
    const hist = new Histogram();
    let keys = 0;
    let firstStartNs = Number.MAX_SAFE_INTEGER;
    let lastEndNs = 0;
    let finished = 0;
    const readsBefore = machine.controller.stats.reads;
    const xrpCounters: XrpOpsCounters = { calls: 0, fallbacks: 0, partial: 0, limitDetail: null };

    const durationNs = options.durationNs;
    const warmupNs = options.warmupNs ?? 0;
    if (durationNs !== undefined) {
      checkInt(durationNs, 'durationNs', 1, Number.MAX_SAFE_INTEGER);
      checkInt(warmupNs, 'warmupNs', 0, durationNs - 1);
    }
    let counted = 0;
    const worker = (index: number, makeOps: (t: SimThread) => Task<KvThreadOps>) =>
      function* (t: SimThread): Task {
        const ops = yield* makeOps(t);
        for (let r = index; durationNs !== undefined ? t.nowNs < durationNs : r < plan.requests; r += threads) {
          const startNs = t.nowNs;
          const answer = yield* plan.perform(ops, t, r % plan.requests);
          const endNs = t.nowNs;
          if (durationNs !== undefined && (startNs < warmupNs || endNs > durationNs)) continue;
          hist.record(endNs - startNs);
          if (startNs < firstStartNs) firstStartNs = startNs;
          if (endNs > lastEndNs) lastEndNs = endNs;
          keys += plan.keysOf(answer);
          counted++;
          if (collect) answers[r] = answer;
        }
        finished++;
      };
    const spawnWorkers = (makeOps: (t: SimThread) => Task<KvThreadOps>): void => {
      const cores = machine.sim.cores.length;
      for (let i = 0; i < threads; i++) {
        machine.sim.spawn(`kv-${options.mode}-${i}`, worker(i, makeOps), options.pin === true ? { affinity: [i % cores] } : {});
      }
    };

    if (options.mode === 'xrp') {
      // Load the storage function once for the process (as the original's benchmark does), then start the workers.
      machine.sim.spawn('kv-xrp-setup', function* (t) {
        const prepared: XrpPrepared = yield* prepareXrp(t, proc, file, plan.kind, options.storageFunction);
        spawnWorkers((wt) => openXrpOps(wt, proc, prepared, {
          cache, counters: xrpCounters,
          ...(options.resubmitLimit !== undefined ? { resubmitLimit: options.resubmitLimit } : {}),
          ...(options.readsMax !== undefined ? { readsMax: options.readsMax } : {}),
        }));
      });
    } else {
      const mode = options.mode;
      const ctx = { proc, fileName: file.name, extents: file.inode.extents.slice(), spdk };
      spawnWorkers(function* (t) {
        const io = yield* openBlockIo(t, mode, ctx);
        return userOps(io, { file: file.name, fileBytes: file.inode.sizeBytes }, cache, userCosts, plan.uringBatch === true);
      });
    }
    machine.sim.run();
    if (finished !== threads) throw new KvModeError(`${threads - finished} of ${threads} worker threads did not finish (the simulation drained first)`);
    const makespanNs = durationNs !== undefined ? durationNs - warmupNs : Math.max(1, lastEndNs - firstStartNs);
    const stats: KvRunStats = {
      mode: options.mode,
      layers: file.layers,
      threads,
      requests: counted,
      keys,
      latency: hist.summary(),
      histogram: hist,
      makespanNs,
      requestsPerSec: (counted * 1e9) / makespanNs,
      keysPerSec: (keys * 1e9) / makespanNs,
      deviceReads: machine.controller.stats.reads - readsBefore,
      xrpCalls: xrpCounters.calls,
      xrpFallbacks: xrpCounters.fallbacks,
      xrpPartial: xrpCounters.partial,
      simulatedNs: machine.sim.nowNs,
    };
    if (xrpCounters.limitDetail !== null) stats.limitDetail = xrpCounters.limitDetail;
    return { stats, answers: collect ? (answers as R[]) : null, file };
  } finally {
    if (owned) machine.shutdown();
  }
}

/** Point lookups: `requests` requests of `keysPerRequest` keys each. */
export function runKvLookups(options: KvLookupOptions): KvLookupResult {
  const keysPerRequest = options.keysPerRequest ?? 1;
  checkInt(keysPerRequest, 'keysPerRequest', 1, SG.KEYS_MAX);
  if (options.uringBatch === true && options.mode !== 'uring') throw new KvModeError(`uringBatch applies to the uring mode, not '${options.mode}'`);
  if ((options.cacheLayers ?? 0) > 0 && options.mode === 'xrp' && keysPerRequest > 1) {
    throw new KvModeError('xrp mode uses the cache only with 1 key per request (a scatter-gather call restarts every key at one root pointer)');
  }
  const explicit = options.keys;
  if (explicit !== undefined) {
    if (explicit.length === 0) throw new KvModeError('keys: give at least one key');
    explicit.forEach((k) => checkKey(k));
  }
  let requestKeys: bigint[][] = [];
  const outcome = runOn<LookupAnswer[]>(
    options,
    {
      kind: 'lookup',
      uringBatch: options.uringBatch === true,
      requests: options.requests,
      keysOf: (a) => a.length,
      perform: (ops, t, r) => ops.lookup(t, requestKeys[r] ?? []),
    },
    (file) => {
      requestKeys = requestKeysOf(explicit, options.requests, keysPerRequest, file.geometry.keyCount, options.seed ?? 1);
    },
  );
  return { ...outcome.stats, keysPerRequest, answers: outcome.answers === null ? null : outcome.answers.flat() };
}

/**
 * The keys of each request: `explicit` in order, reused cyclically, or uniform
 * random keys of the file from a PRNG seeded with `seed`. Every engine's run
 * of the same options asks the same keys.
 */
export function requestKeysOf(explicit: readonly bigint[] | undefined, requests: number, keysPerRequest: number, keyCount: number, seed: number): bigint[][] {
  if (explicit !== undefined && explicit.length === 0) throw new KvModeError('keys: give at least one key');
  const rng = new Prng(seed);
  let next = 0;
  const keyAt = (at: number): bigint => {
    const key = explicit?.[at % explicit.length];
    if (key === undefined) throw new KvModeError(`no key at ${at}`);
    return key;
  };
  return Array.from({ length: requests }, () =>
    Array.from({ length: keysPerRequest }, () => (explicit !== undefined ? keyAt(next++) : BigInt(rng.nextBelow(keyCount)))),
  );
}

/** Range queries (or aggregations over ranges). */
export function runKvRanges(options: KvRangeOptions): KvRangeResult {
  const agg = options.agg ?? 'none';
  if (!RANGE_AGGS.includes(agg)) throw new KvModeError(`agg must be one of ${RANGE_AGGS.join(', ')}, got '${String(agg)}'`);
  const lengthKeys = options.lengthKeys ?? 100;
  const explicit = options.ranges;
  if (explicit !== undefined) {
    if (explicit.length === 0) throw new KvModeError('ranges: give at least one range');
    for (const r of explicit) {
      checkKey(r.begin, 'range begin');
      checkKey(r.end, 'range end');
      if (r.flags !== undefined) checkInt(r.flags, 'range flags', 0, 3);
      if (r.agg !== undefined && !RANGE_AGGS.includes(r.agg)) throw new KvModeError(`agg must be one of ${RANGE_AGGS.join(', ')}, got '${String(r.agg)}'`);
    }
  }
  let ranges: KvRangeRequest[] = [];
  const outcome = runOn<RangeAnswer>(
    options,
    {
      kind: 'range',
      requests: options.requests,
      keysOf: (a) => a.count,
      perform: (ops, t, r) => {
        const range = ranges[r];
        if (range === undefined) throw new KvModeError(`no range for request ${r}`); // r < requests = ranges.length
        return ops.range(t, range, range.agg ?? agg);
      },
    },
    (file) => {
      const keyCount = file.geometry.keyCount;
      if (explicit === undefined) checkInt(lengthKeys, 'lengthKeys', 1, keyCount);
      const rng = new Prng(options.seed ?? 1);
      ranges = Array.from({ length: options.requests }, (_, i) => {
        const given = explicit?.[i % explicit.length];
        if (given !== undefined) return given;
        const begin = BigInt(rng.nextBelow(keyCount - lengthKeys + 1));
        return { begin, end: begin + BigInt(lengthKeys) };
      });
    },
  );
  return { ...outcome.stats, agg, ranges: options.collect === false ? null : ranges, answers: outcome.answers };
}
