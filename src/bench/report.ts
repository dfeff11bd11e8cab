// The HTML report: one self-contained file (Vega, Vega-Lite and Vega-Embed
// inlined from node_modules, data inlined), so it opens offline from disk. One
// section per experiment: what it measures, the sweep and seeds, the headline
// findings, a plot rendered by Vega-Lite, and the table of every data point.
//
// When every plot has rendered, the page sets `data-plots-rendered` on <body>
// to the number of plots (a failed plot logs a console error and sets
// `data-plot-errors`); the report test waits for that.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BenchError } from './errors.ts';
import { allRows } from './format.ts';
import type { Column, Experiment, Scalar, SuiteResult, VegaLiteSpec } from './types.ts';

const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** The browser bundles (UMD builds that define globals vega, vegaLite, vegaEmbed). */
export function vegaBundles(): { name: string; code: string }[] {
  const require = createRequire(import.meta.url);
  const bundles: [string, string][] = [
    ['vega', 'vega.min.js'],
    ['vega-lite', 'vega-lite.min.js'],
    ['vega-embed', 'vega-embed.min.js'],
  ];
  return bundles.map(([pkg, file]) => {
    let path: string;
    try {
      path = join(dirname(require.resolve(pkg)), file);
      return { name: pkg, code: readFileSync(path, 'utf8') };
    } catch (error) {
      throw new BenchError(`cannot read the ${pkg} browser bundle (${file}); run npm ci: ${(error as Error).message}`);
    }
  });
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Inline code that must not close its <script> element early. */
function scriptCode(code: string): string {
  return code.replace(/<\/script/gi, '<\\/script');
}

function cell(value: Scalar | null | undefined, column: Column): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number' && column.digits !== undefined) return value.toFixed(column.digits);
  return escapeHtml(String(value));
}

export interface ReportMeta {
  /** Wall time of the run (shown, not part of the data). */
  wallMs?: number;
  workers?: number;
}

export function renderReport(result: SuiteResult, experiments: readonly Experiment[], meta: ReportMeta = {}): string {
  const c = result.config;
  const specs: Record<string, VegaLiteSpec> = {};
  const sections: string[] = [];
  const summary: string[] = [];
  for (const er of result.experiments) {
    const experiment = experiments.find((e) => e.id === er.id);
    if (experiment === undefined) throw new BenchError(`report: no experiment '${er.id}'`);
    const rows = allRows(er);
    specs[er.id] = { $schema: VEGA_LITE_SCHEMA, ...experiment.plot(rows, c) };
    const sweep = experiment.params
      .map((p) => {
        const values = [...new Set(er.points.map((pt) => pt.point[p.name]))].map(String).join(', ');
        return `<li><code>${escapeHtml(p.name)}</code> = ${escapeHtml(values)}${p.unit === '' ? '' : ` ${escapeHtml(p.unit)}`} <span class="muted">(${escapeHtml(p.description)})</span></li>`;
      })
      .join('');
    const headlines = experiment.headline?.(rows, c) ?? [];
    const headline = headlines.map((h) => `<li>${escapeHtml(h)}</li>`).join('');
    summary.push(`<tr><td><a href="#exp-${er.id}">${er.number}. ${escapeHtml(er.id)}</a></td><td>${headlines.map(escapeHtml).join('<br>') || '–'}</td></tr>`);
    const head = experiment.columns.map((col) => `<th>${escapeHtml(col.label)}${col.unit === '' ? '' : `<br><span class="unit">${escapeHtml(col.unit)}</span>`}</th>`).join('');
    const body = rows.map((r) => `<tr>${experiment.columns.map((col) => `<td>${cell(r[col.key], col)}</td>`).join('')}</tr>`).join('\n');
    const seeds = er.points.map((p) => `${escapeHtml(JSON.stringify(p.point))} → seed ${p.pointSeed}`).join('<br>');
    sections.push(`<section id="exp-${er.id}">
<h2>${er.number}. ${escapeHtml(er.title)} <span class="muted">(<code>xrp bench ${er.id}</code>)</span></h2>
<p>${escapeHtml(experiment.description)}</p>
${headline === '' ? '' : `<ul class="headline">${headline}</ul>`}
<div class="plot" id="plot-${er.id}" data-experiment="${er.id}"></div>
<details><summary>sweep, seeds and all ${rows.length} data points</summary>
<ul>${sweep}</ul>
<p class="seeds">${seeds}</p>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></details>
</section>`);
  }
  const bundles = vegaBundles().map((b) => `<script data-bundle="${b.name}">${scriptCode(b.code)}</script>`).join('\n');
  const ran = meta.wallMs === undefined ? '' : ` Wall time ${(meta.wallMs / 1000).toFixed(1)} s${meta.workers === undefined ? '' : ` on ${meta.workers} worker thread(s)`}.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xrp-ts benchmark report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.muted { color: #777; font-weight: normal; font-size: 0.9em; }
.config { background: #f5f5f5; padding: 0.6em 1em; border-radius: 4px; }
.plot { margin: 0.8em 0; min-height: 60px; }
table { border-collapse: collapse; font-size: 12px; margin-top: 0.5em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f0f0f0; } .unit { font-weight: normal; color: #666; }
.seeds { font-family: monospace; font-size: 11px; color: #555; }
ul.headline li { font-weight: 600; }
table.summary td { text-align: left; font-size: 13px; }
</style>
${bundles}
</head><body>
<h1>xrp-ts benchmark report</h1>
<div class="config">
<p><b>Configuration:</b> seed <code>${c.seed}</code>, device <code>${escapeHtml(c.device)}</code>, ${c.cores} simulated cores,
${c.full ? 'full sweeps (<code>--full</code>)' : 'default sweeps'}; experiments: ${result.experiments.map((e) => escapeHtml(e.id)).join(', ')}.
Reproduce with <code>xrp bench ${result.experiments.map((e) => escapeHtml(e.id)).join(' ')} --seed ${c.seed} --device ${escapeHtml(c.device)} --cores ${c.cores}${c.full ? ' --full' : ''}</code>.</p>
<p>All latencies and throughputs are in <b>virtual time</b> on the emulated machine (a deterministic discrete-event simulation
calibrated only by the XRP paper's Table 1, device data sheets and Linux CFS defaults), so they do not depend on this host.
Each point has its own seed derived from the suite seed; the same seed gives the same numbers.${ran}
Data: <code>results.json</code> and one CSV per experiment beside this file.</p>
</div>
<h2>Headlines</h2>
<table class="summary"><thead><tr><th>experiment</th><th>finding (computed from the data points below)</th></tr></thead><tbody>
${summary.join('\n')}
</tbody></table>
${sections.join('\n')}
<script id="specs" type="application/json">${scriptJson(specs)}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById('specs').textContent);
  var ids = Object.keys(specs);
  var errors = 0;
  Promise.all(ids.map(function (id) {
    var el = document.getElementById('plot-' + id);
    return vegaEmbed(el, specs[id], { actions: false, renderer: 'svg' }).catch(function (err) {
      errors++;
      console.error('plot ' + id + ' failed: ' + err);
      el.textContent = 'plot failed: ' + err;
    });
  })).then(function () {
    document.body.setAttribute('data-plot-errors', String(errors));
    document.body.setAttribute('data-plots-rendered', String(ids.length - errors));
  });
})();
</script>
</body></html>
`;
}
