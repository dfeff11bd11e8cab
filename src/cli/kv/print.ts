// What `xrp kv get|range` prints of a KvRunReport, the same for every engine:
// the file, the answers, how it ran, then latency and throughput in the run's
// clock (virtual time in whole ns, host time in us and ms), or the engine's own
// result as JSON.

import { valueText } from '../../kv/format.ts';
import type { RangeAnswer } from '../../kv/user-ops.ts';
import { CommandError } from '../errors.ts';
import type { StorageFunctionRef } from '../storage-function.ts';
import type { KvGetReport, KvLookupAnswer, KvRangeReport, KvRunReport } from './run.ts';

export const group = (n: number | bigint): string => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** How each clock's figures read: the emulated machine's virtual ns are exact, the host's are not. */
const CLOCKS = {
  virtual: { name: 'virtual time', latency: (ns: number): string => `${group(Math.round(ns))} ns`, span: (ns: number): string => `${group(Math.round(ns))} ns` },
  host: { name: 'host time', latency: (ns: number): string => `${(ns / 1000).toFixed(1)} us`, span: (ns: number): string => `${(ns / 1e6).toFixed(1)} ms` },
} as const;

/** sum / count as an exact decimal (109.5), or rounded to 9 places with "..." when it does not terminate. */
function exactQuotient(sum: bigint, count: bigint): string {
  const whole = sum / count;
  let rest = sum % count;
  if (rest === 0n) return whole.toString();
  let digits = '';
  for (let i = 0; i < 9 && rest !== 0n; i++) {
    rest *= 10n;
    digits += (rest / count).toString();
    rest %= count;
  }
  return `${whole}.${digits}${rest === 0n ? '' : '...'}`;
}

const jsonReplacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? valueText(v) : v);

function fileLine(r: KvRunReport, own: StorageFunctionRef | undefined): string {
  return `${r.fileName}: ${r.layers} layer(s), ${group(r.keyCount)} keys${own !== undefined ? `; storage function ${own.programName} of ${own.objectPath}` : ''}`;
}

function lookupLine(a: KvLookupAnswer): string {
  return a.found && a.value ? `key ${a.key}: "${valueText(a.value)}"` : `key ${a.key}: not found`;
}

function rangeLines(a: RangeAnswer, show: number): string[] {
  const more = (n: number): string => (n > show ? `, ... (${group(n - show)} more)` : '');
  switch (a.agg) {
    case 'none': {
      const pairs = a.pairs ?? [];
      return [`${group(pairs.length)} pair(s)`, ...pairs.slice(0, show).map((p) => `  ${p.key}: "${valueText(p.value)}"`), ...(pairs.length > show ? [`  ... (${group(pairs.length - show)} more)`] : [])];
    }
    case 'array':
    case 'set': {
      const nums = a.numbers ?? [];
      return [`${a.agg} of ${group(a.count)} key(s): ${group(nums.length)} number(s): ${nums.slice(0, show).join(', ')}${more(nums.length)}`];
    }
    case 'avg':
      if (a.value === undefined || a.count === 0) return [`avg of 0 key(s) = (none: the range is empty)`];
      return [`avg of ${group(a.count)} key(s) = ${a.sum !== undefined ? exactQuotient(a.sum, BigInt(a.count)) : a.value.toString()}`];
    default:
      return [`${a.agg} of ${group(a.count)} key(s) = ${a.value === undefined ? '(none: the range is empty)' : a.value.toString()}`];
  }
}

function statsLines(r: KvRunReport, unit: string): string[] {
  const clock = CLOCKS[r.clock];
  const l = r.latency;
  const fallbacks = r.xrpFallbacks > 0 ? ` (${group(r.xrpFallbacks)} finished by the user-space fallback)` : '';
  const calls = r.xrpCalls !== null ? `${group(r.xrpCalls)} read_xrp call(s)${fallbacks}, ` : '';
  return [
    `${r.setting}; ${group(r.requests)} ${unit}, ${r.concurrency}`,
    ...(r.startupMs !== undefined ? [`start-up (workers, verify, JIT): ${r.startupMs.toFixed(1)} ms, not counted below`] : []),
    `latency per request (${clock.name}): mean ${clock.latency(l.meanNs)}, p50 ${clock.latency(l.p50Ns)}, p99 ${clock.latency(l.p99Ns)}, p99.9 ${clock.latency(l.p999Ns)}, max ${clock.latency(l.maxNs)}`,
    `throughput (${clock.name}): ${group(Math.round(r.requestsPerSec))} requests/s, ${group(Math.round(r.keysPerSec))} keys/s over ${clock.span(r.elapsedNs)}; ${calls}${group(r.blockReads)} block reads`,
  ];
}

/** --json: the engine's own result; a partial answer is in it, not an error. */
function printJson(r: KvRunReport): void {
  console.log(JSON.stringify({ engine: r.engine, ...r.json }, jsonReplacer, 2));
}

function checkComplete(r: KvRunReport): void {
  if (r.partial) throw new CommandError(`partial answer: ${r.limitDetail ?? 'LIMIT'}`);
}

export interface PrintOptions {
  json: boolean;
  /** answers (pairs, numbers) to print */
  show: number;
  own?: StorageFunctionRef;
}

export function printGet(r: KvGetReport, keysPerRequest: number, o: PrintOptions): void {
  if (o.json) return printJson(r);
  console.log(fileLine(r, o.own));
  // Each distinct key once (a key repeated by --requests answers the same).
  const seen = new Set<bigint>();
  for (const a of r.answers) {
    if (seen.has(a.key) || seen.size >= Math.max(o.show, 1)) continue;
    seen.add(a.key);
    console.log(lookupLine(a));
  }
  for (const line of statsLines(r, `request(s) of ${keysPerRequest} key(s)`)) console.log(line);
  checkComplete(r);
}

export function printRange(r: KvRangeReport, shownRange: string, o: PrintOptions): void {
  if (o.json) return printJson(r);
  console.log(`${fileLine(r, o.own)}; range ${shownRange}:`);
  for (const line of rangeLines(r.answer, o.show)) console.log(line);
  if (r.program !== null) console.log(`(${r.answer.calls} ${r.program} call(s) per query)`);
  for (const line of statsLines(r, 'range request(s)')) console.log(line);
  checkComplete(r);
}
