// The xrp mode: BPF-KV lookups and ranges through read_xrp and the kv_get /
// kv_range storage functions (src/kernel/xrp). One read_xrp call answers up
// to 32 keys (the ScatterGatherQuery); a range query makes calls until the
// RangeQuery is complete, resuming each time from the saved leaf
// (prep_range_resume). When the kernel cannot finish a chain (the
// resubmission limit, a mapping change) the user-space fallback continues it
// from the scratch page; how often that happened is counted. Every request
// has one read budget (src/kv/budget.ts, the native engine's client has the
// same): the kernel's reads and the fallback's are charged to it, and when it
// is spent the request ends with LIMIT and a partial answer (the keys, or the
// pairs, reached before), counted and explained in the counters.

import { fileURLToPath } from 'node:url';
import { errnoName } from '../kernel/errno.ts';
import { loadXrpProgramFile, readXrpOrFallback, XrpStatus, xrpStatusName } from '../kernel/xrp/index.ts';
import { O_DIRECT, O_RDONLY, type Process } from '../kernel/syscalls.ts';
import type { SimThread, Task } from '../sim/thread.ts';
import { KvIoError } from './block-io.ts';
import { kvGetBudget, kvLimitDetail, kvRangeBudget } from './budget.ts';
import { structureErrorOfChain } from './checks.ts';
import type { XrpLookupBudget } from '../xrp/budget.ts';
import { BLOCK_BYTES } from './format.ts';
import type { KvFileInfo } from './kv-db.ts';
import { isEmptyRange, type KeyValue, type TopLevelCache } from './lookups.ts';
import { AggOp, prepRangeResume, readRangeQuery, readSgQuery, SCRATCH_BYTES, writeRangeQuery, writeSgQuery } from './scratch.ts';
import type { KvThreadOps, RangeAgg, RangeAnswer } from './user-ops.ts';

export const KV_GET_OBJECT = fileURLToPath(new URL('../../bpf/kv/get.bpf.o', import.meta.url));
export const KV_RANGE_OBJECT = fileURLToPath(new URL('../../bpf/kv/range.bpf.o', import.meta.url));

const AGG_OP_OF: Record<RangeAgg, number> = {
  none: AggOp.NONE,
  sum: AggOp.SUM,
  count: AggOp.COUNT,
  min: AggOp.MIN,
  max: AggOp.MAX,
  avg: AggOp.AVG,
  array: AggOp.ARRAY,
  set: AggOp.SET,
};

/** kv_range's non-zero returns (bpf/kv/kv.h) */
const PROG_ERRORS: Record<string, string> = { '1': 'a node type that is neither 0 nor 1', '2': 'a bad _state or agg_op', '3': 'a value that is not a number' };

/** A storage function of one's own with the BPF-KV scratch layout: an object file and the program's function name. */
export interface KvStorageFunction {
  objectPath: string;
  programName: string;
}

export interface XrpPrepared {
  progFd: number;
  fileName: string;
  /** the program's function name (kv_get, kv_range, or one's own) */
  program: string;
  /** the file's depth: the default of a request's read budget */
  layers: number;
  fileBytes: number;
}

/**
 * Loads kv_get (lookups) or kv_range (ranges), or `own` in their place, into the
 * process: BPF_PROG_LOAD, verified, JIT-compiled.
 */
export function* prepareXrp(t: SimThread, proc: Process, file: KvFileInfo, kind: 'lookup' | 'range', own?: KvStorageFunction): Task<XrpPrepared> {
  const program = own?.programName ?? (kind === 'lookup' ? 'kv_get' : 'kv_range');
  const progFd = yield* loadXrpProgramFile(t, proc, own?.objectPath ?? (kind === 'lookup' ? KV_GET_OBJECT : KV_RANGE_OBJECT), program);
  return { progFd, fileName: file.name, program, layers: file.layers, fileBytes: file.inode.sizeBytes };
}

