// `xrp sf run` on the native engine: the real file, worker threads, host time.

import { NativeXrpEngine } from '../../native/engine.ts';
import type { NativeSfConfig, SfEngine, SfJob } from './run.ts';

export async function openNativeSf(config: NativeSfConfig, job: SfJob): Promise<SfEngine> {
  const engine = await NativeXrpEngine.open(job.dataPath, config.direct !== undefined ? { direct: config.direct } : {});
  const originNs = process.hrtime.bigint();
  return {
    engine,
    setting: 'native engine (the real file, host time)',
    clock: 'host',
    nowNs: () => Number(process.hrtime.bigint() - originNs),
  };
}
