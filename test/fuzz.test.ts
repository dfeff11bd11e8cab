// A few seconds of the fuzzer (test/helpers/fuzz.ts) on every run, with a
// printed seed: mutated ELF objects, corrupted BPF-KV files through every
// engine, corrupted images; no crash, no hang (each case in a child with a
// timeout), no disagreement. Longer runs: scripts/fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FUZZ_KINDS, runFuzz } from './helpers/fuzz.ts';

test('fuzz: mutated objects, corrupted BPF-KV files and images give typed errors or agreeing answers, in bounded time (seeded)', async () => {
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_000);
  console.log(`# fuzz seed ${seed} (repeat: node --import tsx scripts/fuzz.ts --seed ${seed} --seconds 4)`);
  const totals = await runFuzz({ seed, kinds: FUZZ_KINDS, seconds: 4, count: 60 });
  console.log(`# fuzz: ${totals.cases} cases (${Object.entries(totals.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}) in ${totals.seconds.toFixed(1)} s`);
  assert.ok(totals.cases >= FUZZ_KINDS.length, `every kind ran at least once (${totals.cases} cases)`);
  assert.deepEqual(totals.failures, [], `seed ${seed}`);
});
