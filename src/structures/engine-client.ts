// The structures' storage functions on a file through any read_xrp engine
// (src/xrp/engine.ts: the native engine on real files at real speed, or the
// emulated kernel); the caller says which by the opener it passes. Every query
// of a batch is in flight at once. A request cut by the resubmission
// limit is finished, as on the emulated machine, by user space (the array
// chain's walk from the scratch state, with synchronous reads of the file) or
// by read_xrp again from the pending offset (fallback 'xrp'; always so for the
// skip list, whose search state lives in the scratch page).

import { FileBlockSource } from '../base/block-source.ts';
import { XrpStatus, xrpStatusName } from '../xrp/status.ts';
import type { XrpEngine, XrpOutcome } from '../xrp/engine.ts';
import { blockOffsetOf, readArrayChainQuery, walkArrayChain, writeArrayChainQuery, type ArrayChainState } from './array-chain.ts';
import { paramError, StructureError } from './errors.ts';
import { ARRAY_CHAIN_FN, SKIPLIST_GET_FN, SKIPLIST_RANGE_FN, type StorageFunction } from './programs.ts';
import {
  readSlGetQuery,
  readSlRangeQuery,
  resumeSlRangeQuery,
  SL_HEAD_OFFSET,
  writeSlGetQuery,
  writeSlRangeQuery,
  type SlPair,
} from './skiplist-format.ts';

const PAGE_BYTES = 4096;
/** read_xrp calls one query may make (LIMIT resumes, range pages) */
const CALLS_PER_QUERY_MAX = 1 << 20;

export interface EngineRunOptions {
  /** Opens the engine that serves the file at `path` (for example NativeXrpEngine.open or EmulatedXrpEngine.open). */
  openEngine: (path: string) => Promise<XrpEngine>;
  /** reads after the first per read_xrp (default: the engine's, 4096) */
  resubmitLimit?: number;
  /** array chain: who finishes a request cut by the limit (default 'user') */
  fallback?: 'user' | 'xrp';
}

export interface EngineCounts {
  /** read_xrp requests */
  calls: number;
  /** blocks read by the storage function */
  reads: number;
  /** requests that ended with LIMIT */
  limitHits: number;
  /** blocks read by the user-space fallback */
  fallbackReads: number;
}

/** Opens an engine on `path` with `fn` loaded, runs `body`, closes the engine. */
async function withEngine<T>(path: string, fn: StorageFunction, options: EngineRunOptions, body: (engine: XrpEngine) => Promise<T>): Promise<T> {
  const engine = await options.openEngine(path);
  try {
    await engine.load(fn.objectPath, fn.program);
    return await body(engine);
  } finally {
    await engine.close();
  }
}

/** One read_xrp; DONE and LIMIT are answers, anything else an error naming the status. */
async function call(engine: XrpEngine, offsetBytes: number, scratch: Uint8Array, counts: EngineCounts, resubmitLimit: number | undefined): Promise<XrpOutcome> {
  const r = await engine.readXrp(offsetBytes, scratch, resubmitLimit !== undefined ? { resubmitLimit } : {});
  counts.calls++;
  counts.reads += r.reads;
  if (r.status === XrpStatus.LIMIT) counts.limitHits++;
  else if (r.status !== XrpStatus.DONE) {
    throw new StructureError('STRUCT_PROGRAM', `read_xrp (${engine.kind}) at offset ${offsetBytes} ended with ${xrpStatusName(r.status)} (r0 ${r.progRet}${r.detail !== '' ? `, ${r.detail}` : ''})`);
  }
  return r;
}

/** Calls read_xrp from `offsetBytes` again after each LIMIT until the chain is done. */
async function untilDone(engine: XrpEngine, offsetBytes: number, scratch: Uint8Array, counts: EngineCounts, resubmitLimit: number | undefined): Promise<void> {
  let r = await call(engine, offsetBytes, scratch, counts, resubmitLimit);
  for (let calls = 1; r.status === XrpStatus.LIMIT; calls++) {
    const next = r.pending[0];
    if (next === undefined) throw new StructureError('STRUCT_RUN', 'native read_xrp ended with LIMIT and no pending read');
    if (calls >= CALLS_PER_QUERY_MAX) throw new StructureError('STRUCT_RUN', `a query needed more than ${CALLS_PER_QUERY_MAX} read_xrp calls`);
    r = await call(engine, next.offsetBytes, scratch, counts, resubmitLimit);
  }
}

