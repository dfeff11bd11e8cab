// The HTML report in a real browser: Debian's chromium driven by playwright-core
// opens the self-contained file from disk with the network blocked, and every
// plot must render (an SVG with marks) without a console error. Skips with a
// message where no chromium is installed (CHROMIUM_PATH overrides the path).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { EXPERIMENTS } from '../../src/bench/registry.ts';
import { renderReport } from '../../src/bench/report.ts';
import { planSuite, runSuite } from '../../src/bench/runner.ts';
import type { SuiteResult } from '../../src/bench/types.ts';
import { TINY_CONFIG, TINY_SETS } from './tiny.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;

interface PlotColours {
  id: string;
  /** legend entries: label and the colour of its symbol */
  legend: { label: string; colour: string }[];
  /** colours of the drawn lines, symbols and bars (not axes, not legends) */
  marks: string[];
}

interface PageReport {
  rendered: string | null;
  errors: string | null;
  plots: { id: string; svgs: number; marks: number }[];
  colours: PlotColours[];
  consoleErrors: string[];
  /** Vega's warnings (e.g. a log scale over zero leaves a panel empty without an error). */
  consoleWarnings: string[];
  requests: string[];
}

/** In the page: per plot, its legend entries (label, symbol colour) and the colours of its marks. */
const COLLECT_COLOURS = `(() => {
  function paint(e) {
    var fill = e.getAttribute('fill');
    var stroke = e.getAttribute('stroke');
    if (fill !== null && fill !== 'none' && fill !== 'transparent') return fill;
    return stroke !== null && stroke !== 'none' ? stroke : null;
  }
  return Array.from(document.querySelectorAll('div.plot')).map(function (d) {
    var legend = [];
    Array.from(d.querySelectorAll('g.role-legend')).forEach(function (g) {
      var paths = Array.from(g.querySelectorAll('g.role-legend-symbol path'));
      // a legend of dashes (not of colours): its symbols are grey strokes with dash arrays
      if (paths.some(function (p) { var d = p.getAttribute('stroke-dasharray'); return d !== null && d !== '' && d !== '1,0'; })) return;
      var symbols = paths.map(paint);
      var labels = Array.from(g.querySelectorAll('g.role-legend-label text')).map(function (t) { return t.textContent || ''; });
      labels.forEach(function (label, i) { if (symbols[i]) legend.push({ label: label, colour: symbols[i] }); });
    });
    var marks = Array.from(d.querySelectorAll('g.role-mark path, g.role-mark rect'))
      .filter(function (e) { return !e.closest('g.role-legend') && !e.closest('g.role-axis'); })
      .map(paint)
      .filter(function (c) { return c !== null; });
    return { id: d.id, legend: legend, marks: Array.from(new Set(marks)) };
  });
})()`;

let browser: Browser | null = null;
before(async () => {
  if (skip === false) browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});
after(async () => {
  await browser?.close();
});

async function openReport(path: string): Promise<PageReport> {
  const page = await browser!.newPage();
  try {
    const consoleErrors: string[] = [];
    const consoleWarnings: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
      if (m.type() === 'warning') consoleWarnings.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    // Offline: anything but the file itself is blocked and recorded.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    await page.goto(pathToFileURL(path).href);
    await page.waitForSelector('body[data-plots-rendered]', { timeout: 60_000 });
    const state = await page.evaluate(() => {
      // This callback runs in the browser; the project's types have no DOM, so name the little used.
      interface El { id: string; getAttribute(name: string): string | null; querySelectorAll(selector: string): ArrayLike<El> }
      const document = (globalThis as unknown as { document: { body: El; querySelectorAll(selector: string): ArrayLike<El> } }).document;
      return {
      rendered: document.body.getAttribute('data-plots-rendered'),
      errors: document.body.getAttribute('data-plot-errors'),
      plots: Array.from(document.querySelectorAll('div.plot')).map((d) => ({
        id: d.id,
        svgs: d.querySelectorAll('svg').length,
        // Vega draws each mark group as <g class="mark-TYPE role-mark">; count drawn items inside them.
        marks: d.querySelectorAll('g.role-mark path, g.role-mark line, g.role-mark rect').length,
      })),
    };
    });
    // Plain JavaScript as a string: tsx's transform would add helpers (__name) the page does not have.
    const colours = (await page.evaluate(COLLECT_COLOURS)) as PlotColours[];
    return { ...state, colours, consoleErrors, consoleWarnings, requests };
  } finally {
    await page.close();
  }
}

