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
// get and range run through one KvRunner (src/cli/kv/run.ts): the options pick
// and configure the engine once (engineConfig); one printer for every engine.

import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { buildKvFile } from '../../kv/builder.ts';
import { kvGeometry } from '../../kv/format.ts';
import { createKvImage, WRITTEN_LAYERS_MAX, type KvStorage } from '../../kv/kv-db.ts';
import { RNG_BEGIN_EXCLUSIVE, RNG_END_INCLUSIVE, type KeyRange } from '../../kv/lookups.ts';
import { KV_MODES, type KvMode } from '../../kv/modes.ts';
import { RANGE_AGGS, type RangeAgg } from '../../kv/user-ops.ts';
import { UsageError } from '../errors.ts';
import { group, printGet, printRange } from '../kv/print.ts';
import { openKvRunner, type KvEngineConfig } from '../kv/run.ts';
import { choiceOption, deviceOption, intIn, parseU64List, parseU64Text } from '../options.ts';
import { checkNotDirectory, resolveStorageFunction, type StorageFunctionRef } from '../storage-function.ts';

/** An unsigned 64-bit integer argument; a UsageError naming `what` otherwise. */
function parseU64(text: string, what: string): bigint {
  try {
    return parseU64Text(text);
  } catch (error) {
    throw new UsageError(`${what} ${(error as Error).message}, got '${text}'`);
  }
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
  uringBatch?: boolean;
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
    .option('--reads-max <n>', 'mode xrp, both engines: reads one request may make across its calls and the fallback (default from the file\'s depth); when spent the answer is partial (LIMIT, exit 1)', intIn(1))
    .option('--show <n>', 'answers (pairs, numbers) to print', intIn(0, 1_000_000), 10)
    .option('--json', 'print the result as JSON');
}

/** The engine the options pick, configured by them; refuses, by name, options given that it cannot honour. */
function engineConfig(cmd: Command, flags: RunFlags): KvEngineConfig {
  if (flags.readsMax !== undefined && flags.mode !== 'xrp') throw new UsageError(`--reads-max is the read budget of mode xrp, not of mode ${flags.mode}`);
  const budget = flags.readsMax !== undefined ? { readsMax: flags.readsMax } : {};
  if (flags.engine === 'emulated') {
    return { engine: 'emulated', mode: flags.mode, threads: flags.threads, cores: flags.cores, device: flags.device, seed: flags.seed, cacheLayers: flags.cache, uringBatch: flags.uringBatch === true, ...budget };
  }
  const given = EMULATED_ONLY.filter((name) => cmd.getOptionValueSource(name) === 'cli');
  const names = given.map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (cmd.getOptionValueSource('mode') === 'cli' && flags.mode !== 'xrp') names.unshift(`--mode ${flags.mode}`);
  if (names.length > 0) throw new UsageError(`--engine native cannot honour ${names.join(', ')}: it runs the storage function (mode xrp) on this host's cores and device`);
  return { engine: 'native', inFlight: flags.threads, seed: flags.seed, ...budget };
}

function ownProgram(flags: RunFlags): StorageFunctionRef | undefined {
  if (flags.prog === undefined) {
    if (flags.section !== undefined) throw new UsageError('--section picks a program of --prog FILE.o; give --prog');
    return undefined;
  }
  if (flags.mode !== 'xrp') throw new UsageError(`--prog runs a storage function, which needs --mode xrp (not ${flags.mode})`);
  return resolveStorageFunction(flags.prog, flags.section);
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
  ).action(async (db: string, flags: RunFlags & { key?: bigint[]; keysPerRequest: number }, cmd: Command) => {
    checkNotDirectory(db, 'DB');
    const keys = flags.key;
    const own = ownProgram(flags);
    const keysPerRequest = flags.keysPerRequest;
    const requests = flags.requests ?? (keys === undefined ? 1 : Math.ceil(keys.length / keysPerRequest));
    const runner = openKvRunner(db, engineConfig(cmd, flags));
    const r = await runner.get({ requests, keysPerRequest, ...(keys !== undefined ? { keys } : {}), ...(own !== undefined ? { own } : {}) });
    printGet(r, keysPerRequest, { json: flags.json === true, show: flags.show, ...(own !== undefined ? { own } : {}) });
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
    const own = ownProgram(flags);
    const shown = `[${begin}, ${end}${flagsBits & RNG_END_INCLUSIVE ? ']' : ')'}${flagsBits & RNG_BEGIN_EXCLUSIVE ? ' (begin excluded)' : ''}`;
    const runner = openKvRunner(db, engineConfig(cmd, flags));
    const r = await runner.range({ range, agg: flags.agg, requests: flags.requests ?? 1, ...(own !== undefined ? { own } : {}) });
    printRange(r, shown, { json: flags.json === true, show: flags.show, ...(own !== undefined ? { own } : {}) });
  });
}

