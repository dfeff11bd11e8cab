// `xrp sf run FILE.o DATA`: run any storage function over any file or image, from a
// start offset, with the scratch page initialised from a file. The options pick
// and configure the engine once (engineConfig); one runner (src/cli/sf/run.ts)
// makes the read_xrp calls on it and one printer shows the report: the first
// call's end, latency percentiles and throughput in the engine's clock, the
// scratch page. The emulated machine (default) adds the same walk with read()
// to compare latency, hops and the final scratch with.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CommandError, UsageError } from '../errors.ts';
import { choiceOption, deviceOption, intIn } from '../options.ts';
import type { WalkOutcome } from '../sf/baseline.ts';
import { runSf, SCRATCH_BYTES, type SfEngineConfig, type SfReport } from '../sf/run.ts';
import { checkNotDirectory, resolveStorageFunction } from '../storage-function.ts';

interface SfFlags {
  section?: string;
  offset: number;
  size: number;
  scratch?: string;
  engine: 'emulated' | 'native';
  device: string;
  seed: number;
  limit?: number;
  requests: number;
  threads: number;
  showScratch: number;
  json?: boolean;
}

const group = (n: number): string => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** How each clock's latencies read: the emulated machine's virtual ns are exact, the host's are not. */
const LATENCY_TEXT = {
  virtual: (ns: number): string => `${group(Math.round(ns))} ns`,
  host: (ns: number): string => `${(ns / 1000).toFixed(1)} us`,
} as const;

function initialScratch(path: string | undefined): Uint8Array {
  const page = new Uint8Array(SCRATCH_BYTES);
  if (path === undefined) return page;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new CommandError(`cannot read --scratch ${path}: ${(error as Error).message}`);
  }
  if (bytes.length > SCRATCH_BYTES) throw new UsageError(`--scratch ${path} is ${bytes.length} bytes; the scratch page holds ${SCRATCH_BYTES}`);
  page.set(bytes);
  return page;
}

