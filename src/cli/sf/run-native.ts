// Any storage function over any file on the native engine: the real file, worker
// threads, real time. The engine's start-up (workers, verifier, JIT) is timed apart;
// then `requests` calls of read_xrp from the same start with the same initial
// scratch, `inFlight` at a time, give per-call latency percentiles and throughput.

import { NativeXrpEngine, type NativeXrpResult } from '../../native/engine.ts';
import { Histogram, type LatencySummary } from '../../sim/histogram.ts';
import { CommandError } from '../errors.ts';

export interface NativeSfOptions {
  objectPath: string;
  programName: string;
  dataPath: string;
  startOffsetBytes: number;
  sizeBytes: number;
  scratch: Uint8Array;
  requests: number;
  inFlight: number;
  resubmitLimit?: number;
  direct?: boolean;
}

export interface NativeSfOutcome {
  first: NativeXrpResult;
  /** the scratch page after the first call */
  scratch: Uint8Array;
  startupMs: number;
  elapsedMs: number;
  latency: LatencySummary;
  callsPerSec: number;
  /** calls that did not end with the first call's status */
  differing: number;
}

export async function runOnNative(o: NativeSfOptions): Promise<NativeSfOutcome> {
  const t0 = performance.now();
  const engine = await NativeXrpEngine.open(o.dataPath, o.direct !== undefined ? { direct: o.direct } : {});
  try {
    await engine.load(o.objectPath, o.programName);
    const startupMs = performance.now() - t0;
    const hist = new Histogram();
    const results: NativeXrpResult[] = new Array<NativeXrpResult>(o.requests);
    const scratches: Uint8Array[] = new Array<Uint8Array>(o.requests);
    let next = 0;
    const startNs = process.hrtime.bigint();
    const lane = async (): Promise<void> => {
      while (next < o.requests) {
        const r = next++;
        const scratch = o.scratch.slice();
        const c0 = process.hrtime.bigint();
        results[r] = await engine.readXrp(o.startOffsetBytes, scratch, { sizeBytes: o.sizeBytes, ...(o.resubmitLimit !== undefined ? { resubmitLimit: o.resubmitLimit } : {}) });
        hist.record(Number(process.hrtime.bigint() - c0));
        scratches[r] = scratch;
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.inFlight, o.requests) }, lane));
    const elapsedMs = Number(process.hrtime.bigint() - startNs) / 1e6;
    const first = results[0];
    const scratch = scratches[0];
    if (first === undefined || scratch === undefined) throw new CommandError(`${o.programName} on ${o.dataPath}: no call completed`);
    return {
      first,
      scratch,
      startupMs,
      elapsedMs,
      latency: hist.summary(),
      callsPerSec: o.requests / (Math.max(elapsedMs, 1e-6) / 1000),
      differing: results.filter((r) => r.status !== first.status || r.reads !== first.reads).length,
    };
  } finally {
    await engine.close();
  }
}
