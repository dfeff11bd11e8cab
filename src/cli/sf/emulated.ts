// `xrp sf run` on the emulated machine: an EmulatedXrpEngine on a copy of the
// data file (virtual time, the same figures for the same seed), with the read()
// walk of baseline.ts to compare with.

import { statSync } from 'node:fs';
import { EmulatedXrpEngine } from '../../kernel/xrp/engine.ts';
import { CommandError } from '../errors.ts';
import { readWalk } from './baseline.ts';
import type { EmulatedSfConfig, SfEngine, SfJob } from './run.ts';

/** Two cores: the caller's and one more for the completion interrupts. */
const SF_CORES = 2;

export async function openEmulatedSf(config: EmulatedSfConfig, job: SfJob): Promise<SfEngine> {
  if (statSync(job.dataPath).size === 0) throw new CommandError(`${job.dataPath} is empty`);
  const engine = await EmulatedXrpEngine.open(job.dataPath, { profile: config.device, seed: config.seed, cores: SF_CORES });
  return {
    engine,
    setting: `emulated machine (${config.device}, virtual time)`,
    clock: 'virtual',
    nowNs: () => engine.machine.sim.nowNs,
    baseline: (j) => readWalk(engine.machine, j),
  };
}
