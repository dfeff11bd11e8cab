// The bench framework: sweeps, per-point seeds, determinism across runs and
// worker counts, and the typed errors of bad input. Tiny sweeps keep it quick.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BenchError } from '../../src/bench/errors.ts';
import { toCsv, toJson } from '../../src/bench/format.ts';
import { EXPERIMENTS, findExperiment, selectExperiments } from '../../src/bench/registry.ts';
import { planSuite, runSuite } from '../../src/bench/runner.ts';
import { canonicalPoint, pointSeed } from '../../src/bench/seed.ts';
import { expandSweep, parseSet, resolveAxes } from '../../src/bench/sweep.ts';
import type { SuiteConfig } from '../../src/bench/types.ts';

const CONFIG: SuiteConfig = { seed: 7, device: 'optane-p5800x', cores: 2, full: false };
/** A tiny suite: two experiments, five points (read() and XRP lookups), well under a second of simulation. */
const TINY = new Map<string, string[]>([
  ['reads', ['40']],
  ['mode', ['read', 'xrp']],
  ['depth', ['1', '2']],
  ['requests', ['5']],
]);
const tinyExperiments = [findExperiment('breakdown'), findExperiment('latency')];

test('every experiment is well formed: unique ids and numbers, params match axes, default sweep within --full limits', () => {
  const ids = new Set<string>();
  const numbers = new Set<number>();
  for (const e of EXPERIMENTS) {
    assert.ok(/^[a-z][a-z0-9-]*$/.test(e.id), e.id);
    assert.ok(!ids.has(e.id), `duplicate ${e.id}`);
    // distinct numbers: the parts of one item are 6.1, 6.2 ...
    assert.ok(e.number >= 1 && Number.isInteger(Math.round(e.number * 10)) && Math.abs(e.number * 10 - Math.round(e.number * 10)) < 1e-9, `${e.id} number ${e.number}`);
    assert.ok(!numbers.has(e.number), `${e.id}: number ${e.number} repeats`);
    ids.add(e.id);
    numbers.add(e.number);
    for (const full of [false, true]) {
      const cfg = { ...CONFIG, cores: 6, full };
      const points = expandSweep(e, resolveAxes(e, cfg, new Map()));
      assert.ok(points.length >= 1, `${e.id} has points`);
      // Every default value must pass the parameter's own validation (what --set would accept).
      for (const spec of e.params) for (const v of e.axes(cfg)[spec.name]!) assert.doesNotThrow(() => resolveAxes(e, cfg, new Map([[spec.name, [String(v)]]])), `${e.id}.${spec.name}=${String(v)}`);
    }
    assert.ok(e.columns.length > 0 && e.description.length > 40);
  }
  assert.deepEqual(selectExperiments('1').map((e) => e.id), ['breakdown', 'layers']);
  assert.deepEqual(selectExperiments('6').map((e) => e.id), ['chain', 'skiplist', 'resubmit-limit']);
  assert.deepEqual(selectExperiments('6.2').map((e) => e.id), ['skiplist']);
  assert.throws(() => findExperiment('1'), /unknown experiment '1'/, 'numbers select, ids find');
  assert.equal(findExperiment('scheduling').number, 8);
});

test('sweeps: cross product with the first axis slowest; --set replaces an axis; typed errors', () => {
  const e = findExperiment('scheduling');
  const sets = new Map([['io', ['read']], ['policy', ['cfs', 'pinned']], ['ioThreads', ['2', '3']], ['computeThreads', ['1']], ['irqAccounting', ['off']]]);
  const pts = expandSweep(e, resolveAxes(e, CONFIG, sets));
  assert.deepEqual(pts.map((p) => `${String(p['policy'])}/${String(p['ioThreads'])}`), ['cfs/2', 'cfs/3', 'pinned/2', 'pinned/3']);
  assert.ok(pts.every((p) => p['io'] === 'read' && p['computeThreads'] === 1 && p['durationMs'] === 20), 'other axes keep their defaults');
  assert.deepEqual(parseSet('depth=1, 2,6'), ['depth', ['1', '2', '6']]);
  for (const bad of ['depth', 'depth=', '=1', 'depth=1,,2', '9x=1']) assert.throws(() => parseSet(bad), BenchError, bad);
  assert.throws(() => resolveAxes(e, CONFIG, new Map([['policy', ['fifo']]])), /parameter policy must be one of cfs, pinned; got 'fifo'/);
  assert.throws(() => resolveAxes(e, CONFIG, new Map([['ioThreads', ['0']]])), /ioThreads must be in 1\.\.1024, got 0/);
  assert.throws(() => resolveAxes(e, CONFIG, new Map([['ioThreads', ['2.5']]])), /must be an integer, got '2.5'/);
  assert.throws(() => planSuite([e], CONFIG, new Map([['depth', ['1']]])), /--set depth: no selected experiment has a parameter 'depth'/);
  assert.throws(() => findExperiment('nope'), /unknown experiment 'nope'; known: 1 breakdown/);
});

