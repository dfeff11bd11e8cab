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
// `--prog FILE.o [--section S]` runs one's own storage function in place of
// kv_get / kv_range (the same scratch layout, bpf/kv/kv.h).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { buildKvFile } from '../../kv/builder.ts';
import { kvGeometry, valueText } from '../../kv/format.ts';
import { createKvImage, importKvImage, isKvImage, rawKvLayers, WRITTEN_LAYERS_MAX, type KvStorage } from '../../kv/kv-db.ts';
import { RNG_BEGIN_EXCLUSIVE, RNG_END_INCLUSIVE, type KeyRange } from '../../kv/lookups.ts';
import { KV_MODES, runKvLookups, runKvRanges, type KvMode, type KvRunStats } from '../../kv/modes.ts';
import { RANGE_AGGS, type LookupAnswer, type RangeAgg, type RangeAnswer } from '../../kv/user-ops.ts';
import { Prng } from '../../base/prng.ts';
import { CommandError, UsageError } from '../errors.ts';
import { choiceOption, deviceOption, intIn, parseU64List, parseU64Text } from '../options.ts';
import { checkNotDirectory, resolveStorageFunction, type StorageFunctionRef } from '../storage-function.ts';
import { runNativeGet, runNativeRange, type NativeRunStats } from './kv-native.ts';
import { rangeAnswerOf } from '../../kv/xrp-client.ts';

const group = (n: number | bigint): string => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** An unsigned 64-bit integer argument; a UsageError naming `what` otherwise. */
export function parseU64(text: string, what: string): bigint {
  try {
    return parseU64Text(text);
  } catch (error) {
    throw new UsageError(`${what} ${(error as Error).message}, got '${text}'`);
  }
}

