// BPF-KV on real files through the native engine: the same storage functions as
// the emulated stack (bpf/kv/get.bpf.o, range.bpf.o) run next to positioned
// reads of a file written by src/kv/builder.ts. The caller side is the
// original's: scatter-gather queries of up to 32 keys, a get cut by the
// resubmission limit resumed from the scratch state (sgResumeOffset), range
// queries resumed from the saved leaf once a call is done (prepRangeResume),
// and a range chain cut by the limit continued at its pending read.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { XrpError } from '../base/errors.ts';
import type { XrpLookupBudget } from '../xrp/budget.ts';
import { kvGetBudget, kvLimitDetail, kvRangeBudget } from './budget.ts';
import { XrpStatus } from '../xrp/status.ts';
import { checkRoot, structureErrorOfChain, type KvWalkPlace } from './checks.ts';
import { NODE_BYTES } from './format.ts';
import { checkKey, isEmptyRange, type KeyValue } from './lookups.ts';
import {
  AggOp,
  prepRangeResume,
  readRangeQuery,
  readSgQuery,
  SCRATCH_BYTES,
  SG,
  sgResumeOffset,
  writeRangeQuery,
  writeSgQuery,
  type AggOpName,
  type RangeQuery,
} from './scratch.ts';
import type { XrpEngine, XrpOutcome } from '../xrp/engine.ts';
import { NativeXrpEngine, type NativeXrpOptions } from '../native/engine.ts';
import type { RangeAgg, RangeAnswer } from './user-ops.ts';

export const KV_GET_OBJECT = fileURLToPath(new URL('../../bpf/kv/get.bpf.o', import.meta.url));
export const KV_RANGE_OBJECT = fileURLToPath(new URL('../../bpf/kv/range.bpf.o', import.meta.url));

/** The checked facts of a BPF-KV file: its size and depth (src/kv/checks.ts checkRoot). */
interface KvFileFacts {
  fileBytes: number;
  layers: number;
}

/** The open-time checks every mode makes: the size names a depth, the root's type is that depth's. */
function checkKvFile(dbPath: string): KvFileFacts {
  let fileBytes: number;
  const root = new Uint8Array(NODE_BYTES);
  try {
    fileBytes = statSync(dbPath).size;
    const fd = openSync(dbPath, 'r');
    try {
      readSync(fd, root, 0, NODE_BYTES, 0);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new NativeKvError(`cannot read '${dbPath}': ${(e as Error).message}`);
  }
  return { fileBytes, layers: checkRoot(dbPath, fileBytes, root) };
}

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
  /** an engine with the right program loaded (openKvEngine, or any XrpEngine such as the emulated one); otherwise a native one is opened and closed */
  engine?: XrpEngine;
  /**
   * Reads one request may make across all its resumed calls (a batch of up to
   * 32 keys, or a range query). Default: from the file's depth (lookupReadsDefault:
   * twice what a well-formed file needs). When spent, the result is partial.
   */
  readsMax?: number;
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
  /** a request's read budget ran out (status LIMIT): the answers are those reached before */
  partial: boolean;
  /** why, when partial */
  limitDetail?: string;
}

function unexpected(result: XrpOutcome, what: string, place: KvWalkPlace, holderOffset?: number): XrpError {
  const structural = structureErrorOfChain(place, result.status, result.stopOffsetBytes, result.progRet, holderOffset);
  if (structural !== null) return structural;
  const hint = result.status === XrpStatus.MAPPING_CHANGED ? ' (the file changed under the engine: open it again)' : '';
  return new NativeKvError(`${what}: the chain ended with ${result.statusName} at offset ${result.stopOffsetBytes}: ${result.detail}${hint}`);
}

async function withEngine<T>(dbPath: string, program: NativeKvProgram, options: NativeKvOptions, run: (e: XrpEngine) => Promise<T>): Promise<T> {
  if (options.engine !== undefined) return run(options.engine);
  const engine = await openKvEngine(dbPath, program, options);
  try {
    return await run(engine);
  } finally {
    await engine.close();
  }
}

