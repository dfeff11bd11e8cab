// `xrp kv create|get|range`: BPF-KV databases on the emulated machine.
//
// A DB is a host file, one of:
// - an xrpfs image (made by `xrp kv create DB --layers L`) holding the BPF-KV
//   file `kv.db`, written (the builder's bytes) or computed (6 layers: a sparse
//   image; the device computes the blocks). Each command boots a fresh
//   emulated machine on it and runs in virtual time.
// - a plain BPF-KV file in the original's format (`xrp kv create DB --layers L
//   --raw`): the emulated engine imports it into a temporary image first;
//   `--engine native` runs the storage functions on it directly (real time).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { XrpError } from '../../base/errors.ts';
import { DEVICE_PROFILES } from '../../device/profiles.ts';
import { buildKvFile } from '../../kv/builder.ts';
import { kvGeometry, valueText } from '../../kv/format.ts';
import { createKvImage, importKvImage, isKvImage, rawKvLayers, WRITTEN_LAYERS_MAX, type KvStorage } from '../../kv/kv-db.ts';
import { RNG_BEGIN_EXCLUSIVE, RNG_END_INCLUSIVE, U64_MAX, type KeyRange } from '../../kv/lookups.ts';
import { KV_MODES, runKvLookups, runKvRanges, type KvMode, type KvRunStats } from '../../kv/modes.ts';
import { RANGE_AGGS, type LookupAnswer, type RangeAgg, type RangeAnswer } from '../../kv/user-ops.ts';
import { nativeKvGet, nativeKvRange, rangeAnswerOf } from '../../kv/xrp-client.ts';

class KvCliError extends XrpError {
  constructor(message: string) {
    super('KV_CLI', message);
  }
}

const group = (n: number | bigint): string => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export function parseU64(text: string, what: string): bigint {
  const t = text.trim();
  if (!/^(0|[1-9]\d*|0x[0-9a-fA-F]+)$/.test(t)) throw new KvCliError(`${what} must be an unsigned 64-bit integer (decimal or 0x hex), got '${text}'`);
  const v = BigInt(t);
  if (v > U64_MAX) throw new KvCliError(`${what} ${text} is larger than 2^64 - 1`);
  return v;
}

