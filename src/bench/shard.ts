// Sweeps beyond one machine. `xrp bench --shard I/N` runs a deterministic share of a
// suite's points and writes them as a part file; `xrp bench merge` checks that the
// parts make up the whole suite (same configuration, experiments and sweeps, every
// shard once) and assembles the SuiteResult a one-machine run gives: every point
// runs from its own seed, so the bytes are the same wherever it ran.
//
// The share: tasks in the runner's order (costly first, then sweep order) go one by
// one to the shard with the least cost so far (lowest index on ties), so shards take
// about the same time and any machine computes the same split.

import { readFileSync } from 'node:fs';
import { at } from '../base/checked.ts';
import { BenchError } from './errors.ts';
import type { SuitePlan, Task } from './runner.ts';
import type { ExperimentResult, Point, Row, SuiteConfig, SuiteResult } from './types.ts';

export interface ShardSpec {
  /** 1-based */
  index: number;
  count: number;
}

export const SHARDS_MAX = 10_000;

export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || count > SHARDS_MAX || index < 1 || index > count) {
    throw new BenchError(`--shard must be I/N with 1 <= I <= N <= ${SHARDS_MAX} (e.g. 2/3), got '${text}'`);
  }
  return { index, count };
}

/** The tasks of shard `index` of `count`. */
export function shardTasks(plan: SuitePlan, shard: ShardSpec): Task[] {
  const load = new Array<number>(shard.count).fill(0);
  const mine: Task[] = [];
  const order = [...plan.tasks].sort((a, b) => b.cost - a.cost || a.taskIndex - b.taskIndex);
  for (const task of order) {
    let best = 0;
    for (const [s, l] of load.entries()) if (l < at(load, best, 'shard load')) best = s;
    load[best] = at(load, best, 'shard load') + Math.max(task.cost, 1e-9);
    if (best === shard.index - 1) mine.push(task);
  }
  return mine.sort((a, b) => a.taskIndex - b.taskIndex);
}

export interface ShardFile {
  format: 'xrp-bench-shard';
  version: 1;
  shard: ShardSpec;
  config: SuiteConfig;
  /** the experiments of the suite, in order, and the --set overrides, as given */
  experimentIds: string[];
  sets: string[];
  /** points of the whole suite (a check that the parts were planned alike) */
  totalPoints: number;
  tasks: { taskIndex: number; experimentId: string; pointIndex: number; point: Point; pointSeed: number; rows: Row[] }[];
}

export function shardFile(plan: SuitePlan, shard: ShardSpec, sets: string[], done: ReadonlyMap<number, Row[]>): ShardFile {
  return {
    format: 'xrp-bench-shard',
    version: 1,
    shard,
    config: plan.config,
    experimentIds: plan.experiments.map((e) => e.experiment.id),
    sets,
    totalPoints: plan.tasks.length,
    tasks: shardTasks(plan, shard).map((t) => {
      const rows = done.get(t.taskIndex);
      if (rows === undefined) throw new BenchError(`shard ${shard.index}/${shard.count}: no rows for task ${t.taskIndex}`);
      return { taskIndex: t.taskIndex, experimentId: t.experimentId, pointIndex: t.pointIndex, point: t.point, pointSeed: t.pointSeed, rows };
    }),
  };
}

export function readShardFile(path: string): ShardFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new BenchError(`cannot read the shard file ${path}: ${(error as Error).message}`);
  }
  const f = parsed as Partial<ShardFile>;
  if (f.format !== 'xrp-bench-shard' || f.version !== 1 || !Array.isArray(f.tasks) || f.shard === undefined || f.config === undefined) {
    throw new BenchError(`${path} is not a shard file of xrp bench --shard (format xrp-bench-shard, version 1)`);
  }
  return f as ShardFile;
}

/** The first part's suite: what the merge re-plans to check the parts against. */
export function suiteOf(parts: readonly { path: string; file: ShardFile }[]): { config: SuiteConfig; experimentIds: string[]; sets: string[] } {
  const first = parts[0];
  if (first === undefined) throw new BenchError('merge: give the shard files');
  const key = (f: ShardFile): string => JSON.stringify([f.config, f.experimentIds, f.sets, f.shard.count, f.totalPoints]);
  for (const p of parts) {
    if (key(p.file) !== key(first.file)) {
      throw new BenchError(`merge: ${p.path} is a shard of another suite than ${first.path} (configuration, experiments, --set or shard count differ)`);
    }
  }
  const seen = new Map<number, string>();
  for (const p of parts) {
    const other = seen.get(p.file.shard.index);
    if (other !== undefined) throw new BenchError(`merge: shard ${p.file.shard.index}/${p.file.shard.count} given twice (${other}, ${p.path})`);
    seen.set(p.file.shard.index, p.path);
  }
  const missing = Array.from({ length: first.file.shard.count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length > 0) throw new BenchError(`merge: shard(s) ${missing.map((i) => `${i}/${first.file.shard.count}`).join(', ')} missing`);
  return { config: first.file.config, experimentIds: first.file.experimentIds, sets: first.file.sets };
}

/** The suite's result from its parts, checked point by point against the plan. */
export function mergeShards(plan: SuitePlan, parts: readonly { path: string; file: ShardFile }[]): SuiteResult {
  const rows = new Map<number, Row[]>();
  for (const { path, file } of parts) {
    const expected = shardTasks(plan, file.shard);
    if (expected.length !== file.tasks.length) throw new BenchError(`merge: ${path} holds ${file.tasks.length} points, shard ${file.shard.index}/${file.shard.count} has ${expected.length}`);
    expected.forEach((t, i) => {
      const got = at(file.tasks, i, `${path}: point`);
      if (got.taskIndex !== t.taskIndex || got.pointSeed !== t.pointSeed || JSON.stringify(got.point) !== JSON.stringify(t.point)) {
        throw new BenchError(`merge: ${path}: point ${i} is ${got.experimentId} ${JSON.stringify(got.point)}, the plan has ${t.experimentId} ${JSON.stringify(t.point)}`);
      }
      rows.set(t.taskIndex, got.rows);
    });
  }
  const experiments: ExperimentResult[] = plan.experiments.map(({ experiment, points }) => ({
    id: experiment.id,
    number: experiment.number,
    title: experiment.title,
    points: points.map((point, pointIndex) => {
      const task = plan.tasks.find((t) => t.experimentId === experiment.id && t.pointIndex === pointIndex);
      const r = task === undefined ? undefined : rows.get(task.taskIndex);
      if (task === undefined || r === undefined) throw new BenchError(`merge: no part holds ${experiment.id} ${JSON.stringify(point)}`);
      return { point, pointSeed: task.pointSeed, rows: r };
    }),
  }));
  return { version: 1, config: plan.config, experiments };
}