/** What the xrp mode's requests did, over all threads. */
export interface XrpOpsCounters {
  calls: number;
  fallbacks: number;
  /** requests that spent their read budget (LIMIT): their answers are partial */
  partial: number;
  /** why the first of them stopped */
  limitDetail: string | null;
}

export interface XrpOpsOptions {
  cache: TopLevelCache | null;
  counters: XrpOpsCounters;
  /** resubmissions one read_xrp call may make (the kernel's default otherwise) */
  resubmitLimit?: number;
  /** reads one request may make, kernel and fallback together (default from the file's depth, src/kv/budget.ts) */
  readsMax?: number;
}

/** One thread's side of the xrp mode: its own O_DIRECT fd, data page and scratch page. */
export function* openXrpOps(t: SimThread, proc: Process, prepared: XrpPrepared, options: XrpOpsOptions): Task<KvThreadOps> {
  const fd = yield* proc.open(t, prepared.fileName, O_RDONLY | O_DIRECT);
  if (fd < 0) throw new KvIoError(`mode xrp: open('${prepared.fileName}', O_RDONLY|O_DIRECT) failed: ${errnoName(fd)}`);
  const dataBuf = proc.alloc(SCRATCH_BYTES);
  const scratchBuf = proc.alloc(SCRATCH_BYTES);
  const scratch = proc.bytes(scratchBuf, SCRATCH_BYTES);
  const counters = options.counters;
  const callOptions = (budget: XrpLookupBudget) => (options.resubmitLimit !== undefined ? { resubmitLimit: options.resubmitLimit, budget } : { budget });
  const spent = (what: string, budget: XrpLookupBudget): void => {
    counters.partial++;
    counters.limitDetail ??= kvLimitDetail(what, budget);
  };

  /**
   * One read_xrp call from `pos`, finished by the fallback if the kernel could
   * not, both charged to `budget`; true when the walk finished, false when the
   * budget ran out (LIMIT). Throws on a terminal status: the structural error
   * of src/kv/checks.ts when the file broke a rule (`keyOf` names the key: the
   * scratch says which).
   */
  function* call(t: SimThread, pos: number, budget: XrpLookupBudget, keyOf: () => bigint, holderOf: () => number | undefined = () => undefined): Task<boolean> {
    const r = yield* readXrpOrFallback(t, proc, fd, dataBuf, BLOCK_BYTES, pos, prepared.progFd, scratchBuf, callOptions(budget));
    if (typeof r === 'number') throw new KvIoError(`mode xrp: read_xrp(${prepared.program}) at offset ${pos} failed: ${errnoName(r)}`);
    counters.calls++;
    if (r.fallback !== null) counters.fallbacks++;
    // A structural end in the kernel (a misaligned pointer is resumable there, not for BPF-KV), else the fallback's
    const kernelEnd = r.xrp.ends[0];
    const place = { file: prepared.fileName, fileBytes: prepared.fileBytes, key: keyOf() };
    const structural = (kernelEnd !== undefined ? structureErrorOfChain(place, kernelEnd.status, kernelEnd.offsetBytes, kernelEnd.progRet, holderOf()) : null)
      ?? (r.fallback !== null ? structureErrorOfChain(place, r.fallback.status, r.fallback.stopOffset, r.fallback.progRet, holderOf()) : null);
    if (structural !== null) throw structural;
    if (r.status === XrpStatus.LIMIT) return false;
    if (r.status !== XrpStatus.DONE) {
      const ret = r.fallback?.progRet ?? r.xrp.progRet;
      const why = r.status === XrpStatus.PROG_ERROR ? ` (${prepared.program} returned ${ret}: ${PROG_ERRORS[ret.toString()] ?? 'unknown error'})` : '';
      const fault = r.fallback?.fault ?? r.xrp.fault;
      throw new KvIoError(`mode xrp: ${prepared.program} from offset ${pos} ended with ${xrpStatusName(r.status)}${why}${fault !== null ? `: ${fault}` : ''}`);
    }
    return true;
  }

  return {
    *lookup(t, keys) {
      // With a cache (1 key per call), the chain starts below the cached layers: root_pointer is where a key starts.
      const only = keys.length === 1 ? keys[0] : undefined;
      const start = options.cache !== null && only !== undefined ? options.cache.startOffset(only) : 0;
      writeSgQuery(scratch, keys, BigInt(start));
      const budget = kvGetBudget(prepared.layers, keys.length, options.readsMax);
      const finished = yield* call(t, start, budget, () => {
        const q = readSgQuery(scratch);
        return q.keys[Math.max(0, Math.min(q.currentIndex, keys.length - 1))] ?? 0n;
      });
      const q = readSgQuery(scratch);
      if (!finished) {
        // as the native client: the keys answered before the budget ran out
        spent(`${prepared.program} of ${keys.length} keys`, budget);
        const n = Math.max(0, Math.min(q.currentIndex, keys.length));
        return keys.slice(0, n).map((key, i) => {
          const v = q.values[i];
          return { key, found: v?.found === true, value: v?.found === true ? v.value : null };
        });
      }
      // kv_get moves current_index past the last key when it finishes; a program that does not
      // (one without the BPF-KV scratch layout) would otherwise read as "not found"
      if (q.currentIndex < keys.length) {
        throw new KvIoError(`mode xrp: ${prepared.program} ended DONE with current_index ${q.currentIndex} of ${keys.length} key(s): it did not finish the query (does it follow the BPF-KV scratch layout of bpf/kv/kv.h?)`);
      }
      return keys.map((key, i) => {
        const v = q.values[i];
        if (v === undefined || q.keys[i] !== key) throw new KvIoError(`mode xrp: kv_get's scratch holds key ${q.keys[i]} at index ${i}, expected ${key}`);
        return { key, found: v.found, value: v.found ? v.value : null };
      });
    },

    *range(t, range, agg) {
      const answer: RangeAnswer = { agg, count: 0, calls: 0 };
      if (isEmptyRange(range)) {
        if (agg === 'none') answer.pairs = [];
        else if (agg === 'array' || agg === 'set') answer.numbers = [];
        else if (agg === 'count' || agg === 'sum') answer.value = 0n;
        return answer;
      }
      writeRangeQuery(scratch, range.begin, range.end, range.flags ?? 0, AGG_OP_OF[agg]);
      const pairs: KeyValue[] = [];
      const numbers: bigint[] = [];
      const seen = new Set<bigint>();
      let pos = options.cache !== null ? options.cache.startOffset(range.begin) : 0;
      const budget = kvRangeBudget(prepared.layers, options.readsMax);
      let complete = false;
      while (budget.open) {
        // a call cut by the budget still holds the pairs it reached: they are kept, as the native client keeps them
        const finished = yield* call(t, pos, budget, () => range.begin, () => Number(readRangeQuery(scratch).resumeFromLeaf));
        answer.calls++;
        const q = readRangeQuery(scratch);
        if (agg === 'none') pairs.push(...q.kv);
        else if (agg === 'array') numbers.push(...q.out);
        else if (agg === 'set') {
          // SET is distinct within a call; the caller takes the union across calls.
          for (const n of q.out) {
            if (!seen.has(n)) {
              seen.add(n);
              numbers.push(n);
            }
          }
        }
        const count = agg === 'none' ? pairs.length : Number(q.aggCount);
        answer.count = count;
        if (agg === 'count' || agg === 'sum' || (count > 0 && (agg === 'min' || agg === 'max' || agg === 'avg'))) answer.value = q.aggValue;
        if (agg === 'avg') answer.sum = q.aggSum;
        // a cut page cannot say the query is complete: range.c's range_begin may already be past a value still pending
        if (!finished) break;
        const resume = prepRangeResume(scratch);
        complete = resume.complete;
        if (complete) break;
        pos = Number(resume.resumeFromLeaf);
      }
      if (!complete) {
        spent(`${prepared.program} [${range.begin}, ${range.end})`, budget);
        answer.partial = true;
      }
      if (agg === 'none') answer.pairs = pairs;
      else if (agg === 'array' || agg === 'set') answer.numbers = numbers;
      return answer;
    },
  };
}
