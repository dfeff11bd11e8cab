// Terminal tables, CSV and JSON of a suite's results. JSON and CSV hold every
// data point with full precision and are a pure function of the results (no
// wall-clock time), so the same seed gives the same bytes.

import type { Column, Experiment, ExperimentResult, Row, Scalar, SuiteResult } from './types.ts';

export function allRows(result: ExperimentResult): Row[] {
  return result.points.flatMap((p) => p.rows);
}

function cellText(value: Scalar | null | undefined, column: Column): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (column.digits !== undefined) return value.toFixed(column.digits);
    return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  }
  return String(value);
}

/** An aligned text table of the experiment's columns, one line per row. */
export function formatTable(experiment: Experiment, rows: readonly Row[]): string {
  const columns = experiment.columns;
  const header = columns.map((c) => (c.unit === '' ? c.label : `${c.label} (${c.unit})`));
  const cells = rows.map((r) => columns.map((c) => cellText(r[c.key], c)));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)));
  const numeric = columns.map((c) => rows.some((r) => typeof r[c.key] === 'number'));
  const line = (row: string[]): string => row.map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function csvField(value: Scalar | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV with a header of every column that any row has, in first-seen order. */
export function toCsv(rows: readonly Row[]): string {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const lines = [keys.map(csvField).join(',')];
  for (const r of rows) lines.push(keys.map((k) => csvField(r[k])).join(','));
  return `${lines.join('\n')}\n`;
}

export function toJson(result: SuiteResult): string {
  return `${JSON.stringify(result, null, 1)}\n`;
}
