// Every catalogue program gets its verdict: unsafe ones are rejected with the
// expected reason (and instruction), safe ones are accepted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../../src/bpf/asm/asm.ts';
import { verify } from '../../../src/bpf/verifier/verifier.ts';
import { CATALOGUE_MAPS, SAFE, UNSAFE, type CatalogueCase } from './catalogue.ts';

function run(c: CatalogueCase): ReturnType<typeof verify> {
  const insns = assemble(c.asm, { fileName: c.name });
  return verify(
    { name: c.name, insns },
    { type: c.type ?? 'xrp', maps: CATALOGUE_MAPS, ...(c.memSizeBytes !== undefined ? { memSizeBytes: c.memSizeBytes } : {}), ...(c.insnLimit !== undefined ? { insnLimit: c.insnLimit } : {}) },
  );
}

test('the catalogue has at least 40 unsafe and 20 safe programs', () => {
  assert.ok(UNSAFE.length >= 40, `${UNSAFE.length} unsafe`);
  assert.ok(SAFE.length >= 20, `${SAFE.length} safe`);
  assert.ok(UNSAFE.every((c) => c.reject !== undefined));
});

for (const c of UNSAFE) {
  test(`rejects: ${c.name}`, () => {
    const r = run(c);
    assert.equal(r.ok, false, `accepted: ${c.name}`);
    if (r.ok) return;
    assert.ok(r.error.reason.includes(c.reject!), `reason "${r.error.reason}" lacks "${c.reject}"\n${r.log.join('\n')}`);
    if (c.rejectPc !== undefined) assert.equal(r.error.pc, c.rejectPc, r.log.join('\n'));
    // the log names the instruction and the reason
    assert.ok(r.log.some((l) => l.includes(c.reject!)));
    assert.ok(r.error.message.includes(`insn ${r.error.pc}`));
  });
}

for (const c of SAFE) {
  test(`accepts: ${c.name}`, () => {
    const r = run(c);
    assert.ok(r.ok, r.ok ? '' : `${r.error.message}\n${r.log.join('\n')}`);
    assert.ok(r.stats.processedInsns > 0);
  });
}