/** sum / count as an exact decimal (109.5), or rounded to 9 places with "..." when it does not terminate. */
export function exactQuotient(sum: bigint, count: bigint): string {
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

interface RunFlags {
  mode: KvMode;
  requests?: number;
  threads: number;
  cores: number;
  device: string;
  seed: number;
  cache: number;
  engine: 'emulated' | 'native';
  json?: boolean;
  show: number;
  prog?: string;
  section?: string;
  readsMax?: number;
}

/** Options the native engine has no counterpart for (it runs on the host's cores and device). */
const EMULATED_ONLY = ['cores', 'device', 'cache', 'uringBatch'] as const;

function addRunOptions(cmd: Command): Command {
  return cmd
    .addOption(choiceOption('--mode <mode>', 'how the app reads (emulated engine; the native engine is xrp)', KV_MODES, 'xrp'))
    .option('--requests <n>', 'requests to run (default: one per key given, else 1; more repeat the query, for throughput)', intIn(1, 100_000_000))
    .option('--threads <n>', 'simulated application threads (native engine: requests in flight at once)', intIn(1, 1024), 1)
    .option('--cores <n>', 'simulated cores (emulated engine)', intIn(1, 256), 6)
    .addOption(deviceOption().default('optane-p5800x', 'optane-p5800x (emulated engine)'))
    .option('--seed <n>', 'PRNG seed (random keys, machine)', intIn(0), 1)
    .option('--cache <layers>', 'top index layers cached in user memory (0-3, the original --cache; emulated engine)', intIn(0, 3), 0)
    .addOption(choiceOption('--engine <engine>', 'emulated (virtual time) or native (the real file, real time; needs a --raw DB)', ['emulated', 'native'], 'emulated'))
    .option('--prog <file.o>', 'run this storage function instead of the shipped one (same scratch layout as bpf/kv/kv.h)')
    .option('--section <name>', 'with --prog: the program (section or function name; default: the one program in section xrp)')
    .option('--reads-max <n>', 'mode xrp, both engines: reads one request may make across its calls and the fallback (default from the file\'s depth); when spent the answer is partial (LIMIT, exit 2)', intIn(1))
    .option('--show <n>', 'answers (pairs, numbers) to print', intIn(0, 1_000_000), 10)
    .option('--json', 'print the result as JSON');
}

/** Refuses, by name, the options given on the command line that the native engine cannot honour. */
function refuseForNative(cmd: Command, flags: RunFlags): void {
  const given = EMULATED_ONLY.filter((name) => cmd.getOptionValueSource(name) === 'cli');
  const names = given.map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (cmd.getOptionValueSource('mode') === 'cli' && flags.mode !== 'xrp') names.unshift(`--mode ${flags.mode}`);
  if (names.length > 0) throw new UsageError(`--engine native cannot honour ${names.join(', ')}: it runs the storage function (mode xrp) on this host's cores and device`);
}

function ownProgram(flags: RunFlags): StorageFunctionRef | undefined {
  if (flags.prog === undefined) {
    if (flags.section !== undefined) throw new UsageError('--section picks a program of --prog FILE.o; give --prog');
    return undefined;
  }
  if (flags.mode !== 'xrp') throw new UsageError(`--prog runs a storage function, which needs --mode xrp (not ${flags.mode})`);
  return resolveStorageFunction(flags.prog, flags.section);
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

function commonRun(flags: RunFlags, db: string, defaultRequests: number, own: StorageFunctionRef | undefined) {
  if (flags.readsMax !== undefined && flags.mode !== 'xrp') throw new UsageError(`--reads-max is the read budget of mode xrp, not of mode ${flags.mode}`);
  return {
    ...(flags.readsMax !== undefined ? { readsMax: flags.readsMax } : {}),
    db,
    mode: flags.mode,
    requests: flags.requests ?? defaultRequests,
    threads: flags.threads,
    cores: flags.cores,
    profile: flags.device,
    seed: flags.seed,
    cacheLayers: flags.cache,
    ...(own !== undefined ? { storageFunction: { objectPath: own.objectPath, programName: own.programName } } : {}),
  };
}

const ns = (v: number): string => `${group(Math.round(v))} ns`;

function statsLines(s: KvRunStats, unit: string, cores: number, device: string): string[] {
  const l = s.latency;
  const xrp = s.mode === 'xrp' ? `, ${group(s.xrpCalls)} read_xrp call(s)${s.xrpFallbacks > 0 ? ` (${s.xrpFallbacks} finished by the user-space fallback)` : ''}` : '';
  return [
    `mode ${s.mode}, ${s.threads} thread(s) on ${cores} simulated core(s), ${device}; ${group(s.requests)} ${unit}`,
    `latency (virtual time): mean ${ns(l.meanNs)}, p50 ${ns(l.p50Ns)}, p99 ${ns(l.p99Ns)}, p99.9 ${ns(l.p999Ns)}, max ${ns(l.maxNs)}`,
    `throughput (virtual time): ${group(Math.round(s.requestsPerSec))} requests/s, ${group(Math.round(s.keysPerSec))} keys/s; ${group(s.deviceReads)} device reads${xrp}`,
  ];
}

const us = (v: number): string => `${(v / 1000).toFixed(1)} us`;

function nativeLines(s: NativeRunStats, unit: string, program: string): string[] {
  const l = s.latency;
  return [
    `native engine (the real file, host time), ${program}; ${group(s.requests)} ${unit}, ${s.inFlight} in flight`,
    `start-up (workers, verify, JIT): ${s.startupMs.toFixed(1)} ms, not counted below`,
    `latency per request (host time): mean ${us(l.meanNs)}, p50 ${us(l.p50Ns)}, p99 ${us(l.p99Ns)}, p99.9 ${us(l.p999Ns)}, max ${us(l.maxNs)}`,
    `throughput (host time): ${group(Math.round(s.requestsPerSec))} requests/s, ${group(Math.round(s.keysPerSec))} keys/s over ${s.elapsedMs.toFixed(1)} ms; ${group(s.calls)} read_xrp call(s), ${group(s.reads)} block reads`,
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
    case 'avg':
      if (a.value === undefined || a.count === 0) return [`avg of 0 key(s) = (none: the range is empty)`];
      return [`avg of ${group(a.count)} key(s) = ${a.sum !== undefined ? exactQuotient(a.sum, BigInt(a.count)) : a.value.toString()}`];
    default:
      return [`${a.agg} of ${group(a.count)} key(s) = ${a.value === undefined ? '(none: the range is empty)' : a.value.toString()}`];
  }
}

function checkNativeDb(db: string): number {
  if (isKvImage(db)) {
    throw new UsageError(`--engine native reads a plain BPF-KV file, and '${db}' is an xrpfs image; make one with: xrp kv create FILE --layers L --raw`);
  }
  return rawKvLayers(db);
}

/** The keys of each request: the given keys in order, reused cyclically, or seeded random keys of the file. */
function requestKeysFor(keys: bigint[] | undefined, requests: number, keysPerRequest: number, keyCount: number, seed: number): bigint[][] {
  const rng = new Prng(seed);
  let next = 0;
  return Array.from({ length: requests }, () =>
    Array.from({ length: keysPerRequest }, () => (keys !== undefined ? keys[next++ % keys.length]! : BigInt(rng.nextBelow(keyCount)))),
  );
}

export function register(program: Command): void {
  const kv = program.commands.find((c) => c.name() === 'kv') ?? program.command('kv').description('BPF-KV: the B+-tree store of the original XRP, on the emulated machine or (--engine native) on a real file');

  kv.command('create')
    .description('create DB: an xrpfs image holding a BPF-KV file of L layers (or, with --raw, the plain file); an existing DB needs --force')
    .argument('<db>', 'host file to create')
    .requiredOption('--layers <n>', 'B+-tree layers, 1 to 6 (31^L keys)', intIn(1, 6))
    .addOption(choiceOption('--storage <kind>', 'written (the bytes; default up to 4 layers) or computed (blocks computed on demand; default for 5-6)', ['written', 'computed']))
    .option('--raw', "write the plain BPF-KV file (the original's format) instead of an image")
    .option('--force', 'overwrite an existing file')
    .action(async (db: string, flags: { layers: number; storage?: KvStorage; raw?: boolean; force?: boolean }) => {
      const layers = flags.layers;
      const g = kvGeometry(layers);
      checkNotDirectory(db, 'DB');
      if (existsSync(db) && flags.force !== true) throw new UsageError(`'${db}' exists; add --force to overwrite it`);
      if (flags.raw === true) {
        if (flags.storage !== undefined) throw new UsageError('--raw writes the bytes; --storage applies to images');
        if (layers > WRITTEN_LAYERS_MAX) throw new UsageError(`a plain ${layers}-layer file is ${group(g.fileBytes)} bytes; use an image with computed storage`);
        await buildKvFile(db, { layers });
        console.log(`${db}: BPF-KV file, ${layers} layer(s), ${group(g.keyCount)} keys, ${group(g.fileBytes)} bytes`);
        return;
      }
      const r = await createKvImage(db, { layers, ...(flags.storage !== undefined ? { storage: flags.storage } : {}) });
      console.log(
        `${db}: xrpfs image of ${group(r.imageBytes)} bytes (sparse) holding '${r.fileName}': BPF-KV, ${layers} layer(s), ${group(g.keyCount)} keys, ${group(g.fileBytes)} bytes, ${r.storage === 'computed' ? 'computed (blocks computed on demand, read-only)' : 'written'}`,
      );
    });

  addRunOptions(
    kv.command('get')
      .description('look keys up; prints the values, then latency and throughput (virtual time on the emulated engine, host time on the native one)')
      .argument('<db>', 'an image from xrp kv create (or a plain BPF-KV file)')
      .option('--key <keys>', 'key(s) to look up, comma-separated (default: seeded random keys)', parseU64List)
      .option('--keys-per-request <n>', 'keys per request, 1-32 (one read_xrp call in xrp mode)', intIn(1, 32), 1)
      .option('--uring-batch', 'uring mode: the keys of a request advance together, one io_uring_enter per hop level'),
  ).action(async (db: string, flags: RunFlags & { key?: bigint[]; keysPerRequest: number; uringBatch?: boolean }, cmd: Command) => {
    checkNotDirectory(db, 'DB');
    const keys = flags.key;
    const show = flags.show;
    const own = ownProgram(flags);
    const keysPerRequest = flags.keysPerRequest;
    const defaultRequests = keys === undefined ? 1 : Math.ceil(keys.length / keysPerRequest);
    if (flags.engine === 'native') {
      refuseForNative(cmd, flags);
      const layers = checkNativeDb(db);
      const requestKeys = requestKeysFor(keys, flags.requests ?? defaultRequests, keysPerRequest, kvGeometry(layers).keyCount, flags.seed);
      const r = await runNativeGet(db, { requestKeys, inFlight: flags.threads, ...(own !== undefined ? { own } : {}), ...(flags.readsMax !== undefined ? { readsMax: flags.readsMax } : {}) });
      if (flags.json === true) return void console.log(JSON.stringify({ engine: flags.engine, ...r }, jsonReplacer, 2));
      const seen = new Set<bigint>();
      for (const a of r.answers) {
        if (seen.has(a.key) || seen.size >= Math.max(show, 1)) continue;
        seen.add(a.key);
        console.log(lookupLine(a));
      }
      for (const line of nativeLines(r, `request(s) of ${keysPerRequest} key(s)`, own?.programName ?? 'kv_get')) console.log(line);
      if (r.partial) throw new CommandError(`partial answer: ${r.limitDetail ?? 'LIMIT'}`);
      return;
    }
    const common = commonRun(flags, db, defaultRequests, own);
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
      console.log(`kv.db: ${r.layers} layer(s), ${group(kvGeometry(r.layers).keyCount)} keys${own !== undefined ? `; storage function ${own.programName} of ${own.objectPath}` : ''}`);
      for (const a of answers) console.log(lookupLine(a));
      for (const line of statsLines(r, `request(s) of ${keysPerRequest} key(s)`, common.cores, common.profile)) console.log(line);
      if (r.xrpPartial > 0) throw new CommandError(`partial answer: ${r.limitDetail ?? 'LIMIT'}`);
    });
  });

  addRunOptions(
    kv.command('range')
      .description('a range query [BEGIN, END) or an aggregation over it; prints the answer, then latency and throughput (virtual time on the emulated engine, host time on the native one)')
      .argument('<db>', 'an image from xrp kv create (or a plain BPF-KV file)')
      .argument('<begin>', 'first key (included unless --begin-exclusive)')
      .argument('<end>', 'end key (excluded unless --end-inclusive)')
      .addOption(new Option('--agg <op>', 'aggregation of the values\' numbers (none: the pairs themselves)').choices(RANGE_AGGS).default('none'))
      .option('--begin-exclusive', 'exclude BEGIN')
      .option('--end-inclusive', 'include END'),
  ).action(async (db: string, beginText: string, endText: string, flags: RunFlags & { agg: RangeAgg; beginExclusive?: boolean; endInclusive?: boolean }, cmd: Command) => {
    checkNotDirectory(db, 'DB');
    const begin = parseU64(beginText, 'BEGIN');
    const end = parseU64(endText, 'END');
    if (begin > end) throw new UsageError(`BEGIN ${begin} is after END ${end}`);
    const flagsBits = (flags.beginExclusive === true ? RNG_BEGIN_EXCLUSIVE : 0) | (flags.endInclusive === true ? RNG_END_INCLUSIVE : 0);
    const range: KeyRange = { begin, end, flags: flagsBits };
    const agg = flags.agg;
    const show = flags.show;
    const own = ownProgram(flags);
    const shown = `[${begin}, ${end}${flagsBits & RNG_END_INCLUSIVE ? ']' : ')'}${flagsBits & RNG_BEGIN_EXCLUSIVE ? ' (begin excluded)' : ''}`;
    if (flags.engine === 'native') {
      refuseForNative(cmd, flags);
      checkNativeDb(db);
      const r = await runNativeRange(db, {
        begin, end, flags: flagsBits, agg, requests: flags.requests ?? 1, inFlight: flags.threads,
        ...(own !== undefined ? { own } : {}), ...(flags.readsMax !== undefined ? { readsMax: flags.readsMax } : {}),
      });
      if (flags.json === true) return void console.log(JSON.stringify({ engine: flags.engine, ...r }, jsonReplacer, 2));
      const answer = rangeAnswerOf(r.result, agg);
      console.log(`range ${shown}:`);
      for (const line of rangeLines(answer, show)) console.log(line);
      for (const line of nativeLines(r, 'range request(s)', own?.programName ?? 'kv_range')) console.log(line);
      if (r.partial) throw new CommandError(`partial answer: ${r.limitDetail ?? 'LIMIT'}`);
      return;
    }
    const common = commonRun(flags, db, 1, own);
    withImage(db, (imagePath) => {
      const r = runKvRanges({ ...common, db: imagePath, ranges: [range], agg });
      if (flags.json === true) return void console.log(JSON.stringify({ ...r, histogram: undefined, answers: r.answers?.slice(0, 1) }, jsonReplacer, 2));
      const a = r.answers?.[0];
      if (a === undefined) throw new CommandError('the range query gave no answer');
      console.log(`kv.db: ${r.layers} layer(s), ${group(kvGeometry(r.layers).keyCount)} keys; range ${shown}:`);
      for (const line of rangeLines(a, show)) console.log(line);
      if (r.mode === 'xrp') console.log(`(${a.calls} ${own?.programName ?? 'kv_range'} call(s) per query)`);
      for (const line of statsLines(r, 'range request(s)', common.cores, common.profile)) console.log(line);
      if (r.xrpPartial > 0) throw new CommandError(`partial answer: ${r.limitDetail ?? 'LIMIT'}`);
    });
  });
}

