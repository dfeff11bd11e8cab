// Precision marks (precision.ts): only scalars a continuation relies on are
// compared by range at a checkpoint, so paths that differ in others meet.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../../src/bpf/asm/asm.ts';
import { verify } from '../../../src/bpf/verifier/verifier.ts';

// 16 jump-free instructions after the join: the join is always checkpointed
const PAD = Array(16).fill('r3 = 0').join('\n');

/** r0 is 1 on one path and 2 on the other; after the join `use` runs with r0 live. */
const twoConstants = (use: string): string => `r6 = *(u64 *)(r1 + 0)
r0 = 1
if r6 == 0 goto +1
r0 = 2
${PAD}
${use}
r0 = 0
exit`;

function run(name: string, asm: string): ReturnType<typeof verify> {
  return verify({ name, insns: assemble(asm, { fileName: name }) }, { type: 'mem' });
}

test('pointer arithmetic with an immediate relies on no register: the paths meet at the join', () => {
  // r2 += -8 has no source register (its src field is 0): r0 must not become precise
  const r = run('pointer plus immediate', twoConstants('r2 = r10\nr2 += -8\n*(u64 *)(r2 + 0) = r0'));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(r.stats.prunedPaths, 1);
});

test('pointer arithmetic with a register relies on it: the paths stay apart', () => {
  const r = run('pointer plus register', twoConstants('r2 = r1\nr2 += r0\nr0 = *(u8 *)(r2 + 0)'));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(r.stats.prunedPaths, 0);
});
