// Small builders of Vega-Lite specifications shared by the experiments. Every
// axis title carries its unit; data are inlined (the report works offline).

import type { Row, VegaLiteSpec } from './types.ts';

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
  strokeDash?: Field;
  /** Lines only, without a symbol at each point (dash legends then show the dashes). */
  noPoints?: boolean;
  /** Stacking order of bars (a numeric field). */
  order?: string;
  width?: number;
  height?: number;
}

function encodeField(f: Field, fallbackType: 'quantitative' | 'nominal' | 'ordinal', zero = true): Record<string, unknown> {
  const type = f.type ?? fallbackType;
  const enc: Record<string, unknown> = { field: f.field, type, title: f.title };
  if (f.log === true) enc['scale'] = { type: 'log' };
  if (f.sort !== undefined) enc['sort'] = [...f.sort];
  if (f.integer === true) enc['axis'] = { tickMinStep: 1, format: 'd' };
  if (type === 'quantitative' && f.log !== true && !zero) enc['scale'] = { zero: false };
  return enc;
}

function baseSpec(o: ChartOptions, mark: Record<string, unknown>): VegaLiteSpec {
  // Lines need not start at zero; bars must.
  const zero = mark['type'] !== 'line';
  const encoding: Record<string, unknown> = {
    x: encodeField(o.x, 'quantitative', zero),
    y: encodeField(o.y, 'quantitative', zero),
  };
  if (o.color !== undefined) encoding['color'] = encodeField(o.color, 'nominal');
  if (o.strokeDash !== undefined) encoding['strokeDash'] = encodeField(o.strokeDash, 'nominal');
  if (o.order !== undefined) encoding['order'] = { field: o.order, type: 'quantitative' };
  const tooltip = [o.x, o.y, o.color, o.column, o.strokeDash].filter((f): f is Field => f !== undefined).map((f) => ({ field: f.field, title: f.title, type: f.type ?? 'quantitative' }));
  encoding['tooltip'] = tooltip;
  const inner: VegaLiteSpec = { mark, encoding, width: o.width ?? 360, height: o.height ?? 240 };
  if (o.column === undefined) return { data: { values: o.rows }, ...inner };
  return {
    data: { values: o.rows },
    facet: { column: encodeField(o.column, 'nominal') },
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

/** Several layered charts of the same data with a shared title (e.g. mean and p99 as panels). */
export function concatCharts(charts: VegaLiteSpec[]): VegaLiteSpec {
  return { hconcat: charts, resolve: { scale: { color: 'shared' } } };
}
