// Searches seeded mutants of a storage function's object for the slowest to
// verify (one byte of code changed, or N bits of code flipped), each verified
// in a fresh child process with a timeout, under the default budget or
// another one. Prints the slowest and can keep them as files.
//   node --import tsx scripts/verifier-mutants.ts --object bpf/structures/skiplist.bpf.o --kind code-byte --count 300 --seed 1
//     [--bits 6] [--keep DIR] [--insn-budget N] [--state-budget N] [--timeout-s 120]
//   node --import tsx scripts/verifier-mutants.ts --measure FILE.o [--insn-budget N] [--state-budget N]

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { loadElf } from '../src/bpf/elf/elf.ts';
import { verify } from '../src/bpf/verifier/verifier.ts';
import { Prng } from '../src/base/prng.ts';
import { mutateElf, type MutationKind } from '../test/helpers/elf-mutate.ts';

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const num = (name: string, fallback: number): number => Number(opt(name) ?? fallback);

interface Measured {
  ok: boolean;
  ms: number;
  processed: number;
  states: number;
  reason: string;
}

/** Child: verify every program of one object (as `xrp verify` does: V8's optimizing compiler off), print one JSON line. */
function measure(file: string): void {
  setFlagsFromString('--no-opt');
  console.log(JSON.stringify(measureHere(file)));
}

/** Verifies every xrp program of `file` here, under the budget of the command line (or the default). */
function measureHere(file: string): Measured {
  const budget = {
    ...(opt('insn-budget') !== undefined ? { insnLimit: num('insn-budget', 0) } : {}),
    ...(opt('state-budget') !== undefined ? { stateLimit: num('state-budget', 0) } : {}),
  };
  let total: Measured = { ok: true, ms: 0, processed: 0, states: 0, reason: '' };
  const t0 = performance.now();
  try {
    const object = loadElf(new Uint8Array(readFileSync(file)), file);
    for (const p of object.programs.filter((q) => q.sectionName === 'xrp')) {
      const r = verify(p, { type: 'xrp', maps: object.maps, ...budget });
      total = { ok: total.ok && r.ok, ms: 0, processed: total.processed + r.stats.processedInsns, states: total.states + r.stats.states, reason: r.ok ? total.reason : r.error.reason };
    }
  } catch (e) {
    total = { ...total, ok: false, reason: `load: ${(e as Error).message}` };
  }
  total.ms = performance.now() - t0;
  return total;
}

function inChild(file: string, timeoutS: number): Measured | 'timeout' {
  const extra = ['insn-budget', 'state-budget'].flatMap((n) => (opt(n) !== undefined ? [`--${n}`, opt(n)!] : []));
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--measure', file, ...extra], { encoding: 'utf8', timeout: timeoutS * 1000 });
  if (r.error !== undefined || r.status === null) return 'timeout';
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Measured;
}

const measureFile = opt('measure');
if (measureFile !== undefined) {
  measure(measureFile);
} else {
  const object = opt('object') ?? 'bpf/structures/skiplist.bpf.o';
  const kind = (opt('kind') ?? 'code-byte') as MutationKind;
  const count = num('count', 100);
  const seed = num('seed', 1);
  const timeoutS = num('timeout-s', 120);
  const keep = opt('keep');
  const rng = new Prng(seed);
  const clean = new Uint8Array(readFileSync(object));
  const dir = join(fileURLToPath(new URL('..', import.meta.url)), '.mutants');
  mkdirSync(dir, { recursive: true });
  const found: { what: string; file: string; m: Measured | 'timeout' }[] = [];
  console.log(`# ${count} mutants of ${object} (${kind}), seed ${seed}`);
  for (let n = 0; n < count; n++) {
    const { bytes, what } = mutateElf(rng, clean, kind, num('bits', 6));
    const file = join(dir, `${basename(object, '.bpf.o')}-${kind}-s${seed}-${n}.bpf.o`);
    writeFileSync(file, bytes);
    // the search runs here (bounded by the budget); --child measures each mutant in a fresh process instead
    const m = process.argv.includes('--child') ? inChild(file, timeoutS) : measureHere(file);
    found.push({ what, file, m });
    if (m === 'timeout' || m.processed > 20_000) console.log(`${n}: ${what}: ${m === 'timeout' ? 'TIMEOUT' : `${m.ms.toFixed(0)} ms, ${m.processed} insns, ${m.states} states, ${m.ok ? 'accepted' : m.reason}`}`);
  }
  // by processed instructions (deterministic), then time
  const key = (m: Measured | 'timeout'): number => (m === 'timeout' ? Infinity : m.processed * 1e3 + m.ms);
  found.sort((a, b) => key(b.m) - key(a.m));
  console.log('# slowest:');
  for (const f of found.slice(0, 5)) console.log(`${f.file}: ${f.what}: ${JSON.stringify(f.m)}`);
  if (keep !== undefined) {
    mkdirSync(keep, { recursive: true });
    for (const f of found.slice(0, 2)) writeFileSync(join(keep, basename(f.file)), readFileSync(f.file));
  }
}
