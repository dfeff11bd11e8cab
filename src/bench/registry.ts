// The experiments `xrp bench` knows, in the issue's order. To add one, write
// src/bench/experiments/NAME.ts exporting an `Experiment` and list it here.

import { BenchError } from './errors.ts';
import { breakdownExperiment } from './experiments/breakdown.ts';
import { devicesExperiment } from './experiments/devices.ts';
import { fanoutExperiment } from './experiments/fanout.ts';
import { latencyExperiment } from './experiments/latency.ts';
import { layersExperiment } from './experiments/layers.ts';
import { multikeyExperiment } from './experiments/multikey.ts';
import { rangeExperiment } from './experiments/range.ts';
import { schedulingExperiment } from './experiments/scheduling.ts';
import { chainExperiment, resubmitLimitExperiment, skiplistExperiment } from './experiments/structures.ts';
import { throughputExperiment } from './experiments/throughput.ts';
import { ycsbExperiment } from './experiments/ycsb.ts';
import type { Experiment } from './types.ts';

export const EXPERIMENTS: readonly Experiment[] = [
  breakdownExperiment,
  layersExperiment,
  latencyExperiment,
  throughputExperiment,
  rangeExperiment,
  multikeyExperiment,
  chainExperiment,
  skiplistExperiment,
  resubmitLimitExperiment,
  fanoutExperiment,
  schedulingExperiment,
  devicesExperiment,
  ycsbExperiment,
].sort((a, b) => a.number - b.number);

function unknown(name: string): BenchError {
  return new BenchError(`unknown experiment '${name}'; known: ${EXPERIMENTS.map((x) => `${x.number} ${x.id}`).join(', ')}`);
}

/** By id (`latency`). */
export function findExperiment(id: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.id === id);
  if (e === undefined) throw unknown(id);
  return e;
}

/** By id, or by number (`6.2`; `6` names 6.1, 6.2 and 6.3, the experiments of one item). */
export function selectExperiments(name: string): Experiment[] {
  const found = EXPERIMENTS.filter((x) => x.id === name || String(x.number) === name || String(Math.trunc(x.number)) === name);
  if (found.length === 0) throw unknown(name);
  return found;
}
