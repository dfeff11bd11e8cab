// Our verifier against the Linux verifier on the storage functions: processed
// instructions and states on the same bytecode, and time. Linux has no XRP
// program type, so the kernel verifies each body through the socket-filter
// wrappers the kernel tests use (test/**/kernel/verify.bpf.c: the same C body,
// scratch in a map, ctx on the stack); it reports its own time and counts with
// BPF_LOG_STATS (log level 4, no per-instruction log), read by a small libbpf
// loader (bench/linux/load-stats.c). Ours verifies the shipped object's program
// (bpf/**/*.bpf.o) as `xrp verify` does and, for the same-bytecode columns,
// the wrapper's program too (as a socket filter). The wrapper is not the
// shipped bytecode: clang compiles the body against a zeroed ctx on the stack
// (walk's loop only stores into that ctx, which nothing reads: the loop is
// gone), so only "ours on the wrapper" against "Linux on the wrapper" compares
// like with like.
// Time: ours in a fresh bare `node` per run (bench/verifier-cold-child.mjs) on the
// compiled package, as `xrp verify` runs (V8's optimizing compiler off, the code-cached
// verify path): cold = the first verification of the process with everything of ours
// included (from just before our first import to the end of verify(): node:v8 and
// module loading, first-run compilation, reading the object, the ELF loader, the
// verification); warm = the same process, best of 5 repeats; Node's own start is printed
// apart. Ratio = ours / Linux's (best of the runs). Beside it, interleaved, the floor:
// a fresh node that imports one empty module and reads the object (the least any
// verifier in Node pays after Node's start), and ours stopped before verify(); a last
// table says per program whether 3x Linux's time lies below either. `--before DIR`:
// another checkout, built with its own scripts/build.mjs, measured interleaved with ours.
//   npm run bench:verifier-vs-linux [-- --runs 5] [--counts] [--before DIR]
// --counts prints the counts only (one kernel load per wrapper, no timing).
// Needs root (to load into the kernel), clang and libbpf; prints why not otherwise.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadElf } from '../src/bpf/elf/elf.ts';
import { verify, type VerifyOptions } from '../src/bpf/verifier/verifier.ts';
import { originalsEntries } from './linux/originals.ts';
import { benchArgs } from './args.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLANG = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', 'bpf/include', '-I', '/usr/include/x86_64-linux-gnu'];

/** One row: a shipped program, and what the kernel verifies for it. */
export interface ComparisonEntry {
  /** the shipped object, relative to the checkout */
  readonly object: string;
  readonly program: string;
  /** set when the program is not compared at all (not a storage function): why */
  readonly skip?: string;
  /**
   * The wrapper source (and include directories) whose socket filter `program`
   * Linux verifies; or why there is none. With `entry`, `source` is the
   * storage function's own C, and the bench derives the wrapper from it: the
   * `SEC("xrp") int entry(struct bpf_xrp *ctx)` function becomes the body of
   * test/helpers/kernel-wrap.h's socket filter (for sources with no body of
   * their own to include, such as bpf/examples/).
   */
  readonly linux: { readonly source: string; readonly includes: readonly string[]; readonly program: string; readonly entry?: string } | { readonly why: string };
}

const wrapper = (source: string, program: string, includes: string[] = []): ComparisonEntry['linux'] => ({ source, includes, program });
const derived = (source: string, entry: string): ComparisonEntry['linux'] => ({ source, includes: [], program: `verify_${entry}`, entry });

