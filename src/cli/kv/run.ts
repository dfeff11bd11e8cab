// The one seam of `xrp kv get|range`: a KvRunner runs lookups or a range query
// over a BPF-KV DB and returns a KvRunReport, whatever the engine. The engine
// and what only it has (the emulated machine's modes, cores, device and cache;
// the native engine's requests in flight) are configuration (KvEngineConfig),
// chosen once by openKvRunner; the command and its printer (print.ts) never
// branch on the engine.

import type { KeyRange } from '../../kv/lookups.ts';
import type { KvMode } from '../../kv/modes.ts';
import type { RangeAgg, RangeAnswer } from '../../kv/user-ops.ts';
import type { LatencySummary } from '../../sim/histogram.ts';
import type { StorageFunctionRef } from '../storage-function.ts';
import { runEmulated } from './emulated.ts';
import { runNative } from './native.ts';

/** The emulated machine in virtual time: the four modes of src/kv/modes.ts. */
export interface EmulatedKvConfig {
  engine: 'emulated';
  mode: KvMode;
  /** simulated application threads */
  threads: number;
  cores: number;
  device: string;
  seed: number;
  /** top index layers cached in user memory */
  cacheLayers: number;
  /** uring mode: the keys of a request advance together */
  uringBatch: boolean;
  /** mode xrp: reads one request may make across its calls and the fallback (default from the file's depth) */
  readsMax?: number;
}

/** The native engine on the real file, in host time (src/native/). */
export interface NativeKvConfig {
  engine: 'native';
  /** requests kept in flight at once */
  inFlight: number;
  /** seed of the random keys */
  seed: number;
  /** reads one request may make across its resumed calls (default from the file's depth) */
  readsMax?: number;
}

export type KvEngineConfig = EmulatedKvConfig | NativeKvConfig;

export interface KvGetJob {
  /** the keys, reused cyclically (default: seeded random keys of the file) */
  keys?: readonly bigint[];
  requests: number;
  keysPerRequest: number;
  own?: StorageFunctionRef;
}

export interface KvRangeJob {
  range: KeyRange;
  agg: RangeAgg;
  requests: number;
  own?: StorageFunctionRef;
}

/** What every engine reports of a run, in its own clock. */
export interface KvRunReport {
  engine: KvEngineConfig['engine'];
  /** the BPF-KV file (its name in the image, or the plain file's path), its depth and keys */
  fileName: string;
  layers: number;
  keyCount: number;
  /** the storage function run (null when the mode reads in user space) */
  program: string | null;
  /** how the engine ran: 'mode read on 6 simulated core(s), optane-p5800x' */
  setting: string;
  /** what ran at once: '4 thread(s)', '2 in flight' */
  concurrency: string;
  /** virtual: the emulated machine's integer ns; host: this host's clock */
  clock: 'virtual' | 'host';
  /** engine start-up not counted in the figures below (workers, verifier, JIT) */
  startupMs?: number;
  requests: number;
  keys: number;
  /** per request, in the report's clock */
  latency: LatencySummary;
  /** first request started to last request ended */
  elapsedNs: number;
  requestsPerSec: number;
  keysPerSec: number;
  /** read_xrp calls (null when the mode does not call it) and those finished by the user-space fallback */
  xrpCalls: number | null;
  xrpFallbacks: number;
  blockReads: number;
  /** a request spent its read budget: its answer is incomplete */
  partial: boolean;
  limitDetail?: string;
  /** the engine's own result, as --json prints it */
  json: object;
}

/** One key's answer (the emulated runs' LookupAnswer, the native client's NativeKvAnswer). */
export interface KvLookupAnswer {
  key: bigint;
  found: boolean;
  /** the 64 value bytes, when found */
  value?: Uint8Array | null;
}

export interface KvGetReport extends KvRunReport {
  /** answers in request order, keys in order within a request */
  answers: readonly KvLookupAnswer[];
}

export interface KvRangeReport extends KvRunReport {
  /** the answer of the first request (every request asks the same range) */
  answer: RangeAnswer;
}

export interface KvRunner {
  get(job: KvGetJob): Promise<KvGetReport>;
  range(job: KvRangeJob): Promise<KvRangeReport>;
}

/** The runner of `config` over the DB at `db` (an image or a plain BPF-KV file, as the engine takes). */
export function openKvRunner(db: string, config: KvEngineConfig): KvRunner {
  switch (config.engine) {
    case 'emulated':
      return runEmulated(db, config);
    case 'native':
      return runNative(db, config);
  }
}
