// Rules of the source text that a reader relies on: the simulated core and the
// XRP contract never look at the wall clock, unseeded randomness or timers
// (same seed, same bytes); comments and docs cite no issue numbers of a
// tracker that is not in the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder, ROOT } from './imports.ts';

const DETERMINISTIC = ['src/sim', 'src/device', 'src/kernel', 'src/spdk', 'src/xrp'];
const NONDETERMINISTIC = /\b(Date\.now|new Date\(|Math\.random|performance\.now|process\.hrtime|setTimeout|setInterval|setImmediate|queueMicrotask|crypto\.random\w*)\b/;

/** The text of `source` with string and template literals blanked (so that a message may name what it bans). */
function code(source: string): string {
  return source.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, (s) => ' '.repeat(s.length));
}

test('the simulated core and the XRP contract use no wall clock, no unseeded randomness and no timers', () => {
  const hits: string[] = [];
  for (const dir of DETERMINISTIC) {
    for (const file of filesUnder(dir, ['.ts'])) {
      code(readFileSync(join(ROOT, file), 'utf8')).split('\n').forEach((line, i) => {
        const m = NONDETERMINISTIC.exec(line);
        if (m !== null) hits.push(`${file}:${i + 1}: ${m[0]}`);
      });
    }
  }
  assert.deepEqual(hits, [], `the simulated core must be a function of its seed (use src/base/prng.ts and virtual time):\n${hits.join('\n')}`);
});

const ISSUE_NUMBER = /\bissues? #?\d+\b(?! (?:commands|reads|requests|blocks|bytes|times))|\(#\d+\)/i;

test('no issue numbers in code comments or docs', () => {
  const files = [
    ...filesUnder('src', ['.ts']), ...filesUnder('test', ['.ts']), ...filesUnder('bench', ['.ts']), ...filesUnder('scripts', ['.ts', '.mjs']),
    ...filesUnder('docs', ['.md']), 'README.md',
    ...filesUnder('bpf', ['.c', '.h']), ...filesUnder('templates', ['.c', '.h', '.ts', '.sh']),
  ];
  const hits: string[] = [];
  for (const file of files) {
    readFileSync(join(ROOT, file), 'utf8').split('\n').forEach((line, i) => {
      const m = ISSUE_NUMBER.exec(line);
      if (m !== null) hits.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, [], `issue numbers point into a tracker that is not in the repository; say what the code does instead:\n${hits.join('\n')}`);
});

test('the rules see what they ban', () => {
  assert.ok(NONDETERMINISTIC.test('const t = Date.now();'));
  assert.ok(NONDETERMINISTIC.test('setTimeout(f, 1)'));
  assert.ok(!NONDETERMINISTIC.test(code("throw new Error('no Date.now here')")));
  assert.ok(ISSUE_NUMBER.test(`// the hook of ${'issue'} 6`));
  assert.ok(ISSUE_NUMBER.test(`/** fixed (${'#'}12) */`));
  assert.ok(!ISSUE_NUMBER.test("test('a fan-out issues 16 commands at once')"));
});