/** The shipped storage functions with a kernel wrapper. */
const SHIPPED: readonly ComparisonEntry[] = [
  { object: 'bpf/kv/get.bpf.o', program: 'kv_get', linux: wrapper('test/kv/kernel/verify.bpf.c', 'verify_kv_get') },
  { object: 'bpf/kv/range.bpf.o', program: 'kv_range', linux: wrapper('test/kv/kernel/verify.bpf.c', 'verify_kv_range') },
  { object: 'bpf/structures/array_chain.bpf.o', program: 'array_chain', linux: wrapper('test/structures/kernel/verify.bpf.c', 'verify_array_chain') },
  { object: 'bpf/structures/skiplist.bpf.o', program: 'sl_get', linux: wrapper('test/structures/kernel/verify.bpf.c', 'verify_sl_get') },
  { object: 'bpf/structures/skiplist.bpf.o', program: 'sl_range', linux: wrapper('test/structures/kernel/verify.bpf.c', 'verify_sl_range') },
  { object: 'bpf/xrp/walk.bpf.o', program: 'walk', linux: wrapper('test/kernel/xrp/kernel/verify.bpf.c', 'verify_walk') },
  { object: 'bpf/wt/lookup.bpf.o', program: 'wt_lookup', linux: wrapper('test/wt/kernel/verify.bpf.c', 'verify_wt_lookup', ['bpf/wt']) },
  { object: 'bpf/examples/chain.bpf.o', program: 'chain', linux: derived('bpf/examples/chain.bpf.c', 'chain') },
  { object: 'bpf/examples/lookup.bpf.o', program: 'lookup', linux: derived('bpf/examples/lookup.bpf.c', 'lookup') },
  {
    object: 'bpf/tests/loader.bpf.o',
    program: '*',
    skip: 'a fixture of the ELF loader (socket, xdp and tc sections, a legacy "maps" section libbpf v1 cannot open), not a storage function',
    linux: { why: 'libbpf v1 cannot open it' },
  },
];

/**
 * Every row: the entry sources concatenated (another source, such as the
 * original authors' programs, adds its entries here), then any program of
 * bpf/**\/*.bpf.o that none names, so a new storage function shows up.
 */
function entries(): ComparisonEntry[] {
  const listed: ComparisonEntry[] = [...SHIPPED, ...originalsEntries()];
  for (const object of shippedObjects(join(root, 'bpf'))) {
    const parsed = loadElf(new Uint8Array(readFileSync(join(root, object))), object);
    for (const p of parsed.programs) {
      if (listed.some((e) => e.object === object && (e.program === p.name || e.program === '*'))) continue;
      listed.push({ object, program: p.name, linux: { why: 'no kernel wrapper' } });
    }
  }
  return listed.flatMap((e) => (e.program !== '*' ? [e] : programsOf(e.object).map((program) => ({ ...e, program }))));
}

function shippedObjects(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return shippedObjects(path);
      return name.endsWith('.bpf.o') ? [relative(root, path)] : [];
    });
}

function programsOf(object: string): string[] {
  return loadElf(new Uint8Array(readFileSync(join(root, object))), object).programs.map((p) => p.name);
}

/** Our processed instructions and states on one program of an object (no timing). */
function ourCounts(objectPath: string, program: string, type: VerifyOptions['type']): { insns: number; states: number; verdict: string } {
  const parsed = loadElf(new Uint8Array(readFileSync(objectPath)), objectPath);
  const p = parsed.programs.find((q) => q.name === program);
  if (p === undefined) throw new Error(`${objectPath} has no program ${program}`);
  const r = verify(p, { type, maps: parsed.maps }); // every program fits the default budget, as its loader verifies it
  return { insns: r.stats.processedInsns, states: r.stats.states, verdict: r.ok ? 'ok' : `rejected: ${r.error.reason}` };
}

const cl = benchArgs({
  script: 'bench/verifier-vs-linux.ts',
  usage: 'Usage: npm run bench:verifier-vs-linux [-- --runs 5] [--counts] [--before DIR]\n' +
    '  --runs N      runs per program on each side (default 5)\n' +
    '  --counts      the counts only (one kernel load per wrapper, no timing)\n' +
    '  --before DIR  another checkout, built with its own scripts/build.mjs, measured interleaved with ours',
  options: {
    runs: { type: 'string', default: '5' },
    counts: { type: 'boolean', default: false },
    before: { type: 'string' },
  },
});

interface ChildRun {
  nodeStartMs: number;
  coldMs: number;
  loadMs: number;
  elfMs: number;
  verifyMs: number;
  coldCpuMs: number;
  warmMs: number;
  processed: number;
  codeCache: string;
}

/**
 * One fresh process verifying `program` of `object` with the compiled package of `checkout`;
 * mode `bare` (the floor: one empty module imported, the object read, nothing of ours) or
 * `load` (ours without the verification) fill coldMs (and coldCpuMs) only.
 */
function childRun(checkout: string, object: string, program: string, mode: 'verify' | 'bare' | 'load' = 'verify'): ChildRun {
  const out = spawnSync(process.execPath, [join(root, 'bench/verifier-cold-child.mjs'), checkout, object, program, '5', mode], { encoding: 'utf8', cwd: root });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as ChildRun;
}

