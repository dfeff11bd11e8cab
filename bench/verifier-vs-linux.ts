// Our verifier's time against the Linux verifier's on the same storage
// functions. Linux has no XRP program type, so the kernel verifies each body
// through the socket-filter wrappers the kernel tests use (test/**/kernel/
// verify.bpf.c: the same C body, scratch in a map); it reports its own time
// with BPF_LOG_STATS (log level 4, no per-instruction log), read by a small
// libbpf loader (bench/linux/load-stats.c). Ours verifies the shipped object's
// program (bpf/**/*.bpf.o) as `xrp verify` does (the compiled package, built
// first; V8's optimizing compiler off; the code-cached verify path), in a
// fresh bare `node` per run (bench/verifier-cold-child.mjs), two ways: cold =
// the first verification of the process with everything of ours included
// (from just before our first import to the end of verify(): module loading,
// first-run compilation, the ELF loader, the verification), and warm = the
// same process, best of 5 repeats. Node's own start (process start to the
// child's first line) is printed apart. Prints the processed instructions of
// both and the ratio ours / Linux's (best of the runs).
// `--before DIR`: a checkout to compare with (built with its own
// scripts/build.mjs; an older one without the verify-path loader is measured
// through its ES modules), run interleaved with ours.
//   npm run bench:verifier-vs-linux [-- --runs 5] [-- --before DIR]
// Needs root (to load into the kernel), clang and libbpf; prints why not otherwise.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLANG = ['-O2', '-g', '-target', 'bpf', '-Wall', '-Werror', '-I', 'bpf/include', '-I', '/usr/include/x86_64-linux-gnu'];

/** The kernel wrapper of each shipped program. */
const PROGRAMS: { object: string; program: string; wrapper: string; linuxName: string }[] = [
  { object: 'bpf/kv/get.bpf.o', program: 'kv_get', wrapper: 'test/kv/kernel/verify.bpf.c', linuxName: 'verify_kv_get' },
  { object: 'bpf/kv/range.bpf.o', program: 'kv_range', wrapper: 'test/kv/kernel/verify.bpf.c', linuxName: 'verify_kv_range' },
  { object: 'bpf/structures/array_chain.bpf.o', program: 'array_chain', wrapper: 'test/structures/kernel/verify.bpf.c', linuxName: 'verify_array_chain' },
  { object: 'bpf/structures/skiplist.bpf.o', program: 'sl_get', wrapper: 'test/structures/kernel/verify.bpf.c', linuxName: 'verify_sl_get' },
  { object: 'bpf/structures/skiplist.bpf.o', program: 'sl_range', wrapper: 'test/structures/kernel/verify.bpf.c', linuxName: 'verify_sl_range' },
  { object: 'bpf/xrp/walk.bpf.o', program: 'walk', wrapper: 'test/kernel/xrp/kernel/verify.bpf.c', linuxName: 'verify_walk' },
];

function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

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

/** One fresh process verifying `program` of `object` with the compiled package of `checkout`. */
function childRun(checkout: string, object: string, program: string): ChildRun {
  const out = spawnSync(process.execPath, [join(root, 'bench/verifier-cold-child.mjs'), checkout, object, program, '5'], { encoding: 'utf8', cwd: root });
  if (out.status !== 0) throw new Error(out.stderr);
  return JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as ChildRun;
}

function build(checkout: string): void {
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8', cwd: checkout });
  if (built.status !== 0) throw new Error(`building ${checkout} failed: ${built.stdout}${built.stderr}`);
}

