// The native engine's KvRunner: the storage function on the real file, in the
// native engine's worker threads, in host time, through the BPF-KV client over
// XrpEngine (src/kv/xrp-client.ts). The engine is opened (workers started,
// program verified and compiled) before the clock starts: latency and
// throughput are those of the lookups alone; start-up is reported apart.

import { kvGeometry } from '../../kv/format.ts';
import { isKvImage, rawKvLayers } from '../../kv/kv-db.ts';
import { requestKeysOf } from '../../kv/modes.ts';
import { nativeKvGet, nativeKvRange, openKvEngine, rangeAnswerOf, type NativeKvProgram, type NativeRangeResult } from '../../kv/xrp-client.ts';
import type { XrpEngine } from '../../xrp/engine.ts';
import { Histogram } from '../../sim/histogram.ts';
import { CommandError, UsageError } from '../errors.ts';
import type { StorageFunctionRef } from '../storage-function.ts';
import type { KvRunner, KvRunReport, NativeKvConfig } from './run.ts';

/** What the requests of a run add up to. */
interface Tally {
  calls: number;
  reads: number;
  limitDetail: string | undefined;
}

interface Driven<T> {
  results: T[];
  hist: Histogram;
  elapsedNs: number;
}

/** Runs `requests` requests, `inFlight` at a time; request r is perform(r). */
async function drive<T>(requests: number, inFlight: number, perform: (r: number) => Promise<T>): Promise<Driven<T>> {
  const results: T[] = [];
  const hist = new Histogram();
  let next = 0;
  const startNs = process.hrtime.bigint();
  const lane = async (): Promise<void> => {
    while (next < requests) {
      const r = next++;
      const t0 = process.hrtime.bigint();
      results[r] = await perform(r);
      hist.record(Number(process.hrtime.bigint() - t0));
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, requests) }, lane));
  return { results, hist, elapsedNs: Number(process.hrtime.bigint() - startNs) };
}

function checkNativeDb(db: string): number {
  if (isKvImage(db)) {
    throw new UsageError(`--engine native reads a plain BPF-KV file, and '${db}' is an xrpfs image; make one with: xrp kv create FILE --layers L --raw`);
  }
  return rawKvLayers(db);
}

async function withKvEngine<T>(db: string, kind: NativeKvProgram, own: StorageFunctionRef | undefined, body: (engine: XrpEngine, startupMs: number) => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const engine = await openKvEngine(db, kind, {}, own);
  const startupMs = performance.now() - t0;
  try {
    return await body(engine, startupMs);
  } finally {
    await engine.close();
  }
}

function report(db: string, layers: number, config: NativeKvConfig, program: string, startupMs: number, keys: number, run: Driven<unknown>, tally: Tally): KvRunReport {
  const requests = run.results.length;
  const seconds = Math.max(run.elapsedNs, 1) / 1e9;
  const out: KvRunReport = {
    engine: 'native',
    fileName: db,
    layers,
    keyCount: kvGeometry(layers).keyCount,
    program,
    setting: `native engine (the real file, host time), ${program}`,
    concurrency: `${config.inFlight} in flight`,
    clock: 'host',
    startupMs,
    requests,
    keys,
    latency: run.hist.summary(),
    elapsedNs: run.elapsedNs,
    requestsPerSec: requests / seconds,
    keysPerSec: keys / seconds,
    xrpCalls: tally.calls,
    xrpFallbacks: 0,
    blockReads: tally.reads,
    partial: tally.limitDetail !== undefined,
    json: {},
  };
  if (tally.limitDetail !== undefined) out.limitDetail = tally.limitDetail;
  out.json = { requests, keys, inFlight: config.inFlight, startupMs, elapsedMs: run.elapsedNs / 1e6, latency: out.latency, requestsPerSec: out.requestsPerSec, keysPerSec: out.keysPerSec, calls: tally.calls, reads: tally.reads, partial: out.partial, ...(tally.limitDetail !== undefined ? { limitDetail: tally.limitDetail } : {}) };
  return out;
}

export function runNative(db: string, config: NativeKvConfig): KvRunner {
  return {
    async get(job) {
      const layers = checkNativeDb(db);
      const requestKeys = requestKeysOf(job.keys, job.requests, job.keysPerRequest, kvGeometry(layers).keyCount, config.seed);
      const program = job.own?.programName ?? 'kv_get';
      return withKvEngine(db, 'get', job.own, async (engine, startupMs) => {
        const tally: Tally = { calls: 0, reads: 0, limitDetail: undefined };
        const run = await drive(requestKeys.length, config.inFlight, async (r) => {
          const got = await nativeKvGet(db, requestKeys[r] ?? [], { engine, ...(config.readsMax !== undefined ? { readsMax: config.readsMax } : {}) });
          tally.calls += got.calls;
          tally.reads += got.reads;
          if (got.partial) tally.limitDetail ??= got.limitDetail ?? 'LIMIT';
          return got.answers;
        });
        const answers = run.results.flat();
        const keys = requestKeys.reduce((n, k) => n + k.length, 0);
        const out = report(db, layers, config, program, startupMs, keys, run, tally);
        return { ...out, answers, json: { ...out.json, answers } };
      });
    },
    async range(job) {
      const layers = checkNativeDb(db);
      const { begin, end, flags } = job.range;
      const program = job.own?.programName ?? 'kv_range';
      return withKvEngine(db, 'range', job.own, async (engine, startupMs) => {
        const tally: Tally = { calls: 0, reads: 0, limitDetail: undefined };
        const run = await drive(job.requests, config.inFlight, async () => {
          const got = await nativeKvRange(db, begin, end, { engine, flags: flags ?? 0, agg: job.agg, ...(config.readsMax !== undefined ? { readsMax: config.readsMax } : {}) });
          tally.calls += got.calls;
          tally.reads += got.reads;
          if (got.partial) tally.limitDetail ??= got.limitDetail ?? 'LIMIT';
          return got;
        });
        const first: NativeRangeResult | undefined = run.results[0];
        if (first === undefined) throw new CommandError('the range query gave no answer');
        const perRequest = first.aggCount > 0n ? Number(first.aggCount) : first.pairs.length;
        const out = report(db, layers, config, program, startupMs, perRequest * job.requests, run, tally);
        return { ...out, answer: rangeAnswerOf(first, job.agg), json: { ...out.json, result: first } };
      });
    },
  };
}
