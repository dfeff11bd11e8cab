// Our verifier's time against the Linux verifier's on the same storage
// functions. Linux has no XRP program type, so the kernel verifies each body
// through the socket-filter wrappers the kernel tests use (test/**/kernel/
// verify.bpf.c: the same C body, scratch in a map); it reports its own time
// with BPF_LOG_STATS (log level 4, no per-instruction log), read by a small
// libbpf loader (bench/linux/load-stats.c). Ours verifies the shipped object's
// program (bpf/**/*.bpf.o) as `xrp verify` does (V8's optimizing compiler off),
// measured two ways: cold (a fresh process per run: what one `xrp verify`
// costs) and warm (the same process, after a first verification). Prints the
// processed instructions of both and the ratio ours / Linux's (best of the runs).
//   npm run bench:verifier-vs-linux [-- --runs 5]
// Needs root (to load into the kernel), clang and libbpf; prints why not otherwise.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { loadElf } from '../src/bpf/elf/elf.ts';
import { verify } from '../src/bpf/verifier/verifier.ts';
import { originalsEntries } from './linux/originals.ts';

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
  ...originalsEntries(), // the original authors' BPF-KV programs, when a checkout is given (BPFKV_DIR or --bpfkv DIR)
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

/** Child mode: verify one program (cold: the first verification of this process, then warm: `warm` more), print JSON. */
function child(object: string, program: string, warm: number): void {
  setFlagsFromString('--no-opt'); // as src/cli/commands/verify.ts does
  const parsed = loadElf(new Uint8Array(readFileSync(join(root, object))), object);
  const p = parsed.programs.find((q) => q.name === program);
  if (p === undefined) throw new Error(`${object} has no program ${program}`);
  const times: number[] = [];
  let processed = 0;
  for (let i = 0; i <= warm; i++) {
    const t0 = performance.now();
    const r = verify(p, { type: 'xrp', maps: parsed.maps });
    times.push(performance.now() - t0);
    processed = r.stats.processedInsns;
    if (!r.ok) throw new Error(`${program} rejected: ${r.error.message}`);
  }
  console.log(JSON.stringify({ coldMs: times[0], warmMs: Math.min(...times.slice(1)), processed }));
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
    console.log(`# verification time, ours (xrp verify: --no-opt) vs Linux ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()} (BPF_LOG_STATS), best of ${runs} runs; ratio = ours / Linux`);
    console.log('program       | insns ours | insns Linux | Linux ms | ours cold ms | ours warm ms | ratio cold | ratio warm');
    for (const p of PROGRAMS) {
      const cold: number[] = [];
      const warm: number[] = [];
      let processed = 0;
      for (let r = 0; r < runs; r++) {
        const out = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', p.object, p.program], { encoding: 'utf8', cwd: root });
        if (out.status !== 0) throw new Error(out.stderr);
        const m = JSON.parse(out.stdout.trim().split('\n').pop() ?? '{}') as { coldMs: number; warmMs: number; processed: number };
        cold.push(m.coldMs);
        warm.push(m.warmMs);
        processed = m.processed;
      }
      const l = linux.get(p.linuxName);
      if (l === undefined) throw new Error(`the kernel reported nothing for ${p.linuxName}`);
      const linuxMs = best(l.usec) / 1000;
      console.log(
        `${p.program.padEnd(13)} | ${String(processed).padStart(10)} | ${String(l.processed).padStart(11)} | ${linuxMs.toFixed(2).padStart(8)} | ${best(cold).toFixed(1).padStart(12)} | ${best(warm).toFixed(2).padStart(12)} | ${(best(cold) / linuxMs).toFixed(1).padStart(10)} | ${(best(warm) / linuxMs).toFixed(1).padStart(10)}`,
      );
      console.log(`  (medians: Linux ${(median(l.usec) / 1000).toFixed(2)} ms, ours cold ${median(cold).toFixed(1)} ms, warm ${median(warm).toFixed(2)} ms)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const i = process.argv.indexOf('--child');
if (i >= 0) child(process.argv[i + 1]!, process.argv[i + 2]!, 5);
else main();
