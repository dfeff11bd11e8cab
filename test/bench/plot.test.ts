// The figure builders: one colour per series name in every figure, coinciding
// lines both visible, axes that end where the data end, no overlapping labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coloursOf, dashOf, lineChart, SERIES_COLOURS } from '../../src/bench/plot.ts';

type Enc = Record<string, { scale?: { domain?: unknown[]; range?: unknown[]; nice?: boolean; type?: string }; axis?: Record<string, unknown>; sort?: unknown }>;

test('a mode has one colour in every figure; other series get colours no mode has, distinct within a figure', () => {
  assert.deepEqual(coloursOf(['xrp', 'read']), [SERIES_COLOURS['xrp'], SERIES_COLOURS['read']]);
  assert.deepEqual(coloursOf(['read', 'uring', 'spdk', 'xrp']).slice(0, 1), coloursOf(['read']));
  const layers = coloursOf(['kernel crossing', 'file system (ext4)', 'block layer', 'NVMe driver', 'storage device', 'xrp']);
  assert.equal(new Set(layers).size, layers.length, 'distinct within the figure');
  const modeColours = new Set(Object.values(SERIES_COLOURS));
  for (const c of layers.slice(0, 5)) assert.ok(!modeColours.has(c), `${c} is a mode's colour`);
  assert.deepEqual(coloursOf(['block layer']), [coloursOf(['kernel crossing', 'block layer'])[1]], 'stable by name when free');
});

test('lines: x axis over the data exactly (1..32, not 100), log labels thinned, coinciding series widest first', () => {
  const rows = [1, 2, 4, 8, 16, 32].flatMap((k) => ['uring', 'read'].map((mode) => ({ mode, k, y: 10 * k })));
  const spec = lineChart({ rows, x: { field: 'k', title: 'keys (log scale)', log: true }, y: { field: 'y', title: 'y (µs)' }, color: { field: 'mode', title: 'mode', sort: ['read', 'uring'] } });
  const enc = spec['encoding'] as Enc;
  assert.deepEqual(enc['x']?.scale, { type: 'log', domain: [1, 32], nice: false });
  assert.equal(enc['x']?.axis?.['labelOverlap'], 'greedy');
  assert.equal(enc['y']?.axis?.['labelOverlap'], 'greedy');
  assert.deepEqual(enc['color']?.scale?.domain, ['read', 'uring']);
  assert.deepEqual(enc['strokeWidth']?.scale?.domain, ['read', 'uring']);
  const widths = enc['strokeWidth']?.scale?.range as number[];
  assert.ok(widths[0]! > widths[1]!, 'read (under) wider than uring (over)');
  const data = (spec['data'] as { values: { mode: string }[] }).values;
  assert.equal(data.findIndex((r) => r.mode === 'uring'), data.filter((r) => r.mode === 'read').length, 'read drawn first');
});

test('dashes: the first value of a sorted strokeDash field solid, the next dashed', () => {
  const rows = [{ kind: 'reference', x: 1, y: 1 }, { kind: 'xrp', x: 1, y: 2 }];
  const field = { field: 'kind', title: 'kind', sort: ['xrp', 'reference'] };
  assert.deepEqual(dashOf(field, rows, 'xrp'), [1, 0]);
  assert.notDeepEqual(dashOf(field, rows, 'reference'), [1, 0]);
});
