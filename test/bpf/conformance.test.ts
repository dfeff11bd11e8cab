import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { parseConformanceFile } from '../../src/bpf/conformance/file.ts';
import { engineFactory, runConformanceDir, runConformanceTest, UnknownEngineError } from '../../src/bpf/conformance/conformance.ts';
import { CORPUS } from '../helpers/corpus.ts';

const interp = engineFactory('interp');

test('the interpreter passes the whole bpf_conformance corpus (313 tests)', { skip: existsSync(CORPUS) ? false : `no corpus at ${CORPUS}` }, () => {
  const summary = runConformanceDir(CORPUS, 'interp');
  const failures = summary.results.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
  assert.deepEqual(failures, []);
  assert.equal(summary.passed, 313);
  assert.equal(summary.failed, 0);
});

test('a wrong expectation is reported as a failure with expected and found values', () => {
  const t = parseConformanceFile('-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n', 'wrong.data');
  const r = runConformanceTest(t, interp);
  assert.equal(r.passed, false);
  assert.match(r.detail, /expected r0 = 0x2, got 0x1/);
});

test('expected errors: a fault passes an -- error test, a result fails it', () => {
  const faulting = parseConformanceFile('-- asm\nldxw %r0, [%r1+0]\nexit\n-- error\nout of bounds\n', 'oob.data');
  assert.equal(runConformanceTest(faulting, interp).passed, true);
  const fine = parseConformanceFile('-- asm\nmov %r0, 1\nexit\n-- error\nsomething\n', 'fine.data');
  assert.equal(runConformanceTest(fine, interp).passed, false);
});

test('the unwind helper (5) stops the program with r0 = 0 when its result is 0', () => {
  const t = parseConformanceFile('-- asm\nmov %r1, 0\ncall 5\nmov %r0, 2\nexit\n-- result\n0x0\n', 'unwind.data');
  assert.equal(runConformanceTest(t, interp).passed, true);
});

test('unknown engines are a typed error naming the known ones', () => {
  assert.throws(() => engineFactory('nope'), (e: unknown) => e instanceof UnknownEngineError && /known: interp/.test(e.message));
});
