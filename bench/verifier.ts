// Cold verification time of every shipped storage function (bpf/**/*.bpf.o,
// sections xrp), as `xrp verify` measures it: each run is a fresh node process
// (modules loaded first, not timed), then verify() is timed. Prints, per
// program, the processed instructions, the best and median wall time of the
// runs, and the best CPU time of the main thread (Linux: the thread's own
// schedstat, so it leaves out waiting for a core and V8's background threads;
// on a loaded machine it is the figure to compare). Target: < 50 ms.
// Like `xrp verify`, V8's optimizing compiler is off unless --turbofan is given.
//   npm run bench:verifier [-- --runs 5] [-- --turbofan] [-- FILE.o ...]

import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { loadElf } from '../src/bpf/elf/elf.ts';
import { verify } from '../src/bpf/verifier/verifier.ts';
import { benchArgs } from './args.ts';

const TARGET_MS = 50;
const root = fileURLToPath(new URL('..', import.meta.url));

/** Main-thread CPU time in ms, or NaN where /proc does not say. */
function threadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

/** Child mode: verify every xrp program of one object once, print one JSON line per program. */
function measureOne(file: string, turbofan: boolean): void {
  if (!turbofan) setFlagsFromString('--no-opt'); // as src/cli/commands/verify.ts does
  const object = loadElf(new Uint8Array(readFileSync(file)), file);
  for (const p of object.programs.filter((q) => q.sectionName === 'xrp')) {
    const cpu0 = threadCpuMs();
    const t0 = performance.now();
    const r = verify(p, { type: 'xrp', maps: object.maps });
    const wallMs = performance.now() - t0;
    const cpuMs = threadCpuMs() - cpu0;
    console.log(JSON.stringify({ name: p.name, ok: r.ok, insns: r.stats.processedInsns, states: r.stats.states, wallMs, cpuMs }));
  }
}

function shipped(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...shipped(path));
    else if (name.endsWith('.bpf.o')) found.push(relative(root, path));
  }
  return found;
}

interface Sample {
  name: string;
  ok: boolean;
  insns: number;
  states: number;
  wallMs: number;
  cpuMs: number;
}

function main(): void {
  const cl = benchArgs({
    script: 'bench/verifier.ts',
    usage: 'Usage: npm run bench:verifier [-- --runs 5] [-- --turbofan] [-- FILE.o ...]\n' +
      '  --runs N     cold runs (fresh processes) per object (default 5)\n' +
      '  --turbofan   V8\'s optimizing compiler on (default off, as in `xrp verify`)\n' +
      '  FILE.o ...   the objects to verify (default every shipped bpf/**/*.bpf.o)',
    options: {
      runs: { type: 'string', default: '5' },
      turbofan: { type: 'boolean', default: false },
      /** internal: the child process of one cold run, verifying this object */
      one: { type: 'string' },
    },
    positionals: true,
  });
  const turbofan = cl.values.turbofan;
  if (cl.values.one !== undefined) return measureOne(cl.values.one, turbofan);
  const runs = cl.positiveInt('--runs', cl.values.runs);
  const named = cl.positionals;
  for (const file of named) if (!file.endsWith('.o')) cl.fail(`'${file}' is not an object file (FILE.o)`);
  const files = named.length > 0 ? named : shipped(join(root, 'bpf'));
  console.log(`load average before: ${readFileSync('/proc/loadavg', 'utf8').trim()} (${runs} cold runs per object, TurboFan ${turbofan ? 'on' : 'off'})`);
  console.log('object                                   program        processed  states   best wall  median wall  best cpu');
  let over = 0;
  for (const file of files) {
    const byProgram = new Map<string, Sample[]>();
    for (let k = 0; k < runs; k++) {
      const childArgs = ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', file, ...(turbofan ? ['--turbofan'] : [])];
      const child = spawnSync(process.execPath, childArgs, { cwd: root, encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`${file}: ${child.stderr}`);
      for (const line of child.stdout.split('\n').filter((l) => l.startsWith('{'))) {
        const s = JSON.parse(line) as Sample;
        byProgram.set(s.name, [...(byProgram.get(s.name) ?? []), s]);
      }
    }
    for (const [name, samples] of byProgram) {
      const walls = samples.map((s) => s.wallMs).sort((a, b) => a - b);
      const bestCpu = Math.min(...samples.map((s) => s.cpuMs));
      const s = samples[0]!;
      if (walls[0]! >= TARGET_MS) over++;
      const row = [
        file.padEnd(40),
        name.padEnd(14),
        String(s.insns).padStart(9),
        String(s.states).padStart(7),
        `${walls[0]!.toFixed(1)} ms`.padStart(11),
        `${walls[Math.floor(walls.length / 2)]!.toFixed(1)} ms`.padStart(12),
        `${bestCpu.toFixed(1)} ms`.padStart(10),
        s.ok ? '' : '  REJECTED',
      ];
      console.log(row.join(' '));
    }
  }
  console.log(`load average after: ${readFileSync('/proc/loadavg', 'utf8').trim()}; ${over} program(s) at or over ${TARGET_MS} ms (best wall)`);
}

main();
