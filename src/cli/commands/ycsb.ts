// `xrp ycsb create|load|run <workload-file>`: YCSB's core workloads over the
// WiredTiger-style B+-tree, on an emulated disk image (`--image`, virtual
// time, read() or XRP lookups, T client threads) or on a real file (`--file`,
// wall-clock time). The workload file is YCSB's own property format
// (workloads/ycsb/workloada..f run unchanged); `-p name=value` overrides a
// property, as YCSB's -p does.

import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DEVICE_PROFILES } from '../../device/profiles.ts';
import { Machine } from '../../kernel/machine.ts';
import { EmulatedPageIo } from '../../wt/emulated.ts';
import { WtError } from '../../wt/errors.ts';
import { UsageError } from '../errors.ts';
import { FilePageIo, runSync } from '../../wt/io.ts';
import { WtTree } from '../../wt/tree.ts';
import { parseProperties } from '../../ycsb/properties.ts';
import { TABLE_FILE, ycsbLoadEmulated, ycsbLoadFile, ycsbRunEmulated, ycsbRunFile, type PhaseResult, type ReadMode } from '../../ycsb/runner.ts';
import { workloadSpec, type WorkloadSpec } from '../../ycsb/workload.ts';

interface Flags {
  image?: string;
  file?: string;
  p: string[];
  threads: string;
  mode: string;
  cacheFraction?: string;
  cacheMb?: string;
  warmup?: string;
  seed: string;
  device: string;
  cores: string;
  json?: boolean;
}

