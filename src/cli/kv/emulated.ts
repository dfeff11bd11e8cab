// The emulated engine's KvRunner: each run boots a fresh emulated machine on the
// image (a plain BPF-KV file is imported into a temporary image first) and runs
// the requests by simulated threads in one of the four modes of src/kv/modes.ts,
// in virtual time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvGeometry } from '../../kv/format.ts';
import { importKvImage, isKvImage, rawKvLayers } from '../../kv/kv-db.ts';
import { runKvLookups, runKvRanges, type KvRunStats } from '../../kv/modes.ts';
import { CommandError } from '../errors.ts';
import type { EmulatedKvConfig, KvGetJob, KvRangeJob, KvRunner, KvRunReport } from './run.ts';

/** Runs `fn` on an image path: the DB itself, or a temporary import of a raw BPF-KV file. */
function withImage<T>(db: string, fn: (imagePath: string) => T): T {
  if (isKvImage(db)) return fn(db);
  rawKvLayers(db); // a typed error for anything that is neither
  const dir = mkdtempSync(join(tmpdir(), 'xrp-kv-'));
  try {
    const imagePath = join(dir, 'import.img');
    importKvImage(db, imagePath);
    return fn(imagePath);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runOptions(config: EmulatedKvConfig, imagePath: string, job: KvGetJob | KvRangeJob) {
  return {
    db: imagePath,
    mode: config.mode,
    requests: job.requests,
    threads: config.threads,
    cores: config.cores,
    profile: config.device,
    seed: config.seed,
    cacheLayers: config.cacheLayers,
    ...(config.readsMax !== undefined ? { readsMax: config.readsMax } : {}),
    ...(job.own !== undefined ? { storageFunction: { objectPath: job.own.objectPath, programName: job.own.programName } } : {}),
  };
}

function report(config: EmulatedKvConfig, r: KvRunStats, program: string, json: object): KvRunReport {
  const xrp = r.mode === 'xrp';
  return {
    engine: 'emulated',
    fileName: 'kv.db',
    layers: r.layers,
    keyCount: kvGeometry(r.layers).keyCount,
    program: xrp ? program : null,
    setting: `mode ${r.mode} on ${config.cores} simulated core(s), ${config.device}`,
    concurrency: `${r.threads} thread(s)`,
    clock: 'virtual',
    requests: r.requests,
    keys: r.keys,
    latency: r.latency,
    elapsedNs: r.makespanNs,
    requestsPerSec: r.requestsPerSec,
    keysPerSec: r.keysPerSec,
    xrpCalls: xrp ? r.xrpCalls : null,
    xrpFallbacks: r.xrpFallbacks,
    blockReads: r.deviceReads,
    // a request whose read budget ran out (the fallback finishes every other cut chain)
    partial: r.xrpPartial > 0,
    ...(r.limitDetail !== undefined ? { limitDetail: r.limitDetail } : {}),
    json,
  };
}

export function runEmulated(db: string, config: EmulatedKvConfig): KvRunner {
  return {
    async get(job) {
      return withImage(db, (imagePath) => {
        const r = runKvLookups({
          ...runOptions(config, imagePath, job),
          keysPerRequest: job.keysPerRequest,
          uringBatch: config.uringBatch,
          ...(job.keys !== undefined ? { keys: job.keys } : {}),
        });
        return { ...report(config, r, job.own?.programName ?? 'kv_get', { ...r, histogram: undefined }), answers: r.answers ?? [] };
      });
    },
    async range(job) {
      return withImage(db, (imagePath) => {
        const r = runKvRanges({ ...runOptions(config, imagePath, job), ranges: [job.range], agg: job.agg });
        const answer = r.answers?.[0];
        if (answer === undefined) throw new CommandError('the range query gave no answer');
        return { ...report(config, r, job.own?.programName ?? 'kv_range', { ...r, histogram: undefined, answers: r.answers?.slice(0, 1) }), answer };
      });
    },
  };
}
