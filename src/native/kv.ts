// BPF-KV on real files through the native engine: the same storage functions as
// the emulated stack (bpf/kv/get.bpf.o, range.bpf.o) run next to positioned
// reads of a file written by src/kv/builder.ts. The caller side is the
// original's: scatter-gather queries of up to 32 keys, range queries resumed
// from the saved leaf, and chains cut by the resubmission limit resumed from
// the scratch state (sgResumeOffset, prepRangeResume).

import { fileURLToPath } from 'node:url';
import { XrpError } from '../bpf/errors.ts';
import { XrpStatus } from '../kernel/xrp/status.ts';
import { checkKey, type KeyValue } from '../kv/lookups.ts';
import {
  AggOp,
  prepRangeResume,
  readRangeQuery,
  readSgQuery,
  SG,
  sgResumeOffset,
  writeRangeQuery,
  writeSgQuery,
  type AggOpName,
} from '../kv/scratch.ts';
import { NativeXrpEngine, type NativeXrpOptions, type NativeXrpResult } from './engine.ts';

export const KV_GET_OBJECT = fileURLToPath(new URL('../../bpf/kv/get.bpf.o', import.meta.url));
export const KV_RANGE_OBJECT = fileURLToPath(new URL('../../bpf/kv/range.bpf.o', import.meta.url));

/** calls of one query (resumes after the limit, range batches of 32 pairs) before it is declared stuck */
const CALLS_MAX = 10_000_000;

export class NativeKvError extends XrpError {
  constructor(message: string) {
    super('NATIVE_KV', message);
  }
}

export type NativeKvProgram = 'get' | 'range';

/**
 * Opens an engine on a BPF-KV file with kv_get or kv_range loaded, or `own`: a
 * storage function of one's own with the same scratch layout.
 */
export async function openKvEngine(
  dbPath: string,
  program: NativeKvProgram,
  options: NativeXrpOptions = {},
  own?: { objectPath: string; programName: string },
): Promise<NativeXrpEngine> {
  const engine = await NativeXrpEngine.open(dbPath, options);
  try {
    if (own !== undefined) await engine.load(own.objectPath, own.programName);
    else if (program === 'get') await engine.load(KV_GET_OBJECT, 'kv_get');
    else await engine.load(KV_RANGE_OBJECT, 'kv_range');
  } catch (e) {
    await engine.close();
    throw e;
  }
  return engine;
}

export interface NativeKvOptions extends NativeXrpOptions {
  /** an engine from openKvEngine(dbPath, ...) with the right program; otherwise one is opened and closed */
  engine?: NativeXrpEngine;
}

export interface NativeKvAnswer {
  key: bigint;
  found: boolean;
  /** the 64-byte value, when found */
  value?: Uint8Array;
}

export interface NativeKvStats {
  /** readXrp calls (resumes included) */
  calls: number;
  /** blocks read */
  reads: number;
}

function unexpected(result: NativeXrpResult, what: string): NativeKvError {
  const hint = result.status === XrpStatus.MAPPING_CHANGED ? ' (the file changed under the engine: open it again)' : '';
  return new NativeKvError(`${what}: the chain ended with ${result.statusName} at offset ${result.stopOffsetBytes}: ${result.detail}${hint}`);
}

async function withEngine<T>(dbPath: string, program: NativeKvProgram, options: NativeKvOptions, run: (e: NativeXrpEngine) => Promise<T>): Promise<T> {
  if (options.engine !== undefined) return run(options.engine);
  const engine = await openKvEngine(dbPath, program, options);
  try {
    return await run(engine);
  } finally {
    await engine.close();
  }
}

/** One scatter-gather call of up to 32 keys, resumed after the resubmission limit. */
async function getBatch(engine: NativeXrpEngine, keys: readonly bigint[], stats: NativeKvStats): Promise<NativeKvAnswer[]> {
  const scratch = new Uint8Array(4096);
  writeSgQuery(scratch, keys);
  let offset = 0;
  for (let call = 0; call < CALLS_MAX; call++) {
    const result = await engine.readXrp(offset, scratch);
    stats.calls++;
    stats.reads += result.reads;
    if (result.status === XrpStatus.DONE) {
      const q = readSgQuery(scratch);
      // see src/kv/xrp-ops.ts: a program without the layout leaves current_index short
      if (q.currentIndex < keys.length) {
        throw new NativeKvError(`kv_get ended DONE with current_index ${q.currentIndex} of ${keys.length} key(s): it did not finish the query (does it follow the BPF-KV scratch layout of bpf/kv/kv.h?)`);
      }
      return q
        .values.slice(0, keys.length)
        .map((v, i) => (v.found ? { key: keys[i]!, found: true, value: v.value } : { key: keys[i]!, found: false }));
    }
    if (result.status !== XrpStatus.LIMIT) throw unexpected(result, `kv_get of ${keys.length} keys`);
    const resume = sgResumeOffset(scratch);
    if (resume === undefined) throw new NativeKvError('kv_get: a chain cut by the limit has nothing left to resume');
    offset = Number(resume);
  }
  throw new NativeKvError(`kv_get did not finish in ${CALLS_MAX} calls`);
}

