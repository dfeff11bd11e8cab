// `xrp struct array` and `xrp struct skiplist`: build an array chain or a skip
// list into a temporary emulated disk, run queries with pread() per hop and/or
// read_xrp with the storage function, and print the first answer, the
// virtual-time latency and throughput, and what the resubmission limit did.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { CommandError } from '../errors.ts';
import { choiceOption, deviceOption, intIn } from '../options.ts';
import {
  prepareArrayChain,
  prepareSkipList,
  runArrayChain,
  runSkipList,
  type RunOptions,
  type StructureMode,
  type StructureRunResult,
} from '../../structures/run.ts';

interface CommonFlags {
  mode: 'read' | 'xrp' | 'both';
  queries: number;
  threads: number;
  limit?: number;
  fallback: 'user' | 'xrp';
  seed: number;
  device: string;
  json?: boolean;
}

function modes(mode: CommonFlags['mode']): StructureMode[] {
  return mode === 'both' ? ['read', 'xrp'] : [mode];
}

function runOptions(flags: CommonFlags, mode: StructureMode): RunOptions {
  return {
    mode,
    queries: flags.queries,
    threads: flags.threads,
    seed: flags.seed,
    profile: flags.device,
    fallback: flags.fallback,
    ...(flags.limit !== undefined ? { resubmitLimit: flags.limit } : {}),
  };
}

/** A fraction 0..1. */
function fraction(text: string): number {
  const r = Number(text);
  if (text.trim() === '' || !Number.isFinite(r) || r < 0 || r > 1) throw new InvalidArgumentError('must be a number from 0 to 1');
  return r;
}

function report(results: StructureRunResult[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(results, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    return;
  }
  const first = results[0];
  if (first === undefined) throw new CommandError('the run gave no result');
  console.log(first.sample);
  for (const r of results) {
    const l = r.latency;
    console.log(
      `${r.mode.padEnd(4)}  ${r.queries} queries on ${r.threads} thread(s): latency mean ${Math.round(l.meanNs)} ns, p50 ${l.p50Ns}, p99 ${l.p99Ns}, max ${l.maxNs}; ` +
        `${r.queriesPerSec} queries/s (virtual); ${r.readsPerQuery.toFixed(1)} reads/query; ${r.calls} syscalls` +
        (r.xrp !== null ? `; LIMIT ${r.xrp.limitHits}, fallback reads ${r.xrp.fallbackReads}` : '') +
        `; ${r.verified} answers verified`,
    );
  }
}

function common(cmd: Command): Command {
  return cmd
    .addOption(choiceOption('--mode <mode>', 'read (pread per block), xrp (read_xrp + storage function) or both', ['read', 'xrp', 'both'], 'both'))
    .option('--queries <n>', 'queries', intIn(1), 100)
    .option('--threads <n>', 'threads issuing queries', intIn(1), 1)
    .option('--limit <n>', 'mode xrp: resubmission limit per read_xrp (reads after the first; default 4096)', intIn(0))
    .addOption(choiceOption('--fallback <who>', 'mode xrp: after LIMIT, user (user space finishes) or xrp (read_xrp again)', ['user', 'xrp'], 'user'))
    .option('--seed <n>', 'seed of the file and the queries', intIn(0), 1)
    .addOption(deviceOption())
    .option('--json', 'print the results as JSON');
}

/** Runs `body` with a temporary directory for the disk image. */
function withDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-struct-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function register(program: Command): void {
  const struct = program.command('struct').description('the array chain and the on-disk skip list on the emulated machine');
  common(
    struct
      .command('array')
      .description('array chain: N u64 elements, each query hops index = 2 * value mod N for k hops, one 512-byte read per hop')
      .option('--elems <n>', 'N, elements in the file', intIn(1), 65536)
      .option('--hops <k>', 'k, hops per query', intIn(1), 10)
      .option('--start <i>', 'start index of every query (default: seeded random starts)', intIn(0)),
  ).action((flags: CommonFlags & { elems: number; hops: number; start?: number }) => {
    const nElems = flags.elems;
    const hops = flags.hops;
    const starts = flags.start !== undefined ? [flags.start] : undefined;
    withDir((dir) => {
      const prepared = prepareArrayChain({ dir, nElems, seed: flags.seed });
      report(modes(flags.mode).map((mode) => runArrayChain(prepared, { ...runOptions(flags, mode), hops, ...(starts ? { starts } : {}) })), flags.json === true);
    });
  });
  common(
    struct
      .command('skiplist')
      .description('skip list of keys 0, 2, 4, ... (2 * count - 2): point lookups or range scans')
      .option('--keys <n>', 'keys in the list', intIn(1), 100000)
      .addOption(choiceOption('--op <op>', 'get or range', ['get', 'range'], 'get'))
      .option('--key <k>', 'the key (get) or range begin of every query (default: seeded random keys)', intIn(0))
      .option('--range-keys <n>', 'range: keys per scan', intIn(1), 64)
      .option('--miss-ratio <r>', 'get: fraction of absent keys (0..1)', fraction, 0),
  ).action((flags: CommonFlags & { keys: number; op: 'get' | 'range'; key?: number; rangeKeys: number; missRatio: number }) => {
    const keys = flags.keys;
    const op = flags.op;
    const key = flags.key !== undefined ? [BigInt(flags.key)] : undefined;
    const missRatio = flags.missRatio;
    withDir((dir) => {
      const prepared = prepareSkipList({ dir, keys, seed: flags.seed });
      const rangeKeys = flags.rangeKeys;
      report(
        modes(flags.mode).map((mode) => runSkipList(prepared, { ...runOptions(flags, mode), op, rangeKeys, missRatio, ...(key ? { keys: key } : {}) })),
        flags.json === true,
      );
    });
  });
}
