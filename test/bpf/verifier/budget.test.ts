// The verifier's budget (src/bpf/verifier/budget.ts): the slowest mutated
// objects found by scripts/verifier-mutants.ts (one byte of skiplist.bpf.o,
// one byte of range.bpf.o; each took ~30 s to reach the kernel's 1,000,000
// instructions) stop at the budget with a typed "too complex" error; every
// shipped storage function stays inside it; both budgets are options.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadElf } from '../../../src/bpf/elf/elf.ts';
import { VERIFY_INSN_BUDGET_DEFAULT, VERIFY_STATE_BUDGET_DEFAULT, VerifierTooComplexError } from '../../../src/bpf/verifier/budget.ts';
import { verify, type VerifyOptions } from '../../../src/bpf/verifier/verifier.ts';

function programsOf(file: string) {
  const object = loadElf(new Uint8Array(readFileSync(file)), file);
  return object.programs.filter((p) => p.sectionName === 'xrp').map((p) => ({ p, maps: object.maps }));
}

function objects(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? objects(p) : n.endsWith('.bpf.o') ? [p] : [];
  });
}

test('the worst mutated objects stop at the instruction budget with VerifierTooComplexError', () => {
  for (const file of ['test/fixtures/mutants/skiplist-byte642.bpf.o', 'test/fixtures/mutants/range-byte6421.bpf.o']) {
    const results = programsOf(file).map(({ p, maps }) => verify(p, { type: 'xrp', maps }));
    const stopped = results.find((r) => !r.ok && r.error instanceof VerifierTooComplexError);
    assert.ok(stopped !== undefined && !stopped.ok, `${file}: ${results.map((r) => (r.ok ? 'accepted' : r.error.message)).join('; ')}`);
    const error = stopped.error as VerifierTooComplexError;
    assert.equal(error.budget, 'insns');
    assert.equal(error.limit, VERIFY_INSN_BUDGET_DEFAULT);
    assert.match(error.message, /too complex: processed 50000 insns \(limit 50000\)/);
    assert.ok(stopped.stats.processedInsns <= VERIFY_INSN_BUDGET_DEFAULT + 1);
  }
});

test('every shipped storage function verifies inside both default budgets, with room to spare', () => {
  for (const file of objects('bpf')) {
    for (const { p, maps } of programsOf(file)) {
      const r = verify(p, { type: 'xrp', maps });
      assert.ok(r.ok, `${file} ${p.name}: ${r.ok ? '' : r.error.message}`);
      // the largest, wt_lookup, processes about 24,000 instructions; the others under 5,000
      assert.ok(r.stats.processedInsns * 2 < VERIFY_INSN_BUDGET_DEFAULT, `${p.name}: ${r.stats.processedInsns} processed`);
      assert.ok(r.stats.states * 4 < VERIFY_STATE_BUDGET_DEFAULT, `${p.name}: ${r.stats.states} states`);
    }
  }
});

test('the budgets are options: a state budget stops kv_range, a larger instruction budget lets a mutant run longer', () => {
  const [range] = programsOf('bpf/kv/range.bpf.o');
  const options: VerifyOptions = { type: 'xrp', maps: range!.maps, stateLimit: 50 };
  const r = verify(range!.p, options);
  assert.ok(!r.ok && r.error instanceof VerifierTooComplexError && r.error.budget === 'states', r.ok ? 'accepted' : r.error.message);
  assert.match(r.error.message, /stored 50 states \(limit 50\)/);
  const mutant = programsOf('test/fixtures/mutants/skiplist-byte642.bpf.o').map(({ p, maps }) => verify(p, { type: 'xrp', maps, insnLimit: 60_000 }));
  assert.ok(mutant.some((m) => !m.ok && m.error instanceof VerifierTooComplexError && m.error.limit === 60_000 && m.stats.processedInsns > VERIFY_INSN_BUDGET_DEFAULT));
});