function build(checkout: string): void {
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8', cwd: checkout });
  if (built.status !== 0) throw new Error(`building ${checkout} failed: ${built.stdout}${built.stderr}`);
}

const best = (xs: number[]): number => Math.min(...xs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

interface LinuxRun {
  usec: number[];
  processed: number;
  states: number;
}

/** Loads every wrapper `runs` times into the kernel; its figures per wrapper program (or why not). */
function linuxRuns(list: readonly ComparisonEntry[], dir: string, runs: number): Map<string, LinuxRun> | string {
  const loader = join(dir, 'load-stats');
  const cc = spawnSync('cc', ['-O2', join(root, 'bench/linux/load-stats.c'), '-lbpf', '-o', loader], { encoding: 'utf8' });
  if (cc.status !== 0) return `cannot build the libbpf loader (needs cc and libbpf-dev): ${cc.stderr}`;
  const linux = new Map<string, LinuxRun>();
  const sources = new Map<string, { includes: readonly string[]; entry: string | undefined }>();
  for (const e of list) if ('source' in e.linux) sources.set(e.linux.source, { includes: e.linux.includes, entry: e.linux.entry });
  for (const [source, { includes, entry }] of sources) {
    const input = entry === undefined ? source : deriveWrapper(dir, source, entry);
    if (input instanceof Error) return input.message;
    const built = spawnSync('clang', [...CLANG, ...includes.flatMap((d) => ['-I', d]), '-c', input, '-o', wrapperObject(dir, source)], { encoding: 'utf8', cwd: root });
    if (built.status !== 0) return `clang failed on ${source}: ${built.stderr}`;
    for (let r = 0; r < runs; r++) {
      const out = spawnSync(loader, [wrapperObject(dir, source)], { encoding: 'utf8' });
      if (out.status !== 0) return `the kernel did not load ${source} (root needed?): ${out.stderr.trim()}`;
      for (const line of out.stdout.trim().split('\n')) {
        const [name = '', usec, processed, states] = line.split(' ');
        const e = linux.get(name) ?? { usec: [], processed: Number(processed), states: Number(states) };
        e.usec.push(Number(usec));
        linux.set(name, e);
      }
    }
  }
  return linux;
}

const wrapperObject = (dir: string, source: string): string => join(dir, `${source.replaceAll('/', '_')}.o`);

/** Writes the kernel wrapper of `source`'s xrp function `entry` into dir (see ComparisonEntry.linux); its path. */
function deriveWrapper(dir: string, source: string, entry: string): string | Error {
  const text = readFileSync(join(root, source), 'utf8');
  const head = new RegExp(`SEC\\("xrp"\\)\\s*int\\s+${entry}\\s*\\(struct bpf_xrp \\*ctx\\)`);
  const license = /char\s+\w+\[\]\s+SEC\("license"\)\s*=\s*"[^"]*";/;
  if (!head.test(text) || !license.test(text)) return new Error(`${source}: no SEC("xrp") int ${entry}(struct bpf_xrp *ctx) and license to derive a kernel wrapper from`);
  const body = text.replace(license, '').replace(head, `static __always_inline int ${entry}_body(struct bpf_xrp *ctx)`);
  const path = join(dir, `${source.replaceAll('/', '_')}.wrapper.c`);
  writeFileSync(path, `#line 1 "${source}"\n${body}\n#include "${join(root, 'test/helpers/kernel-wrap.h')}"\nXRP_SOCKET_WRAPPER(verify_${entry}, ${entry}_body)\n`);
  return path;
}

const cell = (x: number | string, width: number): string => String(x).padStart(width);

