// `xrp bench`: runs the experiments of src/bench (the paper's evaluation and
// beyond) on the emulated machine, prints a table per experiment, and writes
// CSV, JSON and a self-contained HTML report.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import { BenchError } from '../../bench/errors.ts';
import { allRows, formatTable, toCsv, toJson } from '../../bench/format.ts';
import { EXPERIMENTS, findExperiment, selectExperiments } from '../../bench/registry.ts';
import { renderReport } from '../../bench/report.ts';
import { planSuite, runSuite, runTasks, WORKERS_MAX } from '../../bench/runner.ts';
import { mergeShards, parseShard, readShardFile, shardFile, shardTasks, suiteOf, type ShardSpec } from '../../bench/shard.ts';
import type { PointDone } from '../../bench/runner.ts';
import { expandSweep, parseSet, resolveAxes } from '../../bench/sweep.ts';
import type { Experiment, SuiteConfig, SuiteResult } from '../../bench/types.ts';
import { MAX_CORES } from '../../sim/simulator.ts';
import { UsageError } from '../errors.ts';
import { deviceOption, intIn } from '../options.ts';

interface BenchOptions {
  full?: boolean;
  seed: number;
  device: string;
  cores: number;
  out: string;
  workers?: number;
  set: string[];
  list?: boolean;
  report: boolean;
  progress: boolean;
  shard?: ShardSpec;
}

