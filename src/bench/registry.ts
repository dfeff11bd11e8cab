// The experiments `xrp bench` knows, in the issue's order. To add one, write
// src/bench/experiments/NAME.ts exporting an `Experiment` and list it here.

import { BenchError } from './errors.ts';
import { breakdownExperiment } from './experiments/breakdown.ts';
import { schedulingExperiment } from './experiments/scheduling.ts';
import type { Experiment } from './types.ts';

export const EXPERIMENTS: readonly Experiment[] = [breakdownExperiment, schedulingExperiment].sort((a, b) => a.number - b.number);

/** By id (`latency`) or by number (`2`). */
export function findExperiment(name: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.id === name || String(x.number) === name);
  if (e === undefined) {
    throw new BenchError(`unknown experiment '${name}'; known: ${EXPERIMENTS.map((x) => `${x.number} ${x.id}`).join(', ')}`);
  }
  return e;
}
