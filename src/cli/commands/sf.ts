// `xrp sf run FILE.o DATA`: run any storage function over any file or image, from a
// start offset, with the scratch page initialised from a file. On the emulated
// machine (default) it walks twice, with read() and with read_xrp, and compares
// latency, hops and the final scratch; on the native engine it runs read_xrp on the
// real file and reports latency percentiles and throughput.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CommandError, UsageError } from '../errors.ts';
import { choiceOption, deviceOption, intIn } from '../options.ts';
import { runOnEmulator, SCRATCH_BYTES, type WalkOutcome } from '../sf/run-emulated.ts';
import { runOnNative } from '../sf/run-native.ts';
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
const us = (ns: number): string => `${(ns / 1000).toFixed(1)} us`;

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
      const common = { objectPath, programName: own.programName, dataPath, startOffsetBytes: flags.offset, sizeBytes: flags.size, scratch, ...(flags.limit !== undefined ? { resubmitLimit: flags.limit } : {}) };
      if (flags.engine === 'native') {
        const refused = ['device', 'seed'].filter((n) => cmd.getOptionValueSource(n) === 'cli').map((n) => `--${n}`);
        if (refused.length > 0) throw new UsageError(`--engine native cannot honour ${refused.join(', ')}: it runs on this host's device, in real time`);
        const r = await runOnNative({ ...common, requests: flags.requests, inFlight: flags.threads });
        if (flags.json === true) return void console.log(JSON.stringify({ engine: 'native', ...r, scratch: Buffer.from(r.scratch).toString('hex') }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2));
        const l = r.latency;
        console.log(`${own.programName} (section ${own.sectionName}) over ${dataPath} from offset ${flags.offset}, native engine (the real file, host time)`);
        console.log(`read_xrp  ${r.first.statusName.padEnd(9)} ${r.first.reads} block(s) read, ${r.first.resubmissions} resubmission(s)${r.first.detail !== '' ? `; ${r.first.detail}` : ''}`);
        console.log(`start-up (workers, verify, JIT): ${r.startupMs.toFixed(1)} ms, not counted below`);
        console.log(`${group(flags.requests)} call(s), ${flags.threads} in flight: latency mean ${us(l.meanNs)}, p50 ${us(l.p50Ns)}, p99 ${us(l.p99Ns)}, p99.9 ${us(l.p999Ns)}, max ${us(l.maxNs)}; ${group(Math.round(r.callsPerSec))} calls/s`);
        if (r.differing > 0) console.log(`${r.differing} call(s) ended differently from the first`);
        if (flags.showScratch > 0) console.log(`scratch after the first call (first ${flags.showScratch} bytes):\n${hex(r.scratch, flags.showScratch).join('\n')}`);
        if (r.first.statusName !== 'DONE') process.exitCode = 1;
        return;
      }
      for (const n of ['requests', 'threads']) {
        if (cmd.getOptionValueSource(n) === 'cli') throw new UsageError(`--${n} applies to --engine native (the emulated engine runs one read() walk and one read_xrp call)`);
      }
      const [walk, xrp] = runOnEmulator({ ...common, device: flags.device, seed: flags.seed });
      if (walk === undefined || xrp === undefined) throw new CommandError('the emulated run gave no outcome');
      const same = Buffer.from(walk.scratch).equals(Buffer.from(xrp.scratch));
      if (flags.json === true) {
        const out = (w: WalkOutcome): object => ({ ...w, scratch: Buffer.from(w.scratch).toString('hex') });
        return void console.log(JSON.stringify({ engine: 'emulated', program: own.programName, read: out(walk), readXrp: out(xrp), sameScratch: same }, null, 2));
      }
      console.log(`${own.programName} (section ${own.sectionName}) over ${dataPath} from offset ${flags.offset}, emulated machine (${flags.device}, virtual time)`);
      console.log(walkLine(walk));
      console.log(walkLine(xrp));
      if (walk.latencyNs > 0 && xrp.latencyNs > 0) console.log(`read_xrp / read(): ${(xrp.latencyNs / walk.latencyNs).toFixed(2)} of the latency; final scratch ${same ? 'identical' : 'DIFFERENT'}`);
      if (flags.showScratch > 0) console.log(`scratch after read_xrp (first ${flags.showScratch} bytes):\n${hex(xrp.scratch, flags.showScratch).join('\n')}`);
      if (walk.statusName !== 'DONE' || xrp.statusName !== 'DONE' || !same) process.exitCode = 1;
    });
}
