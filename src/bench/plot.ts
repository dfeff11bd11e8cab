// Small builders of Vega-Lite specifications shared by the experiments. Every
// axis title carries its unit; data are inlined (the report works offline).
//
// What every figure gets from here, so that the report reads the same throughout:
// - one colour per series name in every figure (SERIES_COLOURS: a mode is the same
//   colour wherever it is drawn; unknown names get colours of their own from a
//   palette disjoint from the modes', stable by name);
// - series that coincide stay visible: lines get widths decreasing along the colour
//   order and are drawn in that order (the first, widest, at the bottom);
// - quantitative axes span the data exactly (no "nice" rounding past it: a sweep that
//   stops at 32 ends at 32), and labels that would overlap are thinned, never drawn
//   over each other (log axes otherwise print "200300");
// - a strokeDash field with `sort` draws its first value solid and the others dashed,
//   so a caption can say which line is dashed (dashOf tells).

import { at } from '../base/checked.ts';
import type { Row, Scalar, VegaLiteSpec } from './types.ts';

export interface Field {
  field: string;
  title: string;
  type?: 'quantitative' | 'nominal' | 'ordinal';
  /** Logarithmic scale (quantitative fields). */
  log?: boolean;
  /** Explicit order of nominal values (legend and colours). */
  sort?: readonly string[];
  /** Whole-number axis (counts): ticks at integers only. */
  integer?: boolean;
}

export interface ChartOptions {
  rows: readonly Row[];
  x: Field;
  y: Field;
  color?: Field;
  /** Small multiples: one panel per value of this field. */
  column?: Field;
  /** Dashes by this field: with `sort`, its first value solid, the next ones dashed. */
  strokeDash?: Field;
  /** Lines only, without a symbol at each point (dash legends then show the dashes). */
  noPoints?: boolean;
  /** Stacking order of bars (a numeric field). */
  order?: string;
  width?: number;
  height?: number;
}

/** Colours of the modes and the series derived from them (same name, same colour, in every figure). */
export const SERIES_COLOURS: Readonly<Record<string, string>> = {
  read: '#1f77b4',
  'read() walk': '#1f77b4',
  uring: '#ff7f0e',
  'uring-batch': '#8c564b',
  spdk: '#2ca02c',
  'spdk-fair': '#98df8a',
  xrp: '#d62728',
  'xrp-serial': '#e377c2',
  'xrp, fallback user': '#d62728',
  'xrp, fallback xrp': '#9467bd',
  'read, cfs': '#1f77b4',
  'read, pinned': '#17becf',
  'xrp, cfs': '#d62728',
  'xrp, pinned': '#bcbd22',
};

/** For other series (layers, new experiments): none of them is a mode's colour. */
const OTHER_COLOURS = ['#8dd3c7', '#fdb462', '#bebada', '#fb8072', '#80b1d3', '#b3de69', '#fccde5', '#7f7f7f', '#ccebc5', '#ffed6f', '#c49c94', '#9edae5', '#dbdb8d', '#c5b0d5', '#f7b6d2'];

/** Dash patterns: the first value of a strokeDash field solid, then dashed, dotted, ... */
export const DASHES: readonly (readonly number[])[] = [[1, 0], [6, 4], [2, 3], [8, 3, 2, 3]];

function hashOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** The values of `field` in the rows: in `sort` order first, then in order of appearance. */
function valuesOf(rows: readonly Row[], field: string, sort?: readonly string[]): string[] {
  const present = [...new Set(rows.map((r) => String(r[field] as Scalar)))];
  const sorted = (sort ?? []).filter((v) => present.includes(v));
  return [...sorted, ...present.filter((v) => !sorted.includes(v))];
}

/** Colours of `values` in one figure: known series by name, others from OTHER_COLOURS (by name; distinct within the figure). */
export function coloursOf(values: readonly string[]): string[] {
  const used = new Set<string>();
  const out = values.map((v) => SERIES_COLOURS[v]);
  out.forEach((c) => c !== undefined && used.add(c));
  return out.map((c, i) => {
    if (c !== undefined) return c;
    let k = hashOf(at(values, i, 'series value')) % OTHER_COLOURS.length;
    for (let probe = 0; probe < OTHER_COLOURS.length && used.has(at(OTHER_COLOURS, k, 'colour')); probe++) k = (k + 1) % OTHER_COLOURS.length;
    const colour = at(OTHER_COLOURS, k, 'colour');
    used.add(colour);
    return colour;
  });
}

/** The dash pattern a strokeDash field gives `value` (for captions and their tests). */
export function dashOf(field: Field, rows: readonly Row[], value: string): readonly number[] | undefined {
  const i = valuesOf(rows, field.field, field.sort).indexOf(value);
  return i < 0 ? undefined : DASHES[i % DASHES.length];
}

