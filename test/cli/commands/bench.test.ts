// `xrp bench` as a user runs it: a tiny sweep end to end (tables, CSV, JSON,
// report), the same bytes for the same seed whatever the worker count, and
// typed errors for bad arguments.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from '../../../src/cli/commands/bench.ts';
import { UsageError } from '../../../src/cli/errors.ts';
import { Command, CommanderError } from 'commander';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const TINY = ['--set', 'reads=30', '--set', 'io=read', '--set', 'irqAccounting=off', '--set', 'computeThreads=1', '--set', 'ioThreads=2', '--set', 'durationMs=1', '--cores', '2'];

function xrp(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'bench', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('xrp bench: tiny sweep writes tables, CSV, JSON and the report; same bytes on 0 and 2 workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-bench-cli-'));
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    let r = xrp('breakdown', '8', ...TINY, '--seed', '5', '--out', a, '--workers', '0');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /== 1\. Latency breakdown of one read per layer \(Table 1\) \(xrp bench breakdown\)/);
    assert.match(r.stdout, /file system \(ext4\)\s+2006\.0\s+\d+\.\d\s+2006/);
    assert.match(r.stdout, /== 8\. Scheduling/);
    assert.match(r.stdout, /^io\s+policy\s+irq acct\s+compute thr\s+I\/O thr/m);
    assert.match(r.stdout, /3 points of 2 experiment\(s\) in [\d.]+ s on 0 worker\(s\); seed 5, optane-p5800x, 2 cores/);
    assert.match(r.stderr, /xrp bench: breakdown done \(1 points/, 'progress lines when stderr is not a terminal');
    for (const f of ['index.html', 'results.json', '1-breakdown.csv', '8-scheduling.csv']) assert.ok(existsSync(join(a, f)), f);
    const csv = readFileSync(join(a, '8-scheduling.csv'), 'utf8').split('\n');
    assert.match(csv[0]!, /^io,policy,irqAccounting,computeThreads,ioThreads,durationMs,computeSharePct,computeChargedPct,/);
    assert.equal(csv.length, 2 + 2, 'header, two points, final newline');
    const json = JSON.parse(readFileSync(join(a, 'results.json'), 'utf8')) as { config: Record<string, unknown> };
    assert.deepEqual(json.config, { seed: 5, device: 'optane-p5800x', cores: 2, full: false });
    r = xrp('breakdown', 'scheduling', ...TINY, '--seed', '5', '--out', b, '--workers', '2', '--no-report', '--no-progress');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(readFileSync(join(b, 'results.json'), 'utf8'), readFileSync(join(a, 'results.json'), 'utf8'));
    assert.equal(readFileSync(join(b, '8-scheduling.csv'), 'utf8'), readFileSync(join(a, '8-scheduling.csv'), 'utf8'));
    assert.ok(!existsSync(join(b, 'index.html')), '--no-report');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('xrp bench --list shows every experiment with its parameters', () => {
  const r = xrp('--list');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^1 {2}breakdown/m);
  assert.match(r.stdout, /^8 {2}scheduling/m);
  assert.match(r.stdout, /--set policy=cfs,pinned {3}scheduling policy \[cfs\|pinned\]/);
});

test('xrp bench: bad arguments are typed errors (exit status 2 from the command line)', async () => {
  const out = join(tmpdir(), 'xrp-bench-never-written');
  for (const [args, message] of [
    [['nosuch'], /xrp: unknown experiment 'nosuch'; known: 1 breakdown/],
    [['8', '--set', 'policy=fifo'], /xrp: experiment scheduling: parameter policy must be one of cfs, pinned; got 'fifo'/],
  ] as [string[], RegExp][]) {
    const r = xrp(...args, '--out', out);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // The rest in-process (each spawn costs seconds on a loaded machine): the same parser, the same errors.
  const cases: [string[], RegExp][] = [
    [['--device', 'floppy'], /^xrp: option '--device <name>' argument 'floppy' is invalid\. Allowed choices are optane-p5800x, tlc-980pro, nand-p4610\.$/],
    [['--cores', '0'], /^xrp: option '--cores <n>' argument '0' is invalid\. must be an integer from 1 to 256$/],
    [['--seed', 'x'], /^xrp: option '--seed <n>' argument 'x' is invalid\. must be an integer from 0 to 4294967295$/],
    [['--workers', '100'], /^xrp: option '--workers <n>' argument '100' is invalid\. must be an integer from 0 to 64$/],
    [['8', '--set', 'depth=1'], /^--set depth: no selected experiment has a parameter 'depth'/],
    [['8', '--set', 'policy'], /^--set expects NAME=VALUE\[,VALUE\.\.\.\], got 'policy'$/],
    [['latency', '--set', 'depth=7'], /^experiment latency: parameter depth must be in 1\.\.6, got 7$/],
  ];
  for (const [args, message] of cases) {
    let printed = '';
    const program = new Command('xrp').exitOverride().configureOutput({ writeErr: () => {}, outputError: (text) => void (printed += `xrp: ${text.replace(/^error: /, '')}`) });
    register(program);
    await assert.rejects(
      program.parseAsync(['bench', ...args, '--out', out, '--no-report', '--no-progress'], { from: 'user' }),
      (e: unknown) => (e instanceof CommanderError && message.test(printed.trim())) || (e instanceof UsageError && message.test(e.message)),
      `${args.join(' ')}: ${printed}`,
    );
  }
  assert.ok(!existsSync(out), 'nothing written');
});
