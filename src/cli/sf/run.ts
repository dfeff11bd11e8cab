// The one path of `xrp sf run`: any storage function over any file, on an
// XrpEngine. The engine is configuration (SfEngineConfig), opened once; the
// same client code then loads the program and makes the read_xrp calls from
// the same start with the same initial scratch, timing each on the engine's
// clock, and returns one SfReport for one printer. What only the emulated
// machine can add is configuration too: the same walk done by an application
// without XRP (pread per block), to compare with (baseline.ts).

import type { XrpEngine, XrpOutcome } from '../../xrp/engine.ts';
import { Histogram, type LatencySummary } from '../../sim/histogram.ts';
import { CommandError } from '../errors.ts';
import { openEmulatedSf } from './emulated.ts';
import { openNativeSf } from './native.ts';
import type { WalkOutcome } from './baseline.ts';

export const SCRATCH_BYTES = 4096;

export interface EmulatedSfConfig {
  engine: 'emulated';
  device: string;
  seed: number;
}

export interface NativeSfConfig {
  engine: 'native';
  /** O_DIRECT reads (default: the engine's) */
  direct?: boolean;
}

export type SfEngineConfig = EmulatedSfConfig | NativeSfConfig;

export interface SfJob {
  objectPath: string;
  programName: string;
  dataPath: string;
  startOffsetBytes: number;
  /** bytes of the first read (512..4096) */
  sizeBytes: number;
  /** the initial scratch page (4096 bytes) */
  scratch: Uint8Array;
  /** resubmissions allowed per read_xrp call (default the engine's) */
  resubmitLimit?: number;
  /** read_xrp calls to make, `inFlight` at a time */
  requests: number;
  inFlight: number;
}

/** An engine opened on the data file, with how to read its clock and what it adds. */
export interface SfEngine {
  readonly engine: XrpEngine;
  /** how it runs, for the report's first line */
  readonly setting: string;
  readonly clock: 'virtual' | 'host';
  /** the engine's clock in ns (virtual: the emulated machine's; host: from an arbitrary origin) */
  nowNs(): number;
  /** the same walk without XRP, when the engine can make it (the emulated machine) */
  baseline?(job: SfJob): WalkOutcome;
}

export interface SfReport {
  engine: SfEngineConfig['engine'];
  setting: string;
  clock: 'virtual' | 'host';
  /**
   * engine start-up in host time (workers, verifier, JIT), not counted in the figures below;
   * only in host-time reports, so that a virtual-time report is the same for the same seed
   */
  startupMs?: number;
  /** the first call's outcome and the scratch page after it */
  first: XrpOutcome;
  scratch: Uint8Array;
  calls: number;
  inFlight: number;
  /** per call, in the report's clock */
  latency: LatencySummary;
  elapsedNs: number;
  callsPerSec: number;
  /** calls that did not end as the first did (status or blocks read) */
  differing: number;
  /** the walk without XRP (emulated machine) and whether it left the same scratch page */
  baseline?: WalkOutcome;
  sameScratch?: boolean;
}

function openEngine(config: SfEngineConfig, job: SfJob): Promise<SfEngine> {
  switch (config.engine) {
    case 'emulated':
      return openEmulatedSf(config, job);
    case 'native':
      return openNativeSf(config, job);
  }
}

/** The contract's fields of an engine's outcome (an engine may return a richer object), so every report has one shape. */
function outcomeOf(r: XrpOutcome): XrpOutcome {
  return {
    status: r.status, statusName: r.statusName, partial: r.partial, progRet: r.progRet, reads: r.reads, resubmissions: r.resubmissions,
    runs: r.runs, insnsExecuted: r.insnsExecuted, stopOffsetBytes: r.stopOffsetBytes, pending: r.pending, detail: r.detail,
  };
}

/** Opens the engine of `config` on the data file, loads the program and runs the job. */
export async function runSf(config: SfEngineConfig, job: SfJob): Promise<SfReport> {
  const startMs = performance.now();
  const sf = await openEngine(config, job);
  try {
    await sf.engine.load(job.objectPath, job.programName);
    const startupMs = performance.now() - startMs;
    const baseline = sf.baseline?.(job);
    const results: XrpOutcome[] = [];
    const scratches: Uint8Array[] = [];
    const hist = new Histogram();
    let next = 0;
    const params = { sizeBytes: job.sizeBytes, ...(job.resubmitLimit !== undefined ? { resubmitLimit: job.resubmitLimit } : {}) };
    const startNs = sf.nowNs();
    const lane = async (): Promise<void> => {
      while (next < job.requests) {
        const r = next++;
        const scratch = job.scratch.slice();
        const callNs = sf.nowNs();
        results[r] = await sf.engine.readXrp(job.startOffsetBytes, scratch, params);
        hist.record(sf.nowNs() - callNs);
        scratches[r] = scratch;
      }
    };
    await Promise.all(Array.from({ length: Math.min(job.inFlight, job.requests) }, lane));
    const elapsedNs = sf.nowNs() - startNs;
    const firstResult = results[0];
    const scratch = scratches[0];
    if (firstResult === undefined || scratch === undefined) throw new CommandError(`${job.programName} on ${job.dataPath}: no call completed`);
    const first = outcomeOf(firstResult);
    const report: SfReport = {
      engine: config.engine,
      setting: sf.setting,
      clock: sf.clock,
      ...(sf.clock === 'host' ? { startupMs } : {}),
      first,
      scratch,
      calls: job.requests,
      inFlight: job.inFlight,
      latency: hist.summary(),
      elapsedNs,
      callsPerSec: job.requests / (Math.max(elapsedNs, 1) / 1e9),
      differing: results.filter((r) => r.status !== first.status || r.reads !== first.reads).length,
    };
    if (baseline !== undefined) {
      report.baseline = baseline;
      report.sameScratch = Buffer.from(baseline.scratch).equals(Buffer.from(scratch));
    }
    return report;
  } finally {
    await sf.engine.close();
  }
}
