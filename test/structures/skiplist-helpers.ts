// Running the skip-list storage functions through the engine driver: a point
// lookup, and a range scan across its resumes (at most 32 pairs per call).
import assert from 'node:assert/strict';
import type { BlockSource } from '../../src/structures/io.ts';
import {
  readSlGetQuery,
  readSlRangeQuery,
  resumeSlRangeQuery,
  SL_FINISHED,
  SL_HEAD_OFFSET,
  SL_RANGE_PAIRS,
  writeSlGetQuery,
  writeSlRangeQuery,
  type SlGetOutcome,
  type SlPair,
} from '../../src/structures/skiplist-format.ts';
import type { DriverRun, EngineDriver } from './engine-driver.ts';

export function xrpGet(driver: EngineDriver, file: BlockSource, key: bigint): { run: DriverRun; outcome: SlGetOutcome } {
  writeSlGetQuery(driver.scratchBytes, key);
  const run = driver.run(file, SL_HEAD_OFFSET);
  return { run, outcome: readSlGetQuery(driver.scratchBytes) };
}

export interface XrpRange {
  pairs: SlPair[];
  reads: number;
  callPairs: number[];
}

export function xrpRange(driver: EngineDriver, file: BlockSource, begin: bigint, end: bigint): XrpRange {
  writeSlRangeQuery(driver.scratchBytes, begin, end);
  const pairs: SlPair[] = [];
  const callPairs: number[] = [];
  let offset = SL_HEAD_OFFSET;
  for (let call = 0; call < 100_000; call++) {
    const run = driver.run(file, offset);
    assert.equal(run.status, 'done', `range ${begin}..${end} call ${call}: ${run.status} r0=${run.r0}`);
    const got = readSlRangeQuery(driver.scratchBytes);
    pairs.push(...got.pairs);
    callPairs.push(got.pairs.length);
    if (got.resumeOffset === 0) {
      assert.equal(got.state, SL_FINISHED);
      return { pairs, reads: got.reads, callPairs };
    }
    assert.equal(got.pairs.length, SL_RANGE_PAIRS, 'a call stops early only with a full page');
    resumeSlRangeQuery(driver.scratchBytes);
    offset = got.resumeOffset;
  }
  throw new Error('range scan did not finish');
}
