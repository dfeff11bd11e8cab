// Runs a suite: expands every selected experiment's sweep into tasks (one per
// point), runs them in worker threads (or inline with workers = 0) and puts the
// rows back in sweep order. Each point is deterministic given its seed, so the
// results are the same bytes whatever the worker count or the finishing order.

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { at, present } from '../base/checked.ts';
import { BenchError } from './errors.ts';
import { findExperiment } from './registry.ts';
import { pointSeed } from './seed.ts';
import { checkOverridesUsed, expandSweep, resolveAxes } from './sweep.ts';
import type { Overrides } from './sweep.ts';
import type { Experiment, ExperimentResult, Point, Row, SuiteConfig, SuiteResult } from './types.ts';

export interface Task {
  taskIndex: number;
  experimentId: string;
  pointIndex: number;
  point: Point;
  pointSeed: number;
  cost: number;
}

export interface SuitePlan {
  config: SuiteConfig;
  experiments: { experiment: Experiment; points: Point[] }[];
  tasks: Task[];
}

export interface PointDone {
  experimentId: string;
  /** Points of this experiment finished so far, and in all. */
  done: number;
  total: number;
  wallMs: number;
}

export interface RunOptions {
  /** Worker threads; 0 runs every point in this thread. Default: the host's parallelism. */
  workers?: number;
  onPointDone?: (event: PointDone) => void;
}

export const WORKERS_MAX = 64;

export function planSuite(experiments: readonly Experiment[], config: SuiteConfig, overrides: Overrides = new Map()): SuitePlan {
  checkOverridesUsed(experiments, overrides);
  const plan: SuitePlan = { config, experiments: [], tasks: [] };
  for (const experiment of experiments) {
    const points = expandSweep(experiment, resolveAxes(experiment, config, overrides));
    plan.experiments.push({ experiment, points });
    points.forEach((point, pointIndex) => {
      plan.tasks.push({
        taskIndex: plan.tasks.length,
        experimentId: experiment.id,
        pointIndex,
        point,
        pointSeed: pointSeed(config.seed, experiment.id, point),
        cost: experiment.cost?.(point, config) ?? 1,
      });
    });
  }
  return plan;
}

function checkRow(row: Row, where: string): void {
  for (const [key, value] of Object.entries(row)) {
    const ok = value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (!ok) throw new BenchError(`${where}: column ${key} is ${String(value)} (values must be finite numbers, strings, booleans or null)`);
  }
}

/** Runs one point in this thread, in a private scratch directory; rows start with the point's parameters. */
export async function runPoint(experiment: Experiment, point: Point, config: SuiteConfig, seed: number): Promise<Row[]> {
  const tmpDir = mkdtempSync(join(tmpdir(), `xrp-bench-${experiment.id}-`));
  try {
    const rows = await experiment.run(point, { ...config, pointSeed: seed, tmpDir });
    const where = `experiment ${experiment.id} at ${JSON.stringify(point)}`;
    if (!Array.isArray(rows) || rows.length === 0) throw new BenchError(`${where}: no data points`);
    return rows.map((r) => {
      const row: Row = { ...point, ...r };
      checkRow(row, where);
      return row;
    });
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

interface WorkerReply {
  taskIndex: number;
  rows?: Row[];
  error?: string;
}

function describeTask(task: Task): string {
  return `experiment ${task.experimentId} at ${JSON.stringify(task.point)} (seed ${task.pointSeed})`;
}

async function runInline(plan: SuitePlan, order: Task[], onDone: (task: Task, rows: Row[]) => void): Promise<void> {
  for (const task of order) {
    await new Promise<void>((resolve) => setImmediate(resolve)); // let progress output through
    const experiment = findExperiment(task.experimentId);
    let rows: Row[];
    try {
      rows = await runPoint(experiment, task.point, plan.config, task.pointSeed);
    } catch (error) {
      if (error instanceof BenchError) throw error;
      throw new BenchError(`${describeTask(task)} failed: ${(error as Error).stack ?? String(error)}`);
    }
    onDone(task, rows);
  }
}

function runInWorkers(plan: SuitePlan, order: Task[], workerCount: number, onDone: (task: Task, rows: Row[]) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let failed = false;
    const fail = (error: Error): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(error);
    };
    const feed = (w: Worker): void => {
      if (next >= order.length) {
        void w.terminate();
        return;
      }
      const task = at(order, next++, 'task');
      w.postMessage({ config: plan.config, task });
    };
    for (let i = 0; i < workerCount; i++) {
      const w = new Worker(workerEntry());
      workers.push(w);
      w.on('message', (reply: WorkerReply) => {
        if (failed) return;
        const task = at(plan.tasks, reply.taskIndex, 'task of a worker reply');
        if (reply.error !== undefined || reply.rows === undefined) {
          fail(new BenchError(`${describeTask(task)} failed: ${reply.error ?? 'no rows'}`));
          return;
        }
        onDone(task, reply.rows);
        finished++;
        if (finished === order.length) {
          for (const x of workers) void x.terminate();
          resolve();
          return;
        }
        feed(w);
      });
      w.on('error', (error) => fail(new BenchError(`bench worker failed: ${error.stack ?? error.message}`)));
      w.on('exit', (code) => {
        if (!failed && finished < order.length && code !== 0 && code !== 1) fail(new BenchError(`bench worker exited with code ${code}`));
      });
      feed(w);
    }
  });
}

