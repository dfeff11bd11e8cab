// Soundness as a property: of 10,000 programs that are not necessarily safe
// (random generated programs, their mutations, mutations of the catalogue's
// safe programs and of a real storage function, random bytes), every one the
// verifier accepts runs on the bounds-checked interpreter without a fault and
// terminates; and the verifier never fails internally. Failures print the seed
// (reproduce with scripts/fuzz-verifier.ts --from SEED --count 1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assemble } from '../../../src/bpf/asm/asm.ts';
import { loadElf } from '../../../src/bpf/elf/elf.ts';
import { GenRng } from '../../../src/testing/program-gen.ts';
import { decode } from '../../../src/bpf/isa.ts';
import { candidate, checkCandidate, type Candidate } from '../../../src/testing/verifier-soundness.ts';
import { verify } from '../../../src/bpf/verifier/verifier.ts';
import { SAFE } from './catalogue.ts';

const PROGRAMS = Number(process.env.VERIFIER_SOUNDNESS_PROGRAMS ?? 10_000);

export function soundnessCorpus(): Candidate[] {
  const corpus: Candidate[] = SAFE.filter((c) => !/map_/.test(c.asm)).map((c) => ({
    label: c.name,
    insns: assemble(c.asm),
    type: c.type ?? 'xrp',
    memSizeBytes: c.memSizeBytes ?? 64,
  }));
  const chain = loadElf(new Uint8Array(readFileSync(new URL('../../../bpf/examples/chain.bpf.o', import.meta.url))), 'chain.bpf.o');
  corpus.push({ label: 'chain.bpf.o', insns: chain.programs[0]!.insns, type: 'xrp', memSizeBytes: 64 });
  return corpus;
}

test(`${PROGRAMS} random and mutated programs: whatever is accepted never faults`, () => {
  const corpus = soundnessCorpus();
  const rng = new GenRng(20261124);
  let accepted = 0;
  let acceptedMutants = 0;
  const violations: string[] = [];
  for (let seed = 1; seed <= PROGRAMS; seed++) {
    const c = candidate(seed, corpus);
    const outcome = checkCandidate(c, rng, 1);
    if (outcome.violation !== undefined) violations.push(`seed ${seed}: ${outcome.violation}`);
    if (outcome.accepted) {
      accepted++;
      if (c.label.includes('mutated')) acceptedMutants++;
    }
  }
  assert.deepEqual(violations, []);
  // the property is not vacuous: many programs, mutants included, were accepted and run
  assert.ok(accepted > PROGRAMS / 10, `only ${accepted} accepted`);
  assert.ok(acceptedMutants > PROGRAMS / 50, `only ${acceptedMutants} mutants accepted`);
});

test('garbage bytecode is rejected with the verifier\'s own error, never an exception', () => {
  const rng = new GenRng(99);
  for (let k = 0; k < 2000; k++) {
    const insns = decode(rng.bytes(8 * rng.between(1, 40)));
    for (const type of ['xrp', 'mem'] as const) {
      const r = verify({ name: `garbage ${k}`, insns }, { type });
      if (!r.ok) {
        assert.ok(!r.error.reason.startsWith('internal'), `garbage ${k}: ${r.error.message}`);
        assert.ok(r.log.length > 0);
      }
    }
  }
});

test('an accepted helper call runs with the helper the verifier allowed (the check runs candidates as a loader would)', () => {
  for (const [label, asm] of [
    ['prandom', 'call 7\nr0 &= 1\nexit'],
    ['ktime', 'call 5\nr0 = 0\nexit'],
    ['trace_printk', 'r1 = 0x0a78\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 3\ncall 6\nr0 = 0\nexit'],
  ] as const) {
    const outcome = checkCandidate({ label, insns: assemble(asm), type: 'xrp', memSizeBytes: 64 }, new GenRng(7), 2);
    assert.equal(outcome.accepted, true, `${label}: ${outcome.result.ok ? '' : outcome.result.error.message}`);
    assert.equal(outcome.violation, undefined, label);
  }
});
