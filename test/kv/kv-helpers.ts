// Shared by the BPF-KV tests: a seeded PRNG, cached small files, and the
// caller side of the storage functions (point lookups and resumed ranges) on
// the test chain driver.

import { buildKvBytes, type BuildOptions } from '../../src/kv/builder.ts';
import { MemoryBlockSource, type BlockSource } from '../../src/base/block-source.ts';
import type { KeyRange, KeyValue } from '../../src/kv/lookups.ts';
import {
  prepRangeResume,
  readRangeQuery,
  readSgQuery,
  sgResumeOffset,
  writeRangeQuery,
  writeSgQuery,
  type MaybeValue,
  type RangeQuery,
} from '../../src/kv/scratch.ts';
import { ChainDriver, type ChainResult } from './chain-driver.ts';

/** mulberry32: small, seeded, deterministic. */
export class TestRng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  nextU32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** uniform in [0, n) for n <= 2^32 */
  below(n: number): number {
    return Math.floor((this.nextU32() / 0x1_0000_0000) * n);
  }
}

const files = new Map<string, Uint8Array>();
/** The bytes of a built file, built once per test process. */
export async function kvBytes(layers: number, options: Omit<BuildOptions, 'layers'> = {}, tag = ''): Promise<Uint8Array> {
  const name = `${layers}:${tag}`;
  let bytes = files.get(name);
  if (bytes === undefined) {
    bytes = await buildKvBytes({ layers, ...options });
    files.set(name, bytes);
  }
  return bytes;
}

export async function kvSource(layers: number): Promise<MemoryBlockSource> {
  return new MemoryBlockSource(await kvBytes(layers));
}

export const GET_OBJECT = 'bpf/kv/get.bpf.o';
export const RANGE_OBJECT = 'bpf/kv/range.bpf.o';

export type EngineName = 'interp' | 'jit';
const drivers = new Map<string, ChainDriver>();
function driverFor(object: string, program: string, engine: EngineName): ChainDriver {
  const name = `${program}:${engine}`;
  let driver = drivers.get(name);
  if (driver === undefined) {
    driver = new ChainDriver(object, program, engine);
    drivers.set(name, driver);
  }
  return driver;
}
export const getProgram = (engine: EngineName = 'interp'): ChainDriver => driverFor(GET_OBJECT, 'kv_get', engine);
export const rangeProgram = (engine: EngineName = 'interp'): ChainDriver => driverFor(RANGE_OBJECT, 'kv_range', engine);

export interface XrpCallOptions {
  /** cut every chain after this many reads (like a resubmission limit) and resume it from scratch */
  cutAfter?: () => number;
  engine?: EngineName;
}

/**
 * One XRP call of the scatter-gather lookup: up to 32 keys. With `cutAfter`,
 * every chain is cut after that many reads (like a resubmission limit) and
 * resumed from the scratch state (sgResumeOffset), as a fallback would.
 */
export function xrpGet(
  source: BlockSource,
  keys: readonly bigint[],
  options: XrpCallOptions = {},
): { values: MaybeValue[]; chain: ChainResult; cuts: number } {
  const { cutAfter } = options;
  const driver = getProgram(options.engine);
  writeSgQuery(driver.scratchBytes, keys);
  let offset = 0;
  let cuts = 0;
  for (;;) {
    const chain = driver.run(source, offset, cutAfter?.());
    if (chain.status !== 'cut') return { values: readSgQuery(driver.scratchBytes).values.slice(0, keys.length), chain, cuts };
    cuts++;
    const resume = sgResumeOffset(driver.scratchBytes);
    if (resume === undefined) throw new Error('a cut chain with nothing left to resume');
    offset = Number(resume);
  }
}

export interface XrpRangeResult {
  pairs: KeyValue[];
  /** the concatenated out[] of every call (ARRAY, SET) */
  out: bigint[];
  /** out[] per call */
  outPerCall: bigint[][];
  /** pairs per call */
  lensPerCall: number[];
  last: RangeQuery;
  chains: ChainResult[];
}

/**
 * A range query through kv_range, resumed until complete (callsMax bounds it).
 * With `cutAfter`, chains are also cut after that many reads and resumed the same way.
 */
export function xrpRange(source: BlockSource, range: KeyRange, aggOp = 0, options: XrpCallOptions = {}, callsMax = 100_000): XrpRangeResult {
  const { cutAfter } = options;
  const driver = rangeProgram(options.engine);
  const page = driver.scratchBytes;
  writeRangeQuery(page, range.begin, range.end, range.flags ?? 0, aggOp);
  const result: XrpRangeResult = { pairs: [], out: [], outPerCall: [], lensPerCall: [], last: readRangeQuery(page), chains: [] };
  let offset = 0;
  for (let call = 0; call < callsMax; call++) {
    const chain = driver.run(source, offset, cutAfter?.());
    result.chains.push(chain);
    const query = readRangeQuery(page);
    result.last = query;
    if (chain.status === 'error') return result;
    result.pairs.push(...query.kv);
    if (chain.status === 'done') result.lensPerCall.push(query.len);
    result.out.push(...query.out);
    result.outPerCall.push(query.out);
    const resume = prepRangeResume(page);
    if (resume.complete) return result;
    offset = Number(resume.resumeFromLeaf);
  }
  throw new Error(`range query did not complete in ${callsMax} calls`);
}