test('point seeds depend on the suite seed, the experiment and the point, not on key order', () => {
  assert.equal(canonicalPoint({ b: 1, a: 'x' }), canonicalPoint({ a: 'x', b: 1 }));
  const s = pointSeed(1, 'latency', { depth: 3, mode: 'xrp' });
  assert.equal(s, pointSeed(1, 'latency', { mode: 'xrp', depth: 3 }));
  assert.notEqual(s, pointSeed(2, 'latency', { depth: 3, mode: 'xrp' }));
  assert.notEqual(s, pointSeed(1, 'latency', { depth: 4, mode: 'xrp' }));
  assert.notEqual(s, pointSeed(1, 'scaling', { depth: 3, mode: 'xrp' }));
  assert.ok(s > 0 && s < 2 ** 31);
});

test('same seed, same JSON bytes; inline, 1 and 2 workers agree; a subset gives the same rows', async () => {
  const plan = planSuite(tinyExperiments, CONFIG, TINY);
  assert.equal(plan.tasks.length, 5);
  const inline = toJson(await runSuite(plan, { workers: 0 }));
  const again = toJson(await runSuite(planSuite(tinyExperiments, CONFIG, TINY), { workers: 0 }));
  assert.equal(again, inline);
  const one = toJson(await runSuite(plan, { workers: 1 }));
  const two = toJson(await runSuite(plan, { workers: 2 }));
  assert.equal(one, inline, 'one worker');
  assert.equal(two, inline, 'two workers');
  const parsed = JSON.parse(inline) as { experiments: { id: string; points: { point: Record<string, unknown>; pointSeed: number; rows: Record<string, unknown>[] }[] }[] };
  const lat = parsed.experiments.find((x) => x.id === 'latency')!;
  assert.deepEqual(lat.points.map((p) => `${String(p.point['mode'])}/${String(p.point['depth'])}`), ['read/1', 'read/2', 'xrp/1', 'xrp/2']);
  for (const p of lat.points) {
    assert.equal(p.rows.length, 1);
    const r = p.rows[0]!;
    assert.equal(r['mode'], p.point['mode'], 'rows start with the point parameters');
    assert.equal(r['readsPerRequest'], (p.point['depth'] as number) + 1, 'a depth-d lookup reads d+1 blocks');
    assert.ok((r['meanNs'] as number) > 0 && (r['kRequestsPerSec'] as number) > 0);
  }
  // The point xrp/2 alone gives the same rows as inside the sweep.
  const alone = await runSuite(planSuite([findExperiment('latency')], CONFIG, new Map([['mode', ['xrp']], ['depth', ['2']], ['requests', ['5']]])), { workers: 0 });
  assert.deepEqual(alone.experiments[0]!.points[0]!.rows, lat.points[3]!.rows);
  // A different suite seed changes the per-point seeds.
  const other = await runSuite(planSuite(tinyExperiments, { ...CONFIG, seed: 8 }, TINY), { workers: 0 });
  assert.notEqual(other.experiments[1]!.points[0]!.pointSeed, lat.points[0]!.pointSeed);
});

test('CSV quotes what needs quoting and keeps every column', () => {
  const csv = toCsv([{ a: 1, b: 'x,y' }, { a: 2, c: 'say "hi"', b: null }]);
  assert.equal(csv, 'a,b,c\n1,"x,y",\n2,,"say ""hi"""\n');
});

test('a failing point names the experiment, the point and its seed', async () => {
  const e = findExperiment('scheduling');
  // Pinning one core per compute thread cannot work with as many compute threads as cores.
  const plan = planSuite([e], CONFIG, new Map([['io', ['read']], ['durationMs', ['1']], ['policy', ['pinned']], ['computeThreads', ['2']], ['ioThreads', ['2']]]));
  await assert.rejects(runSuite(plan, { workers: 0 }), /computeThreads \(2\) must be below the core count \(2\)/);
  await assert.rejects(runSuite(plan, { workers: 1 }), /experiment scheduling at \{.*"computeThreads":2.*\} \(seed \d+\) failed: .*must be below the core count/s);
  await assert.rejects(runSuite(plan, { workers: 99 }), /workers must be an integer 0\.\.64/);
});
