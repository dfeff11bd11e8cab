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

interface PageReport {
  rendered: string | null;
  errors: string | null;
  plots: { id: string; svgs: number; marks: number }[];
  consoleErrors: string[];
  /** Vega's warnings (e.g. a log scale over zero leaves a panel empty without an error). */
  consoleWarnings: string[];
  requests: string[];
}

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
    return { ...state, consoleErrors, consoleWarnings, requests };
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