/** The command line names something the suite does not have (an experiment, a parameter value): a usage error. */
function asUsage<T>(plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    if (error instanceof BenchError) throw new UsageError(error.message);
    throw error;
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function listExperiments(config: SuiteConfig): string {
  const lines: string[] = [];
  for (const e of EXPERIMENTS) {
    const points = expandSweep(e, resolveAxes(e, config, new Map())).length;
    const full = expandSweep(e, resolveAxes(e, { ...config, full: true }, new Map())).length;
    lines.push(`${e.number}  ${e.id.padEnd(15)} ${e.title}  (${points} points; --full ${full})`);
    const axes = e.axes(config);
    for (const p of e.params) {
      const values = (axes[p.name] ?? []).map(String).join(',');
      const accepted = p.kind === 'choice' ? (p.choices ?? []).join('|') : `${p.min ?? ''}..${p.max ?? ''}`;
      lines.push(`     --set ${p.name}=${values}${p.unit === '' ? '' : ` ${p.unit}`}   ${p.description} [${accepted}]`);
    }
  }
  return lines.join('\n');
}

/** Progress on stderr: bars on a terminal, one line per finished experiment otherwise. */
function makeProgress(experiments: { experiment: Experiment; points: number }[], enabled: boolean): { update(e: PointDone): void; stop(): void } {
  if (!enabled) return { update() {}, stop() {} };
  if (process.stderr.isTTY !== true) {
    return {
      update(e) {
        if (e.done === e.total) process.stderr.write(`xrp bench: ${e.experimentId} done (${e.total} points, ${(e.wallMs / 1000).toFixed(1)} s)\n`);
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { format: ' {name} |{bar}| {value}/{total} points | {duration_formatted}', hideCursor: true, clearOnComplete: false, stream: process.stderr, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  const width = Math.max(...experiments.map((e) => e.experiment.id.length));
  const bars = new Map(experiments.map((e) => [e.experiment.id, multi.create(e.points, 0, { name: e.experiment.id.padEnd(width) })]));
  return {
    update(e) {
      bars.get(e.experimentId)?.update(e.done);
    },
    stop() {
      multi.stop();
    },
  };
}

export async function runBenchCommand(names: string[], options: BenchOptions): Promise<void> {
  const config: SuiteConfig = { seed: options.seed, device: options.device, cores: options.cores, full: options.full === true };
  if (options.list === true) {
    console.log(listExperiments(config));
    return;
  }
  const { experiments, plan } = asUsage(() => {
    const experiments = names.length === 0 ? [...EXPERIMENTS] : [...new Set(names.flatMap(selectExperiments))];
    const overrides = new Map(options.set.map(parseSet));
    return { experiments, plan: planSuite(experiments, config, overrides) };
  });
  const shard = options.shard;
  const tasks = shard === undefined ? plan.tasks : shardTasks(plan, shard);
  const workers = options.workers ?? Math.min(availableParallelism(), Math.max(tasks.length, 1));
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.experimentId, (counts.get(t.experimentId) ?? 0) + 1);
  const progress = makeProgress(plan.experiments.filter((e) => counts.has(e.experiment.id)).map((e) => ({ experiment: e.experiment, points: counts.get(e.experiment.id) ?? 0 })), options.progress);
  const startMs = performance.now();
  let result: SuiteResult | undefined;
  let shardRows;
  try {
    if (shard === undefined) result = await runSuite(plan, { workers, onPointDone: (e) => progress.update(e) });
    else shardRows = await runTasks(plan, tasks, { workers, onPointDone: (e) => progress.update(e) });
  } finally {
    progress.stop();
  }
  const wallMs = performance.now() - startMs;
  const out = resolve(options.out);
  if (shard !== undefined && shardRows !== undefined) {
    mkdirSync(out, { recursive: true });
    const path = join(out, `shard-${shard.index}-of-${shard.count}.json`);
    writeFileSync(path, `${JSON.stringify(shardFile(plan, shard, options.set, shardRows))}\n`);
    console.log(`shard ${shard.index}/${shard.count}: ${tasks.length} of ${plan.tasks.length} points in ${(wallMs / 1000).toFixed(1)} s on ${workers} worker(s); wrote ${path}`);
    console.log(`when every shard is done: xrp bench merge DIR/shard-*-of-${shard.count}.json --out DIR`);
    return;
  }
  if (result === undefined) return;
  writeSuite(result, experiments, config, out, options.report);
  console.log(`\n${plan.tasks.length} points of ${result.experiments.length} experiment(s) in ${(wallMs / 1000).toFixed(1)} s on ${workers} worker(s); seed ${config.seed}, ${config.device}, ${config.cores} cores${config.full ? ', --full' : ''}`);
}

/** Tables and headlines on the terminal; results.json, CSV and the report in `out`: the same bytes for the same suite, run whole or in shards. */
function writeSuite(result: SuiteResult, experiments: readonly Experiment[], config: SuiteConfig, out: string, report: boolean): void {
  for (const er of result.experiments) {
    const experiment = findExperiment(er.id);
    const rows = allRows(er);
    console.log(`\n== ${er.number}. ${er.title} (xrp bench ${er.id})\n`);
    console.log(formatTable(experiment, rows));
    const headline = experiment.headline?.(rows, config) ?? [];
    if (headline.length > 0) console.log(`\n${headline.map((h) => `  * ${h}`).join('\n')}`);
  }
  console.log('\n== Headlines\n');
  for (const er of result.experiments) {
    const experiment = findExperiment(er.id);
    for (const h of experiment.headline?.(allRows(er), config) ?? []) console.log(`  ${er.number}. ${er.id}: ${h}`);
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), toJson(result));
  for (const er of result.experiments) writeFileSync(join(out, `${er.number}-${er.id}.csv`), toCsv(allRows(er)));
  // no wall time in the report: its bytes depend only on the results
  if (report) writeFileSync(join(out, 'index.html'), renderReport(result, experiments));
  console.log(`wrote ${report ? `${join(out, 'index.html')}, ` : ''}${join(out, 'results.json')} and ${result.experiments.length} CSV file(s) in ${out}`);
}

/** `xrp bench merge PART...`: the suite's outputs from its shards. */
export function runMergeCommand(paths: string[], options: { out: string; report: boolean }): void {
  const parts = paths.map((path) => ({ path, file: readShardFile(path) }));
  const { config, experimentIds, sets } = asUsage(() => suiteOf(parts));
  const { experiments, plan } = asUsage(() => {
    const experiments = [...new Set(experimentIds.flatMap(selectExperiments))];
    return { experiments, plan: planSuite(experiments, config, new Map(sets.map(parseSet))) };
  });
  const result = mergeShards(plan, parts);
  writeSuite(result, experiments, config, resolve(options.out), options.report);
  console.log(`\nmerged ${parts.length} shard(s): ${plan.tasks.length} points of ${result.experiments.length} experiment(s); seed ${config.seed}, ${config.device}, ${config.cores} cores${config.full ? ', --full' : ''}`);
}

export function register(program: Command): void {
  const bench = program
    .command('bench')
    .description('run the evaluation (experiments by name or number; default: all) on the emulated machine; tables, CSV, JSON and an HTML report')
    .argument('[experiments...]', `experiments (${EXPERIMENTS.map((e) => `${e.number} ${e.id}`).join(', ')})`)
    .option('--full', 'the complete sweeps (much longer) instead of the default ones')
    .option('--seed <n>', 'suite seed (every point derives its own)', intIn(0, 0xffffffff), 1)
    .addOption(deviceOption())
    .option('--cores <n>', 'simulated cores', intIn(1, MAX_CORES), 6)
    .option('--out <dir>', 'output directory for index.html, results.json and CSV', 'report')
    .option('--workers <n>', `worker threads (0 = run in this thread; default: host parallelism)`, intIn(0, WORKERS_MAX))
    .option('--set <name=values>', 'replace a sweep axis, e.g. --set depth=1,6 (repeatable)', collect, [])
    .option('--list', 'list the experiments, their parameters and default sweeps')
    .option('--no-report', 'skip the HTML report')
    .option('--no-progress', 'no progress output on stderr')
    .option('--shard <i/n>', 'run only shard I of N (a deterministic share of the points) and write DIR/shard-I-of-N.json; then xrp bench merge', shardOption)
    .action(async (names: string[], options: BenchOptions) => {
      await runBenchCommand(names, options);
    });
  // bench's own options (--out ...) only before `merge`: after it they are merge's. The
  // parent must parse positionally too, or it hands options after `merge` to bench.
  program.enablePositionalOptions();
  bench.enablePositionalOptions();
  registerMerge(bench);
}

function shardOption(text: string): ShardSpec {
  try {
    return parseShard(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message.replace(/^--shard /, ''));
  }
}

export function registerMerge(bench: Command): void {
  bench
    .command('merge')
    .description('build results.json, the CSV files and the report from the shard files of xrp bench --shard I/N, the same bytes as one run on one machine')
    .argument('<parts...>', 'every shard-I-of-N.json of one suite')
    .option('--out <dir>', 'output directory for index.html, results.json and CSV', 'report')
    .option('--no-report', 'skip the HTML report')
    .action((parts: string[], options: { out: string; report: boolean }) => {
      runMergeCommand(parts, options);
    });
}