/** Runs `tasks` (all of the plan's, or a shard's); returns their rows by task index. */
export async function runTasks(plan: SuitePlan, tasks: readonly Task[], options: RunOptions = {}): Promise<Map<number, Row[]>> {
  const workers = options.workers ?? availableParallelism();
  if (!Number.isSafeInteger(workers) || workers < 0 || workers > WORKERS_MAX) {
    throw new BenchError(`workers must be an integer 0..${WORKERS_MAX}, got ${String(workers)}`);
  }
  const rowsByTask = new Map<number, Row[]>();
  const doneByExperiment = new Map<string, number>();
  const totalByExperiment = new Map<string, number>();
  for (const t of tasks) totalByExperiment.set(t.experimentId, (totalByExperiment.get(t.experimentId) ?? 0) + 1);
  const startMs = performance.now();
  const onDone = (task: Task, rows: Row[]): void => {
    rowsByTask.set(task.taskIndex, rows);
    const done = (doneByExperiment.get(task.experimentId) ?? 0) + 1;
    doneByExperiment.set(task.experimentId, done);
    options.onPointDone?.({ experimentId: task.experimentId, done, total: totalByExperiment.get(task.experimentId) ?? done, wallMs: performance.now() - startMs });
  };
  // Costly points first, so that the last worker does not finish alone on a long one.
  const order = [...tasks].sort((a, b) => b.cost - a.cost || a.taskIndex - b.taskIndex);
  if (order.length > 0) {
    if (workers === 0) await runInline(plan, order, onDone);
    else await runInWorkers(plan, order, Math.min(workers, order.length), onDone);
  }
  return rowsByTask;
}

export async function runSuite(plan: SuitePlan, options: RunOptions = {}): Promise<SuiteResult> {
  const rowsByTask = await runTasks(plan, plan.tasks, options);
  const experiments: ExperimentResult[] = plan.experiments.map(({ experiment, points }) => ({
    id: experiment.id,
    number: experiment.number,
    title: experiment.title,
    points: points.map((point, pointIndex) => {
      const task = present(plan.tasks.find((t) => t.experimentId === experiment.id && t.pointIndex === pointIndex), `the task of ${experiment.id} point ${pointIndex}`);
      return { point, pointSeed: task.pointSeed, rows: present(rowsByTask.get(task.taskIndex), `the rows of task ${task.taskIndex}`) };
    }),
  }));
  return { version: 1, config: plan.config, experiments };
}

/**
 * The bench worker's entry: compiled JavaScript runs worker.js directly; from the
 * TypeScript sources, worker-boot.mjs registers tsx in the worker first.
 */
function workerEntry(): URL {
  return import.meta.url.endsWith('.js') ? new URL('./worker.js', import.meta.url) : new URL('./worker-boot.mjs', import.meta.url);
}