let tiny: SuiteResult | null = null;
/** Every registered experiment, tiny: the report must plot them all. */
async function tinySuite(): Promise<SuiteResult> {
  tiny ??= await runSuite(planSuite(EXPERIMENTS, { ...TINY_CONFIG }, TINY_SETS), { workers: 0 });
  return tiny;
}

test('the report opens offline in headless chromium, every plot renders with marks, no console errors', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-report-'));
  try {
    const result = await tinySuite();
    const path = join(dir, 'index.html');
    writeFileSync(path, renderReport(result, EXPERIMENTS, { wallMs: 1234, workers: 0 }));
    const page = await openReport(path);
    assert.deepEqual(page.consoleErrors, []);
    assert.deepEqual(page.consoleWarnings, []);
    assert.deepEqual(page.requests, [], 'the report fetches nothing');
    assert.equal(page.errors, '0');
    assert.equal(page.rendered, String(result.experiments.length));
    assert.deepEqual(page.plots.map((p) => p.id), result.experiments.map((e) => `plot-${e.id}`));
    for (const p of page.plots) {
      assert.ok(p.svgs >= 1, `${p.id} has an svg`);
      assert.ok(p.marks >= 3, `${p.id} draws marks (${p.marks})`);
    }
    // Every figure's legend matches its marks: each colour drawn is in the legend, each legend colour is drawn.
    const colourOfLabel = new Map<string, { colour: string; plot: string }>();
    for (const p of page.colours) {
      // every figure colours its series: it must have a colour legend
      assert.ok(p.legend.length > 0, `${p.id} has no colour legend`);
      const legendColours = new Set(p.legend.map((l) => l.colour));
      const drawn = p.marks.filter((c) => /^#|^rgb/.test(c));
      for (const c of legendColours) assert.ok(drawn.includes(c), `${p.id}: legend colour ${c} (${p.legend.filter((l) => l.colour === c).map((l) => l.label).join(', ')}) is not drawn`);
      for (const c of drawn) assert.ok(legendColours.has(c), `${p.id}: drawn colour ${c} is not in the legend (${JSON.stringify(p.legend)})`);
      // One colour per mode: a label has the same colour in every figure.
      for (const { label, colour } of p.legend) {
        const seen = colourOfLabel.get(label);
        if (seen !== undefined) assert.equal(colour, seen.colour, `'${label}' is ${seen.colour} in ${seen.plot} but ${colour} in ${p.id}`);
        else colourOfLabel.set(label, { colour, plot: p.id });
      }
    }
    for (const mode of ['read', 'xrp']) assert.ok(colourOfLabel.has(mode), `the mode ${mode} appears in a legend`); // the tiny sweeps run these two
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken plot specification is reported as a console error and counted', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'xrp-report-'));
  try {
    const result = await tinySuite();
    const broken = EXPERIMENTS.map((e) => (e.id === 'scheduling' ? { ...e, plot: () => ({ mark: 'no-such-mark', data: { values: [] } }) } : e));
    const path = join(dir, 'index.html');
    writeFileSync(path, renderReport(result, broken));
    const page = await openReport(path);
    assert.equal(page.errors, '1');
    assert.equal(page.rendered, String(result.experiments.length - 1));
    assert.ok(page.consoleErrors.some((e) => /plot scheduling failed/.test(e)), page.consoleErrors.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Every encoding of a spec (through layers, facets and concatenations). */
function encodings(spec: unknown): Record<string, Record<string, unknown>>[] {
  const found: Record<string, Record<string, unknown>>[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o['encoding'] !== undefined && typeof o['encoding'] === 'object') found.push(o['encoding'] as Record<string, Record<string, unknown>>);
    for (const key of ['spec', 'layer', 'hconcat', 'vconcat', 'concat']) if (o[key] !== undefined) walk(o[key]);
  };
  walk(spec);
  return found;
}

function dataValues(spec: unknown): Record<string, unknown>[] {
  const o = spec as { data?: { values?: Record<string, unknown>[] }; hconcat?: unknown[] };
  return [...(o.data?.values ?? []), ...(o.hconcat ?? []).flatMap(dataValues)];
}

test('captions and axes agree with what is drawn; numbers are distinct; axes fit the data', { timeout: 300_000 }, async () => {
  const result = await tinySuite();
  const numbers = EXPERIMENTS.map((e) => e.number);
  assert.equal(new Set(numbers).size, numbers.length, `experiment numbers repeat: ${numbers.join(', ')}`);
  for (const er of result.experiments) {
    const experiment = EXPERIMENTS.find((e) => e.id === er.id)!;
    const rows = er.points.flatMap((p) => p.rows);
    const spec = experiment.plot(rows, result.config);
    const encs = encodings(spec);
    const channels = encs.flatMap((e) => Object.entries(e).map(([channel, enc]) => ({ channel, enc })));
    const text = experiment.description;
    // an axis says "log scale" exactly when it is one
    for (const { channel, enc } of channels.filter((c) => c.channel === 'x' || c.channel === 'y')) {
      const isLog = (enc['scale'] as { type?: string } | undefined)?.type === 'log';
      assert.equal(/log scale/.test(String(enc['title'])), isLog, `${er.id}: ${channel} axis '${String(enc['title'])}'`);
    }
    if (/log scale/.test(text)) assert.ok(channels.some((c) => (c.enc['scale'] as { type?: string } | undefined)?.type === 'log'), `${er.id}: the text speaks of a log scale`);
    if (/dashed/.test(text)) assert.ok(channels.some((c) => c.channel === 'strokeDash'), `${er.id}: the text speaks of a dashed line`);
    // p99.9 in the text: plotted (a field or a plotted value)
    if (/p99\.9/.test(text)) {
      const plotted = channels.some((c) => /p999/.test(String(c.enc['field']))) || dataValues(spec).some((r) => Object.values(r).includes('p99.9'));
      assert.ok(plotted, `${er.id}: the text speaks of p99.9, no figure plots it`);
    }
    // colours: the legend's domain is exactly the series drawn
    for (const { enc } of channels.filter((c) => c.channel === 'color')) {
      const domain = (enc['scale'] as { domain?: string[] } | undefined)?.domain;
      assert.ok(domain !== undefined, `${er.id}: colours by name`);
      const drawn = new Set(dataValues(spec).map((r) => String(r[String(enc['field'])])));
      assert.deepEqual(new Set(domain), drawn, `${er.id}: colour legend = series drawn`);
    }
  }
});

test('the resubmit-limit figure draws the read() walk dashed and the xrp lines solid, as its caption says', async () => {
  const result = await tinySuite();
  const er = result.experiments.find((e) => e.id === 'resubmit-limit')!;
  const experiment = EXPERIMENTS.find((e) => e.id === 'resubmit-limit')!;
  assert.match(experiment.description, /the dashed line is the user-space walk \(read\)/);
  const spec = experiment.plot(er.points.flatMap((p) => p.rows), result.config);
  const dash = encodings(spec)[0]!['strokeDash'] as { field: string; scale: { domain: string[]; range: number[][] } };
  const dashOf = (kind: string): number[] => dash.scale.range[dash.scale.domain.indexOf(kind)]!;
  assert.deepEqual(dashOf('xrp'), [1, 0], 'xrp solid');
  assert.notDeepEqual(dashOf('reference'), [1, 0], 'read() walk dashed');
});
