// The shape of an experiment: a named, parameterised definition that the
// runner sweeps (src/bench/runner.ts), prints (format.ts) and plots (report.ts).
//
// An experiment is data plus one pure-ish function: `run(point, ctx)` boots its
// own emulated machine(s) from `ctx.seed`, measures in virtual time and returns
// data points. It must depend on nothing but (point, ctx): the runner may call
// it in any worker thread, in any order, and the results must be the same bytes.

/** A parameter or measurement value. Numbers must be finite. */
export type Scalar = number | string | boolean;

/** One point of a sweep: the parameter values of one run. */
export type Point = Readonly<Record<string, Scalar>>;

/** One data point (a row of the experiment's table and CSV). */
export type Row = Record<string, Scalar | null>;

/** What every run of a suite shares (from the command line). */
export interface SuiteConfig {
  /** Base seed; each point derives its own from it (seed.ts). */
  seed: number;
  /** Device profile name for experiments that use one device. */
  device: string;
  /** Simulated cores of the machine (the paper's testbed had 6). */
  cores: number;
  /** The complete sweeps (`--full`) instead of the default ones. */
  full: boolean;
}

export interface RunContext extends SuiteConfig {
  /** This point's seed (derived from the suite seed, the experiment and the point). */
  pointSeed: number;
  /** A private scratch directory for image files, removed after the run. */
  tmpDir: string;
}

export interface ParamSpec {
  name: string;
  /** Unit of the parameter, shown in tables and axis titles ('' when it has none). */
  unit: string;
  description: string;
  /** Values `--set name=...` accepts: integers in [min, max], or one of `choices`. */
  kind: 'int' | 'choice';
  min?: number;
  max?: number;
  choices?: readonly string[];
}

export interface Column {
  key: string;
  label: string;
  unit: string;
  /** Digits after the decimal point in the printed table (CSV/JSON keep full values). */
  digits?: number;
}

/** A Vega-Lite specification (JSON); validated by Vega-Lite in the browser. */
export type VegaLiteSpec = Record<string, unknown>;

export interface Experiment {
  /** Command-line name (`xrp bench latency`), lower-case with dashes. */
  readonly id: string;
  /** Its number in the report, distinct (6.1, 6.2 ... for the parts of one item); `xrp bench 2` also selects it. */
  readonly number: number;
  readonly title: string;
  /** What it measures and how to read the plot and table (shown in the report). */
  readonly description: string;
  /** Its parameters: the axes of the sweep, in order (the first varies slowest). */
  readonly params: readonly ParamSpec[];
  /**
   * Values of every parameter: the default sweep (about two minutes for the
   * whole suite) or, with `config.full`, the complete one. The sweep is their
   * cross product; `--set name=v1,v2` replaces one axis.
   */
  axes(config: SuiteConfig): Record<string, Scalar[]>;
  /** Rough relative cost of a point (scheduling order only; never affects results). */
  cost?(point: Point, config: SuiteConfig): number;
  /** Runs one point on the emulated machine; returns its data points. */
  run(point: Point, ctx: RunContext): Row[] | Promise<Row[]>;
  /** Columns of the printed table (rows of every point, in sweep order). */
  readonly columns: readonly Column[];
  /** The report's plot over all rows. Axis titles must carry units. */
  plot(rows: readonly Row[], config: SuiteConfig): VegaLiteSpec;
  /** One-line findings for the terminal and the report (computed from rows, never hard-coded). */
  headline?(rows: readonly Row[], config: SuiteConfig): string[];
}

/** The results of one experiment in a suite run. */
export interface ExperimentResult {
  id: string;
  number: number;
  title: string;
  points: { point: Point; pointSeed: number; rows: Row[] }[];
}

export interface SuiteResult {
  /** Format version of results.json. */
  version: 1;
  config: SuiteConfig;
  experiments: ExperimentResult[];
}