/** One scatter-gather call of up to 32 keys, resumed after the resubmission limit while its read budget lasts. */
async function getBatch(engine: XrpEngine, dbPath: string, facts: KvFileFacts, keys: readonly bigint[], budget: XrpLookupBudget, callLimit: number, stats: NativeKvStats): Promise<NativeKvAnswer[]> {
  const scratch = new Uint8Array(4096);
  writeSgQuery(scratch, keys);
  let offset = 0;
  const answered = (): NativeKvAnswer[] => {
    const q = readSgQuery(scratch);
    const n = Math.max(0, Math.min(q.currentIndex, keys.length));
    return q.values.slice(0, n).map((v, i) => {
      const key = keys[i] ?? 0n; // values.slice(0, n) with n <= keys.length: i < keys.length
      return v.found ? { key, found: true, value: v.value } : { key, found: false };
    });
  };
  while (budget.open) {
    const result = await engine.readXrp(offset, scratch, { resubmitLimit: budget.nextLimit(callLimit) });
    budget.charge(result.reads);
    stats.calls++;
    stats.reads += result.reads;
    if (result.status === XrpStatus.DONE) {
      // see src/kv/xrp-ops.ts: a program without the layout leaves current_index short
      const done = readSgQuery(scratch).currentIndex;
      if (done < keys.length) {
        throw new NativeKvError(`kv_get ended DONE with current_index ${done} of ${keys.length} key(s): it did not finish the query (does it follow the BPF-KV scratch layout of bpf/kv/kv.h?)`);
      }
      return answered();
    }
    const q = readSgQuery(scratch);
    const place = { file: dbPath, fileBytes: facts.fileBytes, key: keys[Math.max(0, Math.min(q.currentIndex, keys.length - 1))] ?? null };
    if (result.status !== XrpStatus.LIMIT) throw unexpected(result, `kv_get of ${keys.length} keys`, place);
    const resume = sgResumeOffset(scratch);
    if (resume === undefined) throw new NativeKvError('kv_get: a chain cut by the limit has nothing left to resume');
    offset = Number(resume);
  }
  stats.partial = true;
  stats.limitDetail = kvLimitDetail(`kv_get of ${keys.length} keys`, budget);
  return answered();
}

