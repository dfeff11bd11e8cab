// `xrp kv get|range --engine native`: the storage function on the real file, in the
// native engine's worker threads, in real time. The engine is opened (workers
// started, program verified and compiled) before the clock starts: latency and
// throughput are those of the lookups alone; start-up is reported apart.

import { Histogram, type LatencySummary } from '../../sim/histogram.ts';
import type { NativeXrpEngine } from '../../native/engine.ts';
import { nativeKvGet, nativeKvRange, openKvEngine, type NativeKvAnswer, type NativeRangeResult } from '../../kv/xrp-client.ts';
import type { StorageFunctionRef } from '../storage-function.ts';

export interface NativeRunStats {
  requests: number;
  keys: number;
  /** requests kept in flight at once */
  inFlight: number;
  startupMs: number;
  /** first request issued to last completed */
  elapsedMs: number;
  latency: LatencySummary;
  requestsPerSec: number;
  keysPerSec: number;
  calls: number;
  reads: number;
  /** a request spent its read budget (src/xrp/budget.ts): its answer is incomplete */
  partial: boolean;
  /** why, when partial */
  limitDetail?: string;
}

/** Runs `requests` requests, `inFlight` at a time; request r is perform(r). */
async function drive<T>(
  engine: NativeXrpEngine,
  requests: number,
  inFlight: number,
  perform: (engine: NativeXrpEngine, r: number) => Promise<T>,
): Promise<{ results: T[]; hist: Histogram; elapsedMs: number }> {
  const results: T[] = new Array<T>(requests);
  const hist = new Histogram();
  let next = 0;
  const startNs = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (next < requests) {
      const r = next++;
      const t0 = process.hrtime.bigint();
      results[r] = await perform(engine, r);
      hist.record(Number(process.hrtime.bigint() - t0));
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, requests) }, lane));
  const elapsedMs = Number(process.hrtime.bigint() - startNs) / 1e6;
  return { results, hist, elapsedMs };
}

async function withKvEngine<T>(db: string, kind: 'get' | 'range', own: StorageFunctionRef | undefined, body: (engine: NativeXrpEngine, startupMs: number) => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const engine = await openKvEngine(db, kind, {}, own);
  const startupMs = performance.now() - t0;
  try {
    return await body(engine, startupMs);
  } finally {
    await engine.close();
  }
}

function stats(requests: number, keys: number, inFlight: number, startupMs: number, run: { hist: Histogram; elapsedMs: number }, calls: number, reads: number, limitDetail: string | undefined): NativeRunStats {
  const seconds = Math.max(run.elapsedMs, 1e-6) / 1000;
  const out: NativeRunStats = { requests, keys, inFlight, startupMs, elapsedMs: run.elapsedMs, latency: run.hist.summary(), requestsPerSec: requests / seconds, keysPerSec: keys / seconds, calls, reads, partial: limitDetail !== undefined };
  if (limitDetail !== undefined) out.limitDetail = limitDetail;
  return out;
}

export interface NativeGetOptions {
  requestKeys: bigint[][];
  inFlight: number;
  own?: StorageFunctionRef;
  /** a request's read budget (src/kv/budget.ts default otherwise) */
  readsMax?: number;
}

export async function runNativeGet(db: string, options: NativeGetOptions): Promise<{ answers: NativeKvAnswer[] } & NativeRunStats> {
  return withKvEngine(db, 'get', options.own, async (engine, startupMs) => {
    let calls = 0;
    let reads = 0;
    let limitDetail: string | undefined;
    const run = await drive(engine, options.requestKeys.length, options.inFlight, async (e, r) => {
      const got = await nativeKvGet(db, options.requestKeys[r] ?? [], { engine: e, ...(options.readsMax !== undefined ? { readsMax: options.readsMax } : {}) });
      calls += got.calls;
      reads += got.reads;
      if (got.partial) limitDetail ??= got.limitDetail ?? 'LIMIT';
      return got.answers;
    });
    const keys = options.requestKeys.reduce((n, k) => n + k.length, 0);
    return { answers: run.results.flat(), ...stats(options.requestKeys.length, keys, options.inFlight, startupMs, run, calls, reads, limitDetail) };
  });
}

export interface NativeRangeRunOptions {
  begin: bigint;
  end: bigint;
  flags: number;
  agg: NonNullable<Parameters<typeof nativeKvRange>[3]>['agg'];
  requests: number;
  inFlight: number;
  own?: StorageFunctionRef;
  readsMax?: number;
}

export async function runNativeRange(db: string, o: NativeRangeRunOptions): Promise<{ result: NativeRangeResult } & NativeRunStats> {
  return withKvEngine(db, 'range', o.own, async (engine, startupMs) => {
    let calls = 0;
    let reads = 0;
    let limitDetail: string | undefined;
    const run = await drive(engine, o.requests, o.inFlight, async (e) => {
      const got = await nativeKvRange(db, o.begin, o.end, { engine: e, flags: o.flags, ...(o.agg !== undefined ? { agg: o.agg } : {}), ...(o.readsMax !== undefined ? { readsMax: o.readsMax } : {}) });
      calls += got.calls;
      reads += got.reads;
      if (got.partial) limitDetail ??= got.limitDetail ?? 'LIMIT';
      return got;
    });
    const first = run.results[0]!;
    const keys = Number(first.aggCount) > 0 ? Number(first.aggCount) * o.requests : first.pairs.length * o.requests;
    return { result: first, ...stats(o.requests, keys, o.inFlight, startupMs, run, calls, reads, limitDetail) };
  });
}