/** Looks up `keys` in the BPF-KV file at `dbPath`, 32 keys per request, all requests in flight at once. */
export async function nativeKvGet(
  dbPath: string,
  keys: readonly bigint[],
  options: NativeKvOptions = {},
): Promise<{ answers: NativeKvAnswer[] } & NativeKvStats> {
  keys.forEach((k) => checkKey(k));
  return withEngine(dbPath, 'get', options, async (engine) => {
    const stats: NativeKvStats = { calls: 0, reads: 0 };
    const batches: Promise<NativeKvAnswer[]>[] = [];
    for (let i = 0; i < keys.length; i += SG.KEYS_MAX) batches.push(getBatch(engine, keys.slice(i, i + SG.KEYS_MAX), stats));
    const answers = (await Promise.all(batches)).flat();
    return { answers, ...stats };
  });
}

export interface NativeRangeOptions extends NativeKvOptions {
  /** RNG_BEGIN_EXCLUSIVE (1) | RNG_END_INCLUSIVE (2); default [begin, end) */
  flags?: number;
  /** aggregation ('none' for the pairs) */
  agg?: 'none' | AggOpName;
}

export interface NativeRangeResult extends NativeKvStats {
  /** the pairs in key order (agg 'none') */
  pairs: KeyValue[];
  /** keys aggregated (every aggregation) */
  aggCount: bigint;
  /** SUM, COUNT, MIN, MAX, AVG: the value (undefined for MIN, MAX, AVG of an empty range) */
  aggValue?: bigint;
  /** SUM and AVG: the sum of the numbers (AVG exactly is aggSum / aggCount) */
  aggSum: bigint;
  /** ARRAY: the numbers in key order; SET: the distinct numbers in order of first appearance */
  out: bigint[];
}

/** A range query [begin, end) (flags change the ends) with kv_range, resumed until complete. */
export async function nativeKvRange(dbPath: string, begin: bigint, end: bigint, options: NativeRangeOptions = {}): Promise<NativeRangeResult> {
  checkKey(begin, 'range begin');
  checkKey(end, 'range end');
  const agg = options.agg ?? 'none';
  const aggOp = AggOp[agg.toUpperCase() as keyof typeof AggOp];
  if (aggOp === undefined) throw new NativeKvError(`unknown aggregation "${agg}"`);
  const flags = options.flags ?? 0;
  return withEngine(dbPath, 'range', options, async (engine) => {
    const scratch = new Uint8Array(4096);
    writeRangeQuery(scratch, begin, end, flags, aggOp);
    const result: NativeRangeResult = { pairs: [], aggCount: 0n, aggSum: 0n, out: [], calls: 0, reads: 0 };
    let offset = 0;
    for (let call = 0; call < CALLS_MAX; call++) {
      const r = await engine.readXrp(offset, scratch);
      result.calls++;
      result.reads += r.reads;
      if (r.status !== XrpStatus.DONE && r.status !== XrpStatus.LIMIT) {
        throw unexpected(r, `kv_range [${begin}, ${end}) flags ${flags} agg ${agg}`);
      }
      const query = readRangeQuery(scratch);
      result.pairs.push(...query.kv);
      result.out.push(...query.out);
      result.aggCount = query.aggCount;
      result.aggSum = query.aggSum;
      if (aggOp !== AggOp.NONE && aggOp !== AggOp.ARRAY && aggOp !== AggOp.SET) {
        const emptyUndefined = aggOp === AggOp.MIN || aggOp === AggOp.MAX || aggOp === AggOp.AVG;
        if (query.aggCount === 0n && emptyUndefined) delete result.aggValue;
        else result.aggValue = query.aggValue;
      }
      const resume = prepRangeResume(scratch);
      if (resume.complete) {
        if (aggOp === AggOp.SET) result.out = [...new Set(result.out)];
        return result;
      }
      offset = Number(resume.resumeFromLeaf);
    }
    throw new NativeKvError(`kv_range did not finish in ${CALLS_MAX} calls`);
  });
}