function main(): void {
  const runs = cl.positiveInt('--runs', cl.values.runs);
  const countsOnly = cl.values.counts;
  const list = entries();
  const dir = mkdtempSync(join(tmpdir(), 'verifier-vs-linux-'));
  try {
    const linux = linuxRuns(list, dir, countsOnly ? 1 : runs);
    if (typeof linux === 'string') return void console.log(linux);
    const kernel = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim();
    console.log(`# processed instructions / stored states, ours against Linux ${kernel} (BPF_LOG_STATS: processed, total_states)`);
    console.log('# same bytecode: ours and Linux on the kernel wrapper; shipped: ours on the object the loaders use');
    console.log('program       | ours shipped insns / states | ours wrapper insns / states | Linux wrapper insns / states | insns ours/Linux');
    const unmatched: string[] = [];
    for (const e of list) {
      if (e.skip !== undefined) {
        const note = `${e.object}: not compared (${e.skip})`;
        if (!unmatched.includes(note)) unmatched.push(note);
        continue;
      }
      const shipped = ourCounts(join(root, e.object), e.program, 'xrp');
      const ownText = `${cell(shipped.insns, 10)} / ${cell(shipped.states, 6)}${shipped.verdict === 'ok' ? '  ' : ' R'}`;
      if (shipped.verdict !== 'ok') unmatched.push(`${e.program}: ours ${shipped.verdict}`);
      if (!('source' in e.linux)) {
        console.log(`${e.program.padEnd(13)} | ${ownText}       | ${'-'.padStart(27)} | ${'-'.padStart(28)} |`);
        unmatched.push(`${e.program}: no Linux figure (${e.linux.why})`);
        continue;
      }
      const wrapped = ourCounts(wrapperObject(dir, e.linux.source), e.linux.program, 'socket');
      const l = linux.get(e.linux.program);
      if (l === undefined) throw new Error(`the kernel reported nothing for ${e.linux.program}`);
      console.log(
        `${e.program.padEnd(13)} | ${ownText}       | ${cell(wrapped.insns, 10)} / ${cell(wrapped.states, 6)}${wrapped.verdict === 'ok' ? '  ' : ' R'}       | ${cell(l.processed, 11)} / ${cell(l.states, 6)}        | ${cell((wrapped.insns / l.processed).toFixed(2), 16)}`,
      );
      if (wrapped.verdict !== 'ok') unmatched.push(`${e.linux.program}: ours ${wrapped.verdict}`);
    }
    for (const u of unmatched) console.log(`  (${u})`);
    if (countsOnly) return;
    const before = cl.values.before;
    build(root);
    if (before !== undefined) build(before);
    const cols = before === undefined ? '' : ' | before cold ms | before cold cpu | before warm ms';
    console.log(`\n# verification time, ours (xrp verify: --no-opt, dist/) vs Linux ${kernel} (BPF_LOG_STATS), best of ${runs} runs; ratio = ours / Linux; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    console.log('# ours cold = a fresh node process, from just before our first import (node:v8, our loader) to the end of the first verify(), reading the object included; warm = best later verify() in that process');
    console.log('# cold cpu = the main thread\'s CPU time over the cold figure (leaves out waiting for a core on a loaded machine)');
    console.log(`program       | insns ours | insns Linux | Linux ms | ours cold ms | ours cold cpu | ours warm ms | ratio cold | ratio cold cpu | ratio warm${cols}`);
    const nodeStart: number[] = [];
    const floorRows: string[] = [];
    for (const p of list) {
      if (!('source' in p.linux) || p.skip !== undefined) continue;
      const cold: number[] = [];
      const coldCpu: number[] = [];
      const parts: { load: number[]; elf: number[]; verify: number[] } = { load: [], elf: [], verify: [] };
      const warm: number[] = [];
      const beforeCold: number[] = [];
      const beforeCpu: number[] = [];
      const beforeWarm: number[] = [];
      const bare: { wall: number[]; cpu: number[] } = { wall: [], cpu: [] };
      const loadOnly: { wall: number[]; cpu: number[] } = { wall: [], cpu: [] };
      let processed = 0;
      let codeCache = '';
      for (let r = 0; r < runs; r++) {
        // the floor, interleaved with ours: the same load on the machine
        const b = childRun(root, p.object, p.program, 'bare');
        bare.wall.push(b.coldMs);
        bare.cpu.push(b.coldCpuMs);
        const l = childRun(root, p.object, p.program, 'load');
        loadOnly.wall.push(l.coldMs);
        loadOnly.cpu.push(l.coldCpuMs);
        const m = childRun(root, p.object, p.program);
        cold.push(m.coldMs);
        coldCpu.push(m.coldCpuMs);
        parts.load.push(m.loadMs);
        parts.elf.push(m.elfMs);
        parts.verify.push(m.verifyMs);
        warm.push(m.warmMs);
        nodeStart.push(m.nodeStartMs);
        processed = m.processed;
        codeCache = m.codeCache;
        if (before !== undefined) {
          const b = childRun(before, p.object, p.program);
          beforeCold.push(b.coldMs);
          beforeCpu.push(b.coldCpuMs);
          beforeWarm.push(b.warmMs);
          if (b.processed !== processed) console.log(`  (${p.program}: ${before} processes ${b.processed} insns, this checkout ${processed})`);
        }
      }
      const l = linux.get(p.linux.program);
      if (l === undefined) throw new Error(`the kernel reported nothing for ${p.linux.program}`);
      const linuxMs = best(l.usec) / 1000;
      const beforeText = before === undefined ? '' : ` | ${best(beforeCold).toFixed(1).padStart(14)} | ${best(beforeCpu).toFixed(1).padStart(15)} | ${best(beforeWarm).toFixed(2).padStart(14)}`;
      console.log(
        `${p.program.padEnd(13)} | ${String(processed).padStart(10)} | ${String(l.processed).padStart(11)} | ${linuxMs.toFixed(2).padStart(8)} | ${best(cold).toFixed(1).padStart(12)} | ${best(coldCpu).toFixed(1).padStart(13)} | ${best(warm).toFixed(2).padStart(12)} | ${(best(cold) / linuxMs).toFixed(1).padStart(10)} | ${(best(coldCpu) / linuxMs).toFixed(1).padStart(14)} | ${(best(warm) / linuxMs).toFixed(1).padStart(10)}${beforeText}`,
      );
      const beforeMedians = before === undefined ? '' : `, before cold ${median(beforeCold).toFixed(1)} ms (cpu ${median(beforeCpu).toFixed(1)}), warm ${median(beforeWarm).toFixed(2)} ms`;
      console.log(`  (medians: Linux ${(median(l.usec) / 1000).toFixed(2)} ms, ours cold ${median(cold).toFixed(1)} ms (cpu ${median(coldCpu).toFixed(1)}), warm ${median(warm).toFixed(2)} ms${beforeMedians}; code cache: ${codeCache})`);
      console.log(`  (ours cold, medians of its parts: loading our code ${median(parts.load).toFixed(1)} ms, reading the object and the ELF loader ${median(parts.elf).toFixed(1)} ms, first verify() ${median(parts.verify).toFixed(1)} ms)`);
      // each figure at its most favourable reading (the lower of its best wall and best CPU time),
      // so that "below" holds however the machine's load is read
      const allowance = 3 * linuxMs;
      const low = (m: { wall: number[]; cpu: number[] }): number => Math.min(best(m.wall), best(m.cpu));
      const oursLow = Math.min(best(cold), best(coldCpu));
      const verdict = allowance < low(bare) ? 'below the bare floor' : allowance < low(loadOnly) ? 'below ours without verify()' : oursLow <= allowance ? 'met' : 'not met';
      const pair = (m: { wall: number[]; cpu: number[] }): string => `${best(m.wall).toFixed(2)} / ${best(m.cpu).toFixed(2)}`;
      floorRows.push(
        `${p.program.padEnd(13)} | ${linuxMs.toFixed(2).padStart(8)} | ${allowance.toFixed(2).padStart(11)} | ${pair(bare).padStart(26)} | ${pair(loadOnly).padStart(32)} | ${`${best(cold).toFixed(1)} / ${best(coldCpu).toFixed(1)}`.padStart(20)} | ${verdict}` +
          `  (median wall ${median(bare.wall).toFixed(2)} / ${median(loadOnly.wall).toFixed(2)} / ${median(cold).toFixed(1)})`,
      );
    }
    console.log('\n# the floor, measured in the same run (interleaved with the rows above), best of the runs, ms:');
    console.log('# bare node = a fresh node importing one empty module and reading the object (no code of ours: the least any verifier in Node pays);');
    console.log('# ours without verify() = the same child as "ours cold" stopped before verify(): node:v8 and our loader, reading the object, the ELF loader');
    console.log('# each as wall / main-thread CPU; "3x Linux is" compares 3x Linux with the lower of the two');
    console.log('program       | Linux ms | 3x Linux ms | bare node floor wall / cpu | ours without verify() wall / cpu | ours cold wall / cpu | 3x Linux is');
    for (const row of floorRows) console.log(row);
    console.log(`Node's own start (process start to the child's first line, not counted above): best ${best(nodeStart).toFixed(1)} ms, median ${median(nodeStart).toFixed(1)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
