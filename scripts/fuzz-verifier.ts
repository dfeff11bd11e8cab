// Long soundness fuzzing of the verifier (the CI test runs 10,000 programs):
//   node --import tsx scripts/fuzz-verifier.ts [--count 1000000] [--from 1] [--runs 2]
// Each seed gives one candidate (generated, mutated, or random bytes); every
// program the verifier accepts runs on the bounds-checked interpreter with
// random inputs. Prints progress and, for every violation, the seed that
// reproduces it (--from SEED --count 1). Exit status 1 if any violation.

import { readFileSync } from 'node:fs';
import { assemble } from '../src/bpf/asm/asm.ts';
import { loadElf } from '../src/bpf/elf/elf.ts';
import { GenRng } from '../src/testing/program-gen.ts';
import { candidate, checkCandidate, type Candidate } from '../src/testing/verifier-soundness.ts';
import { SAFE } from '../test/bpf/verifier/catalogue.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) {
    console.error(`--${name} needs a non-negative integer`);
    process.exit(2);
  }
  return v;
}

const count = arg('count', 1_000_000);
const from = arg('from', 1);
const runs = arg('runs', 2);

const corpus: Candidate[] = SAFE.filter((c) => !/map_/.test(c.asm)).map((c) => ({
  label: c.name,
  insns: assemble(c.asm),
  type: c.type ?? 'xrp',
  memSizeBytes: c.memSizeBytes ?? 64,
}));
for (const file of ['bpf/examples/chain.bpf.o', 'test/bpf/verifier/fixtures/chain_follow.bpf.o', 'test/bpf/verifier/fixtures/btree_search.bpf.o']) {
  const object = loadElf(new Uint8Array(readFileSync(file)), file);
  corpus.push({ label: file, insns: object.programs[0]!.insns, type: 'xrp', memSizeBytes: 64 });
}

const rng = new GenRng(from);
const started = performance.now();
let accepted = 0;
let violations = 0;
for (let seed = from; seed < from + count; seed++) {
  const c = candidate(seed, corpus);
  const outcome = checkCandidate(c, rng, runs);
  if (outcome.accepted) accepted++;
  if (outcome.violation !== undefined) {
    violations++;
    console.log(`VIOLATION seed ${seed}: ${outcome.violation}`);
  }
  const done = seed - from + 1;
  if (done % 10_000 === 0 || done === count) {
    const s = (performance.now() - started) / 1000;
    console.log(`${done} programs, ${accepted} accepted, ${violations} violations, ${s.toFixed(0)} s (${(done / s).toFixed(0)} programs/s)`);
  }
}
process.exitCode = violations > 0 ? 1 : 0;
