// `xrp struct array` and `xrp struct skiplist`: build an array chain or a skip
// list into a temporary emulated disk, run queries with pread() per hop and/or
// read_xrp with the storage function, and print the first answer, the
// virtual-time latency and throughput, and what the resubmission limit did.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DEVICE_PROFILES } from '../../device/profiles.ts';
import { paramError } from '../../structures/errors.ts';
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
  mode: string;
  queries: string;
  threads: string;
  limit?: string;
  fallback: string;
  seed: string;
  device: string;
  json?: boolean;
}

function int(text: string, name: string, min = 0): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw paramError(`${name} must be an integer >= ${min}, got '${text}'`);
  return n;
}

function modes(text: string): StructureMode[] {
  if (text === 'both') return ['read', 'xrp'];
  if (text === 'read' || text === 'xrp') return [text];
  throw paramError(`--mode must be read, xrp or both, got '${text}'`);
}

function runOptions(flags: CommonFlags, mode: StructureMode): RunOptions {
  if (!DEVICE_PROFILES.has(flags.device)) throw paramError(`unknown device '${flags.device}'; known: ${[...DEVICE_PROFILES.keys()].join(', ')}`);
  if (flags.fallback !== 'user' && flags.fallback !== 'xrp') throw paramError(`--fallback must be user or xrp, got '${flags.fallback}'`);
  return {
    mode,
    queries: int(flags.queries, '--queries', 1),
    threads: int(flags.threads, '--threads', 1),
    seed: int(flags.seed, '--seed'),
    profile: flags.device,
    fallback: flags.fallback,
    ...(flags.limit !== undefined ? { resubmitLimit: int(flags.limit, '--limit') } : {}),
  };
}

function report(results: StructureRunResult[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(results, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
    return;
  }
  console.log(results[0]!.sample);
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
    .option('--mode <mode>', 'read (pread per block), xrp (read_xrp + storage function) or both', 'both')
    .option('--queries <n>', 'queries', '100')
    .option('--threads <n>', 'threads issuing queries', '1')
    .option('--limit <n>', 'xrp: resubmission limit per read_xrp (reads after the first; default 4096)')
    .option('--fallback <who>', 'xrp: after LIMIT, user (user space finishes) or xrp (read_xrp again)', 'user')
    .option('--seed <n>', 'seed of the file and the queries', '1')
    .option('--device <name>', 'device profile', 'optane-p5800x')
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
      .option('--elems <n>', 'N, elements in the file', '65536')
      .option('--hops <k>', 'k, hops per query', '10')
      .option('--start <i>', 'start index of every query (default: seeded random starts)'),
  ).action((flags: CommonFlags & { elems: string; hops: string; start?: string }) => {
    const nElems = int(flags.elems, '--elems', 1);
    const hops = int(flags.hops, '--hops', 1);
    const starts = flags.start !== undefined ? [int(flags.start, '--start')] : undefined;
    withDir((dir) => {
      const prepared = prepareArrayChain({ dir, nElems, seed: int(flags.seed, '--seed') });
      report(modes(flags.mode).map((mode) => runArrayChain(prepared, { ...runOptions(flags, mode), hops, ...(starts ? { starts } : {}) })), flags.json === true);
    });
  });
  common(
    struct
      .command('skiplist')
      .description('skip list of keys 0, 2, 4, ... (2 * count - 2): point lookups or range scans')
      .option('--keys <n>', 'keys in the list', '100000')
      .option('--op <op>', 'get or range', 'get')
      .option('--key <k>', 'the key (get) or range begin of every query (default: seeded random keys)')
      .option('--range-keys <n>', 'range: keys per scan', '64')
      .option('--miss-ratio <r>', 'get: fraction of absent keys (0..1)', '0'),
  ).action((flags: CommonFlags & { keys: string; op: string; key?: string; rangeKeys: string; missRatio: string }) => {
    const keys = int(flags.keys, '--keys', 1);
    if (flags.op !== 'get' && flags.op !== 'range') throw paramError(`--op must be get or range, got '${flags.op}'`);
    const op = flags.op;
    let key: bigint[] | undefined;
    if (flags.key !== undefined) {
      if (!/^\d+$/.test(flags.key)) throw paramError(`--key must be a non-negative integer, got '${flags.key}'`);
      key = [BigInt(flags.key)];
    }
    const missRatio = Number(flags.missRatio);
    withDir((dir) => {
      const prepared = prepareSkipList({ dir, keys, seed: int(flags.seed, '--seed') });
      const rangeKeys = int(flags.rangeKeys, '--range-keys', 1);
      report(
        modes(flags.mode).map((mode) => runSkipList(prepared, { ...runOptions(flags, mode), op, rangeKeys, missRatio, ...(key ? { keys: key } : {}) })),
        flags.json === true,
      );
    });
  });
}