function parseInt10(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new KvCliError(`${what} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}

function parseChoice<T extends string>(text: string, what: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new KvCliError(`${what} must be one of ${choices.join(', ')}, got '${text}'`);
  return text as T;
}

interface RunFlags {
  mode: string;
  requests?: string;
  threads: string;
  cores: string;
  device: string;
  seed: string;
  cache: string;
  engine: string;
  json?: boolean;
  show: string;
}

function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--mode <mode>', `how the app reads: ${KV_MODES.join(', ')}`, 'xrp')
    .option('--requests <n>', 'requests to run (default: one per key given, else 1; more repeat the query, for throughput)')
    .option('--threads <n>', 'simulated application threads', '1')
    .option('--cores <n>', 'simulated cores', '6')
    .option('--device <name>', `device profile (${[...DEVICE_PROFILES.keys()].join(', ')})`, 'optane-p5800x')
    .option('--seed <n>', 'PRNG seed (random keys, machine)', '1')
    .option('--cache <layers>', 'top index layers cached in user memory (0-3, the original --cache)', '0')
    .option('--engine <engine>', 'emulated (virtual time) or native (real file, real time; needs a --raw DB)', 'emulated')
    .option('--show <n>', 'answers (pairs, numbers) to print', '10')
    .option('--json', 'print the result as JSON');
}

/** Runs `fn` on an image path: the DB itself, or a temporary import of a raw BPF-KV file. */
function withImage<T>(db: string, fn: (imagePath: string) => T): T {
  if (isKvImage(db)) return fn(db);
  rawKvLayers(db); // a typed error for anything that is neither
  const dir = mkdtempSync(join(tmpdir(), 'xrp-kv-'));
  try {
    const imagePath = join(dir, 'import.img');
    importKvImage(db, imagePath);
    return fn(imagePath);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function commonRun(flags: RunFlags, db: string, defaultRequests: number) {
  if (!DEVICE_PROFILES.has(flags.device)) throw new KvCliError(`unknown device '${flags.device}'; known: ${[...DEVICE_PROFILES.keys()].join(', ')}`);
  return {
    db,
    mode: parseChoice<KvMode>(flags.mode, '--mode', KV_MODES),
    requests: flags.requests === undefined ? defaultRequests : parseInt10(flags.requests, '--requests', 1, 100_000_000),
    threads: parseInt10(flags.threads, '--threads', 1, 1024),
    cores: parseInt10(flags.cores, '--cores', 1, 256),
    profile: flags.device,
    seed: parseInt10(flags.seed, '--seed', 0, Number.MAX_SAFE_INTEGER),
    cacheLayers: parseInt10(flags.cache, '--cache', 0, 3),
  };
}

function statsLines(s: KvRunStats, unit: string, cores: number, device: string): string[] {
  const l = s.latency;
  const ns = (v: number): string => `${group(Math.round(v))} ns`;
  const xrp = s.mode === 'xrp' ? `, ${group(s.xrpCalls)} read_xrp call(s)${s.xrpFallbacks > 0 ? ` (${s.xrpFallbacks} finished by the user-space fallback)` : ''}` : '';
  return [
    `mode ${s.mode}, ${s.threads} thread(s) on ${cores} simulated core(s), ${device}; ${group(s.requests)} ${unit}`,
    `latency (virtual time): mean ${ns(l.meanNs)}, p50 ${ns(l.p50Ns)}, p99 ${ns(l.p99Ns)}, max ${ns(l.maxNs)}`,
    `throughput (virtual time): ${group(Math.round(s.requestsPerSec))} requests/s, ${group(Math.round(s.keysPerSec))} keys/s; ${group(s.deviceReads)} device reads${xrp}`,
  ];
}

const jsonReplacer = (_k: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? valueText(v) : v);

function lookupLine(a: { key: bigint; found: boolean; value?: Uint8Array | null }): string {
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
    default:
      return [`${a.agg} of ${group(a.count)} key(s) = ${a.value === undefined ? '(none: the range is empty)' : a.value.toString()}`];
  }
}

function checkNativeDb(db: string): void {
  if (isKvImage(db)) {
    throw new KvCliError(`--engine native reads a plain BPF-KV file, and '${db}' is an xrpfs image; make one with: xrp kv create FILE --layers L --raw`);
  }
  rawKvLayers(db);
}

export function register(program: Command): void {
  const kv = program.commands.find((c) => c.name() === 'kv') ?? program.command('kv').description('BPF-KV: the B+-tree store of the original XRP, on the emulated machine');

  kv.command('create')
    .description('create DB: an xrpfs image holding a BPF-KV file of L layers (or, with --raw, the plain file)')
    .argument('<db>', 'host file to create')
    .requiredOption('--layers <n>', 'B+-tree layers, 1 to 6 (31^L keys)')
    .option('--storage <kind>', 'written (the bytes, default up to 4 layers) or computed (blocks computed on demand, default for 5-6)')
    .option('--raw', "write the plain BPF-KV file (the original's format) instead of an image")
    .action(async (db: string, flags: { layers: string; storage?: string; raw?: boolean }) => {
      const layers = parseInt10(flags.layers, '--layers', 1, 6);
      const g = kvGeometry(layers);
      if (flags.raw === true) {
        if (flags.storage !== undefined) throw new KvCliError('--raw writes the bytes; --storage applies to images');
        if (layers > WRITTEN_LAYERS_MAX) throw new KvCliError(`a plain ${layers}-layer file is ${group(g.fileBytes)} bytes; use an image with computed storage`);
        if (isKvImageSafe(db)) throw new KvCliError(`'${db}' is an xrpfs image; refusing to overwrite it with a plain file`);
        await buildKvFile(db, { layers });
        console.log(`${db}: BPF-KV file, ${layers} layer(s), ${group(g.keyCount)} keys, ${group(g.fileBytes)} bytes`);
        return;
      }
      const storage = flags.storage === undefined ? undefined : parseChoice<KvStorage>(flags.storage, '--storage', ['written', 'computed']);
      const r = await createKvImage(db, { layers, ...(storage !== undefined ? { storage } : {}) });
      console.log(
        `${db}: xrpfs image of ${group(r.imageBytes)} bytes (sparse) holding '${r.fileName}': BPF-KV, ${layers} layer(s), ${group(g.keyCount)} keys, ${group(g.fileBytes)} bytes, ${r.storage === 'computed' ? 'computed (blocks computed on demand, read-only)' : 'written'}`,
      );
    });

  addRunOptions(
    kv.command('get')
      .description('look keys up; prints the values and the latency and throughput in virtual time')
      .argument('<db>', 'an image from xrp kv create (or a plain BPF-KV file)')
      .option('--key <keys>', 'key(s) to look up, comma-separated (default: random keys)')
      .option('--keys-per-request <n>', 'keys per request, 1-32 (one read_xrp call in xrp mode)', '1')
      .option('--uring-batch', 'uring mode: the keys of a request advance together, one io_uring_enter per hop level'),
  ).action(async (db: string, flags: RunFlags & { key?: string; keysPerRequest: string; uringBatch?: boolean }) => {
    const keys = flags.key === undefined ? undefined : flags.key.split(',').map((k) => parseU64(k, '--key'));
    const show = parseInt10(flags.show, '--show', 0, 1_000_000);
    const engine = parseChoice(flags.engine, '--engine', ['emulated', 'native'] as const);
    if (engine === 'native') {
      checkNativeDb(db);
      if (keys === undefined) throw new KvCliError('--engine native needs --key');
      const startMs = performance.now();
      const r = await nativeKvGet(db, keys);
      const elapsedMs = performance.now() - startMs;
      if (flags.json === true) return void console.log(JSON.stringify({ engine, ...r, elapsedMs }, jsonReplacer, 2));
      for (const a of r.answers.slice(0, Math.max(show, 1))) console.log(lookupLine(a));
      console.log(`native engine (real file, host time): ${keys.length} key(s) in ${elapsedMs.toFixed(1)} ms including start-up, ${r.calls} read_xrp call(s), ${r.reads} block reads`);
      if (r.partial) throw new KvCliError(`partial answer: ${r.limitDetail ?? 'LIMIT'}`);
      return;
    }
    const keysPerRequest = parseInt10(flags.keysPerRequest, '--keys-per-request', 1, 32);
    const common = commonRun(flags, db, keys === undefined ? 1 : Math.ceil(keys.length / keysPerRequest));
    withImage(db, (imagePath) => {
      const r = runKvLookups({ ...common, db: imagePath, keysPerRequest, uringBatch: flags.uringBatch === true, ...(keys !== undefined ? { keys } : {}) });
      if (flags.json === true) return void console.log(JSON.stringify({ ...r, histogram: undefined }, jsonReplacer, 2));
      // Each distinct key once (a key repeated by --requests answers the same).
      const seen = new Set<bigint>();
      const answers: LookupAnswer[] = [];
      for (const a of r.answers ?? []) {
        if (seen.has(a.key) || answers.length >= Math.max(show, 1)) continue;
        seen.add(a.key);
        answers.push(a);
      }
      console.log(`kv.db: ${r.layers} layer(s), ${group(kvGeometry(r.layers).keyCount)} keys`);
      for (const a of answers) console.log(lookupLine(a));
      for (const line of statsLines(r, `request(s) of ${keysPerRequest} key(s)`, common.cores, common.profile)) console.log(line);
    });
  });

  addRunOptions(
    kv.command('range')
      .description('a range query [BEGIN, END) or an aggregation over it; prints the answer and the latency and throughput in virtual time')
      .argument('<db>', 'an image from xrp kv create (or a plain BPF-KV file)')
      .argument('<begin>', 'first key')
      .argument('<end>', 'end key (excluded unless --end-inclusive)')
      .option('--agg <op>', `aggregation: ${RANGE_AGGS.join(', ')}`, 'none')
      .option('--begin-exclusive', 'exclude BEGIN')
      .option('--end-inclusive', 'include END'),
  ).action(async (db: string, beginText: string, endText: string, flags: RunFlags & { agg: string; beginExclusive?: boolean; endInclusive?: boolean }) => {
    const begin = parseU64(beginText, 'BEGIN');
    const end = parseU64(endText, 'END');
    if (begin > end) throw new KvCliError(`BEGIN ${begin} is after END ${end}`);
    const flagsBits = (flags.beginExclusive === true ? RNG_BEGIN_EXCLUSIVE : 0) | (flags.endInclusive === true ? RNG_END_INCLUSIVE : 0);
    const range: KeyRange = { begin, end, flags: flagsBits };
    const agg = parseChoice<RangeAgg>(flags.agg, '--agg', RANGE_AGGS);
    const show = parseInt10(flags.show, '--show', 0, 1_000_000);
    const engine = parseChoice(flags.engine, '--engine', ['emulated', 'native'] as const);
    const shown = `[${begin}, ${end}${flagsBits & RNG_END_INCLUSIVE ? ']' : ')'}${flagsBits & RNG_BEGIN_EXCLUSIVE ? ' (begin excluded)' : ''}`;
    if (engine === 'native') {
      checkNativeDb(db);
      const startMs = performance.now();
      const r = await nativeKvRange(db, begin, end, { flags: flagsBits, agg: agg === 'none' ? 'none' : agg });
      const elapsedMs = performance.now() - startMs;
      if (flags.json === true) return void console.log(JSON.stringify({ engine, ...r, elapsedMs }, jsonReplacer, 2));
      const answer = rangeAnswerOf(r, agg);
      console.log(`range ${shown}:`);
      for (const line of rangeLines(answer, show)) console.log(line);
      console.log(`native engine (real file, host time): ${elapsedMs.toFixed(1)} ms including start-up, ${r.calls} read_xrp call(s), ${r.reads} block reads`);
      if (r.partial) throw new KvCliError(`partial answer: ${r.limitDetail ?? 'LIMIT'}`);
      return;
    }
    const common = commonRun(flags, db, 1);
    withImage(db, (imagePath) => {
      const r = runKvRanges({ ...common, db: imagePath, ranges: [range], agg });
      if (flags.json === true) return void console.log(JSON.stringify({ ...r, histogram: undefined, answers: r.answers?.slice(0, 1) }, jsonReplacer, 2));
      const a = r.answers![0]!;
      console.log(`kv.db: ${r.layers} layer(s), ${group(kvGeometry(r.layers).keyCount)} keys; range ${shown}:`);
      for (const line of rangeLines(a, show)) console.log(line);
      if (r.mode === 'xrp') console.log(`(${a.calls} kv_range call(s) per query)`);
      for (const line of statsLines(r, 'range request(s)', common.cores, common.profile)) console.log(line);
    });
  });
}

function isKvImageSafe(path: string): boolean {
  try {
    return isKvImage(path);
  } catch {
    return false;
  }
}