function extent(rows: readonly Row[], field: string): [number, number] | undefined {
  const values = rows.map((r) => r[field]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (values.length === 0) return undefined;
  return [Math.min(...values), Math.max(...values)];
}

function encodeField(f: Field, fallbackType: 'quantitative' | 'nominal' | 'ordinal', rows: readonly Row[], zero = true, exact = false): Record<string, unknown> {
  const type = f.type ?? fallbackType;
  const enc: Record<string, unknown> = { field: f.field, type, title: f.title };
  const scale: Record<string, unknown> = {};
  const axis: Record<string, unknown> = { labelOverlap: 'greedy', labelSeparation: 6 };
  if (f.log === true) scale['type'] = 'log';
  if (f.sort !== undefined) enc['sort'] = [...f.sort];
  if (f.integer === true) Object.assign(axis, { tickMinStep: 1, format: 'd' });
  if (type === 'quantitative') {
    if (f.log !== true && !zero) scale['zero'] = false;
    const span = exact ? extent(rows, f.field) : undefined;
    if (span !== undefined && span[0] < span[1] && (f.log !== true || span[0] > 0)) {
      // the axis ends where the data end
      scale['domain'] = [zero && f.log !== true ? Math.min(0, span[0]) : span[0], span[1]];
      scale['nice'] = false;
    }
    enc['axis'] = axis;
  }
  if (Object.keys(scale).length > 0) enc['scale'] = scale;
  return enc;
}

function baseSpec(o: ChartOptions, mark: Record<string, unknown>): VegaLiteSpec {
  const isLine = mark['type'] === 'line';
  // Lines need not start at zero; bars must.
  const zero = !isLine;
  let rows = o.rows;
  const encoding: Record<string, unknown> = {
    // (bars stack: the sum, not a row, is the extent; only lines get the exact x domain)
    x: encodeField(o.x, 'quantitative', rows, zero, isLine),
    y: encodeField(o.y, 'quantitative', rows, zero, false),
  };
  if (o.color !== undefined) {
    const values = valuesOf(rows, o.color.field, o.color.sort);
    const colour = encodeField(o.color, 'nominal', rows);
    colour['scale'] = { domain: values, range: coloursOf(values) };
    colour['sort'] = values;
    encoding['color'] = colour;
    if (isLine) {
      // coinciding lines stay visible: the first series widest and drawn first (Vega draws the groups in data order)
      const rank = new Map(values.map((v, i) => [v, i]));
      const colourField = o.color.field;
      rows = [...rows].sort((a, b) => (rank.get(String(a[colourField])) ?? 0) - (rank.get(String(b[colourField])) ?? 0));
      const widths = values.map((_, i) => (values.length === 1 ? 2.5 : 8 - (6.5 * i) / (values.length - 1)));
      // same field, type and title as the colour: Vega-Lite merges the two into one legend
      // (a `legend: null` here would remove the merged legend, colours included)
      encoding['strokeWidth'] = { field: o.color.field, type: colour['type'], title: o.color.title, sort: values, scale: { type: 'ordinal', domain: values, range: widths } };
    }
  }
  if (o.strokeDash !== undefined) {
    const values = valuesOf(rows, o.strokeDash.field, o.strokeDash.sort);
    const dash = encodeField(o.strokeDash, 'nominal', rows);
    dash['scale'] = { domain: values, range: values.map((_, i) => [...at(DASHES, i % DASHES.length, 'dash pattern')]) };
    dash['sort'] = values;
    encoding['strokeDash'] = dash;
  }
  if (o.order !== undefined) encoding['order'] = { field: o.order, type: 'quantitative' };
  const tooltip = [o.x, o.y, o.color, o.column, o.strokeDash].filter((f): f is Field => f !== undefined).map((f) => ({ field: f.field, title: f.title, type: f.type ?? 'quantitative' }));
  encoding['tooltip'] = tooltip;
  const inner: VegaLiteSpec = { mark, encoding, width: o.width ?? 360, height: o.height ?? 240 };
  if (o.column === undefined) return { data: { values: rows }, ...inner };
  return {
    data: { values: rows },
    facet: { column: encodeField(o.column, 'nominal', rows) },
    spec: inner,
    resolve: { scale: { y: 'independent' } },
  };
}

/** Lines with points, one per colour value. */
export function lineChart(o: ChartOptions): VegaLiteSpec {
  return baseSpec(o, { type: 'line', point: o.noPoints !== true });
}

/** Grouped or stacked bars (stacked when `color` is given and the x field is quantitative). */
export function barChart(o: ChartOptions): VegaLiteSpec {
  return baseSpec(o, { type: 'bar' });
}

/** Several charts side by side (e.g. mean and p99 as panels), one colour scale. */
export function concatCharts(charts: VegaLiteSpec[]): VegaLiteSpec {
  return { hconcat: charts, resolve: { scale: { color: 'shared' } } };
}