/** Looks up `keys` in the BPF-KV file at `dbPath`, 32 keys per request, all requests in flight at once. */
export async function nativeKvGet(
  dbPath: string,
  keys: readonly bigint[],
  options: NativeKvOptions = {},
): Promise<{ answers: NativeKvAnswer[] } & NativeKvStats> {
  keys.forEach((k) => checkKey(k));
  const facts = checkKvFile(dbPath);
  return withEngine(dbPath, 'get', options, async (engine) => {
    const callLimit = engine.resubmitLimit;
    const stats: NativeKvStats = { calls: 0, reads: 0, partial: false };
    const batches: Promise<NativeKvAnswer[]>[] = [];
    for (let i = 0; i < keys.length; i += SG.KEYS_MAX) {
      const batch = keys.slice(i, i + SG.KEYS_MAX);
      const budget = kvGetBudget(facts.layers, batch.length, options.readsMax);
      batches.push(getBatch(engine, dbPath, facts, batch, budget, callLimit, stats));
    }
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

/** The one read a chain cut by the resubmission limit goes on with (BPF-KV's programs never fan out). */
export function continuationOf(r: XrpOutcome, what: string): { offsetBytes: number; sizeBytes: number } {
  const [next, ...more] = r.pending;
  if (next === undefined || more.length > 0) {
    throw new NativeKvError(`${what}: the chain was cut at offset ${r.stopOffsetBytes} with ${r.pending.length} read(s) pending; one is needed to go on`);
  }
  return next;
}

export interface RangeWalkOptions {
  /** RNG_BEGIN_EXCLUSIVE (1) | RNG_END_INCLUSIVE (2) */
  flags: number;
  /** the AggOp written to the page */
  aggOp: number;
  /** the query's reads across all its calls */
  budget: XrpLookupBudget;
  /** names the query where a cut chain cannot go on, and in the default failure */
  what: string;
  /** the error of a chain that ended neither DONE nor LIMIT, given the page as the chain left it (default: its status and detail) */
  failure?: (r: XrpOutcome, scratch: Uint8Array) => Error;
}

export interface RangeWalk {
  /** the pairs of every call, in key order */
  pairs: KeyValue[];
  /** the numbers (ARRAY, SET) of every call, in order, repeats kept */
  out: bigint[];
  /** the page of the last call collected, whose aggregates are the query's so far (undefined before the first) */
  last: RangeQuery | undefined;
  /** readXrp calls, continuations included */
  calls: number;
  reads: number;
  /** chains cut by the resubmission limit and continued */
  continuations: number;
  /** the budget ran out: the answer is what was reached */
  partial: boolean;
}

/**
 * A range query [begin, end) through the range program loaded in `engine`
 * (kv_range, or any program with its scratch layout, such as the original
 * authors' range.c): set_range, a call from the saved leaf, prep_range_resume,
 * until the range is empty or the budget is spent.
 */
export async function walkRange(engine: XrpEngine, begin: bigint, end: bigint, options: RangeWalkOptions): Promise<RangeWalk> {
  const { budget, what } = options;
  const callLimit = engine.resubmitLimit;
  const scratch = new Uint8Array(SCRATCH_BYTES);
  writeRangeQuery(scratch, begin, end, options.flags, options.aggOp);
  const walk: RangeWalk = { pairs: [], out: [], last: undefined, calls: 0, reads: 0, continuations: 0, partial: false };
  let offset = 0;
  let sizeBytes = NODE_BYTES;
  while (budget.open) {
    const r = await engine.readXrp(offset, scratch, { resubmitLimit: budget.nextLimit(callLimit), sizeBytes });
    budget.charge(r.reads);
    walk.calls++;
    walk.reads += r.reads;
    if (r.status !== XrpStatus.DONE && r.status !== XrpStatus.LIMIT) {
      throw options.failure?.(r, scratch) ?? new NativeKvError(`${what}: the chain ended with ${r.statusName} at offset ${r.stopOffsetBytes}: ${r.detail}`);
    }
    if (r.status === XrpStatus.LIMIT && budget.open) {
      // A chain cut by the resubmission limit goes on at its pending read with the
      // scratch page untouched: exact for any program. Resuming from the saved leaf
      // is not: the original authors' range.c moves past a key when it asks for the
      // key's value, so a cut before the value arrives would lose it.
      const next = continuationOf(r, what);
      walk.continuations++;
      offset = next.offsetBytes;
      sizeBytes = next.sizeBytes;
      continue;
    }
    const query = readRangeQuery(scratch);
    walk.pairs.push(...query.kv);
    walk.out.push(...query.out);
    walk.last = query;
    // The budget is spent on a cut chain: the pairs it reached are in, but its page
    // cannot say the query is complete (range.c's range_begin may already be past
    // a value still pending).
    if (r.status === XrpStatus.LIMIT) break;
    const resume = prepRangeResume(scratch);
    if (resume.complete) return walk;
    offset = Number(resume.resumeFromLeaf);
    sizeBytes = NODE_BYTES;
  }
  walk.partial = true;
  return walk;
}

/** A range query [begin, end) (flags change the ends) with kv_range, resumed until complete. */
export async function nativeKvRange(dbPath: string, begin: bigint, end: bigint, options: NativeRangeOptions = {}): Promise<NativeRangeResult> {
  checkKey(begin, 'range begin');
  checkKey(end, 'range end');
  const agg = options.agg ?? 'none';
  const aggOp = AggOp[agg.toUpperCase() as keyof typeof AggOp];
  if (aggOp === undefined) throw new NativeKvError(`unknown aggregation "${agg}"`);
  const flags = options.flags ?? 0;
  const facts = checkKvFile(dbPath);
  const budget = kvRangeBudget(facts.layers, options.readsMax);
  const place = { file: dbPath, fileBytes: facts.fileBytes, key: begin };
  if (isEmptyRange({ begin, end, flags })) {
    // As the user-space walk and the emulated xrp mode: an empty range is answered without a read.
    const empty: NativeRangeResult = { pairs: [], aggCount: 0n, aggSum: 0n, out: [], calls: 0, reads: 0, partial: false };
    if (aggOp === AggOp.COUNT || aggOp === AggOp.SUM) empty.aggValue = 0n;
    return empty;
  }
  return withEngine(dbPath, 'range', options, async (engine) => {
    const what = `kv_range [${begin}, ${end})`;
    const walk = await walkRange(engine, begin, end, {
      flags,
      aggOp,
      budget,
      what,
      failure: (r, scratch) => unexpected(r, `${what} flags ${flags} agg ${agg}`, place, Number(readRangeQuery(scratch).resumeFromLeaf)),
    });
    const { last } = walk;
    const result: NativeRangeResult = {
      pairs: walk.pairs,
      aggCount: last?.aggCount ?? 0n,
      aggSum: last?.aggSum ?? 0n,
      out: aggOp === AggOp.SET ? [...new Set(walk.out)] : walk.out,
      calls: walk.calls,
      reads: walk.reads,
      partial: walk.partial,
    };
    if (last !== undefined && aggOp !== AggOp.NONE && aggOp !== AggOp.ARRAY && aggOp !== AggOp.SET) {
      const emptyUndefined = aggOp === AggOp.MIN || aggOp === AggOp.MAX || aggOp === AggOp.AVG;
      if (last.aggCount !== 0n || !emptyUndefined) result.aggValue = last.aggValue;
    }
    if (walk.partial) result.limitDetail = kvLimitDetail(what, budget);
    return result;
  });
}

/** The answer of a range query as the emulated runs give it (src/kv/user-ops.ts), so callers print one shape whatever the engine. */
export function rangeAnswerOf(result: NativeRangeResult, agg: RangeAgg): RangeAnswer {
  const answer: RangeAnswer = { agg, count: agg === 'none' ? result.pairs.length : Number(result.aggCount), calls: result.calls };
  if (agg === 'none') answer.pairs = result.pairs;
  else if (agg === 'array' || agg === 'set') answer.numbers = result.out;
  else if (result.aggValue !== undefined) answer.value = result.aggValue;
  if (agg === 'avg') answer.sum = result.aggSum;
  return answer;
}
