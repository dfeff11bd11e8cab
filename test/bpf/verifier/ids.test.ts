// Linked copies (scalar ids) across a checkpoint: a copy linked to a register
// that is dead at the checkpoint links nothing and must not keep a state from
// being pruned (clear_singular_ids), while a link between two live copies must
// still keep an unlinked state from matching (it bounds one copy through the other).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble } from '../../../src/bpf/asm/asm.ts';
import { verify } from '../../../src/bpf/verifier/verifier.ts';

// 16 jump-free instructions after the join: the join is always checkpointed
const PAD = Array(16).fill('r0 = 0').join('\n');

/** r6 from the buffer; on one path r7 is a copy of r6, on the other `other`; then r7 bounds r6's use. */
const boundedThroughCopy = (other: string): string => `r6 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
if r3 == 0 goto +2
r7 = r6
goto +1
${other}
${PAD}
if r7 > 100 goto +3
r1 += r6
r0 = *(u8 *)(r1 + 0)
exit
r0 = 0
exit`;

/** One path links r7 to r6 and then overwrites r7: r6's id is held by no other live register at the join. */
const STALE_LINK = `r6 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
if r3 == 0 goto +3
r7 = r6
r7 = 0
goto +0
${PAD}
if r6 > 100 goto +3
r1 += r6
r0 = *(u8 *)(r1 + 0)
exit
r0 = 0
exit`;

function run(name: string, asm: string): ReturnType<typeof verify> {
  return verify({ name, insns: assemble(asm, { fileName: name }) }, { type: 'mem' });
}

test('a link between live copies keeps an unlinked state from being pruned: the unbounded path is rejected', () => {
  const r = run('unlinked on one path', boundedThroughCopy('r7 = *(u64 *)(r1 + 16)'));
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.reason, /unbounded min value/);
  const linked = run('linked on both paths', boundedThroughCopy('r7 = r6'));
  assert.ok(linked.ok, linked.ok ? '' : linked.error.message);
  assert.equal(linked.stats.prunedPaths, 1, 'the second path is covered at the join');
});

test('an id no other live register holds is forgotten at the checkpoint, so the other path is pruned there', () => {
  const r = run('stale link', STALE_LINK);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(r.stats.prunedPaths, 1);
  // pruned at the join: the second path runs 2 instructions, not the 22 after it
  assert.ok(r.stats.processedInsns <= 30, `${r.stats.processedInsns} processed`);
});

test('a link that bounds nothing relied on does not keep an unlinked state from being pruned', () => {
  // both copies stay live after the join, but no continuation relies on either's range
  const asm = `r6 = *(u64 *)(r1 + 0)
r3 = *(u64 *)(r1 + 8)
if r3 == 0 goto +2
r7 = r6
goto +1
r7 = *(u64 *)(r1 + 16)
${PAD}
r0 = r7
r0 += r6
exit`;
  const r = run('unused link', asm);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.equal(r.stats.prunedPaths, 1, 'the unlinked path is covered at the join');
});