function int(text: string, name: string, min = 0): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got '${text}'`);
  return n;
}

function spec(workloadFile: string, overrides: string[]): WorkloadSpec {
  if (!existsSync(workloadFile)) throw new UsageError(`workload file '${workloadFile}' does not exist`);
  const props = parseProperties(readFileSync(workloadFile, 'utf8'), workloadFile);
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new UsageError(`-p expects name=value, got '${o}'`);
    props.set(o.slice(0, eq).trim(), o.slice(eq + 1).trim());
  }
  try {
    return workloadSpec(props, workloadFile);
  } catch (error) {
    // a property the user named (in the workload file or with -p) that is out of range: the command line is wrong
    if (error instanceof WtError && error.code === 'YCSB_PROPERTY') throw new UsageError(error.message);
    throw error;
  }
}

function target(flags: Flags): { kind: 'image'; path: string } | { kind: 'file'; path: string } {
  if (flags.image !== undefined && flags.file === undefined) return { kind: 'image', path: flags.image };
  if (flags.file !== undefined && flags.image === undefined) return { kind: 'file', path: flags.file };
  throw new UsageError('give exactly one of --image <emulated disk image> or --file <real file>');
}

function emulatedCommon(flags: Flags): { threads: number; seed: number; profile: string; cores: number } {
  if (!DEVICE_PROFILES.has(flags.device)) throw new UsageError(`unknown device '${flags.device}'; known: ${[...DEVICE_PROFILES.keys()].join(', ')}`);
  return { threads: int(flags.threads, '--threads', 1), seed: int(flags.seed, '--seed'), profile: flags.device, cores: int(flags.cores, '--cores', 1) };
}

function cacheOptions(flags: Flags): { cacheBytes?: number; cacheFraction?: number } {
  if (flags.cacheMb !== undefined) return { cacheBytes: int(flags.cacheMb, '--cache-mb', 1) << 20 };
  const f = Number(flags.cacheFraction ?? '0.1');
  if (!(f > 0 && f <= 10)) throw new UsageError(`--cache-fraction must be a number in (0, 10], got '${String(flags.cacheFraction)}'`);
  return { cacheFraction: f };
}

const fmtNs = (ns: number): string => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : `${(ns / 1e3).toFixed(1)} µs`);

function print(results: PhaseResult[], json: boolean): void {
  if (json) {
    console.log(JSON.stringify(results, null, 2));
    return;
  }
  for (const r of results) {
    const clock = r.target === 'emulated' ? 'virtual' : 'wall-clock';
    console.log(`${r.phase} on ${r.target === 'emulated' ? 'the emulated machine' : 'a real file'}, ${r.mode === 'xrp' ? 'XRP lookups' : 'read()'}, ${r.threads} thread(s): ` +
      `${r.operations} operations in ${fmtNs(r.elapsedNs)} of ${clock} time = ${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s`);
    console.log(`  cache ${(r.cacheBytes / (1 << 20)).toFixed(2)} MiB of a ${(r.fileBytes / (1 << 20)).toFixed(2)} MiB file; ` +
      `page reads ${r.tree.pageReads}, writes ${r.tree.pageWrites}, checkpoints ${r.tree.checkpoints}` +
      (r.target === 'emulated' ? `, device reads per operation ${r.deviceReadsPerOp.toFixed(2)}` : ''));
    if (r.mode === 'xrp') {
      const ends = Object.entries(r.xrpEnds).map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`  XRP: ${r.tree.xrpWalks} walks, ${r.tree.xrpAnswered} answered (${r.tree.xrpHops} pages), ${r.tree.xrpRetries} redone in user space${ends !== '' ? ` (${ends})` : ''}`);
    }
    for (const [type, s] of Object.entries(r.perOp)) {
      const l = s.latency;
      console.log(`  ${type.padEnd(16)} ${String(s.count).padStart(8)} ops  ${Math.round(r.elapsedNs > 0 ? (s.count * 1e9) / r.elapsedNs : 0).toLocaleString('en-US').padStart(10)} ops/s  mean ${fmtNs(l.meanNs)}  p50 ${fmtNs(l.p50Ns)}  p95 ${fmtNs(l.p95Ns)}  p99 ${fmtNs(l.p99Ns)}  max ${fmtNs(l.maxNs)}` +
        (s.notFound > 0 ? `  (${s.notFound} not found)` : ''));
    }
  }
}

function common(cmd: Command): Command {
  return cmd
    .argument('<workload>', 'a YCSB workload file (e.g. workloads/ycsb/workloadc)')
    .option('--image <path>', 'an emulated disk image (created by create/load)')
    .option('--file <path>', 'a real file')
    .option('-p <name=value>', 'set a workload property (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--threads <n>', 'client threads (emulated)', '1')
    .option('--seed <n>', 'PRNG seed', '1')
    .option('--device <name>', 'device profile (emulated)', 'optane-p5800x')
    .option('--cores <n>', 'simulated cores', '6')
    .option('--json', 'print the results as JSON');
}

export function register(program: Command): void {
  const ycsb = program.command('ycsb').description('YCSB workloads over the WiredTiger-style B+-tree (emulated disk or real file)');

  common(ycsb.command('create').description('make a fresh table (emulated image or real file) holding no records')).action((workload: string, flags: Flags) => {
    const s = spec(workload, flags.p);
    const t = target(flags);
    if (t.kind === 'file') {
      const io = new FilePageIo(t.path, { create: true });
      try {
        runSync(WtTree.create(io));
      } finally {
        io.close();
      }
    } else {
      const m = Machine.boot({ imagePath: t.path, mkfsBytes: Math.max(64 << 20, Math.ceil(s.insertCount * s.fieldCount * (s.fieldLength + 10) * 3 / (1 << 20)) << 20) });
      try {
        const proc = m.kernel.createProcess('ycsb');
        m.sim.spawn('create', function* (th) {
          const io = yield* EmulatedPageIo.open(th, proc, TABLE_FILE, { create: true });
          yield* WtTree.create(io);
          yield* io.close();
        });
        m.sim.run();
      } finally {
        m.shutdown();
      }
    }
    console.log(`created an empty table in ${t.kind === 'image' ? `the emulated image ${t.path} (file ${TABLE_FILE})` : t.path}`);
  });

  common(ycsb.command('load').description('create the table and insert recordcount records (the YCSB load phase)'))
    .option('--cache-mb <n>', 'page cache (MiB) during the load', '8')
    .action((workload: string, flags: Flags) => {
      const s = spec(workload, flags.p);
      const t = target(flags);
      const cacheBytes = int(flags.cacheMb ?? '8', '--cache-mb', 1) << 20;
      const r = t.kind === 'file'
        ? ycsbLoadFile({ path: t.path, spec: s, seed: int(flags.seed, '--seed'), cacheBytes })
        : ycsbLoadEmulated({ imagePath: t.path, spec: s, cacheBytes, ...emulatedCommon(flags) });
      print([r], flags.json === true);
    });

  common(ycsb.command('run').description('run operationcount operations of the workload on a loaded table (the YCSB run phase)'))
    .option('--mode <mode>', 'emulated: read, xrp or both', 'both')
    .option('--cache-fraction <f>', 'page cache as a fraction of the table file', '0.1')
    .option('--cache-mb <n>', 'page cache in MiB (instead of --cache-fraction)')
    .option('--warmup <n>', 'untimed operations first (default operationcount / 4)')
    .action((workload: string, flags: Flags) => {
      const s = spec(workload, flags.p);
      const t = target(flags);
      const warmup = flags.warmup !== undefined ? { warmupOps: int(flags.warmup, '--warmup') } : {};
      if (t.kind === 'file') {
        print([ycsbRunFile({ path: t.path, spec: s, seed: int(flags.seed, '--seed'), ...cacheOptions(flags), ...warmup })], flags.json === true);
        return;
      }
      const modes: ReadMode[] = flags.mode === 'both' ? ['read', 'xrp'] : flags.mode === 'read' || flags.mode === 'xrp' ? [flags.mode] : [];
      if (modes.length === 0) throw new UsageError(`--mode must be read, xrp or both, got '${flags.mode}'`);
      const results = modes.map((mode) => ycsbRunEmulated({ imagePath: t.path, spec: s, mode, ...emulatedCommon(flags), ...cacheOptions(flags), ...warmup }));
      print(results, flags.json === true);
    });
}