/** Array-chain queries on a real file; answers in query order. */
export async function engineArrayChain(
  path: string, queries: readonly ArrayChainState[], options: EngineRunOptions,
): Promise<{ answers: ArrayChainState[] } & EngineCounts> {
  const fallback = options.fallback ?? 'user';
  if (fallback !== 'user' && fallback !== 'xrp') throw paramError(`native: fallback must be 'user' or 'xrp', got ${String(fallback)}`);
  const counts: EngineCounts = { calls: 0, reads: 0, limitHits: 0, fallbackReads: 0 };
  const source = new FileBlockSource(path);
  try {
    const answers = await withEngine(path, ARRAY_CHAIN_FN, options, (engine) =>
      Promise.all(queries.map(async (q) => {
        const scratch = new Uint8Array(PAGE_BYTES);
        writeArrayChainQuery(scratch, q);
        if (fallback === 'xrp') {
          await untilDone(engine, blockOffsetOf(q.index), scratch, counts, options.resubmitLimit);
          return readArrayChainQuery(scratch);
        }
        const r = await call(engine, blockOffsetOf(q.index), scratch, counts, options.resubmitLimit);
        if (r.status === XrpStatus.DONE) return readArrayChainQuery(scratch);
        const walked = walkArrayChain(source, readArrayChainQuery(scratch));
        counts.fallbackReads += walked.reads;
        return walked.state;
      })),
    );
    return { answers, ...counts };
  } finally {
    source.close();
  }
}

/** Skip-list point lookups on a real file; answers in key order of `keys`. */
export async function engineSkipListGet(
  path: string, keys: readonly bigint[], options: EngineRunOptions,
): Promise<{ answers: Array<{ found: boolean; value?: Uint8Array }> } & EngineCounts> {
  const counts: EngineCounts = { calls: 0, reads: 0, limitHits: 0, fallbackReads: 0 };
  const answers = await withEngine(path, SKIPLIST_GET_FN, options, (engine) =>
    Promise.all(keys.map(async (key) => {
      const scratch = new Uint8Array(PAGE_BYTES);
      writeSlGetQuery(scratch, key);
      await untilDone(engine, SL_HEAD_OFFSET, scratch, counts, options.resubmitLimit);
      const { found, value } = readSlGetQuery(scratch);
      return found && value !== undefined ? { found, value } : { found };
    })),
  );
  return { answers, ...counts };
}

/** Skip-list range scans (inclusive bounds) on a real file, resumed 32 pairs at a time. */
export async function engineSkipListRange(
  path: string, ranges: ReadonlyArray<{ begin: bigint; end: bigint }>, options: EngineRunOptions,
): Promise<{ answers: SlPair[][] } & EngineCounts> {
  const counts: EngineCounts = { calls: 0, reads: 0, limitHits: 0, fallbackReads: 0 };
  const answers = await withEngine(path, SKIPLIST_RANGE_FN, options, (engine) =>
    Promise.all(ranges.map(async ({ begin, end }) => {
      const scratch = new Uint8Array(PAGE_BYTES);
      writeSlRangeQuery(scratch, begin, end);
      const pairs: SlPair[] = [];
      let offset = SL_HEAD_OFFSET;
      for (let page = 0; page < CALLS_PER_QUERY_MAX; page++) {
        await untilDone(engine, offset, scratch, counts, options.resubmitLimit);
        const got = readSlRangeQuery(scratch);
        pairs.push(...got.pairs);
        if (got.resumeOffset === 0) return pairs;
        resumeSlRangeQuery(scratch);
        offset = got.resumeOffset;
      }
      throw new StructureError('STRUCT_RUN', `range ${begin}..${end} needed more than ${CALLS_PER_QUERY_MAX} calls`);
    })),
  );
  return { answers, ...counts };
}
