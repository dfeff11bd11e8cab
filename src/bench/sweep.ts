// Sweeps: an experiment's axes (one list of values per parameter), replaced
// where the user said `--set name=v1,v2`, expanded to their cross product.

import { present } from '../base/checked.ts';
import { BenchError } from './errors.ts';
import type { Experiment, ParamSpec, Point, Scalar, SuiteConfig } from './types.ts';

/** `--set` values per parameter name, as the user typed them. */
export type Overrides = ReadonlyMap<string, readonly string[]>;

/** Limit on the points of one experiment (a typo like depth=1..1000000 is refused, not run). */
export const POINTS_MAX = 10_000;

/** Parses one `--set name=v1,v2,...` argument. */
export function parseSet(text: string): [string, string[]] {
  const eq = text.indexOf('=');
  const name = eq < 0 ? '' : text.slice(0, eq).trim();
  const values = eq < 0 ? [] : text.slice(eq + 1).split(',').map((v) => v.trim());
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name) || values.length === 0 || values.some((v) => v === '')) {
    throw new BenchError(`--set expects NAME=VALUE[,VALUE...], got '${text}'`);
  }
  return [name, values];
}

/** Checks one value of a parameter and returns it typed. */
export function parseParamValue(experiment: Experiment, spec: ParamSpec, text: string): Scalar {
  const where = `experiment ${experiment.id}: parameter ${spec.name}`;
  if (spec.kind === 'choice') {
    const choices = spec.choices ?? [];
    if (!choices.includes(text)) throw new BenchError(`${where} must be one of ${choices.join(', ')}; got '${text}'`);
    return text;
  }
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n)) throw new BenchError(`${where} must be an integer, got '${text}'`);
  if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
    throw new BenchError(`${where} must be in ${spec.min ?? '-inf'}..${spec.max ?? 'inf'}, got ${n}`);
  }
  return n;
}

/** The experiment's axes with the overrides that name its parameters applied (others are ignored). */
export function resolveAxes(experiment: Experiment, config: SuiteConfig, overrides: Overrides): Record<string, Scalar[]> {
  const axes = experiment.axes(config);
  const names = experiment.params.map((p) => p.name);
  const axisNames = Object.keys(axes);
  if (axisNames.length !== names.length || names.some((n, i) => axisNames[i] !== n)) {
    throw new BenchError(`experiment ${experiment.id}: axes (${axisNames.join(', ')}) do not match its parameters (${names.join(', ')})`);
  }
  const out: Record<string, Scalar[]> = {};
  for (const spec of experiment.params) {
    const given = overrides.get(spec.name);
    const values = given === undefined ? present(axes[spec.name], `experiment ${experiment.id}: the axis of ${spec.name}`) : given.map((v) => parseParamValue(experiment, spec, v));
    if (values.length === 0) throw new BenchError(`experiment ${experiment.id}: parameter ${spec.name} has no values`);
    out[spec.name] = [...new Set(values)];
  }
  return out;
}

/** Cross product of the axes, the first axis varying slowest. */
export function expandSweep(experiment: Experiment, axes: Record<string, Scalar[]>): Point[] {
  let points: Record<string, Scalar>[] = [{}];
  for (const spec of experiment.params) {
    const next: Record<string, Scalar>[] = [];
    for (const p of points) for (const v of present(axes[spec.name], `experiment ${experiment.id}: the axis of ${spec.name}`)) next.push({ ...p, [spec.name]: v });
    points = next;
    if (points.length > POINTS_MAX) throw new BenchError(`experiment ${experiment.id}: more than ${POINTS_MAX} points in the sweep`);
  }
  return points;
}

/** Fails when an override names a parameter that none of the selected experiments has. */
export function checkOverridesUsed(experiments: readonly Experiment[], overrides: Overrides): void {
  for (const name of overrides.keys()) {
    if (!experiments.some((e) => e.params.some((p) => p.name === name))) {
      const known = [...new Set(experiments.flatMap((e) => e.params.map((p) => p.name)))].sort();
      throw new BenchError(`--set ${name}: no selected experiment has a parameter '${name}' (they have: ${known.join(', ')})`);
    }
  }
}
