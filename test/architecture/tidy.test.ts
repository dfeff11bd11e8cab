// Rules of the source text that a reader relies on: the simulated core and the
// XRP contract never look at the wall clock, unseeded randomness or timers
// (same seed, same bytes); comments and docs cite no issue numbers of a
// tracker that is not in the repository; a non-null assertion (`x!`) is kept
// only on a hot path, under a comment that says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder, ROOT } from './imports.ts';
import { nonNullSites } from './non-null.ts';

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

// ---- non-null assertions ----
//
// Everywhere in src/ a non-null assertion needs a reason: an index the type
// cannot prove is in range is narrowed by a check that throws a typed error, or
// by restructuring (for-of, entries, destructuring, a Map.get whose undefined is
// handled). Only the hot paths below keep assertions, where a check per operand
// would cost measurable time; each kept site sits under a `non-null: <why>`
// comment (one per function or loop).

/** Files that may keep non-null assertions, and why. */
const NON_NULL_HOT_PATHS: Readonly<Record<string, string>> = {
  'src/bpf/interp/interp.ts': 'the interpreter loop: register file and decoded code indexed by fields the decoder range-checked (bench:interp)',
  'src/bpf/interp/ops.ts': 'the register-file helpers the interpreter loop calls per instruction (bench:interp)',
  'src/sim/event-queue.ts': 'the event heap: push and pop run once per simulated event (bench:sim)',
  'src/native/lane.ts': 'slot fields and masked ring indexes of the shared-memory channel, per request and completion',
  'src/native/worker.ts': 'the worker side of the same channel, per request',
  'src/bpf/verifier/cfg.ts': 'the liveness fixed point: a sweep of every slot per pass over arrays of the program\'s length',
  'src/bpf/verifier/explore.ts': 'prune points: per-instruction tables at a pc of the program, LOWEST_REG by a register mask',
  'src/bpf/verifier/precision.ts': 'precision backtracking, the hottest loops of the verifier in V8\'s interpreter tier',
  'src/bpf/verifier/state.ts': 'state comparison and checkpoints: fixed-size stack arrays, liveIn at a slot, the 11 registers',
  'src/bpf/jit/structure.ts': 'the structure analysis: typed arrays indexed by node numbers, the hottest loop of translation',
};

/** The folder a file is counted under: src/<top>, or src/bpf/<sub> and src/kernel/<sub> for those split by area. */
function folderOf(file: string): string {
  const parts = file.split('/');
  const split = (parts[1] === 'bpf' || parts[1] === 'kernel') && parts.length > 3;
  return parts.slice(0, split ? 3 : 2).join('/');
}

test('non-null assertions: only on allow-listed hot paths, each under a reason', (t) => {
  const perFolder = new Map<string, number>();
  const unreasoned: string[] = [];
  const outsideHotPaths: string[] = [];
  const hotPathCounts = new Map<string, number>();
  for (const file of filesUnder('src', ['.ts'])) {
    const sites = nonNullSites(file, readFileSync(join(ROOT, file), 'utf8'));
    const folder = folderOf(file);
    perFolder.set(folder, (perFolder.get(folder) ?? 0) + sites.length);
    const hot = Object.hasOwn(NON_NULL_HOT_PATHS, file);
    if (hot) hotPathCounts.set(file, sites.length);
    for (const site of sites) {
      if (!hot) outsideHotPaths.push(`${file}:${site.line}`);
      else if (!site.reasoned) unreasoned.push(`${file}:${site.line}`);
    }
  }
  t.diagnostic(`non-null assertions per folder: ${[...perFolder].filter(([, n]) => n > 0).map(([f, n]) => `${f} ${n}`).join(', ')}`);
  assert.deepEqual(outsideHotPaths, [], `non-null assertions outside the hot paths: narrow with a check that throws a typed error (src/base/errors.ts) or restructure:\n${outsideHotPaths.join('\n')}`);
  assert.deepEqual(unreasoned, [], `non-null assertions on a hot path without a \`// non-null: <why>\` comment above their statement, loop or function:\n${unreasoned.join('\n')}`);
  const stale = [...hotPathCounts].filter(([, n]) => n === 0).map(([f]) => f);
  const missing = Object.keys(NON_NULL_HOT_PATHS).filter((f) => !hotPathCounts.has(f));
  assert.deepEqual([...stale, ...missing], [], 'allow-listed hot paths that no longer exist or hold no assertion: remove them from the list');
});

test('the non-null counter sees assertions, not negations, and finds reasons by scope', () => {
  const sites = nonNullSites('x.ts', [
    'const a = m.get(k)!.v + xs[0]!;',
    'if (a !== b && !c) f("no! here"); // not! counted',
    '// non-null: the register index is range-checked by the decoder',
    'function hot(R: Int32Array, d: number) {',
    '  for (;;) { R[d] = R[d + 1]!; }',
    '}',
    'function cold(xs: number[]) {',
    '  // non-null: too short',
    '  return xs[1]!;',
    '}',
    'function middle(xs: number[]) {',
    '  const before = xs[0]!;',
    '  // non-null: the rest of this block reads slots checked above',
    '  const n = xs.length;',
    '  for (let i = 0; i < n; i++) xs[i]! += before;',
    '}',
    'function after(xs: number[]) { return xs[0]!; }',
  ].join('\n'));
  assert.deepEqual(sites, [
    { line: 1, reasoned: false },
    { line: 1, reasoned: false },
    { line: 5, reasoned: true },
    { line: 9, reasoned: false },
    { line: 12, reasoned: false },
    { line: 15, reasoned: true },
    { line: 17, reasoned: false },
  ]);
});
