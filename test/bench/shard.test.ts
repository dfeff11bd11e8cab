// Sweeps in shards: `xrp bench --shard I/N` on three "machines", then `xrp bench
// merge`, give the bytes of one run on one machine (results.json, every CSV and the
// report); the split is deterministic and covers every point once; a merge refuses
// parts of different suites, a missing or a repeated shard.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { findExperiment } from '../../src/bench/registry.ts';
import { planSuite } from '../../src/bench/runner.ts';
import { parseShard, shardTasks } from '../../src/bench/shard.ts';
import { register } from '../../src/cli/commands/bench.ts';
import { TINY_CONFIG, TINY_SETS } from './tiny.ts';

const IDS = ['breakdown', 'latency', 'scheduling'];
const params = new Set(IDS.flatMap((id) => findExperiment(id).params.map((p) => p.name)));
const SETS = [...TINY_SETS].filter(([name]) => params.has(name)).flatMap(([name, values]) => ['--set', `${name}=${values.join(',')}`]);
const COMMON = [...SETS, '--seed', String(TINY_CONFIG.seed), '--cores', String(TINY_CONFIG.cores), '--workers', '0', '--no-progress'];

async function xrp(...args: string[]): Promise<void> {
  const program = new Command('xrp').exitOverride().configureOutput({ writeErr: () => {} });
  register(program);
  const log = console.log;
  console.log = () => {};
  try {
    await program.parseAsync(args, { from: 'user' });
  } finally {
    console.log = log;
  }
}

test('three shards merged: the same bytes as one run on one machine', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-shard-'));
  try {
    const whole = join(dir, 'whole');
    const parts = join(dir, 'parts');
    const merged = join(dir, 'merged');
    await xrp('bench', ...IDS, ...COMMON, '--out', whole);
    for (const i of [3, 1, 2]) await xrp('bench', ...IDS, ...COMMON, '--shard', `${i}/3`, '--out', parts);
    const partFiles = readdirSync(parts).sort();
    assert.deepEqual(partFiles, ['shard-1-of-3.json', 'shard-2-of-3.json', 'shard-3-of-3.json']);
    await xrp('bench', 'merge', ...partFiles.map((f) => join(parts, f)), '--out', merged);
    const files = readdirSync(whole).sort();
    assert.ok(files.includes('index.html') && files.includes('results.json') && files.filter((f) => f.endsWith('.csv')).length === IDS.length, files.join(' '));
    assert.deepEqual(readdirSync(merged).sort(), files);
    for (const f of files) assert.ok(readFileSync(join(merged, f)).equals(readFileSync(join(whole, f))), `${f} differs`);

    // refusals: a missing shard, one given twice, a part of another suite
    const p = (i: number): string => join(parts, `shard-${i}-of-3.json`);
    await assert.rejects(xrp('bench', 'merge', p(1), p(2), '--out', merged), /shard\(s\) 3\/3 missing/);
    await assert.rejects(xrp('bench', 'merge', p(1), p(2), p(2), p(3), '--out', merged), /shard 2\/3 given twice/);
    const other = join(dir, 'other');
    await xrp('bench', ...IDS, ...COMMON.map((a) => (a === String(TINY_CONFIG.seed) ? '99' : a)), '--shard', '1/3', '--out', other);
    await assert.rejects(xrp('bench', 'merge', join(other, 'shard-1-of-3.json'), p(2), p(3), '--out', merged), /a shard of another suite/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the split: deterministic, every point in exactly one shard, costs balanced', () => {
  const experiments = IDS.map(findExperiment);
  const plan = planSuite(experiments, { ...TINY_CONFIG, full: true });
  for (const count of [1, 2, 3, 7]) {
    const shards = Array.from({ length: count }, (_, i) => shardTasks(plan, { index: i + 1, count }).map((t) => t.taskIndex));
    assert.deepEqual(shards.flat().sort((a, b) => a - b), plan.tasks.map((t) => t.taskIndex), `${count} shards cover every point once`);
    assert.deepEqual(shards, Array.from({ length: count }, (_, i) => shardTasks(plan, { index: i + 1, count }).map((t) => t.taskIndex)));
  }
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1']) assert.throws(() => parseShard(bad), /--shard must be I\/N/);
});