function hex(bytes: Uint8Array, count: number): string[] {
  const lines: string[] = [];
  for (let at = 0; at < Math.min(count, bytes.length); at += 16) {
    lines.push(`  ${at.toString(16).padStart(4, '0')}: ${[...bytes.subarray(at, Math.min(at + 16, count))].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
  }
  return lines;
}

function walkLine(w: WalkOutcome): string {
  return `${w.how.padEnd(8)}  ${w.statusName.padEnd(9)} ${String(w.reads).padStart(6)} block(s) read, ${String(w.syscalls).padStart(6)} syscall(s), latency ${group(w.latencyNs)} ns (virtual)${w.detail !== '' ? `; ${w.detail}` : ''}`;
}

/** The engine the options pick, configured by them; refuses, by name, options given that it cannot honour. */
function engineConfig(cmd: Command, flags: SfFlags): SfEngineConfig {
  const given = (names: string[]): string[] => names.filter((n) => cmd.getOptionValueSource(n) === 'cli');
  if (flags.engine === 'native') {
    const refused = given(['device', 'seed']).map((n) => `--${n}`);
    if (refused.length > 0) throw new UsageError(`--engine native cannot honour ${refused.join(', ')}: it runs on this host's device, in real time`);
    return { engine: 'native' };
  }
  for (const n of given(['requests', 'threads'])) throw new UsageError(`--${n} applies to --engine native (the emulated engine runs one read() walk and one read_xrp call)`);
  return { engine: 'emulated', device: flags.device, seed: flags.seed };
}

function printReport(r: SfReport, heading: string, showScratch: number): void {
  const latency = LATENCY_TEXT[r.clock];
  const l = r.latency;
  const first = r.first;
  console.log(`${heading}, ${r.setting}`);
  if (r.baseline !== undefined) console.log(walkLine(r.baseline));
  console.log(`read_xrp  ${first.statusName.padEnd(9)} ${String(first.reads).padStart(6)} block(s) read, ${first.resubmissions} resubmission(s)${first.detail !== '' ? `; ${first.detail}` : ''}`);
  if (r.startupMs !== undefined) console.log(`start-up (workers, verify, JIT): ${r.startupMs.toFixed(1)} ms, not counted below`);
  console.log(`${group(r.calls)} call(s), ${r.inFlight} in flight: latency mean ${latency(l.meanNs)}, p50 ${latency(l.p50Ns)}, p99 ${latency(l.p99Ns)}, p99.9 ${latency(l.p999Ns)}, max ${latency(l.maxNs)}; ${group(Math.round(r.callsPerSec))} calls/s`);
  if (r.baseline !== undefined && r.baseline.latencyNs > 0 && l.meanNs > 0) {
    console.log(`read_xrp / read(): ${(l.meanNs / r.baseline.latencyNs).toFixed(2)} of the latency; final scratch ${r.sameScratch === true ? 'identical' : 'DIFFERENT'}`);
  }
  if (r.differing > 0) console.log(`${r.differing} call(s) ended differently from the first`);
  if (showScratch > 0) console.log(`scratch after the first read_xrp call (first ${showScratch} bytes):\n${hex(r.scratch, showScratch).join('\n')}`);
}

function jsonOf(r: SfReport, program: string): object {
  const { baseline, scratch, elapsedNs, ...rest } = r;
  return {
    ...rest,
    program,
    elapsedMs: elapsedNs / 1e6,
    scratch: Buffer.from(scratch).toString('hex'),
    ...(baseline !== undefined ? { read: { ...baseline, scratch: Buffer.from(baseline.scratch).toString('hex') } } : {}),
  };
}

export function register(program: Command): void {
  const sf = program.commands.find((c) => c.name() === 'sf') ?? program.command('sf').description('storage functions of your own, over any file');
  sf.command('run')
    .description('run a storage function over a file from a start offset: on the emulated machine, a read() walk against read_xrp (latency, hops, scratch); on the native engine, read_xrp on the real file')
    .argument('<object>', 'the storage function: an object from clang -target bpf (see templates/storage-function)')
    .argument('<data>', 'the file to walk (any file; copied into a fresh image for the emulated machine)')
    .option('--section <name>', 'the program (section or function name; default: the one program in section xrp)')
    .option('--offset <bytes>', 'file offset of the first read (a multiple of 512)', intIn(0), 0)
    .option('--size <bytes>', 'bytes of the first read (512..4096, a multiple of 512)', intIn(512, 4096), 512)
    .option('--scratch <file>', 'initial scratch page (up to 4096 bytes; the rest is zero)')
    .addOption(choiceOption('--engine <engine>', 'emulated (virtual time: read() and read_xrp compared) or native (the real file, real time)', ['emulated', 'native'], 'emulated'))
    .addOption(deviceOption().default('optane-p5800x', 'optane-p5800x (emulated engine)'))
    .option('--seed <n>', 'seed of the emulated machine', intIn(0), 1)
    .option('--limit <n>', 'resubmissions allowed per read_xrp call (default 4096)', intIn(0))
    .option('--requests <n>', 'native engine: calls to make (for latency percentiles and throughput)', intIn(1, 10_000_000), 1)
    .option('--threads <n>', 'native engine: calls kept in flight', intIn(1, 1024), 1)
    .option('--show-scratch <bytes>', 'bytes of the final scratch page to print in hex', intIn(0, SCRATCH_BYTES), 64)
    .option('--json', 'print the result as JSON')
    .action(async (objectPath: string, dataPath: string, flags: SfFlags, cmd: Command) => {
      checkNotDirectory(dataPath, 'DATA');
      if (flags.offset % 512 !== 0) throw new UsageError(`--offset ${flags.offset} is not a multiple of 512`);
      if (flags.size % 512 !== 0) throw new UsageError(`--size ${flags.size} is not a multiple of 512`);
      const own = resolveStorageFunction(objectPath, flags.section);
      const scratch = initialScratch(flags.scratch);
      const config = engineConfig(cmd, flags);
      const r = await runSf(config, {
        objectPath, programName: own.programName, dataPath, startOffsetBytes: flags.offset, sizeBytes: flags.size, scratch,
        ...(flags.limit !== undefined ? { resubmitLimit: flags.limit } : {}),
        requests: flags.requests, inFlight: flags.threads,
      });
      if (flags.json === true) return void console.log(JSON.stringify(jsonOf(r, own.programName), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
      printReport(r, `${own.programName} (section ${own.sectionName}) over ${dataPath} from offset ${flags.offset}`, flags.showScratch);
      const baselineFailed = r.baseline !== undefined && (r.baseline.statusName !== 'DONE' || r.sameScratch !== true);
      if (r.first.statusName !== 'DONE' || baselineFailed) process.exitCode = 1;
    });
}
