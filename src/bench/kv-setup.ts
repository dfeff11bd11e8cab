// BPF-KV databases for the experiments: one image per point in the point's
// scratch directory. Deep trees use the computed store (the device computes
// the blocks on demand; the same bytes and timing as a written file, with
// bounded disk), shallow ones are written by the builder.

import { join } from 'node:path';
import { createKvImage } from '../kv/kv-db.ts';
import type { KvRunStats } from '../kv/modes.ts';
import { round2 } from './round.ts';
import type { Row } from './types.ts';

/** Layers from which the image uses computed storage (a written 4-layer file is 72 MB). */
const COMPUTED_FROM_LAYERS = 4;

export async function kvImage(tmpDir: string, layers: number): Promise<string> {
  const imagePath = join(tmpDir, `kv-${layers}.img`);
  await createKvImage(imagePath, { layers, storage: layers >= COMPUTED_FROM_LAYERS ? 'computed' : 'written' });
  return imagePath;
}

/** The measurement columns every KV experiment reports (virtual time). */
export function kvStatsRow(s: KvRunStats): Row {
  return {
    requests: s.requests,
    kRequestsPerSec: round2(s.requestsPerSec / 1e3),
    kKeysPerSec: round2(s.keysPerSec / 1e3),
    meanNs: Math.round(s.latency.meanNs),
    p50Ns: s.latency.p50Ns,
    p99Ns: s.latency.p99Ns,
    p999Ns: s.latency.p999Ns,
    maxNs: s.latency.maxNs,
    readsPerRequest: round2(s.deviceReads / s.requests),
    xrpFallbacks: s.xrpFallbacks,
  };
}

export const MODE_ORDER = ['read', 'uring', 'spdk', 'xrp'] as const;