const best = (xs: number[]): number => Math.min(...xs);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function main(): void {
  const runs = arg('runs', 5);
  const dir = mkdtempSync(join(tmpdir(), 'verifier-vs-linux-'));
  try {
    const loader = join(dir, 'load-stats');
    const cc = spawnSync('cc', ['-O2', join(root, 'bench/linux/load-stats.c'), '-lbpf', '-o', loader], { encoding: 'utf8' });
    if (cc.status !== 0) return void console.log(`cannot build the libbpf loader (needs cc and libbpf-dev): ${cc.stderr}`);
    const linux = new Map<string, { usec: number[]; processed: number }>();
    for (const wrapper of [...new Set(PROGRAMS.map((p) => p.wrapper))]) {
      const obj = join(dir, `${wrapper.replaceAll('/', '_')}.o`);
      const built = spawnSync('clang', [...CLANG, '-c', wrapper, '-o', obj], { encoding: 'utf8', cwd: root });
      if (built.status !== 0) return void console.log(`clang failed on ${wrapper}: ${built.stderr}`);
      for (let r = 0; r < runs; r++) {
        const out = spawnSync(loader, [obj], { encoding: 'utf8' });
        if (out.status !== 0) return void console.log(`the kernel did not load ${wrapper} (root needed?): ${out.stderr.trim()}`);
        for (const line of out.stdout.trim().split('\n')) {
          const [name, usec, processed] = line.split(' ');
          const e = linux.get(name!) ?? { usec: [], processed: Number(processed) };
          e.usec.push(Number(usec));
          linux.set(name!, e);
        }
      }
    }
    const before = argText('before');
    build(root);
    if (before !== undefined) build(before);
    const cols = before === undefined ? '' : ' | before cold ms | before cold cpu | before warm ms';
    console.log(`# verification time, ours (xrp verify: --no-opt, dist/) vs Linux ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()} (BPF_LOG_STATS), best of ${runs} runs; ratio = ours / Linux; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    console.log('# ours cold = a fresh node process, from just before our first import to the end of the first verify(); warm = best later verify() in that process');
    console.log('# cold cpu = the main thread\'s CPU time over the cold figure (leaves out waiting for a core on a loaded machine)');
    console.log(`program       | insns ours | insns Linux | Linux ms | ours cold ms | ours cold cpu | ours warm ms | ratio cold | ratio cold cpu | ratio warm${cols}`);
    const nodeStart: number[] = [];
    for (const p of PROGRAMS) {
      const cold: number[] = [];
      const coldCpu: number[] = [];
      const parts: { load: number[]; elf: number[]; verify: number[] } = { load: [], elf: [], verify: [] };
      const warm: number[] = [];
      const beforeCold: number[] = [];
      const beforeCpu: number[] = [];
      const beforeWarm: number[] = [];
      let processed = 0;
      let codeCache = '';
      for (let r = 0; r < runs; r++) {
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
      const l = linux.get(p.linuxName);
      if (l === undefined) throw new Error(`the kernel reported nothing for ${p.linuxName}`);
      const linuxMs = best(l.usec) / 1000;
      const beforeText = before === undefined ? '' : ` | ${best(beforeCold).toFixed(1).padStart(14)} | ${best(beforeCpu).toFixed(1).padStart(15)} | ${best(beforeWarm).toFixed(2).padStart(14)}`;
      console.log(
        `${p.program.padEnd(13)} | ${String(processed).padStart(10)} | ${String(l.processed).padStart(11)} | ${linuxMs.toFixed(2).padStart(8)} | ${best(cold).toFixed(1).padStart(12)} | ${best(coldCpu).toFixed(1).padStart(13)} | ${best(warm).toFixed(2).padStart(12)} | ${(best(cold) / linuxMs).toFixed(1).padStart(10)} | ${(best(coldCpu) / linuxMs).toFixed(1).padStart(14)} | ${(best(warm) / linuxMs).toFixed(1).padStart(10)}${beforeText}`,
      );
      const beforeMedians = before === undefined ? '' : `, before cold ${median(beforeCold).toFixed(1)} ms (cpu ${median(beforeCpu).toFixed(1)}), warm ${median(beforeWarm).toFixed(2)} ms`;
      console.log(`  (medians: Linux ${(median(l.usec) / 1000).toFixed(2)} ms, ours cold ${median(cold).toFixed(1)} ms (cpu ${median(coldCpu).toFixed(1)}), warm ${median(warm).toFixed(2)} ms${beforeMedians}; code cache: ${codeCache})`);
      console.log(`  (ours cold, medians of its parts: loading our code ${median(parts.load).toFixed(1)} ms, ELF loader ${median(parts.elf).toFixed(1)} ms, first verify() ${median(parts.verify).toFixed(1)} ms)`);
    }
    console.log(`Node's own start (process start to the child's first line, not counted above): best ${best(nodeStart).toFixed(1)} ms, median ${median(nodeStart).toFixed(1)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
